// Seats (docs/design.md "Seats", 9.3): who holds an event's seats, what a
// holder may confirm, and what a holder does when seats move or free up.
// Pure: no I/O, no clock.
//
// Escrow by holder. An event's seats are held by its host and by the centres
// it gave seats to. Every number below is a cumulative count that only grows,
// written by one side:
//
//   given[c]     event.allotments        seats the host gave centre c (host writes)
//   returned[c]  centre c.seats_returned seats c gave back to the host (c writes)
//   asked[c]     event.seat_grants       seats asked for c, to be given by the host
//                                        (host staff or the hub admin write)
//   reclaims[c]  event.seat_reclaims     seats asked back from c (host or hub admin)
//
//   seats(c)    = given[c] - returned[c]
//   seats(host) = capacity - sum(given) + sum(returned)
//
// so the seats of all holders add up to the capacity. A holder's seats go
// down only by its own writes (c returning, the host giving or lowering the
// capacity), and a confirmation from a holder's seats (registration.seat =
// confirmee, seat_by = holder) is made only by that holder: the holder checks
// both against everything it has confirmed, and the change log carries a
// holder's writes in order. So no replica ever sees a holder's confirmations
// exceed its seats, in any interleaving of offline periods.
//
// Requests (asked, reclaims) are only requests: the holder that gives carries
// them out from its free seats, before promoting its waiting list, when it
// sees them; what cannot be done now stays pending until seats free up or the
// request is withdrawn (set back to what was done).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/model.h"
#include "common/core/status.h"

namespace terril::seats {

inline constexpr std::string_view kConfirmed = "confirmee";
inline constexpr std::string_view kWaiting = "attente";
// Bounds of one count (and of a capacity the rules accept).
inline constexpr int64_t kMaxSeats = 1000000;

// centre -> count. Zero entries are never kept.
using SeatMap = std::map<std::string, int64_t, std::less<>>;

// The stored text of a map: "centre=n,centre=n", sorted by centre, no zero,
// no space ("" for an empty map). parse_map accepts only that canonical form
// from the wire and, through normalise_map, any order and spacing from the
// API; nullopt when malformed (not a slug, not a number in 0..kMaxSeats, a
// centre twice).
std::string format_map(const SeatMap& m);
std::optional<SeatMap> parse_map(std::string_view text);
std::optional<std::string> normalise_map(std::string_view text);
int64_t get(const SeatMap& m, std::string_view centre);

// What the rules know of one event at one replica.
struct EventSeats {
  std::string event_id;
  std::string host;
  std::optional<int64_t> capacity;  // nullopt: no limit, the seat rules are off
  SeatMap given, asked, reclaims, returned;
  bool limited() const { return capacity.has_value(); }
};

// From the merged records: the event, and the centres whose seats_returned
// name it (any centre records; those that do not name the event add nothing).
EventSeats from_records(const Record& event, std::span<const Record* const> centres);
// The value of centre.seats_returned for event_id in a centre record (0 if none).
int64_t returned_of(const Record& centre, std::string_view event_id);

int64_t seats_of(const EventSeats& e, std::string_view centre);
// Host first, then every centre it gave seats to (sorted).
std::vector<std::string> holders(const EventSeats& e);
int64_t pending_reclaim(const EventSeats& e, std::string_view centre);  // non-host only
int64_t pending_grant(const EventSeats& e, std::string_view centre);    // to be given by the host

// How a replica's registrations of the event stand.
struct Tally {
  SeatMap confirmed;  // by seat_by (the holder whose seat backs it)
  SeatMap waiting;    // by owner centre: live, not confirmed
};

// A registration as the seat rules see it.
struct Reg {
  std::string id;
  std::string owner;    // centre_id
  std::string seat;     // "", confirmee, attente
  std::string seat_by;  // "" unless confirmee
  int64_t created_at = 0;
  bool live = true;  // not deleted nor erased
  // false when the seat was given for another placement of the
  // registration (seat_event names another event, or the same event before
  // the registration moved away and back): a holder confirmed it while its
  // owner moved it. Such a seat counts for nobody; the registration waits.
  bool seat_here = true;
  bool confirmed() const { return live && seat == kConfirmed && seat_here; }
};
Reg reg_of(const Record& registration);

// registration.seat_event says which placement a seat is of: "E@H", the
// event E and the hlc H of the registration's event_id field when the seat
// was given ("E@" in the change that sets event_id itself: H is then that
// change's stamp, the seat_event field's own). A seat is of the current
// placement iff E is event_id and H its stamp's hlc; a registration moved to
// E2 and back to E keeps E but not H (the ABA of moves).
// The value to write with a seat given to `registration` as it is now.
std::string seat_event_of(const Record& registration);
// The value to write in the change that also sets event_id to `event_id`.
std::string seat_event_here(std::string_view event_id);
// The event named by a seat_event value ("" if none).
std::string_view seat_event_id(std::string_view seat_event);
// A well-formed seat_event value: "" or UUID "@" [digits].
bool valid_seat_event(std::string_view seat_event);
// Live registrations only; a confirmee with no seat_by counts for its owner;
// one whose seat is of another event waits.
Tally tally(std::span<const Reg> regs);

// One holder's line of the ledger.
struct Holding {
  std::string centre;
  int64_t seats = 0, confirmed = 0, free = 0, waiting = 0;
  int64_t pending_reclaim = 0, pending_grant = 0;
};
// Every holder (host first), then the centres that hold no seat but have
// waiting registrations. Needs e.limited().
std::vector<Holding> ledger(const EventSeats& e, const Tally& t);

// The seat a new registration of `owner` (or one moved into this event) gets
// at its owner's node: confirmee when the owner has a free seat (after what
// it owes to pending requests), else attente; "" when the event has no limit.
std::string_view decide(const EventSeats& e, std::string_view owner, int64_t confirmed_by_owner);

// What holder `self` does at its own replica now. `waiting`: the live
// registrations it may confirm, oldest first (created_at, then id): its own
// waiting ones; for the host, every centre's.
struct Plan {
  int64_t give_back = 0;             // self not host: add to seats_returned
  SeatMap give;                      // self is host: add to allotments (pending grants)
  std::vector<std::string> confirm;  // ids to confirm from self's seats
  bool empty() const { return give_back == 0 && give.empty() && confirm.empty(); }
};
Plan plan(const EventSeats& e, std::string_view self, int64_t confirmed_by_self, std::span<const Reg> waiting);

// Oldest first: (created_at, id).
bool older(const Reg& a, const Reg& b);

// --- Checks: the holder's node before it writes, the hub's judge after ------
//
// The hub's view of a holder is never fresher than the holder's own (it
// holds every change the holder made before this one, and perhaps more seats
// freed), so these refuse only what no honest holder writes.

// The host edits its event (capacity, allotments): the given counts never
// go down, and the host's seats stay >= what it has confirmed. Errors:
// invalid with the French message staff see.
Status check_host_edit(const EventSeats& before, const EventSeats& after, int64_t confirmed_by_host);
// Centre `c` returns seats: its returned count never goes down and its
// seats stay >= what it has confirmed.
Status check_return(const EventSeats& before, const EventSeats& after, std::string_view c, int64_t confirmed_by_c);
// `holder` confirms one more registration: confirmed_after <= seats(holder).
Status check_confirm(const EventSeats& e, std::string_view holder, int64_t confirmed_after);

// Which seat fields a replica `writer_centre` may set on a registration owned
// by `owner` of an event hosted by `host` (the values in `c`): the owner sets
// attente (seat_by empty) or confirmee from its own seat; the host sets only
// confirmee from its own seat (with seat_event, the event of that seat; the
// owner may change seat_event alone). forbidden otherwise.
Status check_seat_fields(const Change& c, std::string_view writer_centre, std::string_view owner,
                         std::string_view host);

}  // namespace terril::seats

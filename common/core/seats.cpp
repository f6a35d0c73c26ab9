// The seat rules (see seats.h). Pure.
#include "common/core/seats.h"

#include <algorithm>
#include <charconv>

#include "common/core/validate.h"

namespace terril::seats {
namespace {

Status refused(std::string en, std::string fr, std::string field) {
  return Status(Code::invalid, "seats: " + en, std::move(field), std::move(fr));
}

// "0 place donnée", "1 place confirmée", "3 places libres": French agreement
// (0 and 1 are singular) of "place" and its adjective.
std::string places(int64_t n, std::string_view adjective) {
  std::string out = std::to_string(n) + (n > 1 ? " places " : " place ") + std::string(adjective);
  if (n > 1) out += 's';
  return out;
}

std::optional<SeatMap> parse(std::string_view text, bool canonical) {
  SeatMap m;
  if (text.empty()) return m;
  std::string_view prev;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    if (!canonical) {
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    }
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = item.substr(0, eq), num = item.substr(eq + 1);
    if (!canonical) {
      while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
      while (!num.empty() && num.front() == ' ') num.remove_prefix(1);
    }
    if (!valid_slug(key) || num.empty() || num.size() > 7 || num.front() < '0' || num.front() > '9')
      return std::nullopt;
    // The canonical text is what format_map writes: no leading zero ("a=01").
    if (canonical && num.size() > 1 && num.front() == '0') return std::nullopt;
    int64_t n = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (ec != std::errc() || p != num.data() + num.size() || n < 0 || n > kMaxSeats) return std::nullopt;
    if (canonical && (n == 0 || (!prev.empty() && key <= prev))) return std::nullopt;
    if (!m.emplace(std::string(key), n).second) return std::nullopt;
    prev = key;
    start = end + 1;
  }
  std::erase_if(m, [](const auto& kv) { return kv.second == 0; });
  return m;
}

int64_t sum(const SeatMap& m) {
  int64_t s = 0;
  for (const auto& [k, v] : m) s += v;
  return s;
}

std::optional<SeatMap> map_field(const Record& r, Field f) {
  auto t = r.text(f);
  if (!t) return SeatMap{};
  return parse(*t, false);
}

}  // namespace

std::string format_map(const SeatMap& m) {
  std::string out;
  for (const auto& [k, v] : m) {
    if (v <= 0) continue;
    if (!out.empty()) out += ',';
    out += k;
    out += '=';
    out += std::to_string(v);
  }
  return out;
}

std::optional<SeatMap> parse_map(std::string_view text) {
  return parse(text, true);
}

std::optional<std::string> normalise_map(std::string_view text) {
  auto m = parse(text, false);
  if (!m) return std::nullopt;
  return format_map(*m);
}

int64_t get(const SeatMap& m, std::string_view centre) {
  auto it = m.find(centre);
  return it == m.end() ? 0 : it->second;
}

int64_t returned_of(const Record& centre, std::string_view event_id) {
  auto m = map_field(centre, Field::seats_returned);
  // seats_returned is keyed by event id; event ids are UUIDs, which the map
  // text accepts as slugs (lowercase hex and '-').
  return m ? get(*m, event_id) : 0;
}

EventSeats from_records(const Record& event, std::span<const Record* const> centres) {
  EventSeats e;
  e.event_id = event.id;
  e.host = event.centre_id;
  if (auto cap = event.integer(Field::capacity)) e.capacity = std::clamp<int64_t>(*cap, 0, kMaxSeats);
  if (auto m = map_field(event, Field::allotments)) e.given = std::move(*m);
  if (auto m = map_field(event, Field::seat_grants)) e.asked = std::move(*m);
  if (auto m = map_field(event, Field::seat_reclaims)) e.reclaims = std::move(*m);
  e.given.erase(e.host);
  e.asked.erase(e.host);
  e.reclaims.erase(e.host);
  for (const Record* c : centres) {
    if (!c || c->id == e.host) continue;
    if (int64_t n = returned_of(*c, e.event_id); n > 0) e.returned[c->id] = n;
  }
  return e;
}

int64_t seats_of(const EventSeats& e, std::string_view centre) {
  if (!e.capacity) return 0;
  if (centre == e.host) {
    int64_t s = *e.capacity;
    for (const auto& [c, n] : e.given) s -= n;
    for (const auto& [c, n] : e.returned) s += std::min(n, get(e.given, c));
    return s;
  }
  return std::max<int64_t>(0, get(e.given, centre) - get(e.returned, centre));
}

std::vector<std::string> holders(const EventSeats& e) {
  std::vector<std::string> out{e.host};
  for (const auto& [c, n] : e.given)
    if (c != e.host && n > 0) out.push_back(c);
  return out;
}

int64_t pending_reclaim(const EventSeats& e, std::string_view centre) {
  if (centre == e.host) return 0;
  return std::max<int64_t>(0, std::min(get(e.reclaims, centre), get(e.given, centre)) - get(e.returned, centre));
}

int64_t pending_grant(const EventSeats& e, std::string_view centre) {
  if (centre == e.host) return 0;
  return std::max<int64_t>(0, get(e.asked, centre) - get(e.given, centre));
}

Reg reg_of(const Record& r) {
  Reg g;
  g.id = r.id;
  g.owner = r.centre_id;
  if (auto s = r.text(Field::seat)) g.seat = *s;
  if (auto s = r.text(Field::seat_by)) g.seat_by = *s;
  if (auto t = r.integer(Field::created_at)) g.created_at = *t;
  g.live = !r.deleted();
  auto se = r.fields.find(Field::seat_event);
  if (se != r.fields.end() && std::holds_alternative<std::string>(se->second.value)) {
    const std::string& v = std::get<std::string>(se->second.value);
    auto ev = r.fields.find(Field::event_id);
    const size_t at = v.find('@');
    if (!v.empty()) {
      g.seat_here = false;
      if (at != std::string::npos && ev != r.fields.end() && std::holds_alternative<std::string>(ev->second.value) &&
          std::string_view(v).substr(0, at) == std::get<std::string>(ev->second.value)) {
        uint64_t h = se->second.stamp.hlc;  // "E@": the seat_event field's own stamp
        if (at + 1 < v.size()) {
          h = 0;
          std::from_chars(v.data() + at + 1, v.data() + v.size(), h);
        }
        g.seat_here = h == ev->second.stamp.hlc;
      }
    }
  }
  return g;
}

std::string seat_event_of(const Record& r) {
  auto ev = r.fields.find(Field::event_id);
  if (ev == r.fields.end() || !std::holds_alternative<std::string>(ev->second.value)) return {};
  return std::get<std::string>(ev->second.value) + "@" + std::to_string(ev->second.stamp.hlc);
}

std::string seat_event_here(std::string_view event_id) {
  return std::string(event_id) + "@";
}

std::string_view seat_event_id(std::string_view v) {
  return v.substr(0, v.find('@'));
}

bool valid_seat_event(std::string_view v) {
  if (v.empty()) return true;
  const size_t at = v.find('@');
  if (at == std::string_view::npos || !valid_uuid(v.substr(0, at))) return false;
  std::string_view h = v.substr(at + 1);
  return h.size() <= 20 && std::all_of(h.begin(), h.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Tally tally(std::span<const Reg> regs) {
  Tally t;
  for (const Reg& r : regs) {
    if (!r.live) continue;
    if (r.confirmed())
      ++t.confirmed[r.seat_by.empty() ? r.owner : r.seat_by];
    else
      ++t.waiting[r.owner];
  }
  return t;
}

std::vector<Holding> ledger(const EventSeats& e, const Tally& t) {
  std::vector<Holding> out;
  auto line = [&](const std::string& c) {
    Holding h;
    h.centre = c;
    h.seats = seats_of(e, c);
    h.confirmed = get(t.confirmed, c);
    h.free = std::max<int64_t>(0, h.seats - h.confirmed);
    h.waiting = get(t.waiting, c);
    h.pending_reclaim = pending_reclaim(e, c);
    h.pending_grant = pending_grant(e, c);
    out.push_back(std::move(h));
  };
  std::vector<std::string> hs = holders(e);
  for (const auto& c : hs) line(c);
  auto known = [&](std::string_view c) { return std::find(hs.begin(), hs.end(), c) != hs.end(); };
  std::vector<std::string> more;
  for (const auto& [c, n] : t.waiting)
    if (!known(c)) more.push_back(c);
  for (const auto& [c, n] : t.confirmed)
    if (!known(c) && std::find(more.begin(), more.end(), c) == more.end()) more.push_back(c);
  for (const auto& [c, n] : e.asked)
    if (!known(c) && std::find(more.begin(), more.end(), c) == more.end()) more.push_back(c);
  std::sort(more.begin(), more.end());
  for (const auto& c : more) line(c);
  return out;
}

std::string_view decide(const EventSeats& e, std::string_view owner, int64_t confirmed_by_owner) {
  if (!e.limited()) return {};
  int64_t free = seats_of(e, owner) - confirmed_by_owner - pending_reclaim(e, owner);
  if (owner == e.host)
    for (const auto& [c, n] : e.asked) free -= pending_grant(e, c);
  return free > 0 ? kConfirmed : kWaiting;
}

bool older(const Reg& a, const Reg& b) {
  if (a.created_at != b.created_at) return a.created_at < b.created_at;
  return a.id < b.id;
}

Plan plan(const EventSeats& e, std::string_view self, int64_t confirmed_by_self, std::span<const Reg> waiting) {
  Plan p;
  if (!e.limited()) return p;
  int64_t free = seats_of(e, self) - confirmed_by_self;
  if (free <= 0) return p;
  if (self == e.host) {
    for (const auto& [c, n] : e.asked) {
      int64_t g = std::min(pending_grant(e, c), free);
      if (g <= 0) continue;
      p.give[c] = g;
      free -= g;
    }
  } else {
    p.give_back = std::min(pending_reclaim(e, self), free);
    free -= p.give_back;
  }
  for (const Reg& r : waiting) {
    if (free <= 0) break;
    if (!r.live || r.confirmed()) continue;
    if (self != e.host && r.owner != self) continue;
    p.confirm.push_back(r.id);
    --free;
  }
  return p;
}

Status check_host_edit(const EventSeats& before, const EventSeats& after, int64_t confirmed_by_host) {
  for (const auto& [c, n] : before.given)
    if (get(after.given, c) < n)
      return refused("allotments may not go down",
                     "Des places données à un centre ne se retirent pas ainsi : " +
                         std::string("demandez-les en retour (« Reprendre des places »)."),
                     "allotments");
  for (const auto& [c, n] : after.given)
    if (c == after.host)
      return refused("allotment to the host itself", "Le centre organisateur ne se donne pas de places.", "allotments");
  if (!after.limited()) return Status::ok();  // no limit: seats do not count
  int64_t seats = seats_of(after, after.host);
  if (seats < confirmed_by_host) {
    bool cap_changed = before.capacity != after.capacity;
    int64_t lowest = *after.capacity + (confirmed_by_host - seats);
    if (cap_changed && before.given == after.given)
      return refused("capacity below the confirmed registrations",
                     "La capacité ne peut pas descendre sous " + std::to_string(lowest) + " : " +
                         places(confirmed_by_host, "confirmée") + " ici et " +
                         places(sum(after.given) - sum(after.returned), "donnée") + " à d'autres centres.",
                     "capacity");
    return refused("not enough free seats to give",
                   "Pas assez de places libres ici : " +
                       places(std::max<int64_t>(0, seats_of(before, before.host) - confirmed_by_host), "libre") +
                       " seulement.",
                   "allotments");
  }
  return Status::ok();
}

Status check_return(const EventSeats& before, const EventSeats& after, std::string_view c, int64_t confirmed_by_c) {
  if (get(after.returned, c) < get(before.returned, c))
    return refused("returned seats may not go down", "Des places rendues ne se reprennent pas.", "seats_returned");
  if (get(after.returned, c) > get(after.given, c))
    return refused("returns more seats than given", "Ce centre rend plus de places qu'il n'en a reçu.",
                   "seats_returned");
  if (after.limited() && seats_of(after, c) < confirmed_by_c)
    return refused("returns confirmed seats", "Ces places sont déjà confirmées : elles ne peuvent pas être rendues.",
                   "seats_returned");
  return Status::ok();
}

Status check_confirm(const EventSeats& e, std::string_view holder, int64_t confirmed_after) {
  if (!e.limited()) return Status::ok();
  if (confirmed_after > seats_of(e, holder))
    return Status(Code::forbidden, "seats: confirmation with no free seat of " + std::string(holder), "seat",
                  "Place non garantie : le centre n'a plus de place libre pour confirmer cette inscription.");
  return Status::ok();
}

Status check_seat_fields(const Change& c, std::string_view writer_centre, std::string_view owner,
                         std::string_view host) {
  const Value* seat = c.get(Field::seat);
  const Value* by = c.get(Field::seat_by);
  if (!seat && !by) {
    // The owner moving a registration re-decides its seat: when the seat
    // stays as it was (still waiting), only seat_event changes.
    if (c.get(Field::seat_event) && writer_centre != owner)
      return Status(Code::forbidden, "seats: seat_event without seat", "seat",
                    "Place refusée : l'événement d'une place ne change qu'avec elle.");
    return Status::ok();
  }
  auto text = [](const Value* v) -> std::string_view {
    if (!v) return {};
    auto* s = std::get_if<std::string>(v);
    return s ? std::string_view(*s) : std::string_view();
  };
  std::string_view s = text(seat), b = text(by);
  auto forbid = [](std::string en) {
    return Status(Code::forbidden, "seats: " + en, "seat",
                  "Place refusée : seules les règles des places (le centre qui tient la place) la fixent.");
  };
  if (!seat) return forbid("seat_by without seat");
  if (s == kWaiting) {
    if (writer_centre != owner) return forbid("only the owner puts its registration on the waiting list");
    if (!b.empty()) return forbid("a waiting registration has no seat_by");
    return Status::ok();
  }
  if (s == kConfirmed) {
    if (b != writer_centre) return forbid("a confirmation is made from the writer's own seat");
    if (writer_centre != owner && writer_centre != host) return forbid("neither owner nor host");
    return Status::ok();
  }
  if (s.empty() && b.empty() && writer_centre == owner) return Status::ok();  // cleared (event without a limit)
  return forbid("unknown seat value");
}

}  // namespace terril::seats

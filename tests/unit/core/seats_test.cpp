// The seat rules (common/core/seats.h), function by function: the map text, who holds which seats,
// the tally and ledger, what a holder decides and plans, and the checks of the holder and the hub.
// The invariant in every interleaving is seats_property_test.cpp's.
#include "common/core/seats.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/core/merge.h"

namespace terril::seats {
namespace {

using namespace std::string_literals;

constexpr const char* kEvent = "6f1c2a3b-0000-4000-8000-000000000001";
constexpr const char* kOther = "6f1c2a3b-0000-4000-8000-000000000002";

EventSeats event(std::optional<int64_t> capacity, SeatMap given = {}, SeatMap returned = {}, SeatMap asked = {},
                 SeatMap reclaims = {}) {
  EventSeats e;
  e.event_id = kEvent;
  e.host = "host";
  e.capacity = capacity;
  e.given = std::move(given);
  e.returned = std::move(returned);
  e.asked = std::move(asked);
  e.reclaims = std::move(reclaims);
  return e;
}

Reg reg(std::string id, std::string owner, std::string seat = "", std::string seat_by = "", int64_t created_at = 0,
        bool live = true) {
  return Reg{std::move(id), std::move(owner), std::move(seat), std::move(seat_by), created_at, live};
}

// A record as replicas hold it: the merge of its changes.
Record merged(Entity e, const std::string& id, const std::string& centre,
              const std::vector<std::pair<Op, std::vector<FieldValue>>>& changes) {
  std::optional<Record> r;
  uint64_t hlc = 1 << 16;
  for (const auto& [op, fields] : changes) {
    Change c;
    c.origin = "n0";
    c.origin_seq = hlc >> 16;
    c.hlc = hlc;
    hlc += 1 << 16;
    c.entity = e;
    c.record_id = id;
    c.centre_id = centre;
    c.op = op;
    c.fields = fields;
    merge(r, c);
  }
  REQUIRE(r.has_value());
  return *r;
}

TEST_CASE("format_map writes the canonical text and parse_map reads only that", "[seats]") {
  CHECK(format_map({}) == "");
  CHECK(format_map({{"b", 2}, {"a", 1}, {"c", 0}}) == "a=1,b=2");
  CHECK(format_map({{"arc", kMaxSeats}}) == "arc=1000000");
  for (const SeatMap& m : {SeatMap{}, SeatMap{{"a", 1}}, SeatMap{{"arc-en-ciel", 12}, {"denain", 3}, {"marly", 1}},
                           SeatMap{{kEvent, 2}, {kOther, kMaxSeats}}}) {
    auto back = parse_map(format_map(m));
    REQUIRE(back.has_value());
    CHECK(*back == m);
  }
  // Zeros are dropped by format and never read back.
  CHECK(parse_map(format_map({{"a", 0}, {"b", 1}})) == SeatMap{{"b", 1}});
  CHECK(parse_map("a=1000000") == SeatMap{{"a", kMaxSeats}});
  for (const char* bad : {"b=1,a=2", "a=0",      "a",     "A=1",  "a=1,a=1",   "a=1,a=2",    " a=1",  "a=1 ",
                          "a = 1",   "a=1, b=2", "a=01",  "a=00", "a=-1",      "a=-0",       "a=+1",  "a=1,",
                          ",a=1",    "a=1,,b=1", "=1",    "a=",   "a=1000001", "a=99999999", "a=1.5", "a=1e3",
                          "-a=1",    "a-=1",     "a_b=1", "é=1",  "a=1=2",     ","}) {
    INFO("\"" << bad << "\"");
    CHECK_FALSE(parse_map(bad).has_value());
  }
}

TEST_CASE("normalise_map accepts any order and spacing, and refuses what is malformed", "[seats]") {
  struct Case {
    const char* in;
    std::optional<std::string> out;
  };
  const Case cases[] = {
      {"", ""},
      {"a=1", "a=1"},
      {"b=2,a=1", "a=1,b=2"},
      {" b = 2 , a=1 ", "a=1,b=2"},
      {"a=0,b=1", "b=1"},
      {"a=0", ""},
      {"a=01", "a=1"},
      {"a=1000000", "a=1000000"},
      {"a=1000001", std::nullopt},
      {"a=-1", std::nullopt},
      {"a=1,a=2", std::nullopt},
      {"b=1, a=1, b=3", std::nullopt},
      {"A=1", std::nullopt},
      {"a", std::nullopt},
      {"a=", std::nullopt},
      {"a=x", std::nullopt},
      {"a=1,", std::nullopt},
  };
  for (const auto& c : cases) {
    INFO("\"" << c.in << "\"");
    CHECK(normalise_map(c.in) == c.out);
    if (c.out) CHECK(parse_map(*c.out).has_value());  // what normalise writes, the wire reads
  }
  CHECK(get({{"a", 3}}, "a") == 3);
  CHECK(get({{"a", 3}}, "b") == 0);
  CHECK(get({}, "") == 0);
}

TEST_CASE("seats_of: the host holds what it did not give, and all holders add up to the capacity", "[seats]") {
  const EventSeats e = event(10, {{"a", 3}, {"b", 2}}, {{"a", 1}});
  CHECK(seats_of(e, "host") == 10 - 5 + 1);
  CHECK(seats_of(e, "a") == 2);
  CHECK(seats_of(e, "b") == 2);
  CHECK(seats_of(e, "c") == 0);
  CHECK(holders(e) == std::vector<std::string>{"host", "a", "b"});
  CHECK(seats_of(event(std::nullopt, {{"a", 3}}), "a") == 0);  // no limit: nobody holds seats
  CHECK(seats_of(event(std::nullopt), "host") == 0);
  // A broken replica's return above what was given adds nothing to the host, and a centre never goes below 0.
  const EventSeats over = event(5, {{"a", 2}}, {{"a", 4}});
  CHECK(seats_of(over, "host") == 5);
  CHECK(seats_of(over, "a") == 0);

  std::mt19937_64 rng(15);
  for (int k = 0; k < 500; ++k) {
    EventSeats r = event(std::uniform_int_distribution<int64_t>(0, 50)(rng));
    int64_t left = *r.capacity;
    for (const char* c : {"a", "b", "c", "d"}) {
      int64_t g = std::uniform_int_distribution<int64_t>(0, left)(rng);
      left -= g;
      if (g > 0) r.given[c] = g;
      if (int64_t back = std::uniform_int_distribution<int64_t>(0, g)(rng); back > 0) r.returned[c] = back;
    }
    int64_t total = 0;
    for (const auto& h : holders(r)) {
      CHECK(seats_of(r, h) >= 0);
      total += seats_of(r, h);
    }
    INFO("given " << format_map(r.given) << " returned " << format_map(r.returned));
    CHECK(total == *r.capacity);
  }
}

TEST_CASE("pending_reclaim and pending_grant are what is asked and not yet done", "[seats]") {
  const EventSeats e = event(20, {{"a", 3}, {"b", 2}, {"c", 4}}, {{"a", 1}, {"c", 4}}, {{"a", 5}, {"b", 1}, {"d", 2}},
                             {{"a", 2}, {"b", 9}, {"c", 2}});
  CHECK(pending_reclaim(e, "a") == 1);  // asked 2 back, returned 1
  CHECK(pending_reclaim(e, "b") == 2);  // asked 9 back: no more than it was given
  CHECK(pending_reclaim(e, "c") == 0);  // already returned more
  CHECK(pending_reclaim(e, "d") == 0);  // holds nothing
  CHECK(pending_reclaim(e, "host") == 0);
  CHECK(pending_grant(e, "a") == 2);
  CHECK(pending_grant(e, "b") == 0);  // asked 1, given 2
  CHECK(pending_grant(e, "d") == 2);  // asked for a centre that holds nothing yet
  CHECK(pending_grant(e, "host") == 0);
  EventSeats self = e;
  self.asked["host"] = 3;
  self.reclaims["host"] = 3;
  CHECK(pending_grant(self, "host") == 0);
  CHECK(pending_reclaim(self, "host") == 0);
}

TEST_CASE("tally counts live confirmations by holder and waiting ones by owner", "[seats]") {
  const std::vector<Reg> regs = {
      reg("1", "a", "confirmee", "a"),
      reg("2", "a", "confirmee", "host"),  // the host confirmed it from its own seat
      reg("3", "a", "confirmee", ""),      // no seat_by: the owner's seat
      reg("4", "a", "attente"),
      reg("5", "b", ""),  // taken while the event had no limit: waits
      reg("6", "b", "confirmee", "b", 0, false),
      reg("7", "b", "attente", "", 0, false),
  };
  const Tally t = tally(regs);
  CHECK(t.confirmed == SeatMap{{"a", 2}, {"host", 1}});
  CHECK(t.waiting == SeatMap{{"a", 1}, {"b", 1}});
  CHECK(tally({}).confirmed.empty());
}

TEST_CASE("reg_of reads a merged registration; deleted and erased ones are not live", "[seats]") {
  const std::string id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  const std::vector<FieldValue> made = {{Field::created_at, int64_t{1795946400000}},
                                        {Field::event_id, std::string(kEvent)},
                                        {Field::seat, "attente"s},
                                        {Field::seat_by, ""s}};
  const std::vector<FieldValue> confirmed = {{Field::seat, "confirmee"s}, {Field::seat_by, "host"s}};
  Reg g = reg_of(merged(Entity::registration, id, "arc", {{Op::upsert, made}, {Op::upsert, confirmed}}));
  CHECK(g.id == id);
  CHECK(g.owner == "arc");
  CHECK(g.seat == "confirmee");
  CHECK(g.seat_by == "host");
  CHECK(g.created_at == 1795946400000);
  CHECK(g.live);
  CHECK_FALSE(reg_of(merged(Entity::registration, id, "arc", {{Op::upsert, made}, {Op::del, {}}})).live);
  Reg erased = reg_of(merged(Entity::registration, id, "arc", {{Op::upsert, made}, {Op::erase, {}}}));
  CHECK_FALSE(erased.live);
  CHECK(erased.seat.empty());
  Reg bare = reg_of(merged(Entity::registration, id, "arc", {{Op::upsert, {{Field::first_name, "Ana"s}}}}));
  CHECK(bare.seat.empty());
  CHECK(bare.seat_by.empty());
  CHECK(bare.created_at == 0);
}

TEST_CASE("ledger has a line per holder, host first, then the centres that only wait or ask", "[seats]") {
  const EventSeats e = event(10, {{"b", 3}, {"a", 2}}, {{"a", 1}}, {{"d", 2}}, {{"b", 1}});
  const Tally t{{{"host", 2}, {"a", 1}, {"b", 3}}, {{"a", 4}, {"c", 1}, {"host", 1}}};
  const std::vector<Holding> l = ledger(e, t);
  std::vector<std::string> order;
  for (const auto& h : l) order.push_back(h.centre);
  CHECK(order == std::vector<std::string>{"host", "a", "b", "c", "d"});
  CHECK(l[0].seats == 6);
  CHECK(l[0].confirmed == 2);
  CHECK(l[0].free == 4);
  CHECK(l[0].waiting == 1);
  CHECK(l[1].seats == 1);
  CHECK(l[1].confirmed == 1);
  CHECK(l[1].free == 0);
  CHECK(l[1].waiting == 4);
  CHECK(l[2].pending_reclaim == 1);
  CHECK(l[2].free == 0);
  CHECK(l[3].seats == 0);
  CHECK(l[3].waiting == 1);
  CHECK(l[4].pending_grant == 2);
  int64_t seats = 0;
  for (const auto& h : l) seats += h.seats;
  CHECK(seats == 10);
}

TEST_CASE("decide confirms from a free seat, after what the holder owes to requests", "[seats]") {
  CHECK(decide(event(std::nullopt), "host", 0) == "");
  CHECK(decide(event(std::nullopt, {{"a", 1}}), "a", 5) == "");
  const EventSeats e = event(4, {{"a", 2}});
  CHECK(decide(e, "host", 0) == kConfirmed);
  CHECK(decide(e, "host", 1) == kConfirmed);
  CHECK(decide(e, "host", 2) == kWaiting);
  CHECK(decide(e, "a", 1) == kConfirmed);
  CHECK(decide(e, "a", 2) == kWaiting);
  CHECK(decide(e, "b", 0) == kWaiting);  // holds no seat
  CHECK(decide(event(0), "host", 0) == kWaiting);
  // A pending reclaim eats the owner's free seats first.
  CHECK(decide(event(4, {{"a", 2}}, {}, {}, {{"a", 1}}), "a", 0) == kConfirmed);
  CHECK(decide(event(4, {{"a", 2}}, {}, {}, {{"a", 1}}), "a", 1) == kWaiting);
  CHECK(decide(event(4, {{"a", 2}}, {{"a", 1}}, {}, {{"a", 1}}), "a", 0) == kConfirmed);  // reclaim done
  // A pending grant eats the host's free seats first, also to a centre that holds none yet.
  CHECK(decide(event(4, {{"a", 2}}, {}, {{"a", 3}}), "host", 0) == kConfirmed);
  CHECK(decide(event(4, {{"a", 2}}, {}, {{"a", 3}}), "host", 1) == kWaiting);
  CHECK(decide(event(1, {}, {}, {{"b", 1}}), "host", 0) == kWaiting);
  CHECK(decide(event(2, {}, {}, {{"b", 1}}), "host", 0) == kConfirmed);
  CHECK(decide(event(2, {}, {}, {{"b", 1}}), "b", 0) == kWaiting);  // asked, not given yet
}

TEST_CASE("older orders by creation time, then id", "[seats]") {
  CHECK(older(reg("b", "a", "", "", 1), reg("a", "a", "", "", 2)));
  CHECK(older(reg("a", "a", "", "", 2), reg("b", "a", "", "", 2)));
  CHECK_FALSE(older(reg("a", "a", "", "", 2), reg("a", "b", "", "", 2)));
}

TEST_CASE("plan of a centre: give back what is asked, then confirm its own waiting, oldest first", "[seats]") {
  const std::vector<Reg> waiting = {
      reg("r1", "b", "attente", "", 1),         // another centre's: never a's to confirm
      reg("r2", "a", "attente", "", 2),         //
      reg("r3", "a", "confirmee", "a", 3),      // already confirmed
      reg("r4", "a", "attente", "", 4, false),  // deleted
      reg("r5", "a", "", "", 5),                //
      reg("r6", "a", "attente", "", 6),
  };
  CHECK(plan(event(std::nullopt, {{"a", 5}}), "a", 0, waiting).empty());
  CHECK(plan(event(10, {{"a", 2}}), "a", 2, waiting).empty());  // no free seat
  CHECK(plan(event(10, {{"a", 2}}, {}, {}, {{"a", 2}}), "a", 2, waiting).empty());
  Plan p = plan(event(10, {{"a", 5}}, {{"a", 1}}, {}, {{"a", 2}}), "a", 1, waiting);
  CHECK(p.give_back == 1);
  CHECK(p.give.empty());
  CHECK(p.confirm == std::vector<std::string>{"r2", "r5"});
  p = plan(event(10, {{"a", 9}}), "a", 0, waiting);
  CHECK(p.give_back == 0);
  CHECK(p.confirm == std::vector<std::string>{"r2", "r5", "r6"});
  p = plan(event(10, {{"a", 3}}, {}, {}, {{"a", 9}}), "a", 1, waiting);
  CHECK(p.give_back == 2);  // reclaims first, all its free seats
  CHECK(p.confirm.empty());
  CHECK(plan(event(10), "b", 0, waiting).empty());  // holds no seat
}

TEST_CASE("plan of the host: pending grants first, then every centre's waiting, oldest first", "[seats]") {
  std::vector<Reg> waiting = {
      reg("z", "a", "attente", "", 2), reg("y", "host", "attente", "", 3), reg("x", "b", "attente", "", 2),
      reg("w", "b", "", "", 1),        reg("v", "b", "confirmee", "b", 0),
  };
  std::sort(waiting.begin(), waiting.end(), older);
  CHECK(plan(event(std::nullopt, {}, {}, {{"a", 1}}), "host", 0, waiting).empty());
  Plan p = plan(event(10, {{"a", 1}}, {}, {{"a", 3}, {"c", 1}}), "host", 4, waiting);
  CHECK(p.give_back == 0);
  CHECK(p.give == SeatMap{{"a", 2}, {"c", 1}});
  CHECK(p.confirm == std::vector<std::string>{"w", "x"});
  p = plan(event(10, {{"a", 1}}, {}, {{"a", 9}}), "host", 5, waiting);
  CHECK(p.give == SeatMap{{"a", 4}});  // grants take every free seat first
  CHECK(p.confirm.empty());
  p = plan(event(10), "host", 0, waiting);
  CHECK(p.give.empty());
  CHECK(p.confirm == std::vector<std::string>{"w", "x", "z", "y"});
  CHECK(plan(event(4, {{"a", 2}}, {}, {{"b", 1}}), "host", 2, waiting).empty());
}

TEST_CASE("check_host_edit: given never goes down, capacity stays above what is confirmed", "[seats]") {
  const EventSeats before = event(10, {{"a", 3}}, {{"a", 1}});
  // host holds 8, confirmed 5.
  CHECK(check_host_edit(before, before, 5).is_ok());
  CHECK(check_host_edit(before, event(12, {{"a", 3}}, {{"a", 1}}), 5).is_ok());
  CHECK(check_host_edit(before, event(7, {{"a", 3}}, {{"a", 1}}), 5).is_ok());   // host holds 5: as many as confirmed
  CHECK(check_host_edit(before, event(10, {{"a", 6}}, {{"a", 1}}), 5).is_ok());  // gives its 3 free seats
  CHECK(check_host_edit(before, event(std::nullopt, {{"a", 3}}, {{"a", 1}}), 99).is_ok());  // no limit

  Status down = check_host_edit(before, event(10, {{"a", 2}}, {{"a", 1}}), 0);
  CHECK(down.code() == Code::invalid);
  CHECK(down.field() == "allotments");
  CHECK(down.message_fr().find("Reprendre des places") != std::string::npos);
  CHECK_FALSE(check_host_edit(before, event(10, {}, {{"a", 1}}), 0).is_ok());  // a's entry removed
  EventSeats self = event(10, {{"a", 3}, {"host", 1}}, {{"a", 1}});
  CHECK(check_host_edit(before, self, 0).field() == "allotments");

  Status low = check_host_edit(before, event(6, {{"a", 3}}, {{"a", 1}}), 5);
  CHECK(low.code() == Code::invalid);
  CHECK(low.field() == "capacity");
  INFO(low.message_fr());
  CHECK(low.message_fr().find("La capacité ne peut pas descendre sous 7") == 0);
  CHECK(low.message_fr() ==
        "La capacité ne peut pas descendre sous 7 : 5 places confirmées ici et 2 places données à d'autres centres.");
  Status one = check_host_edit(event(3), event(0), 1);
  CHECK(one.message_fr() ==
        "La capacité ne peut pas descendre sous 1 : 1 place confirmée ici et 0 place donnée à "
        "d'autres centres.");

  Status more = check_host_edit(before, event(10, {{"a", 7}}, {{"a", 1}}), 5);
  CHECK(more.code() == Code::invalid);
  CHECK(more.field() == "allotments");
  CHECK(more.message_fr().find("3 places libres seulement.") != std::string::npos);
  CHECK_FALSE(check_host_edit(before, event(10, {{"a", 3}, {"b", 4}}, {{"a", 1}}), 5).is_ok());
  // Capacity and allotments at once, too far: the giving is refused.
  CHECK(check_host_edit(before, event(11, {{"a", 8}}, {{"a", 1}}), 5).field() == "allotments");
  CHECK(check_host_edit(before, event(12, {{"a", 8}}, {{"a", 1}}), 5).is_ok());
}

TEST_CASE("check_return: returned never goes down nor past what was given or confirmed", "[seats]") {
  const EventSeats before = event(10, {{"a", 4}}, {{"a", 1}});
  auto after = [](int64_t returned) { return event(10, {{"a", 4}}, {{"a", returned}}); };
  CHECK(check_return(before, after(1), "a", 3).is_ok());
  CHECK(check_return(before, after(2), "a", 2).is_ok());
  CHECK(check_return(before, after(4), "a", 0).is_ok());
  Status down = check_return(before, event(10, {{"a", 4}}), "a", 0);
  CHECK(down.code() == Code::invalid);
  CHECK(down.field() == "seats_returned");
  CHECK(check_return(before, after(5), "a", 0).field() == "seats_returned");
  Status used = check_return(before, after(3), "a", 2);
  CHECK(used.code() == Code::invalid);
  CHECK(used.message_fr().find("déjà confirmées") != std::string::npos);
  CHECK(check_return(event(std::nullopt, {{"a", 4}}), event(std::nullopt, {{"a", 4}}, {{"a", 2}}), "a", 4).is_ok());
}

TEST_CASE("check_confirm: a holder confirms no more than its seats", "[seats]") {
  const EventSeats e = event(5, {{"a", 2}});
  CHECK(check_confirm(e, "a", 2).is_ok());
  CHECK(check_confirm(e, "host", 3).is_ok());
  Status s = check_confirm(e, "a", 3);
  CHECK(s.code() == Code::forbidden);
  CHECK(s.field() == "seat");
  CHECK(s.message_fr().find("Place non garantie") == 0);
  CHECK_FALSE(check_confirm(e, "host", 4).is_ok());
  CHECK_FALSE(check_confirm(e, "b", 1).is_ok());
  CHECK(check_confirm(event(std::nullopt), "b", 100).is_ok());
}

TEST_CASE("check_seat_fields: the owner waits or confirms from its seat, the host confirms from its own", "[seats]") {
  auto change = [](std::vector<FieldValue> f) {
    Change c;
    c.fields = std::move(f);
    return c;
  };
  auto ok = [&](std::vector<FieldValue> f, std::string_view writer) {
    return check_seat_fields(change(std::move(f)), writer, "arc", "marly").is_ok();
  };
  const FieldValue confirmee{Field::seat, "confirmee"s}, attente{Field::seat, "attente"s};
  auto by = [](std::string c) { return FieldValue{Field::seat_by, std::move(c)}; };
  CHECK(ok({{Field::notes, "x"s}}, "denain"));  // no seat field: not the seat rules' business
  CHECK(ok({attente}, "arc"));
  CHECK(ok({attente, by("")}, "arc"));
  CHECK(ok({confirmee, by("arc")}, "arc"));
  CHECK(ok({confirmee, by("marly")}, "marly"));
  CHECK(ok({{Field::seat, Value{}}, {Field::seat_by, Value{}}}, "arc"));
  CHECK(ok({{Field::seat, ""s}}, "arc"));
  CHECK_FALSE(ok({{Field::seat, ""s}}, "marly"));
  CHECK_FALSE(ok({attente, by("arc")}, "arc"));
  CHECK_FALSE(ok({attente}, "marly"));
  CHECK_FALSE(ok({confirmee, by("marly")}, "arc"));
  CHECK_FALSE(ok({confirmee, by("arc")}, "marly"));
  CHECK_FALSE(ok({confirmee}, "arc"));
  CHECK_FALSE(ok({confirmee, by("denain")}, "denain"));
  CHECK_FALSE(ok({by("arc")}, "arc"));
  CHECK_FALSE(ok({{Field::seat, "oui"s}}, "arc"));
  Status s = check_seat_fields(change({confirmee, by("arc")}), "marly", "arc", "marly");
  CHECK(s.code() == Code::forbidden);
  CHECK(s.field() == "seat");
  // The host's own registration: owner and host are one.
  CHECK(check_seat_fields(change({confirmee, by("marly")}), "marly", "marly", "marly").is_ok());
}

TEST_CASE("from_records and returned_of read merged event and centre records", "[seats]") {
  const Record ev = merged(Entity::event, kEvent, "host",
                           {{Op::upsert,
                             {{Field::capacity, int64_t{12}},
                              {Field::allotments, "a=5,host=2"s},
                              {Field::seat_grants, "b=1"s},
                              {Field::seat_reclaims, "a=1"s}}},
                            {Op::upsert, {{Field::allotments, "a=5,b=1"s}, {Field::seat_reclaims, "a=2,host=1"s}}}});
  auto centre = [](const std::string& id, std::vector<std::vector<FieldValue>> changes) {
    std::vector<std::pair<Op, std::vector<FieldValue>>> ch;
    for (auto& f : changes) ch.push_back({Op::upsert, std::move(f)});
    return merged(Entity::centre, id, id, ch);
  };
  const Record a = centre("a", {{{Field::seats_returned, std::string(kOther) + "=3," + kEvent + "=1"}},
                                {{Field::seats_returned, std::string(kOther) + "=3," + kEvent + "=2"}}});
  const Record b = centre("b", {{{Field::name, "B"s}}});
  const Record c = centre("c", {{{Field::seats_returned, std::string(kOther) + "=4"}}});
  const Record host = centre("host", {{{Field::seats_returned, std::string(kEvent) + "=7"}}});
  CHECK(returned_of(a, kEvent) == 2);
  CHECK(returned_of(a, kOther) == 3);
  CHECK(returned_of(b, kEvent) == 0);
  CHECK(returned_of(c, kEvent) == 0);

  const std::vector<const Record*> centres = {&a, &b, &c, &host, nullptr};
  const EventSeats e = from_records(ev, centres);
  CHECK(e.event_id == kEvent);
  CHECK(e.host == "host");
  CHECK(e.capacity == 12);
  CHECK(e.given == SeatMap{{"a", 5}, {"b", 1}});
  CHECK(e.asked == SeatMap{{"b", 1}});
  CHECK(e.reclaims == SeatMap{{"a", 2}});  // the host's own entry is dropped
  CHECK(e.returned == SeatMap{{"a", 2}});  // neither the host's nor another event's
  CHECK(seats_of(e, "host") == 12 - 6 + 2);
  CHECK(seats_of(e, "a") == 3);
  CHECK(pending_reclaim(e, "a") == 0);

  const Record open = merged(Entity::event, kEvent, "host", {{Op::upsert, {{Field::title, "T"s}}}});
  const EventSeats none = from_records(open, centres);
  CHECK_FALSE(none.limited());
  CHECK(none.given.empty());
  const Record cleared =
      merged(Entity::event, kEvent, "host",
             {{Op::upsert, {{Field::capacity, int64_t{3}}}}, {Op::upsert, {{Field::capacity, Value{}}}}});
  CHECK_FALSE(from_records(cleared, {}).limited());
}

}  // namespace
}  // namespace terril::seats

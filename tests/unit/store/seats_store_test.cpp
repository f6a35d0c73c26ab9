// The seat rules in the store (common/store/store_seats.cpp): the seat a new
// registration gets at its node, the promotion a deletion makes in the same
// transaction, the host's edits checked, seats moved and requests carried
// out across real stores synced through a real hub store, and the hub's judge
// refusing a confirmation no seat backs. Real SQLite files.
#include "tests/unit/store/store_fixture.h"

using namespace terril;
using namespace terril::test;

namespace {

const std::string kEv = uuid(700, 1);

StoreOptions centre_opts(const std::string& node_id, const std::string& centre) {
  StoreOptions o = node_opts(node_id);
  o.centre = centre;
  return o;
}

LocalWrite limited_event(const std::string& id, const std::string& host, int64_t capacity) {
  LocalWrite w = event_write(id, host, "Temps fort", "temps-fort");
  w.fields.push_back({Field::capacity, Value{capacity}});
  return w;
}

std::string seat(Store& s, const std::string& id) {
  auto r = ok(s.get(Entity::registration, id));
  REQUIRE(r.has_value());
  return r->text(Field::seat).value_or("");
}

std::string seat_by(Store& s, const std::string& id) {
  auto r = ok(s.get(Entity::registration, id));
  REQUIRE(r.has_value());
  return r->text(Field::seat_by).value_or("");
}

seats::Holding here(Store& s, const std::string& ev, const std::string& centre) {
  auto sum = ok(s.seat_summary(ev));
  REQUIRE(sum.has_value());
  for (const auto& h : sum->holders)
    if (h.centre == centre) return h;
  return seats::Holding{centre};
}

// A registration created at `s` (its API path: Store::write) at time t.
void reg(Store& s, uint64_t n, const std::string& centre, int64_t t, const std::string& ev = kEv) {
  ok(s.write(registration_write(uuid(n), centre, ev), t));
}

// seat_counts (kept by triggers) agrees with a count of the rows.
void counts_agree(Store& s) {
  CHECK(sql_int(s, "SELECT COUNT(*) FROM registrations WHERE seat = 'confirmee' AND deleted = 0") ==
        sql_int(s, "SELECT COALESCE(SUM(confirmed), 0) FROM seat_counts"));
  CHECK(sql_int(s, "SELECT COUNT(*) FROM seat_counts WHERE confirmed < 0") == 0);
}

Status judge_for(const std::string& node_id, const std::string& centre, const Change& c, const Record* existing,
                 const std::string& host) {
  return check_node_change(PermissionContext{node_id, centre, existing, host}, c);
}

}  // namespace

TEST_CASE("seats: a node confirms from its own seats offline, then waits; a deletion promotes the oldest",
          "[store][seats]") {
  TempDir dir;
  auto a = open_store(dir.file("a.db"), centre_opts("node-a", "centre-a"));
  ok(a->write(centre_write("centre-a"), kNow));
  ok(a->write(limited_event(kEv, "centre-a", 2), kNow));
  for (uint64_t n = 1; n <= 4; ++n) reg(*a, n, "centre-a", kNow + static_cast<int64_t>(n) * 1000);
  CHECK(seat(*a, uuid(1)) == "confirmee");
  CHECK(seat_by(*a, uuid(1)) == "centre-a");
  CHECK(seat(*a, uuid(2)) == "confirmee");
  CHECK(seat(*a, uuid(3)) == "attente");
  CHECK(seat_by(*a, uuid(3)).empty());
  CHECK(seat(*a, uuid(4)) == "attente");
  auto h = here(*a, kEv, "centre-a");
  CHECK(h.seats == 2);
  CHECK(h.confirmed == 2);
  CHECK(h.free == 0);
  CHECK(h.waiting == 2);

  // The deletion and the promotion are one write: the oldest waiting one.
  const uint64_t before = ok(a->stats()).own_seq;
  ok(a->write(op_write(Entity::registration, uuid(1), Op::del), kNow + 10000));
  CHECK(ok(a->stats()).own_seq == before + 2);
  CHECK(seat(*a, uuid(3)) == "confirmee");
  CHECK(seat(*a, uuid(4)) == "attente");
  // An erasure frees its seat too.
  ok(a->write(op_write(Entity::registration, uuid(2), Op::erase), kNow + 11000));
  CHECK(seat(*a, uuid(4)) == "confirmee");

  // Raising the capacity confirms nobody more than waits; lowering below
  // what is confirmed is refused with the lowest capacity allowed.
  auto low = a->write(update_write(Entity::event, kEv, {{Field::capacity, Value{int64_t{1}}}}), kNow + 12000);
  REQUIRE_FALSE(low);
  CHECK(low.status().field() == "capacity");
  CHECK(low.status().message_fr().find("ne peut pas descendre sous 2") != std::string::npos);
  reg(*a, 5, "centre-a", kNow + 13000);
  CHECK(seat(*a, uuid(5)) == "attente");
  ok(a->write(update_write(Entity::event, kEv, {{Field::capacity, Value{int64_t{3}}}}), kNow + 14000));
  CHECK(seat(*a, uuid(5)) == "confirmee");

  // Moving a registration to an event without a limit clears its seat and
  // frees it; a restart's step finds nothing left to do.
  const std::string free_ev = uuid(701, 1);
  ok(a->write(event_write(free_ev, "centre-a"), kNow + 15000));
  ok(a->write(update_write(Entity::registration, uuid(5), {{Field::event_id, Value{free_ev}}}), kNow + 16000));
  CHECK(seat(*a, uuid(5)).empty());
  CHECK(here(*a, kEv, "centre-a").free == 1);
  CHECK(ok(a->reconcile_seats(kNow + 17000)) == 0);
  counts_agree(*a);
}

TEST_CASE("seats: given seats travel to a centre, which confirms from them offline and returns only free ones",
          "[store][seats]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  auto a = open_store(dir.file("a.db"), centre_opts("node-a", "centre-a"));
  auto b = open_store(dir.file("b.db"), centre_opts("node-b", "centre-b"));
  for (const char* c : {"centre-a", "centre-b"}) ok(hub->write(centre_write(c), kNow));
  pull(*hub, *a, "centre-a", "node-a");
  pull(*hub, *b, "centre-b", "node-b");
  ok(a->write(limited_event(kEv, "centre-a", 4), kNow));
  // The host gives 2 of its 4 seats; not more than it has free.
  ok(a->move_seats(kEv, "centre-b", 2, 0, false, kNow + 1));
  auto too_many = a->move_seats(kEv, "centre-b", 3, 0, false, kNow + 2);
  REQUIRE_FALSE(too_many);
  CHECK(too_many.status().message_fr().find("Il ne reste que 2 place") != std::string::npos);
  push(*a, *hub, "node-a");
  pull(*hub, *b, "centre-b", "node-b");
  auto not_host = b->move_seats(kEv, "centre-a", 1, 0, false, kNow + 2);
  REQUIRE_FALSE(not_host);
  CHECK(not_host.status().code() == Code::invalid);  // the host itself is no centre to give to
  auto not_host2 = b->move_seats(kEv, "centre-b", 1, 0, false, kNow + 2);
  REQUIRE_FALSE(not_host2);
  CHECK(not_host2.status().code() == Code::forbidden);
  CHECK(here(*b, kEv, "centre-b").seats == 2);

  // B offline: 3 registrations, 2 confirmed from its seats.
  for (uint64_t n = 1; n <= 3; ++n) reg(*b, n, "centre-b", kNow + 100 + static_cast<int64_t>(n));
  CHECK(seat(*b, uuid(1)) == "confirmee");
  CHECK(seat_by(*b, uuid(2)) == "centre-b");
  CHECK(seat(*b, uuid(3)) == "attente");

  // The host asks 2 seats back: B has none free, so nothing is taken and
  // the request waits; a deletion at B then frees one, which goes back
  // (the request first) instead of promoting.
  ok(a->move_seats(kEv, "centre-b", 0, 2, false, kNow + 200));
  push(*a, *hub, "node-a");
  pull(*hub, *b, "centre-b", "node-b");
  auto hb = here(*b, kEv, "centre-b");
  CHECK(hb.seats == 2);
  CHECK(hb.pending_reclaim == 2);
  ok(b->write(op_write(Entity::registration, uuid(1), Op::del), kNow + 300));
  hb = here(*b, kEv, "centre-b");
  CHECK(hb.seats == 1);
  CHECK(hb.confirmed == 1);
  CHECK(hb.pending_reclaim == 1);
  CHECK(seat(*b, uuid(3)) == "attente");

  // Synced: the hub's judge takes it all, and the host now holds 3 seats;
  // online, it confirms B's waiting registration from them.
  auto judge_b = [](const Change& c, const Record* e, const std::string& h) {
    return judge_for("node-b", "centre-b", c, e, h);
  };
  auto judge_a = [](const Change& c, const Record* e, const std::string& h) {
    return judge_for("node-a", "centre-a", c, e, h);
  };
  push(*b, *hub, "node-b", kNow, judge_b);
  CHECK(ok(b->rejections(10)).empty());
  pull(*hub, *a, "centre-a", "node-a");
  CHECK(seat(*a, uuid(3)) == "confirmee");
  CHECK(seat_by(*a, uuid(3)) == "centre-a");
  push(*a, *hub, "node-a", kNow, judge_a);
  CHECK(ok(a->rejections(10)).empty());
  pull(*hub, *b, "centre-b", "node-b");
  CHECK(seat(*b, uuid(3)) == "confirmee");
  CHECK(seat_by(*b, uuid(3)) == "centre-a");
  auto hub_view = ok(hub->seat_summary(kEv));
  REQUIRE(hub_view.has_value());
  CHECK(hub_view->confirmed == 2);
  CHECK(hub_view->waiting == 0);
  CHECK(seats::seats_of(hub_view->event, "centre-a") == 3);
  CHECK(seats::seats_of(hub_view->event, "centre-b") == 1);
  for (Store* s : {hub.get(), a.get(), b.get()}) counts_agree(*s);
  // A revoked box drops what is not its own: the counts follow the rows.
  ok(a->wipe_personal("centre-a", kNow + 400));
  counts_agree(*a);
  CHECK(ok(a->seat_summary(kEv))->confirmed == 0);
}

TEST_CASE("seats: the hub refuses a confirmation no seat backs, and seat fields its writer may not set",
          "[store][seats]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  for (const char* c : {"centre-a", "centre-b"}) ok(hub->write(centre_write(c), kNow));
  ok(hub->write(limited_event(kEv, "centre-a", 1), kNow));
  auto judge_b = [](const Change& c, const Record* e, const std::string& h) {
    return judge_for("node-b", "centre-b", c, e, h);
  };
  // B holds no seat: its confirmation is refused alone, with a French reason.
  Change c = registration_change("node-b", 1, hlc_make(kNow, 1), uuid(1), "centre-b", kEv);
  c.fields.push_back({Field::seat, Value{std::string("confirmee")}});
  c.fields.push_back({Field::seat_by, Value{std::string("centre-b")}});
  std::sort(c.fields.begin(), c.fields.end(), [](auto& x, auto& y) { return x.field < y.field; });
  auto rep = ok(hub->apply_from_node("node-b", {c}, judge_b, kNow));
  REQUIRE(rep.rejections.size() == 1);
  CHECK(rep.rejections[0].message.find("Place non garantie") != std::string::npos);
  CHECK_FALSE(ok(hub->get(Entity::registration, uuid(1))).has_value());

  // Claiming the host's seat is not B's to do.
  Change d = c;
  d.origin_seq = 2;
  d.hlc = hlc_make(kNow, 2);
  for (auto& f : d.fields)
    if (f.field == Field::seat_by) f.value = std::string("centre-a");
  rep = ok(hub->apply_from_node("node-b", {d}, judge_b, kNow));
  REQUIRE(rep.rejections.size() == 1);
  CHECK(rep.rejections[0].code == "forbidden");

  // Waiting is B's to say for its own registration.
  Change w = registration_change("node-b", 3, hlc_make(kNow, 3), uuid(3), "centre-b", kEv);
  w.fields.push_back({Field::seat, Value{std::string("attente")}});
  std::sort(w.fields.begin(), w.fields.end(), [](auto& x, auto& y) { return x.field < y.field; });
  rep = ok(hub->apply_from_node("node-b", {w}, judge_b, kNow));
  CHECK(rep.rejections.empty());

  // The owner erased its registration; the host, not knowing yet, confirms
  // it from its seat: moot, and not refused (staff would see a false alarm).
  ok(hub->write(op_write(Entity::registration, uuid(3), Op::erase), kNow + 1));
  Change late;
  late.origin = "node-a";
  late.origin_seq = 1;
  late.hlc = hlc_make(kNow, 9);
  late.entity = Entity::registration;
  late.record_id = uuid(3);
  late.centre_id = "centre-b";
  late.fields = {{Field::seat, Value{std::string("confirmee")}}, {Field::seat_by, Value{std::string("centre-a")}}};
  auto judge_a = [](const Change& x, const Record* e, const std::string& h) {
    return judge_for("node-a", "centre-a", x, e, h);
  };
  rep = ok(hub->apply_from_node("node-a", {late}, judge_a, kNow));
  CHECK(rep.rejections.empty());
  CHECK(ok(hub->get(Entity::registration, uuid(3)))->erased);

  // The hub admin moves seats by request only, and never lowers a capacity.
  auto give =
      hub->write(update_write(Entity::event, kEv, {{Field::allotments, Value{std::string("centre-b=1")}}}), kNow + 1);
  REQUIRE_FALSE(give);
  CHECK(give.status().field() == "allotments");
  auto lower = hub->write(update_write(Entity::event, kEv, {{Field::capacity, Value{int64_t{0}}}}), kNow + 1);
  REQUIRE_FALSE(lower);
  CHECK(lower.status().field() == "capacity");
  ok(hub->write(update_write(Entity::event, kEv, {{Field::capacity, Value{int64_t{5}}}}), kNow + 2));
  ok(hub->move_seats(kEv, "centre-b", 2, 0, false, kNow + 3));
  auto sum = ok(hub->seat_summary(kEv));
  REQUIRE(sum.has_value());
  CHECK(seats::get(sum->event.asked, "centre-b") == 2);
  CHECK(seats::seats_of(sum->event, "centre-b") == 0);  // a request: the host's node gives
}

TEST_CASE("seats: a registration moved to another host's event while its old host confirms it there",
          "[store][seats]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  auto a = open_store(dir.file("a.db"), centre_opts("node-a", "centre-a"));
  auto b = open_store(dir.file("b.db"), centre_opts("node-b", "centre-b"));
  auto c = open_store(dir.file("c.db"), centre_opts("node-c", "centre-c"));
  for (const char* x : {"centre-a", "centre-b", "centre-c"}) ok(hub->write(centre_write(x), kNow));
  const std::string e1 = kEv, e2 = uuid(702, 1);
  ok(hub->write(limited_event(e1, "centre-a", 1), kNow));
  ok(hub->write(limited_event(e2, "centre-c", 1), kNow));
  pull(*hub, *a, "centre-a", "node-a");
  pull(*hub, *b, "centre-b", "node-b");
  pull(*hub, *c, "centre-c", "node-c");
  auto judge = [](const std::string& node, const std::string& centre) {
    return [node, centre](const Change& x, const Record* e, const std::string& h) {
      return judge_for(node, centre, x, e, h);
    };
  };
  auto push_as = [&](Store& s, const std::string& node, const std::string& centre) {
    auto st = ok(s.stats());
    auto out = ok(s.own_changes_after(st.acked_seq, 100));
    NodeBatch nb;
    nb.node_id = node;
    nb.node_centre = centre;
    nb.changes = out.changes;
    nb.judge = judge(node, centre);
    auto reps = hub->apply_from_nodes({nb}, kNow);
    auto rep = ok(std::move(reps.at(0)));
    ok(s.add_rejections(rep.rejections));
    ok(s.set_acked(rep.cursor));
    return rep;
  };

  reg(*b, 1, "centre-b", kNow + 10, e1);  // B holds no seat: waiting
  CHECK(seat(*b, uuid(1)) == "attente");
  push_as(*b, "node-b", "centre-b");
  pull(*hub, *a, "centre-a", "node-a");  // A, the host, confirms it from its seat
  CHECK(seat(*a, uuid(1)) == "confirmee");
  CHECK(seat_by(*a, uuid(1)) == "centre-a");

  // Meanwhile B moves it to C's workshop; B's change reaches the hub first.
  ok(b->write(update_write(Entity::registration, uuid(1), {{Field::event_id, Value{e2}}}), kNow + 20));
  CHECK(seat(*b, uuid(1)) == "attente");
  {
    auto moved = push_as(*b, "node-b", "centre-b");
    for (const auto& r : moved.rejections) INFO(r.code << " " << r.field << " " << r.message);
    CHECK(moved.rejections.empty());
    if (!moved.rejections.empty()) FAIL(moved.rejections[0].message);
  }
  CHECK(ok(hub->get(Entity::registration, uuid(1)))->text(Field::event_id) == e2);
  // A's confirmation, of the old event, is ignored: no refusal for A's staff,
  // and nobody's count takes it.
  auto rep = push_as(*a, "node-a", "centre-a");
  CHECK(rep.rejections.empty());
  CHECK(ok(a->rejections(10)).empty());
  CHECK(seat(*hub, uuid(1)) == "attente");
  CHECK(ok(hub->seat_summary(e1))->confirmed == 0);
  // C, the new host, confirms it from its own seat; it reaches B.
  pull(*hub, *c, "centre-c", "node-c");
  CHECK(seat(*c, uuid(1)) == "confirmee");
  CHECK(seat_by(*c, uuid(1)) == "centre-c");
  CHECK(push_as(*c, "node-c", "centre-c").rejections.empty());
  pull(*hub, *b, "centre-b", "node-b");
  CHECK(seat(*b, uuid(1)) == "confirmee");
  CHECK(seat_by(*b, uuid(1)) == "centre-c");

  // The same race within one host's two workshops: the old event's seat is
  // merged but holds nothing, and the host confirms it again in the new one.
  const std::string e3 = uuid(703, 1);
  ok(hub->write(limited_event(e3, "centre-c", 1), kNow + 30));
  reg(*b, 2, "centre-b", kNow + 31, e2);
  push_as(*b, "node-b", "centre-b");
  pull(*hub, *c, "centre-c", "node-c");
  CHECK(seat(*c, uuid(2)) == "attente");  // C's only seat of e2 is taken
  ok(c->write(update_write(Entity::event, e2, {{Field::capacity, Value{int64_t{2}}}}), kNow + 40));
  CHECK(seat(*c, uuid(2)) == "confirmee");  // C confirms it in e2 ...
  pull(*hub, *b, "centre-b", "node-b");
  ok(b->write(update_write(Entity::registration, uuid(2), {{Field::event_id, Value{e3}}}), kNow + 50));
  push_as(*b, "node-b", "centre-b");  // ... while B moves it to e3
  CHECK(push_as(*c, "node-c", "centre-c").rejections.empty());
  pull(*hub, *c, "centre-c", "node-c");
  CHECK(ok(c->get(Entity::registration, uuid(2)))->text(Field::event_id) == e3);
  CHECK(seat(*c, uuid(2)) == "confirmee");
  CHECK(seats::seat_event_id(ok(c->get(Entity::registration, uuid(2)))->text(Field::seat_event).value_or("")) == e3);
  CHECK(seats::reg_of(*ok(c->get(Entity::registration, uuid(2)))).confirmed());
  for (Store* s : {hub.get(), b.get(), c.get()}) counts_agree(*s);
}

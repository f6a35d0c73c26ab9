// ERASE is the right to erasure: after it, the person's personal data is in
// no database file of any replica that held it, including past change-log
// payloads, free pages and the WAL.
#include <random>

#include "common/core/hlc.h"
#include "tests/unit/store/store_fixture.h"

using namespace terril;
using namespace terril::test;

namespace {

const std::string kEvent = uuid(1, 0xe);  // hosted by centre-b: registrations also go to node-b

// Distinctive personal data, so a raw byte search cannot hit anything else.
const std::vector<std::string> kSecrets = {
    "Zqxwyvutsr", "Xyzzyplugh", "Plughxyzzy", "0713579135", "0624680246", "zqxwyvutsr@exemple.org", "Allergie Qwvzkj"};

LocalWrite secret_registration(const std::string& id) {
  LocalWrite w = registration_write(id, "centre-a", kEvent, "Xyzzyplugh", "Zqxwyvutsr");
  w.fields[3].value = Value{std::string("0713579135")};  // phone
  w.fields.push_back({Field::email, Value{std::string("zqxwyvutsr@exemple.org")}});
  return w;
}

std::vector<std::string> leaks(const std::string& db_path) {
  std::vector<std::string> found;
  for (const std::string& f : {db_path, db_path + "-wal"}) {
    const std::string bytes = read_file(f);
    for (const auto& s : kSecrets)
      if (bytes.find(s) != std::string::npos) found.push_back(f + ": " + s);
  }
  return found;
}

}  // namespace

TEST_CASE("ERASE leaves no personal data in any database file of node, hub and host node", "[store][erase]") {
  TempDir dir;
  const std::string a_path = dir.file("a.db"), b_path = dir.file("b.db"), hub_path = dir.file("hub.db");
  auto a = open_store(a_path, node_opts("node-a"));
  auto b = open_store(b_path, node_opts("node-b"));
  auto hub = open_store(hub_path, hub_opts());
  int64_t t = kNow;

  ok(hub->write(event_write(kEvent, "centre-b"), t));
  pull(*hub, *a, "centre-a", "node-a", t);
  pull(*hub, *b, "centre-b", "node-b", t);

  // Enough other people around them, with ids and names that sort on both
  // sides of theirs, that the pages holding them split and move cells.
  const std::vector<std::string> secret_ids = {uuid(uint64_t{0x1000} << 20), uuid(uint64_t{0x2000} << 20),
                                               uuid(uint64_t{0x3000} << 20)};
  std::mt19937_64 rng(7);
  for (uint64_t i = 1; i <= 2000; ++i) {
    if (i % 500 == 0 && i / 500 <= secret_ids.size()) ok(a->write(secret_registration(secret_ids[i / 500 - 1]), ++t));
    const std::string id = uuid((rng() % 0x4000) << 20 | i);  // random place, unique
    const std::string name = std::string("XYZ").substr(rng() % 3, 1) + "q" + static_cast<char>('a' + rng() % 26) +
                             std::to_string(rng() % 1000);
    ok(a->write(registration_write(id, "centre-a", kEvent, "Jean", name), ++t));
    if (i % 400 == 0) push(*a, *hub, "node-a", t);
  }
  // Several payloads per person, on both sides of a sync.
  for (const auto& id : secret_ids) {
    ok(a->write(update_write(Entity::registration, id,
                             {{Field::first_name, Value{std::string("Plughxyzzy")}},
                              {Field::notes, Value{std::string("Allergie Qwvzkj")}}}),
                ++t));
    push(*a, *hub, "node-a", t);
    ok(a->write(update_write(Entity::registration, id, {{Field::phone, Value{std::string("0624680246")}}}), ++t));
  }
  push(*a, *hub, "node-a", t);
  pull(*hub, *b, "centre-b", "node-b", t);
  ok(b->write(update_write(Entity::registration, secret_ids[0], {{Field::attended, Value{true}}}), ++t));
  push(*b, *hub, "node-b", t);
  // One more change still unsent on node-a when the erase happens.
  ok(a->write(update_write(Entity::registration, secret_ids[1],
                           {{Field::last_name, Value{std::string("Zqxwyvutsr")}}, {Field::email, Value{}}}),
              ++t));
  // And a person registered and erased before any sync.
  ok(a->write(secret_registration(uuid(3000)), ++t));

  for (auto* s : {a.get(), b.get(), hub.get()}) ok(s->checkpoint());
  REQUIRE_FALSE(leaks(hub_path).empty());  // the search works
  REQUIRE_FALSE(leaks(b_path).empty());

  for (const auto& id : secret_ids) ok(a->write(op_write(Entity::registration, id, Op::erase), ++t));
  ok(a->write(op_write(Entity::registration, uuid(3000), Op::erase), ++t));
  push(*a, *hub, "node-a", t);
  pull(*hub, *b, "centre-b", "node-b", t);
  pull(*hub, *a, "centre-a", "node-a", t);
  CHECK(ok(hub->rejections(10)).empty());

  for (const auto& id : secret_ids) {
    auto h = ok(hub->get(Entity::registration, id));
    REQUIRE(h);
    CHECK(h->erased);
    CHECK(canonical(*h) == canonical(*ok(a->get(Entity::registration, id))));
    CHECK(canonical(*h) == canonical(*ok(b->get(Entity::registration, id))));
  }
  // The erased ids still sync (as erased), and the hub still serves the log.
  auto replay = ok(hub->changes_for_centre("centre-b", "node-x", 0, 100000));
  CHECK(replay.changes.size() > 2000);

  for (auto* s : {a.get(), b.get(), hub.get()}) ok(s->checkpoint());
  for (const auto& p : {a_path, b_path, hub_path}) {
    INFO(p);
    CHECK(leaks(p) == std::vector<std::string>{});
  }
  a.reset();
  b.reset();
  hub.reset();
  for (const auto& p : {a_path, b_path, hub_path}) {
    INFO(p);
    CHECK(leaks(p) == std::vector<std::string>{});
  }
}

TEST_CASE("a change to an erased record is ignored and not logged", "[store][erase]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  Change c = registration_change("node-a", 1, hlc_make(kNow, 1), uuid(1), "centre-a", kEvent, "Zqxwyvutsr");
  Change e = c;
  e.origin_seq = 2;
  e.hlc = hlc_make(kNow, 2);
  e.op = Op::erase;
  e.fields.clear();
  Change late = c;  // stamped before the erase, arriving after it
  late.origin = "node-b";
  late.origin_seq = 1;
  late.hlc = hlc_make(kNow, 0);
  ok(hub->apply_from_node("node-a", {c, e}, allow_all, kNow));
  auto rep = ok(hub->apply_from_node("node-b", {late}, allow_all, kNow));
  CHECK(rep.applied == 1);
  CHECK(ok(hub->origin_cursor("node-b")) == 1);
  CHECK(sql_int(*hub, "SELECT count(*) FROM change_log") == 2);
  CHECK(ok(hub->get(Entity::registration, uuid(1)))->fields.empty());
  ok(hub->checkpoint());
  CHECK(read_file(dir.file("hub.db")).find("Zqxwyvutsr") == std::string::npos);
}

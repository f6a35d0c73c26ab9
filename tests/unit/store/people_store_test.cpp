// People in the store: search at reception, the hub's queue of possible
// duplicates (found as batches arrive, widened, decided, dropped on
// erasure), the same queue built from scratch, and the migration of a
// database made before people existed. Real SQLite files.
#include <set>

#include "common/core/record_codec.h"
#include "common/store/migrations.h"
#include "tests/unit/store/store_fixture.h"

using namespace terril;
using namespace terril::test;

namespace {

const std::string kEv = uuid(900, 1);

LocalWrite person_write(uint64_t n, const std::string& centre, const std::string& first, const std::string& last,
                        const std::string& phone, const std::string& person = "", const std::string& email = "") {
  LocalWrite w = registration_write(uuid(n), centre, kEv, first, last);
  for (auto& f : w.fields)
    if (f.field == Field::phone) f.value = phone;
  if (!person.empty()) w.fields.push_back({Field::person_id, Value{person}});
  if (!email.empty()) w.fields.push_back({Field::email, Value{email}});
  return w;
}

std::set<std::string> pair_set(Store& hub, std::string_view status = "") {
  std::set<std::string> out;
  for (const auto& p : ok(hub.duplicate_pairs(status, 0, 1000)))
    out.insert(p.person_a + "~" + p.person_b + ":" + rules_text(p.rules) + ":" + p.status);
  return out;
}

}  // namespace

TEST_CASE("people: search as staff type finds this centre's people, grouped by person", "[store][people]") {
  TempDir dir;
  auto s = open_store(dir.file("n.db"), node_opts("node-a"));
  ok(s->write(centre_write("centre-a"), kNow));
  ok(s->write(event_write(kEv, "centre-a"), kNow));
  const std::string martine = uuid(1, 7);
  ok(s->write(person_write(1, "centre-a", "Martine", "Lefèvre", "06 12 34 56 78", martine), kNow));
  ok(s->write(person_write(2, "centre-a", "Martine", "Lefèvre", "06 12 34 56 78", martine), kNow + 10));
  ok(s->write(person_write(3, "centre-a", "Marc", "Lefort", "07 00 11 22 33"), kNow + 20));
  ok(s->write(person_write(4, "centre-b", "Martine", "Lefèvre", "06 12 34 56 78"), kNow + 30));  // another centre's
  ok(s->write(person_write(5, "centre-a", "Line", "Lefèvre", "06 99 99 99 98"), kNow + 40));
  ok(s->write(op_write(Entity::registration, uuid(5), Op::erase), kNow + 50));

  auto found = ok(s->people("centre-a", "lefevre", 20));
  REQUIRE(found.size() == 1);
  CHECK(found[0].person_id == martine);
  CHECK(found[0].registrations == 2);
  CHECK(found[0].latest.id == uuid(2));  // the most recent
  CHECK(*found[0].latest.text(Field::last_name) == "Lefèvre");

  auto lef = ok(s->people("centre-a", "LEF", 20));
  REQUIRE(lef.size() == 2);
  CHECK(lef[0].person_id == martine);  // "lefevre martine" < "lefort marc"
  CHECK(lef[1].person_id == uuid(3));  // no person_id: the registration is its own person
  CHECK(ok(s->people("centre-a", "mart lef", 20)).size() == 1);
  CHECK(ok(s->people("centre-a", "06 12 34", 20)).size() == 1);
  CHECK(ok(s->people("centre-a", "+33 7 00 11", 20)).at(0).person_id == uuid(3));
  CHECK(ok(s->people("centre-a", "lef", 1)).size() == 1);  // limit
  CHECK(ok(s->people("centre-a", "", 20)).empty());
  CHECK(ok(s->people("centre-a", "line", 20)).empty());  // erased
  CHECK(ok(s->people("centre-b", "lefevre", 20)).size() == 1);

  // A person's registrations: the person_id filter.
  ListQuery q;
  q.filters = {{"person_id", martine}};
  CHECK(ok(s->list(Entity::registration, q)).items.size() == 2);
  q.filters = {{"person_id", uuid(3)}};
  CHECK(ok(s->list(Entity::registration, q)).items.size() == 1);
}

TEST_CASE("duplicates: found as batches arrive, widened, decided, never proposed again", "[store][people]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  auto a = open_store(dir.file("a.db"), node_opts("node-a"));
  auto b = open_store(dir.file("b.db"), node_opts("node-b"));
  const std::string pa = uuid(1, 7), pb = uuid(2, 7);
  ok(a->write(person_write(1, "centre-a", "Martine", "Lefèvre", "06 12 34 56 78", pa), kNow));
  ok(a->write(person_write(2, "centre-a", "Paul", "Durand", "06 00 00 00 01"), kNow));
  push(*a, *hub, "node-a");
  CHECK(pair_set(*hub).empty());  // one centre: no pair
  // Centre b: the same person spelled otherwise, another phone.
  ok(b->write(person_write(11, "centre-b", "MARTINE", "Lefevre", "07 11 11 11 12", pb), kNow));
  // Someone else with Paul's number typed the international way.
  ok(b->write(person_write(12, "centre-b", "Pauline", "Durant", "+33 6 00 00 00 01"), kNow));
  push(*b, *hub, "node-b");
  CHECK(pair_set(*hub) ==
        std::set<std::string>{pa + "~" + pb + ":nom-prenom:open", uuid(2) + "~" + uuid(12) + ":telephone:open"});
  // b corrects the phone to Martine's: the pair now matches on both rules.
  ok(b->write(update_write(Entity::registration, uuid(11), {{Field::phone, Value{std::string("0612345678")}}}),
              kNow + 100));
  push(*b, *hub, "node-b");
  CHECK(pair_set(*hub).count(pa + "~" + pb + ":nom-prenom,telephone:open"));

  auto pairs = ok(hub->duplicate_pairs("open", 0, 100));
  REQUIRE(pairs.size() == 2);
  const auto& martine = pairs[0].person_a == pa ? pairs[0] : pairs[1];
  const auto& paul = pairs[0].person_a == pa ? pairs[1] : pairs[0];
  CHECK(martine.centre_a == "centre-a");
  CHECK(martine.centre_b == "centre-b");
  ok(hub->decide_duplicate(martine.id, "same", "admin", kNow + 200));
  ok(hub->decide_duplicate(paul.id, "different", "admin", kNow + 200));
  CHECK(hub->decide_duplicate(999, "same", "admin", kNow).code() == Code::not_found);
  CHECK(hub->decide_duplicate(martine.id, "maybe", "admin", kNow).code() == Code::invalid);
  CHECK(ok(hub->same_person_links()) == std::vector<std::pair<std::string, std::string>>{{pa, pb}});
  CHECK(ok(hub->duplicate_pair(paul.id))->decided_by == "admin");

  // "different" never comes back: Pauline's email now matches Paul's too.
  ok(a->write(update_write(Entity::registration, uuid(2), {{Field::email, Value{std::string("p@ex.fr")}}}),
              kNow + 300));
  ok(b->write(update_write(Entity::registration, uuid(12), {{Field::email, Value{std::string("P@ex.fr")}}}),
              kNow + 300));
  push(*a, *hub, "node-a");
  push(*b, *hub, "node-b");
  CHECK(ok(hub->duplicate_pairs("open", 0, 100)).empty());
  CHECK(ok(hub->duplicate_pair(paul.id))->status == "different");
  CHECK(parse_rules(rules_text(ok(hub->duplicate_pair(paul.id))->rules)) ==
        std::vector<DuplicateRule>{DuplicateRule::phone});  // a decided pair is left as it was
  // The queue built again from scratch keeps every answer.
  CHECK(ok(hub->rebuild_duplicates(kNow + 400)) == 2);
  CHECK(ok(hub->duplicate_pair(paul.id))->status == "different");
  CHECK(ok(hub->duplicate_pair(martine.id))->status == "same");

  // Erasing Martine at b (her only registration there) removes the pair,
  // and with it the alias.
  ok(b->write(op_write(Entity::registration, uuid(11), Op::erase), kNow + 500));
  push(*b, *hub, "node-b");
  CHECK(ok(hub->duplicate_pair(martine.id)) == std::nullopt);
  CHECK(ok(hub->same_person_links()).empty());
  CHECK(ok(hub->duplicate_pair(paul.id)).has_value());
}

TEST_CASE("duplicates: a number many people share identifies nobody; rebuild finds what arrivals found",
          "[store][people]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  std::vector<std::unique_ptr<Store>> nodes;
  for (int c = 0; c < 3; ++c) {
    nodes.push_back(open_store(dir.file("n" + std::to_string(c) + ".db"), node_opts("node-" + std::to_string(c))));
    const std::string centre = "centre-" + std::to_string(c);
    // Three people per centre give the centre's own number.
    for (int i = 0; i < 3; ++i)
      ok(nodes[c]->write(
          person_write(100 * c + i, centre, "P" + std::to_string(i), "C" + std::to_string(c), "03 27 00 00 01"), kNow));
    // And one person registered at every centre, by name.
    ok(nodes[c]->write(person_write(100 * c + 50, centre, "Zoé", "N'Diaye", "06 1" + std::to_string(c) + " 00 00 00"),
                       kNow));
    push(*nodes[c], *hub, "node-" + std::to_string(c));
  }
  // The pairs the first people with the number made, while few had it,
  // went when it became shared: only Zoé's remain.
  auto arrivals = pair_set(*hub);
  CHECK(arrivals.size() == 3);  // Zoé: 0-1, 0-2, 1-2
  for (const auto& p : arrivals) CHECK(p.find(":nom-prenom:open") != std::string::npos);
  // From scratch, the shared number makes no pair at all either.
  REQUIRE(sqlite3_exec(store::testing::raw_handle(*hub), "DELETE FROM duplicate_pairs", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  CHECK(ok(hub->rebuild_duplicates(kNow)) == 3);
  CHECK(pair_set(*hub) == arrivals);
}

TEST_CASE("people: a database made before people existed gets its person columns and queue", "[store][people]") {
  TempDir dir;
  const std::string path = dir.file("hub.db");
  {
    // Schema 1..5 only, and two registrations written as the old code did.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    for (const auto& m : schema_migrations()) {
      if (m.version > 5) break;
      REQUIRE(sqlite3_exec(db, m.sql, nullptr, nullptr, nullptr) == SQLITE_OK);
    }
    REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 5", nullptr, nullptr, nullptr) == SQLITE_OK);
    int n = 0;
    for (const char* centre : {"centre-a", "centre-b"}) {
      Record r;
      r.entity = Entity::registration;
      r.id = uuid(++n);
      r.centre_id = centre;
      Stamp st{1, "node-x"};
      r.fields[Field::first_name] = {std::string("Martine"), st};
      r.fields[Field::last_name] = {std::string(n == 1 ? "Lefèvre" : "LEFEVRE"), st};
      r.fields[Field::phone] = {std::string("0612345678"), st};
      std::string state;
      encode_state(r, state);
      sqlite3_stmt* ins = nullptr;
      REQUIRE(sqlite3_prepare_v2(db,
                                 "INSERT INTO registrations(id, centre_id, first_name, last_name, updated_at, state) "
                                 "VALUES (?1, ?2, 'Martine', 'x', 1, ?3)",
                                 -1, &ins, nullptr) == SQLITE_OK);
      sqlite3_bind_text(ins, 1, r.id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 2, centre, -1, SQLITE_TRANSIENT);
      sqlite3_bind_blob(ins, 3, state.data(), static_cast<int>(state.size()), SQLITE_TRANSIENT);
      REQUIRE(sqlite3_step(ins) == SQLITE_DONE);
      sqlite3_finalize(ins);
    }
    sqlite3_close(db);
  }
  auto hub = open_store(path, hub_opts());
  CHECK(sql_int(*hub, "PRAGMA user_version") >= 6);
  CHECK(sql_text(*hub, "SELECT person FROM registrations WHERE id = '" + uuid(1) + "'") == uuid(1));
  CHECK(sql_text(*hub, "SELECT name_key FROM registrations WHERE id = '" + uuid(2) + "'") == "lefevre martine");
  CHECK(pair_set(*hub) == std::set<std::string>{uuid(1) + "~" + uuid(2) + ":nom-prenom,telephone:open"});
  CHECK(ok(hub->people("centre-a", "lefèvre", 10)).size() == 1);
}

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "common/core/hlc.h"
#include "common/core/validate.h"
#include "common/store/migrations.h"
#include "common/store/sqlite_util.h"
#include "tests/support/files.h"
#include "tests/unit/store/store_fixture.h"

using namespace terril;
using namespace terril::test;

namespace {

const std::string kEvA = uuid(1, 0xe);  // hosted by centre-a
const std::string kEvB = uuid(2, 0xe);  // hosted by centre-b

int latest_version() {
  return schema_migrations().back().version;
}

int64_t log_rows(Store& s) {
  return sql_int(s, "SELECT count(*) FROM change_log");
}

// A new hub store that may grow by only `spare_pages` pages: a full disk.
std::unique_ptr<Store> open_nearly_full_hub(const std::string& path, int64_t spare_pages) {
  int64_t pages = 0;
  {
    auto s = open_store(path, hub_opts());
    pages = sql_int(*s, "PRAGMA page_count");
  }
  StoreOptions small = hub_opts();
  small.max_page_count = pages + spare_pages;
  return open_store(path, small);
}

std::string names(const Page& p) {
  std::string out;
  for (const auto& r : p.items) {
    if (!out.empty()) out += ',';
    out += r.text(Field::last_name).value_or(r.text(Field::title).value_or(r.id));
  }
  return out;
}

}  // namespace

TEST_CASE("open creates the schema, reopen keeps user_version and data", "[store]") {
  TempDir dir;
  const std::string path = dir.file("node.db");
  Record before;
  {
    auto s = open_store(path, node_opts("node-a"));
    CHECK(sql_int(*s, "PRAGMA user_version") == latest_version());
    CHECK(sql_int(*s, "PRAGMA foreign_keys") == 1);
    CHECK(sql_int(*s, "PRAGMA secure_delete") == 1);
    CHECK(sql_int(*s, "PRAGMA synchronous") == 2);  // FULL
    ok(s->write(centre_write("centre-a"), kNow));
    before = *ok(s->get(Entity::centre, "centre-a"));
  }
  auto s = open_store(path, node_opts("node-a"));
  CHECK(sql_int(*s, "PRAGMA user_version") == latest_version());
  auto after = ok(s->get(Entity::centre, "centre-a"));
  REQUIRE(after);
  CHECK(canonical(*after) == canonical(before));
  CHECK(ok(s->stats()).own_seq == 1);
}

TEST_CASE("after migrating, the file's own header holds the new user_version (while the store is open)", "[store]") {
  // A package's preinst reads bytes 60..63 of the database file (SQLite's
  // user_version, big-endian) to refuse a downgrade: they must not wait in
  // the write-ahead log for a later checkpoint.
  TempDir dir;
  const std::string path = dir.file("node.db");
  auto s = open_store(path, node_opts("node-a"));
  const std::string file = read_text(path);
  REQUIRE(file.size() >= 100);
  const int header = (static_cast<unsigned char>(file[60]) << 24) | (static_cast<unsigned char>(file[61]) << 16) |
                     (static_cast<unsigned char>(file[62]) << 8) | static_cast<unsigned char>(file[63]);
  CHECK(header == latest_version());
}

TEST_CASE("record tables have one typed column per field of the field table", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("n.db"), node_opts("node-a"));
  for (const auto& es : entities()) {
    std::set<std::string> cols;
    sqlite3_stmt* st = nullptr;
    const std::string sql = "SELECT name, type FROM pragma_table_info('" + std::string(es.table) + "')";
    REQUIRE(sqlite3_prepare_v2(store::testing::raw_handle(*s), sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::map<std::string, std::string> types;
    while (sqlite3_step(st) == SQLITE_ROW)
      types[reinterpret_cast<const char*>(sqlite3_column_text(st, 0))] =
          reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    for (const auto& fs : es.fields) {
      INFO(es.table << "." << fs.name);
      REQUIRE(types.count(std::string(fs.name)));
      CHECK(types[std::string(fs.name)] == (fs.kind == ValueKind::text ? "TEXT" : "INTEGER"));
    }
    for (const char* c : {"id", "centre_id", "erased", "updated_at", "local_seq", "state", "digest"})
      CHECK(types.count(c));
    // Registrations also hold the columns derived from them: the person's
    // (006_people.sql) and the seat it holds (007_seats.sql).
    const size_t derived = es.entity == Entity::registration ? 6 : 0;
    if (derived)
      for (const char* c : {"person", "name_key", "match_key", "phone_key", "email_key", "seat_holder"})
        CHECK(types.count(c));
    CHECK(types.size() == es.fields.size() + 7 + derived);
  }
}

TEST_CASE("database files are readable by their owner only", "[store]") {
  TempDir dir;
  const std::string path = dir.file("node.db");
  ::umask(022);
  auto s = open_store(path, node_opts("node-a"));
  ok(s->write(centre_write("centre-a"), kNow));
  for (const std::string& f : {path, path + "-wal", path + "-shm"}) {
    struct stat sb;
    INFO(f);
    REQUIRE(::stat(f.c_str(), &sb) == 0);
    CHECK((sb.st_mode & 0777) == 0600);
  }
}

TEST_CASE("write logs changes with origin_seq 1, 2, 3 and a strictly increasing hlc across reopen", "[store]") {
  TempDir dir;
  const std::string path = dir.file("node.db");
  const std::string id = uuid(10);
  uint64_t last_hlc = 0;
  {
    auto s = open_store(path, node_opts("node-a"));
    auto c1 = ok(s->write(registration_write(id, "centre-a", kEvA), kNow));
    CHECK(c1.origin == "node-a");
    CHECK(c1.origin_seq == 1);
    CHECK(c1.op == Op::upsert);
    CHECK(c1.fields.front().field == Field::created_at);  // set on creation
    CHECK(c1.fields.front().value == Value{static_cast<int64_t>(hlc_ms(c1.hlc))});
    auto c2 = ok(s->write(update_write(Entity::registration, id, {{Field::attended, Value{true}}}), kNow + 5));
    CHECK(c2.origin_seq == 2);
    CHECK(c2.hlc > c1.hlc);
    auto c3 = ok(s->write(op_write(Entity::registration, id, Op::del), kNow + 5));
    CHECK(c3.origin_seq == 3);
    CHECK(c3.hlc > c2.hlc);
    CHECK(c3.fields.empty());
    last_hlc = c3.hlc;
    auto r = ok(s->get(Entity::registration, id));
    REQUIRE(r);
    CHECK(r->deleted());
    CHECK(r->flag(Field::attended));
    CHECK(log_rows(*s) == 3);
  }
  // The wall clock went back an hour while the box was off.
  auto s = open_store(path, node_opts("node-a"));
  CHECK(s->hlc_last() == last_hlc);
  auto c4 = ok(s->write(registration_write(uuid(11), "centre-a", kEvA), kNow - 3600000));
  CHECK(c4.origin_seq == 4);
  CHECK(c4.hlc > last_hlc);
}

TEST_CASE("two Store objects on one file keep one sequence and one clock", "[store]") {
  TempDir dir;
  const std::string path = dir.file("node.db");
  auto s1 = open_store(path, node_opts("node-a"));
  auto s2 = open_store(path, node_opts("node-a"));
  uint64_t last_hlc = 0;
  for (uint64_t i = 1; i <= 4; ++i) {
    Store& s = i % 2 ? *s1 : *s2;
    auto c = ok(s.write(registration_write(uuid(i), "centre-a", kEvA), kNow - static_cast<int64_t>(i)));
    CHECK(c.origin_seq == i);
    CHECK(c.hlc > last_hlc);
    last_hlc = c.hlc;
  }
  CHECK(ok(s1->stats()).own_seq == 4);
  CHECK(ok(s1->get(Entity::registration, uuid(4))));
}

TEST_CASE("an update logs only the fields that differ; an identical one logs nothing", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("n.db"), node_opts("node-a"));
  const std::string id = uuid(20);
  ok(s->write(registration_write(id, "centre-a", kEvA, "Marie", "Dupont"), kNow));
  auto c = ok(s->write(update_write(Entity::registration, id,
                                    {{Field::last_name, Value{std::string("Durand")}},
                                     {Field::first_name, Value{std::string("Marie")}}}),
                       kNow + 1));
  REQUIRE(c.fields.size() == 1);
  CHECK(c.fields[0] == FieldValue{Field::last_name, Value{std::string("Durand")}});
  CHECK(c.centre_id == "centre-a");

  const auto rows = log_rows(*s);
  const auto hlc = s->hlc_last();
  auto same = ok(
      s->write(update_write(Entity::registration, id, {{Field::last_name, Value{std::string("Durand")}}}), kNow + 2));
  CHECK(same.origin_seq == 0);
  CHECK(same.fields.empty());
  CHECK(log_rows(*s) == rows);
  CHECK(s->hlc_last() == hlc);
  CHECK(ok(s->stats()).own_seq == 2);
  // Deleting twice logs once.
  CHECK(ok(s->write(op_write(Entity::registration, id, Op::del), kNow + 3)).origin_seq == 3);
  CHECK(ok(s->write(op_write(Entity::registration, id, Op::del), kNow + 4)).origin_seq == 0);
}

TEST_CASE("tags are normalised on write", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("n.db"), node_opts("node-a"));
  LocalWrite w;
  w.entity = Entity::prototype_note;
  w.record_id = uuid(30);
  w.centre_id = "centre-a";
  w.fields = {{Field::title, Value{std::string("Borne")}},
              {Field::status, Value{std::string("idee")}},
              {Field::tags, Value{std::string(" Arduino, bois ,arduino")}}};
  auto c = ok(s->write(w, kNow));
  CHECK(c.get(Field::tags)->index() == 3);
  CHECK(std::get<std::string>(*c.get(Field::tags)) == "arduino,bois");
}

TEST_CASE("invalid writes change nothing", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("n.db"), node_opts("node-a"));
  const std::string id = uuid(40);
  ok(s->write(event_write(kEvA, "centre-a"), kNow));
  ok(s->write(registration_write(id, "centre-a", kEvA), kNow));
  const auto rows = log_rows(*s);
  const auto hlc = s->hlc_last();
  const auto before = canonical(*ok(s->get(Entity::registration, id)));

  struct Case {
    const char* what;
    LocalWrite w;
    Code code;
    std::string field;
  };
  LocalWrite missing = registration_write(uuid(41), "centre-a", kEvA);
  missing.fields.erase(missing.fields.begin() + 2);  // last_name
  LocalWrite unknown = update_write(Entity::registration, id, {{Field::title, Value{std::string("x")}}});
  LocalWrite too_long = update_write(Entity::event, kEvA, {{Field::description, Value{std::string(5000, 'a')}}});
  LocalWrite bad_choice = update_write(Entity::registration, id, {{Field::role, Value{std::string("roi")}}});
  LocalWrite cleared = update_write(Entity::registration, id, {{Field::last_name, Value{}}});
  LocalWrite bad_id = registration_write("not-a-uuid", "centre-a", kEvA);
  LocalWrite other_centre = update_write(Entity::registration, id, {{Field::attended, Value{true}}});
  other_centre.centre_id = "centre-b";
  const std::vector<Case> cases = {
      {"required field missing", missing, Code::invalid, "last_name"},
      {"unknown field", unknown, Code::invalid, ""},
      {"text over 4 KiB", too_long, Code::invalid, "description"},
      {"value not allowed", bad_choice, Code::invalid, "role"},
      {"required field cleared", cleared, Code::invalid, "last_name"},
      {"malformed id", bad_id, Code::invalid, "id"},
      {"owner centre changed", other_centre, Code::invalid, "centre_id"},
      {"delete of an unknown record", op_write(Entity::registration, uuid(99), Op::del), Code::not_found, ""},
      {"erase of an event", op_write(Entity::event, kEvA, Op::erase), Code::invalid, ""},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto r = s->write(c.w, kNow + 10);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == c.code);
    CHECK(r.status().field() == c.field);
    CHECK_FALSE(r.status().message_fr().empty());
    CHECK(log_rows(*s) == rows);
    CHECK(s->hlc_last() == hlc);
    CHECK(ok(s->stats()).own_seq == 2);
  }
  CHECK(canonical(*ok(s->get(Entity::registration, id))) == before);
  CHECK_FALSE(ok(s->get(Entity::registration, uuid(41))));
}

TEST_CASE("an erased record refuses every later write", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("n.db"), node_opts("node-a"));
  const std::string id = uuid(50);
  ok(s->write(registration_write(id, "centre-a", kEvA), kNow));
  auto e = ok(s->write(op_write(Entity::registration, id, Op::erase), kNow));
  CHECK(e.op == Op::erase);
  auto r = ok(s->get(Entity::registration, id));
  REQUIRE(r);
  CHECK(r->erased);
  CHECK(r->fields.empty());
  CHECK(sql_int(*s, "SELECT count(*) FROM registrations WHERE last_name IS NOT NULL OR first_name IS NOT NULL") == 0);
  auto again = s->write(update_write(Entity::registration, id, {{Field::attended, Value{true}}}), kNow);
  CHECK(again.status().code() == Code::conflict);
  CHECK(s->write(op_write(Entity::registration, id, Op::erase), kNow).status().code() == Code::conflict);
}

TEST_CASE("a node without origin refuses writes", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("n.db"), StoreOptions{});
  CHECK(s->write(centre_write("centre-a"), kNow).status().code() == Code::forbidden);
  ok(s->set_origin("node-a"));
  ok(s->write(centre_write("centre-a"), kNow));
  CHECK(s->set_origin("node-b").code() == Code::conflict);
}

TEST_CASE("meta keeps settings and protects the store's own keys", "[store]") {
  TempDir dir;
  auto s = open_store(dir.file("n.db"), node_opts("node-a"));
  CHECK_FALSE(ok(s->meta("centre_id")));
  ok(s->set_meta("centre_id", "centre-a"));
  CHECK(ok(s->meta("centre_id")) == std::optional<std::string>("centre-a"));
  CHECK(s->set_meta("own_seq", "0").code() == Code::invalid);
}

// --- Hub side -----------------------------------------------------------------

TEST_CASE("apply_from_node is idempotent: the same batch twice is a no-op", "[store][hub]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  std::vector<Change> batch;
  for (uint64_t i = 1; i <= 5; ++i)
    batch.push_back(registration_change("node-a", i, hlc_make(kNow, i), uuid(100 + i), "centre-a", kEvA));
  auto r1 = ok(hub->apply_from_node("node-a", batch, allow_all, kNow));
  CHECK(r1.applied == 5);
  CHECK(r1.duplicates == 0);
  CHECK(r1.cursor == 5);
  const auto rows = log_rows(*hub);
  auto r2 = ok(hub->apply_from_node("node-a", batch, allow_all, kNow));
  CHECK(r2.applied == 0);
  CHECK(r2.duplicates == 5);
  CHECK(r2.cursor == 5);
  CHECK(log_rows(*hub) == rows);
  CHECK(ok(hub->origin_cursor("node-a")) == 5);
  CHECK(ok(hub->origin_cursor("node-b")) == 0);
  // Overlapping batch: 4..6.
  batch.push_back(registration_change("node-a", 6, hlc_make(kNow, 6), uuid(106), "centre-a", kEvA));
  auto r3 = ok(hub->apply_from_node("node-a", {batch.begin() + 3, batch.end()}, allow_all, kNow));
  CHECK(r3.duplicates == 2);
  CHECK(r3.applied == 1);
  CHECK(r3.cursor == 6);
  CHECK(hub->hlc_last() >= hlc_make(kNow, 6));  // observed
}

TEST_CASE("a sequence gap fails the whole batch and writes nothing", "[store][hub]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  std::vector<Change> batch = {registration_change("node-a", 1, hlc_make(kNow, 1), uuid(1), "centre-a", kEvA),
                               registration_change("node-a", 3, hlc_make(kNow, 3), uuid(3), "centre-a", kEvA)};
  auto r = hub->apply_from_node("node-a", batch, allow_all, kNow);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::conflict);
  CHECK(log_rows(*hub) == 0);
  CHECK(sql_int(*hub, "SELECT count(*) FROM registrations") == 0);
  CHECK(ok(hub->origin_cursor("node-a")) == 0);
}

TEST_CASE("group commit: batches of several nodes in one transaction, a failing one undone alone",
          "[store][hub][group]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  auto reg = [](const std::string& node, uint64_t seq, uint64_t id) {
    return registration_change(node, seq, hlc_make(kNow, static_cast<uint32_t>(id)), uuid(id), "centre-a", kEvA);
  };
  std::vector<NodeBatch> group(5);
  group[0] = {"node-a", {reg("node-a", 1, 1), reg("node-a", 2, 2)}, allow_all};
  group[1] = {"node-b", {reg("node-b", 1, 11), reg("node-b", 3, 13)}, allow_all};  // gap: undone alone
  group[2] = {"node-a", {reg("node-a", 2, 2), reg("node-a", 3, 3)}, allow_all};    // sees batch 0: 1 duplicate
  group[3] = {"not a node id!", {reg("node-c", 1, 21)}, allow_all};
  group[4] = {"node-c", {reg("node-c", 1, 31)}, allow_all};
  int commits = 0;
  sqlite3_commit_hook(
      store::testing::raw_handle(*hub), [](void* n) { return ++*static_cast<int*>(n), 0; }, &commits);
  auto out = hub->apply_from_nodes(group, kNow);
  sqlite3_commit_hook(store::testing::raw_handle(*hub), nullptr, nullptr);
  CHECK(commits == 1);  // one transaction, one fsync, for the whole group
  REQUIRE(out.size() == 5);
  REQUIRE(out[0].is_ok());
  CHECK(out[0]->applied == 2);
  CHECK(out[0]->cursor == 2);
  REQUIRE_FALSE(out[1].is_ok());
  CHECK(out[1].status().code() == Code::conflict);
  REQUIRE(out[2].is_ok());
  CHECK(out[2]->duplicates == 1);
  CHECK(out[2]->applied == 1);
  CHECK(out[2]->cursor == 3);
  CHECK(out[2]->to_centres == std::vector<std::string>{"centre-a"});
  REQUIRE_FALSE(out[3].is_ok());
  CHECK(out[3].status().code() == Code::invalid);
  REQUIRE(out[4].is_ok());
  CHECK(out[4]->applied == 1);
  CHECK(log_rows(*hub) == 4);
  CHECK(sql_int(*hub, "SELECT count(*) FROM registrations") == 4);
  CHECK(ok(hub->origin_cursor("node-a")) == 3);
  CHECK(ok(hub->origin_cursor("node-b")) == 0);  // nothing of the failed batch
  CHECK(ok(hub->origin_cursor("node-c")) == 1);
  // node-b resends from 1: the undone batch left no trace.
  auto again = ok(hub->apply_from_node("node-b", {reg("node-b", 1, 11), reg("node-b", 2, 12)}, allow_all, kNow));
  CHECK(again.applied == 2);
  CHECK(again.duplicates == 0);
  ok(hub->integrity_check());
}

TEST_CASE("group commit: a full disk fails every batch of the group and writes nothing", "[store][hub][group][full]") {
  TempDir dir;
  const std::string path = dir.file("hub.db");
  auto hub = open_nearly_full_hub(path, 6);
  std::vector<NodeBatch> group(3);
  for (size_t b = 0; b < group.size(); ++b) {
    group[b].node_id = "node-" + std::string(1, static_cast<char>('a' + b));
    group[b].judge = allow_all;
    for (uint64_t i = 1; i <= 300; ++i)
      group[b].changes.push_back(registration_change(group[b].node_id, i, hlc_make(kNow, static_cast<uint32_t>(i)),
                                                     uuid(b * 1000 + i), "centre-a", kEvA));
  }
  auto out = hub->apply_from_nodes(group, kNow);
  REQUIRE(out.size() == 3);
  for (const auto& r : out) {
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::full);
  }
  CHECK(log_rows(*hub) == 0);
  for (const char* n : {"node-a", "node-b", "node-c"}) CHECK(ok(hub->origin_cursor(n)) == 0);
  ok(hub->integrity_check());
  // Space comes back: the same group goes through whole.
  hub.reset();
  auto roomy = open_store(path, hub_opts());
  auto again = roomy->apply_from_nodes(group, kNow);
  for (const auto& r : again) {
    REQUIRE(r.is_ok());
    CHECK(r->applied == 300);
  }
  CHECK(log_rows(*roomy) == 900);
}

TEST_CASE("a refused change is stored as a rejection, the cursor passes it, later changes apply", "[store][hub]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  Judge judge = [](const Change& c, const Record*, const std::string&) {
    if (c.centre_id != "centre-a")
      return Status(Code::forbidden, "record belongs to another centre", {},
                    "Cette fiche appartient à un autre centre.");
    return Status::ok();
  };
  std::vector<Change> batch = {
      registration_change("node-a", 1, hlc_make(kNow, 1), uuid(1), "centre-a", kEvA),
      registration_change("node-a", 2, hlc_make(kNow, 2), uuid(2), "centre-b", kEvA),
      registration_change("node-a", 3, hlc_make(kNow, 3), uuid(3), "centre-a", kEvA),
      registration_change("node-a", 4, hlc_make(kNow + 6 * 60 * 1000, 0), uuid(4), "centre-a", kEvA),
  };
  auto r = ok(hub->apply_from_node("node-a", batch, judge, kNow));
  CHECK(r.applied == 2);
  CHECK(r.cursor == 4);
  REQUIRE(r.rejections.size() == 2);
  CHECK(r.rejections[0].origin_seq == 2);
  CHECK(r.rejections[0].code == "forbidden");
  CHECK(r.rejections[0].message == "Cette fiche appartient à un autre centre.");
  CHECK(r.rejections[0].entity == "registration");
  CHECK(r.rejections[0].record_id == uuid(2));
  CHECK(r.rejections[1].origin_seq == 4);
  CHECK(r.rejections[1].code == "clock_skew");
  CHECK(ok(hub->get(Entity::registration, uuid(3))));
  CHECK_FALSE(ok(hub->get(Entity::registration, uuid(2))));
  CHECK_FALSE(ok(hub->get(Entity::registration, uuid(4))));
  CHECK(hub->hlc_last() < hlc_make(kNow + 60000, 0));  // the future stamp did not pull the clock
  auto stored = ok(hub->rejections(10));
  REQUIRE(stored.size() == 2);
  CHECK(stored[0].origin_seq == 4);  // newest first
  CHECK(ok(hub->stats()).rejections == 2);
  CHECK(ok(hub->origin_cursor("node-a")) == 4);
}

TEST_CASE("the judge sees the existing record and the host centre of the event", "[store][hub]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  ok(hub->write(event_write(kEvB, "centre-b"), kNow));
  std::vector<std::pair<bool, std::string>> seen;
  Judge judge = [&](const Change&, const Record* existing, const std::string& host) {
    seen.emplace_back(existing != nullptr, host);
    return Status::ok();
  };
  Change c1 = registration_change("node-a", 1, hlc_make(kNow, 1), uuid(1), "centre-a", kEvB);
  Change c2 = c1;
  c2.origin_seq = 2;
  c2.hlc = hlc_make(kNow, 2);
  c2.fields = {{Field::attended, Value{true}}};
  ok(hub->apply_from_node("node-a", {c1, c2}, judge, kNow));
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::make_pair(false, std::string("centre-b")));
  CHECK(seen[1] == std::make_pair(true, std::string("centre-b")));
}

TEST_CASE("changes_for_centre routes registrations to owner and host only, the rest to everyone", "[store][hub]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  ok(hub->write(centre_write("centre-a"), kNow));       // seq 1, everyone
  ok(hub->write(event_write(kEvB, "centre-b"), kNow));  // seq 2, everyone
  std::vector<Change> from_a = {
      registration_change("node-a", 1, hlc_make(kNow, 1), uuid(1), "centre-a", kEvB),  // seq 3: a, b
      registration_change("node-a", 2, hlc_make(kNow, 2), uuid(2), "centre-a", kEvA),  // seq 4: a (event unknown)
  };
  ok(hub->apply_from_node("node-a", from_a, allow_all, kNow));
  std::vector<Change> from_c = {registration_change("node-c", 1, hlc_make(kNow, 3), uuid(3), "centre-c", kEvB)};
  ok(hub->apply_from_node("node-c", from_c, allow_all, kNow));  // seq 5: c, b

  auto ids = [](const Outgoing& o) {
    std::string s;
    for (const auto& c : o.changes) s += std::to_string(c.origin_seq) + c.origin + " ";
    return s;
  };
  auto to_a = ok(hub->changes_for_centre("centre-a", "node-a", 0, 100));
  CHECK(ids(to_a) == "1hub 2hub ");  // never its own changes back
  CHECK(to_a.last_seq == 5);
  auto to_b = ok(hub->changes_for_centre("centre-b", "node-b", 0, 100));
  CHECK(ids(to_b) == "1hub 2hub 1node-a 1node-c ");  // as host
  CHECK(to_b.last_seq == 5);
  auto to_c = ok(hub->changes_for_centre("centre-c", "node-c", 0, 100));
  CHECK(ids(to_c) == "1hub 2hub ");
  auto to_d = ok(hub->changes_for_centre("centre-d", "node-d", 0, 100));
  CHECK(ids(to_d) == "1hub 2hub ");
  CHECK(to_d.last_seq == 5);  // passes over rows routed elsewhere

  // Paging: limit 1, then resume from last_seq.
  auto p1 = ok(hub->changes_for_centre("centre-b", "node-b", 0, 1));
  CHECK(ids(p1) == "1hub ");
  CHECK(p1.last_seq == 1);
  auto p2 = ok(hub->changes_for_centre("centre-b", "node-b", 2, 2));
  CHECK(ids(p2) == "1node-a 1node-c ");
  CHECK(p2.last_seq == 5);
  auto p3 = ok(hub->changes_for_centre("centre-b", "node-b", 5, 2));
  CHECK(p3.changes.empty());
  CHECK(p3.last_seq == 5);
  // A node's own changes skipped at the start of a page still move the cursor.
  auto own = ok(hub->changes_for_centre("centre-a", "node-a", 2, 100));
  CHECK(own.changes.empty());
  CHECK(own.last_seq == 5);
}

TEST_CASE("apply_from_hub is idempotent by last_seq and observes the clock", "[store][node]") {
  TempDir dir;
  auto node = open_store(dir.file("n.db"), node_opts("node-b"));
  std::vector<Change> batch = {registration_change("node-a", 1, hlc_make(kNow + 1000, 0), uuid(1), "centre-a", kEvB)};
  auto r1 = ok(node->apply_from_hub(batch, 7, kNow));
  CHECK(r1.applied == 1);
  CHECK(r1.cursor == 7);
  CHECK(ok(node->stats()).hub_cursor == 7);
  CHECK(node->hlc_last() == hlc_make(kNow + 1000, 0));
  const auto before = canonical(*ok(node->get(Entity::registration, uuid(1))));
  auto r2 = ok(node->apply_from_hub(batch, 7, kNow));
  CHECK(r2.applied == 0);
  CHECK(r2.duplicates == 1);
  CHECK(r2.cursor == 7);
  CHECK(canonical(*ok(node->get(Entity::registration, uuid(1)))) == before);
  CHECK(log_rows(*node) == 0);  // remote changes are not in the node's log
  CHECK(ok(node->local_seq(Entity::registration, uuid(1))) == 0);
  // A stamp far in the future is merged but does not drag the clock.
  Change future = registration_change("node-a", 2, hlc_make(kNow + 3600000, 0), uuid(2), "centre-a", kEvB);
  ok(node->apply_from_hub({future}, 8, kNow));
  CHECK(node->hlc_last() == hlc_make(kNow + 1000, 0));
  // Cursor jumps over changes routed elsewhere.
  ok(node->apply_from_hub({}, 20, kNow));
  CHECK(ok(node->stats()).hub_cursor == 20);
}

TEST_CASE("set_acked compacts the node change log; local_seq tells what reached the hub", "[store][node]") {
  TempDir dir;
  auto node = open_store(dir.file("n.db"), node_opts("node-a"));
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  const std::string r1 = uuid(1), r2 = uuid(2);
  ok(node->write(registration_write(r1, "centre-a", kEvA), kNow));                                  // 1
  ok(node->write(registration_write(r2, "centre-a", kEvA), kNow));                                  // 2
  ok(node->write(update_write(Entity::registration, r1, {{Field::attended, Value{true}}}), kNow));  // 3
  CHECK(ok(node->local_seq(Entity::registration, r1)) == 3);
  CHECK(ok(node->local_seq(Entity::registration, r2)) == 2);
  CHECK(ok(node->local_seq(Entity::registration, uuid(9))) == 0);
  auto st = ok(node->stats());
  CHECK(st.own_seq == 3);
  CHECK(st.pending == 3);

  auto out = ok(node->own_changes_after(0, 2));
  REQUIRE(out.changes.size() == 2);
  CHECK(out.last_seq == 2);
  auto rep = ok(hub->apply_from_node("node-a", out.changes, allow_all, kNow));
  ok(node->set_acked(rep.cursor));
  st = ok(node->stats());
  CHECK(st.acked_seq == 2);
  CHECK(st.pending == 1);
  CHECK(log_rows(*node) == 1);
  auto rest = ok(node->own_changes_after(st.acked_seq, 100));
  REQUIRE(rest.changes.size() == 1);
  CHECK(rest.changes[0].origin_seq == 3);
  // r2 reached the hub, r1's last change has not.
  CHECK(ok(node->local_seq(Entity::registration, r2)) <= st.acked_seq);
  CHECK(ok(node->local_seq(Entity::registration, r1)) > st.acked_seq);
  push(*node, *hub, "node-a");
  CHECK(ok(node->stats()).pending == 0);
  CHECK(log_rows(*node) == 0);
  CHECK(canonical(*ok(node->get(Entity::registration, r1))) == canonical(*ok(hub->get(Entity::registration, r1))));
  // An ack beyond what this database issued (restored from an old copy):
  // new changes never reuse those numbers.
  ok(node->set_acked(10));
  CHECK(ok(node->write(registration_write(uuid(3), "centre-a", kEvA), kNow)).origin_seq == 11);
}

TEST_CASE("node and hub hold byte-identical records after a sync both ways", "[store][sync]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  auto a = open_store(dir.file("a.db"), node_opts("node-a"));
  auto b = open_store(dir.file("b.db"), node_opts("node-b"));
  ok(hub->write(event_write(kEvB, "centre-b"), kNow));
  pull(*hub, *a, "centre-a", "node-a");
  pull(*hub, *b, "centre-b", "node-b");
  ok(a->write(registration_write(uuid(1), "centre-a", kEvB), kNow + 10));
  push(*a, *hub, "node-a", kNow + 20);
  pull(*hub, *b, "centre-b", "node-b", kNow + 30);
  // Check-in at the host, a correction at the owner, concurrently.
  ok(b->write(update_write(Entity::registration, uuid(1), {{Field::attended, Value{true}}}), kNow + 40));
  ok(a->write(update_write(Entity::registration, uuid(1), {{Field::phone, Value{std::string("0699999999")}}}),
              kNow + 40));
  push(*a, *hub, "node-a", kNow + 50);
  push(*b, *hub, "node-b", kNow + 50);
  pull(*hub, *a, "centre-a", "node-a", kNow + 60);
  pull(*hub, *b, "centre-b", "node-b", kNow + 60);
  const auto h = canonical(*ok(hub->get(Entity::registration, uuid(1))));
  CHECK(canonical(*ok(a->get(Entity::registration, uuid(1)))) == h);
  CHECK(canonical(*ok(b->get(Entity::registration, uuid(1)))) == h);
  CHECK(h.find("attended=true") != std::string::npos);
  CHECK(h.find("0699999999") != std::string::npos);
  CHECK(sql_text(*hub, "SELECT hex(state) FROM registrations") == sql_text(*a, "SELECT hex(state) FROM registrations"));
}

// --- Queries ------------------------------------------------------------------

TEST_CASE("list filters, searches and pages by name or date; count_by and for_each agree", "[store][query]") {
  TempDir dir;
  auto s = open_store(dir.file("n.db"), node_opts("node-a"));
  ok(s->write(centre_write("centre-a", "lens-lievin", "Lens"), kNow));
  ok(s->write(centre_write("centre-b", "porte-du-hainaut", "Denain"), kNow));
  ok(s->write(event_write(kEvA, "centre-a", "Temps fort", "temps-fort", kNow + 1000), kNow));
  ok(s->write(event_write(kEvB, "centre-b", "Atelier vélo", "atelier", kNow + 5000), kNow));
  struct R {
    uint64_t n;
    const char* centre;
    const std::string& ev;
    const char* first;
    const char* last;
    const char* role;
  };
  const std::vector<R> regs = {
      {1, "centre-a", kEvA, "Marie", "Dupont", "habitant"},  {2, "centre-a", kEvA, "Paul", "Durand", "benevole"},
      {3, "centre-b", kEvA, "Lina", "Martin", "habitant"},   {4, "centre-b", kEvB, "Ali", "Dupuis", "salarie"},
      {5, "centre-a", kEvB, "Jo", "Lefebvre_%", "habitant"},
  };
  for (const auto& r : regs)
    ok(s->write(registration_write(uuid(r.n), r.centre, r.ev, r.first, r.last, r.role), kNow + 100));
  ok(s->write(update_write(Entity::registration, uuid(2), {{Field::attended, Value{true}}}), kNow + 200));
  ok(s->write(op_write(Entity::registration, uuid(3), Op::del), kNow + 200));

  auto q = [](std::vector<std::pair<std::string, std::string>> f, std::string search = "") {
    ListQuery lq;
    lq.filters = std::move(f);
    lq.search = std::move(search);
    return lq;
  };
  CHECK(names(ok(s->list(Entity::registration, q({})))) == "Dupont,Dupuis,Durand,Lefebvre_%");
  CHECK(names(ok(s->list(Entity::registration, q({{"centre_id", "centre-a"}})))) == "Dupont,Durand,Lefebvre_%");
  CHECK(names(ok(s->list(Entity::registration, q({{"event_id", kEvA}})))) == "Dupont,Durand");
  CHECK(names(ok(s->list(Entity::registration, q({{"role", "habitant"}})))) == "Dupont,Lefebvre_%");
  CHECK(names(ok(s->list(Entity::registration, q({{"attended", "true"}})))) == "Durand");
  CHECK(names(ok(s->list(Entity::registration, q({{"attended", "false"}})))) == "Dupont,Dupuis,Lefebvre_%");
  CHECK(names(ok(s->list(Entity::registration, q({{"agglomeration", "porte-du-hainaut"}})))) == "Dupuis");
  CHECK(names(ok(s->list(Entity::registration, q({}, "dUp")))) == "Dupont,Dupuis");
  CHECK(names(ok(s->list(Entity::registration, q({}, "_%")))) == "Lefebvre_%");  // wildcards are literal
  CHECK(names(ok(s->list(Entity::registration, q({}, "%")))) == "Lefebvre_%");
  CHECK(names(ok(s->list(Entity::registration, q({{"centre_id", "x' OR '1'='1"}})))) == "");
  CHECK(names(ok(s->list(Entity::event, q({{"kind", "atelier"}})))) == "Atelier vélo");
  CHECK(names(ok(s->list(Entity::event, q({}, "vélo")))) == "Atelier vélo");
  ListQuery deleted = q({});
  deleted.include_deleted = true;
  CHECK(names(ok(s->list(Entity::registration, deleted))) == "Dupont,Dupuis,Durand,Lefebvre_%,Martin");
  ListQuery window = q({});
  window.from_ms = kNow + 2000;
  window.to_ms = kNow + 6000;
  CHECK(names(ok(s->list(Entity::event, window))) == "Atelier vélo");

  // Unknown or misplaced filters are errors, never SQL.
  CHECK(s->list(Entity::registration, q({{"last_name; DROP TABLE meta", "x"}})).status().code() == Code::invalid);
  CHECK(s->list(Entity::event, q({{"role", "habitant"}})).status().code() == Code::invalid);
  CHECK(s->list(Entity::registration, q({{"attended", "oui"}})).status().code() == Code::invalid);

  // Paging: 2 by 2.
  ListQuery page = q({});
  page.limit = 2;
  auto p1 = ok(s->list(Entity::registration, page));
  CHECK(names(p1) == "Dupont,Dupuis");
  CHECK(p1.next == "dupuis ali|" + uuid(4));  // the sort key and the id
  page.after = p1.next;
  auto p2 = ok(s->list(Entity::registration, page));
  CHECK(names(p2) == "Durand,Lefebvre_%");
  CHECK(p2.next.empty());  // nothing after
  // By date, newest first, paged the same way (creation times are equal
  // here: ties by id, descending).
  ListQuery by_date = q({});
  by_date.sort = "date";
  by_date.limit = 3;
  auto d1 = ok(s->list(Entity::registration, by_date));
  CHECK(names(d1) == "Lefebvre_%,Dupuis,Durand");
  by_date.after = d1.next;
  CHECK(names(ok(s->list(Entity::registration, by_date))) == "Dupont");
  // Events by start, soonest first; by title when asked.
  CHECK(names(ok(s->list(Entity::event, q({})))) == "Temps fort,Atelier vélo");
  ListQuery by_title = q({});
  by_title.sort = "name";
  CHECK(names(ok(s->list(Entity::event, by_title))) == "Atelier vélo,Temps fort");
  ListQuery bad = q({});
  bad.sort = "id";
  CHECK(s->list(Entity::registration, bad).status().code() == Code::invalid);
  bad.sort.clear();
  bad.after = "no-bar-here";
  CHECK(s->list(Entity::registration, bad).status().code() == Code::invalid);
  bad.after = "x|" + uuid(1);
  bad.sort = "date";  // an integer key that is not one
  CHECK(s->list(Entity::registration, bad).status().code() == Code::invalid);
  page.limit = 4;
  page.after.clear();
  CHECK(ok(s->list(Entity::registration, page)).next.empty());  // exactly the last page

  using Counts = std::vector<std::pair<std::string, uint64_t>>;
  CHECK(ok(s->count_by(Entity::registration, "role", q({}))) ==
        Counts{{"benevole", 1}, {"habitant", 2}, {"salarie", 1}});
  CHECK(ok(s->count_by(Entity::registration, "centre_id", q({{"event_id", kEvB}}))) ==
        Counts{{"centre-a", 1}, {"centre-b", 1}});
  CHECK(ok(s->count_by(Entity::registration, "agglomeration", q({}))) ==
        Counts{{"lens-lievin", 3}, {"porte-du-hainaut", 1}});
  CHECK(ok(s->count_by(Entity::registration, "attended", q({}))) == Counts{{"", 3}, {"true", 1}});
  CHECK(s->count_by(Entity::registration, "last_name", q({})).status().code() == Code::invalid);  // personal
  CHECK(s->count_by(Entity::registration, "1; DROP", q({})).status().code() == Code::invalid);

  std::vector<std::string> streamed;
  ok(s->for_each(Entity::registration, q({{"centre_id", "centre-a"}}), [&](const Record& r) {
    streamed.push_back(*r.text(Field::last_name));
    return true;
  }));
  CHECK(streamed == std::vector<std::string>{"Dupont", "Durand", "Lefebvre_%"});
  streamed.clear();
  ok(s->for_each(Entity::registration, deleted, [&](const Record& r) {  // live records only
    streamed.push_back(*r.text(Field::last_name));
    return streamed.size() < 2;  // stops early
  }));
  CHECK(streamed == std::vector<std::string>{"Dupont", "Dupuis"});
}

// --- Clock ----------------------------------------------------------------------

TEST_CASE("restamp_future rewinds the clock and re-stamps unsent future changes", "[store][clock]") {
  TempDir dir;
  const std::string path = dir.file("n.db");
  const int64_t future = kNow + 400LL * 86400000;  // the Pi booted 400 days ahead
  auto node = open_store(path, node_opts("node-a"));
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  ok(node->write(registration_write(uuid(1), "centre-a", kEvA), kNow));  // 1, on time
  push(*node, *hub, "node-a");
  ok(node->write(registration_write(uuid(2), "centre-a", kEvA), future));                                  // 2
  ok(node->write(update_write(Entity::registration, uuid(1), {{Field::attended, Value{true}}}), future));  // 3
  CHECK(ok(node->restamp_future(future, 60000)) == 0);  // no hub time yet: nothing is "future"

  ok(node->set_clock_offset(kNow - future));  // the hub said so
  CHECK(node->clock_offset() == kNow - future);
  CHECK(ok(node->restamp_future(future + 10, 60000)) == 2);
  CHECK(hlc_ms(node->hlc_last()) <= static_cast<uint64_t>(kNow + 10));
  auto out = ok(node->own_changes_after(1, 100));
  REQUIRE(out.changes.size() == 2);
  CHECK(hlc_ms(out.changes[0].hlc) <= static_cast<uint64_t>(kNow + 10));
  CHECK(out.changes[0].hlc < out.changes[1].hlc);
  CHECK(out.changes[0].get(Field::created_at)->index() == 1);
  CHECK(std::get<int64_t>(*out.changes[0].get(Field::created_at)) == static_cast<int64_t>(hlc_ms(out.changes[0].hlc)));
  auto r2 = ok(node->get(Entity::registration, uuid(2)));
  CHECK(r2->max_hlc() == out.changes[0].hlc);
  CHECK(*r2->integer(Field::created_at) == static_cast<int64_t>(hlc_ms(out.changes[0].hlc)));
  CHECK(ok(node->get(Entity::registration, uuid(1)))->fields.at(Field::attended).stamp.hlc == out.changes[1].hlc);
  // Now the hub accepts them, and both sides agree.
  push(*node, *hub, "node-a", kNow + 20);
  CHECK(ok(hub->rejections(10)).empty());
  for (uint64_t n : {1, 2})
    CHECK(canonical(*ok(node->get(Entity::registration, uuid(n)))) ==
          canonical(*ok(hub->get(Entity::registration, uuid(n)))));
  // Persisted: the offset and the rewound clock survive a reopen.
  const auto last = node->hlc_last();
  node.reset();
  node = open_store(path, node_opts("node-a"));
  CHECK(node->clock_offset() == kNow - future);
  CHECK(node->hlc_last() == last);
}

// --- Full disk ------------------------------------------------------------------

TEST_CASE("a full disk fails a write cleanly and the store recovers", "[store][full]") {
  TempDir dir;
  const std::string path = dir.file("n.db");
  int64_t pages = 0;
  {
    auto s = open_store(path, node_opts("node-a"));
    ok(s->write(event_write(kEvA, "centre-a"), kNow));
    ok(s->checkpoint());
    pages = sql_int(*s, "PRAGMA page_count");
  }
  StoreOptions small = node_opts("node-a");
  small.max_page_count = pages + 8;
  auto s = open_store(path, small);
  Status full;
  int written = 0;
  for (int i = 0; i < 5000; ++i) {
    const auto rows = log_rows(*s);
    const auto own = ok(s->stats()).own_seq;
    LocalWrite w = registration_write(uuid(1000 + i), "centre-a", kEvA);
    w.fields.push_back({Field::notes, Value{std::string(1500, 'n')}});
    auto r = s->write(w, kNow + i);
    if (!r) {
      full = r.status();
      CHECK(log_rows(*s) == rows);
      CHECK(ok(s->stats()).own_seq == own);
      CHECK_FALSE(ok(s->get(Entity::registration, uuid(1000 + i))));
      break;
    }
    ++written;
  }
  REQUIRE_FALSE(full.is_ok());
  CHECK(full.code() == Code::full);
  CHECK(full.message_fr() == store::kDiskFullFr);
  CHECK(written > 0);
  ok(s->integrity_check());
  const auto hlc = s->hlc_last();
  s.reset();

  StoreOptions bigger = node_opts("node-a");
  bigger.max_page_count = pages + 10000;
  s = open_store(path, bigger);
  ok(s->integrity_check());
  CHECK(s->hlc_last() <= hlc);
  CHECK(sql_int(*s, "SELECT count(*) FROM registrations") == written);
  auto c = ok(s->write(registration_write(uuid(999), "centre-a", kEvA), kNow + 9999));
  CHECK(c.origin_seq == static_cast<uint64_t>(written) + 2);
}

TEST_CASE("a full disk during apply_from_node leaves the batch unapplied", "[store][full]") {
  TempDir dir;
  const std::string path = dir.file("hub.db");
  auto hub = open_nearly_full_hub(path, 4);
  std::vector<Change> batch;
  for (uint64_t i = 1; i <= 500; ++i)
    batch.push_back(registration_change("node-a", i, hlc_make(kNow, i), uuid(i), "centre-a", kEvA));
  auto r = hub->apply_from_node("node-a", batch, allow_all, kNow);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::full);
  CHECK(ok(hub->origin_cursor("node-a")) == 0);
  CHECK(log_rows(*hub) == 0);
  ok(hub->integrity_check());
}

TEST_CASE("a database file this user cannot write is refused at open, with what to fix", "[store][hostile]") {
  // root writes whatever the mode, so as root the attempt runs in a child
  // turned into user nobody.
  auto open_as_other_user = [](const std::string& path) -> std::string {
    auto attempt = [&]() -> std::string {
      auto r = Store::open(path, node_opts("node-a"));
      return r ? std::string("opened") : r.status().message() + " | " + r.status().message_fr();
    };
    if (::geteuid() != 0) return attempt();
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      std::string out = (::setgid(65534) == 0 && ::setuid(65534) == 0) ? attempt() : std::string("setuid failed");
      ssize_t w = ::write(fds[1], out.data(), out.size());
      ::_exit(w < 0 ? 1 : 0);
    }
    ::close(fds[1]);
    std::string what;
    char buf[1024];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) what.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    return what;
  };
  for (mode_t mode : {0600, 0444}) {  // another user's private file; a read-only file
    TempDir dir;
    const std::string path = dir.file("node.db");
    {
      auto s = open_store(path, node_opts("node-a"));
      ok(s->write(centre_write("centre-a"), kNow));
    }
    REQUIRE(::chmod(dir.path().c_str(), 01777) == 0);  // the folder is not the problem here
    REQUIRE(::chmod(path.c_str(), ::geteuid() == 0 ? mode : 0400) == 0);
    const std::string what = open_as_other_user(path);
    INFO("mode " << std::oct << mode << ": " << what);
    CHECK(what.find("is not writable by this user") != std::string::npos);
    CHECK(what.find("chown -R terril-node:") != std::string::npos);
    CHECK(what.find("n'est pas modifiable") != std::string::npos);
    // Nothing was changed: the owner opens it and finds its data.
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    auto s = open_store(path, node_opts("node-a"));
    CHECK(sql_int(*s, "SELECT count(*) FROM centres") == 1);
    ok(s->integrity_check());
  }
  // A folder this user cannot write (the -wal file could not be made).
  if (::geteuid() == 0) {
    TempDir dir;
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
    const std::string what = open_as_other_user(dir.file("node.db"));
    INFO(what);
    CHECK(what.find("the folder") != std::string::npos);
    CHECK(what.find("is not writable by this user") != std::string::npos);
  }
}

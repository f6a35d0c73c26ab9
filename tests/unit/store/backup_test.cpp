// Hub backup files (common/store/backup.h): a copy made under concurrent
// writes is one consistent snapshot that passes its integrity check, the
// small files travel inside it and never reach the restored database, and a
// restore's checks refuse what is not a sound hub database.
#include "common/store/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "tests/support/files.h"
#include "tests/unit/store/store_fixture.h"

namespace terril::test {
namespace {

// A hub store as `terril-hub init` leaves it: hub_id set, a centre seeded.
std::unique_ptr<Store> make_hub(const std::string& path) {
  auto hub = open_store(path, hub_opts());
  ok(hub->set_meta("hub_id", "hub-0123456789ab"));
  ok(hub->seed_centres({centre_write("centre-lens")}, kNow));
  return hub;
}

// The empty 0600 file write_backup() and restore_database() expect.
std::string fresh(const TempDir& dir, const std::string& name) {
  std::string p = dir.file(name);
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  REQUIRE(fd >= 0);
  ::close(fd);
  return p;
}

int64_t raw_int(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

void overwrite(const std::string& path, off_t at, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), at) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

const std::vector<BackupFile> kFiles = {
    {"admin.password", 0600, "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA\n"},
    {"tls/hub-cert.pem", 0644, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
    {"tls/hub-key.pem", 0600, "-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n"},
};

}  // namespace

TEST_CASE("a backup taken while another connection writes is one consistent snapshot", "[store][backup]") {
  TempDir dir("terril-backup");
  const std::string db = dir.file("hub.db");
  auto hub = make_hub(db);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0}, failed{0};
  std::thread writer([&] {
    // Its own connection, as the hub's group commit thread has.
    auto w = Store::open(db, hub_opts());
    if (!w) {
      failed = 1;
      return;
    }
    for (int i = 0; !stop; ++i) {
      if (!(*w)->write(event_write(uuid(static_cast<uint64_t>(i), 2), "centre-lens"), kNow)) ++failed;
      ++written;
    }
  });
  while (written < 20) std::this_thread::yield();
  std::vector<int64_t> events;
  for (int b = 0; b < 4; ++b) {
    const int before = written.load();
    std::string out = fresh(dir, "copy-" + std::to_string(b) + ".backup");
    auto info = write_backup(db, kFiles, out);
    INFO(info.status().to_string());
    REQUIRE(info.is_ok());
    CHECK(info->hub_id == "hub-0123456789ab");
    CHECK(ok(inspect_backup(out)).records == info->records);
    // Each write is one transaction: a record and its change log row. A
    // torn copy would hold one without the other.
    const int64_t n = raw_int(out, "SELECT count(*) FROM events");
    CHECK(n == raw_int(out, "SELECT count(*) FROM change_log WHERE entity = 2"));
    CHECK(n >= before);
    CHECK(raw_int(out, "SELECT count(*) FROM backup_files") == 3);
    CHECK(file_mode(out) == 0600);
    events.push_back(n);
  }
  stop = true;
  writer.join();
  CHECK(failed == 0);
  CHECK(events.back() > events.front());  // the writes went on meanwhile
}

TEST_CASE("the files travel in the backup and never reach the restored database", "[store][backup]") {
  TempDir dir("terril-backup");
  const std::string db = dir.file("hub.db");
  {
    auto hub = make_hub(db);
    ok(hub->write(event_write(uuid(1, 2), "centre-lens", "Atelier cuisine"), kNow));
  }
  const std::string out = fresh(dir, "hub.backup");
  auto written = ok(write_backup(db, kFiles, out));
  CHECK(written.records == 2);
  CHECK(written.schema_version >= 1);

  auto info = ok(inspect_backup(out));
  CHECK(info.has_files);
  REQUIRE(info.files.size() == 3);
  CHECK(info.files[2].name == "tls/hub-key.pem");
  CHECK(info.files[2].content == kFiles[2].content);
  CHECK(info.files[1].mode == 0644);
  CHECK(read_file(out).find("SECRETKEYBYTES") != std::string::npos);

  const std::string restored = fresh(dir, "restored.db");
  ok(restore_database(out, restored));
  CHECK(read_file(restored).find("SECRETKEYBYTES") == std::string::npos);
  CHECK(raw_int(restored, "SELECT count(*) FROM sqlite_schema WHERE name = 'backup_files'") == 0);
  auto again = open_store(restored, hub_opts());
  CHECK(ok(again->meta("hub_id")) == std::optional<std::string>("hub-0123456789ab"));
  auto ev = ok(again->get(Entity::event, uuid(1, 2)));
  REQUIRE(ev.has_value());
  ok(again->integrity_check());
  // A plain copy of hub.db is restorable too, with no files.
  CHECK_FALSE(ok(inspect_backup(restored)).has_files);
}

TEST_CASE("a restore refuses a corrupted file, a non-hub file and a missing one", "[store][backup]") {
  TempDir dir("terril-backup");
  const std::string db = dir.file("hub.db");
  make_hub(db).reset();
  const std::string good = fresh(dir, "good.backup");
  ok(write_backup(db, kFiles, good));
  const std::string bytes = read_file(good);

  auto refused = [](const std::string& path) {
    auto r = inspect_backup(path);
    INFO(path << ": " << r.status().to_string());
    REQUIRE_FALSE(r.is_ok());
    return r.status();
  };

  SECTION("a damaged b-tree page") {
    const std::string bad = dir.file("bad.backup");
    write_text(bad, bytes);
    overwrite(bad, 4096 * 2 + 8, std::string(2000, '\x5a'));
    CHECK(refused(bad).code() == Code::invalid);
  }
  SECTION("a damaged header") {
    const std::string bad = dir.file("bad.backup");
    write_text(bad, bytes);
    overwrite(bad, 0, "not SQLite at all");
    CHECK(refused(bad).code() == Code::invalid);
  }
  SECTION("a text file") {
    write_text(dir.file("notes.txt"), "these are not the droids\n");
    CHECK(refused(dir.file("notes.txt")).code() == Code::invalid);
  }
  SECTION("a node's database") {
    open_store(dir.file("node.db"), node_opts("node-lens-1")).reset();
    Status s = refused(dir.file("node.db"));
    CHECK(s.code() == Code::invalid);
    CHECK(s.message().find("not a hub database") != std::string::npos);
  }
  SECTION("an empty SQLite database") {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(dir.file("empty.db").c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw, "CREATE TABLE t (x)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
    CHECK(refused(dir.file("empty.db")).code() == Code::invalid);
  }
  SECTION("a file name that escapes the data folder") {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(good.c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw, "INSERT INTO backup_files VALUES ('../../etc/cron.d/x', 420, x'00')", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    sqlite3_close(raw);
    CHECK(refused(good).code() == Code::invalid);
  }
  SECTION("no file") {
    CHECK(refused(dir.file("nowhere.backup")).code() == Code::not_found);
  }
  SECTION("a backup of something that is not a hub database is not written") {
    open_store(dir.file("node.db"), node_opts("node-lens-1")).reset();
    auto r = write_backup(dir.file("node.db"), {}, fresh(dir, "node.backup"));
    CHECK(r.status().code() == Code::invalid);
  }
}

TEST_CASE("backup file names stay inside the data folder", "[store][backup]") {
  for (const char* name : {"admin.password", "tls/hub-key.pem", "a/b/c-d_e.f"}) {
    INFO(name);
    CHECK(valid_backup_file_name(name));
  }
  for (const char* name : {"", "/etc/passwd", "../x", "tls/../../x", "tls/", "a//b", ".", "tls/./k", "sp ace", "é"}) {
    INFO(name);
    CHECK_FALSE(valid_backup_file_name(name));
  }
}

}  // namespace terril::test

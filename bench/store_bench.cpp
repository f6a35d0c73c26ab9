// store_bench: the hub store applying remote registration changes, against
// a bare-SQLite ceiling.
//
//   store_bench [N] [DIR]     N changes (default 100000), files in DIR (default a
//                             fresh folder under /tmp, removed at the end)
//
// Both sides take the same changes in batches of 500, one transaction per
// batch, with the store's pragmas (WAL, synchronous=FULL, secure_delete,
// cache_size). Batches alternate between the two so machine noise hits both.
//   store:   Store::apply_from_node (judge allows everything) on a fresh hub
//            store that knows the 50 events the registrations name.
//   ceiling: per change, one INSERT into a bare registrations table (typed
//            columns, id TEXT PRIMARY KEY, no other index) and one INSERT of
//            the serialized change into a bare change-log table (seq INTEGER
//            PRIMARY KEY), with statements prepared once.
// Printed: rates (changes/s), ratio store/ceiling (goal >= 0.5), peak RSS
// after 10% and 100% of the run (flat = memory does not grow with N), and
// database bytes per change.
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/core/hlc.h"
#include "common/store/store.h"
#include "common/store/testing.h"
#include "common/wire/wire.h"

using namespace terril;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kBatch = 500;
constexpr int kCentres = 19;
constexpr int kEvents = 50;
constexpr int64_t kNow = 1796000000000;  // 2026-11-29

void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "store_bench: %s: %s\n", what, detail.c_str());
  std::exit(1);
}

std::string uuid(std::mt19937_64& rng) {
  static const char* hex = "0123456789abcdef";
  std::string s(36, '-');
  uint64_t a = rng(), b = rng();
  for (int i = 0, k = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    uint64_t& src = k < 16 ? a : b;
    s[i] = hex[src & 0xF];
    src >>= 4;
    ++k;
  }
  s[14] = '4';
  s[19] = '8';
  return s;
}

std::string centre(int i) {
  return "centre-" + std::to_string(i);
}

// CPU time of this thread (user + system), to tell computing from waiting on the disk.
double cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Pages this connection wrote (to the WAL) since it opened.
int64_t pages_written(sqlite3* db) {
  int cur = 0, hi = 0;
  sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_WRITE, &cur, &hi, 0);
  return cur;
}

long peak_rss_kib() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

int64_t file_size(const std::string& p) {
  struct stat sb;
  return ::stat(p.c_str(), &sb) == 0 ? sb.st_size : 0;
}

// The changes node `n` sends: registration creations, like a reception desk.
struct Generator {
  std::mt19937_64 rng{42};
  std::vector<std::string> events;  // event i hosted by centre i % kCentres
  std::vector<uint64_t> seq = std::vector<uint64_t>(kCentres, 0);
  uint64_t hlc = hlc_make(kNow - 86400000, 0);
  const std::vector<std::string> last = {
      "Martin", "Bernard", "Dubois",   "Thomas",  "Robert",  "Richard", "Petit",    "Durand", "Leroy",    "Moreau",
      "Simon",  "Laurent", "Lefebvre", "Michel",  "Garcia",  "David",   "Bertrand", "Roux",   "Vincent",  "Fournier",
      "Morel",  "Girard",  "Andre",    "Lefevre", "Mercier", "Dupont",  "Lambert",  "Bonnet", "Francois", "Martinez"};
  const std::vector<std::string> first = {"Marie", "Jean",  "Lina", "Ali",   "Paul",   "Chloé",
                                          "Nadia", "Lucas", "Inès", "Karim", "Sophie", "Hugo"};

  Generator() {
    for (int i = 0; i < kEvents; ++i) events.push_back(uuid(rng));
  }

  // A batch from one node (its seqs run on without gap).
  std::string batch(std::vector<Change>& out) {
    out.clear();
    const int n = static_cast<int>(rng() % kCentres);
    const std::string node = "node-" + std::to_string(n);
    for (size_t i = 0; i < kBatch; ++i) {
      Change c;
      c.origin = node;
      c.origin_seq = ++seq[n];
      c.hlc = ++hlc;
      c.entity = Entity::registration;
      c.record_id = uuid(rng);
      c.centre_id = centre(n);
      // Most people register for their own centre's events, some elsewhere.
      int ev =
          (rng() % 4) ? static_cast<int>((n + kCentres * (rng() % 2)) % kEvents) : static_cast<int>(rng() % kEvents);
      std::string phone = "06";
      for (int k = 0; k < 8; ++k) phone += static_cast<char>('0' + rng() % 10);
      c.fields = {{Field::created_at, Value{static_cast<int64_t>(hlc_ms(c.hlc))}},  // sorted by field number
                  {Field::phone, Value{phone}},
                  {Field::event_id, Value{events[ev]}},
                  {Field::first_name, Value{first[rng() % first.size()]}},
                  {Field::last_name, Value{last[rng() % last.size()] + "-" + std::to_string(rng() % 100000)}},
                  {Field::role, Value{std::string("habitant")}},
                  {Field::consent_at, Value{static_cast<int64_t>(hlc_ms(c.hlc))}}};
      out.push_back(std::move(c));
    }
    return node;
  }
};

// The ceiling: bare tables, same pragmas, prepared statements, one
// transaction per batch.
struct Ceiling {
  sqlite3* db = nullptr;
  sqlite3_stmt *ins_reg = nullptr, *ins_log = nullptr, *begin = nullptr, *commit = nullptr;

  explicit Ceiling(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) die("open ceiling", sqlite3_errmsg(db));
    exec(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; "
        "PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192;"
        "CREATE TABLE registrations (id TEXT PRIMARY KEY, centre_id TEXT NOT NULL, created_at INTEGER, "
        "event_id TEXT, first_name TEXT, last_name TEXT, phone TEXT, email TEXT, role TEXT, consent_at INTEGER, "
        "attended INTEGER, notes TEXT) STRICT;"
        "CREATE TABLE change_log (seq INTEGER PRIMARY KEY, origin TEXT NOT NULL, origin_seq INTEGER NOT NULL, "
        "payload BLOB NOT NULL) STRICT;");
    prep(ins_reg,
         "INSERT INTO registrations(id, centre_id, created_at, event_id, first_name, last_name, phone, email, role, "
         "consent_at, attended, notes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    prep(ins_log, "INSERT INTO change_log(origin, origin_seq, payload) VALUES (?1, ?2, ?3)");
    prep(begin, "BEGIN IMMEDIATE");
    prep(commit, "COMMIT");
  }
  ~Ceiling() {
    for (auto* s : {ins_reg, ins_log, begin, commit}) sqlite3_finalize(s);
    sqlite3_close(db);
  }
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) die("ceiling", err ? err : "?");
  }
  void prep(sqlite3_stmt*& s, const char* sql) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
      die("prepare", sqlite3_errmsg(db));
  }
  void step(sqlite3_stmt* s) {
    if (sqlite3_step(s) != SQLITE_DONE) die("ceiling step", sqlite3_errmsg(db));
    sqlite3_reset(s);
  }
  void apply(const std::vector<Change>& batch) {
    step(begin);
    std::string payload;
    for (const Change& c : batch) {
      sqlite3_bind_text(ins_reg, 1, c.record_id.data(), static_cast<int>(c.record_id.size()), SQLITE_STATIC);
      sqlite3_bind_text(ins_reg, 2, c.centre_id.data(), static_cast<int>(c.centre_id.size()), SQLITE_STATIC);
      for (int i = 3; i <= 12; ++i) sqlite3_bind_null(ins_reg, i);
      for (const auto& fv : c.fields) {
        int col = 0;
        switch (fv.field) {
          case Field::created_at:
            col = 3;
            break;
          case Field::event_id:
            col = 4;
            break;
          case Field::first_name:
            col = 5;
            break;
          case Field::last_name:
            col = 6;
            break;
          case Field::phone:
            col = 7;
            break;
          case Field::email:
            col = 8;
            break;
          case Field::role:
            col = 9;
            break;
          case Field::consent_at:
            col = 10;
            break;
          case Field::attended:
            col = 11;
            break;
          case Field::notes:
            col = 12;
            break;
          default:
            continue;
        }
        if (auto* s = std::get_if<std::string>(&fv.value))
          sqlite3_bind_text(ins_reg, col, s->data(), static_cast<int>(s->size()), SQLITE_STATIC);
        else if (auto* n = std::get_if<int64_t>(&fv.value))
          sqlite3_bind_int64(ins_reg, col, *n);
        else if (auto* b = std::get_if<bool>(&fv.value))
          sqlite3_bind_int64(ins_reg, col, *b);
      }
      step(ins_reg);
      payload = wire::encode_change(c);
      sqlite3_bind_text(ins_log, 1, c.origin.data(), static_cast<int>(c.origin.size()), SQLITE_STATIC);
      sqlite3_bind_int64(ins_log, 2, static_cast<int64_t>(c.origin_seq));
      sqlite3_bind_blob(ins_log, 3, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
      step(ins_log);
    }
    step(commit);
  }
};

void run(uint64_t n, const std::string& dir) {
  const std::string store_path = dir + "/hub.db", ceiling_path = dir + "/ceiling.db";

  StoreOptions opts;
  opts.origin = "hub";
  opts.hub = true;
  auto opened = Store::open(store_path, opts);
  if (!opened) die("open store", opened.status().to_string());
  Store& hub = **opened;
  Ceiling ceiling(ceiling_path);
  Generator gen;
  for (int i = 0; i < kEvents; ++i) {
    LocalWrite w;
    w.entity = Entity::event;
    w.record_id = gen.events[i];
    w.centre_id = centre(i % kCentres);
    w.fields = {{Field::title, Value{"Atelier " + std::to_string(i)}},
                {Field::kind, Value{std::string("atelier")}},
                {Field::starts_at, Value{kNow + 86400000}}};
    if (auto r = hub.write(w, kNow - 2 * 86400000); !r) die("seed events", r.status().to_string());
  }
  const Judge allow = [](const Change&, const Record*, const std::string&) { return Status::ok(); };

  std::printf("store_bench: %llu remote registration changes, batches of %zu, files in %s\n",
              static_cast<unsigned long long>(n), kBatch, dir.c_str());
  std::vector<Change> batch;
  double store_s = 0, ceiling_s = 0, store_cpu = 0, ceiling_cpu = 0;
  long rss_10 = 0;
  uint64_t done = 0;
  while (done < n) {
    const std::string node = gen.batch(batch);
    if (batch.size() > n - done) batch.resize(n - done);
    const double c0 = cpu_s();
    auto t0 = Clock::now();
    auto rep = hub.apply_from_node(node, batch, allow, kNow);
    auto t1 = Clock::now();
    const double c1 = cpu_s();
    if (!rep) die("apply_from_node", rep.status().to_string());
    if (rep->applied != batch.size()) die("apply_from_node", "not every change applied");
    ceiling.apply(batch);
    auto t2 = Clock::now();
    store_s += std::chrono::duration<double>(t1 - t0).count();
    ceiling_s += std::chrono::duration<double>(t2 - t1).count();
    store_cpu += c1 - c0;
    ceiling_cpu += cpu_s() - c1;
    const uint64_t before = done;
    done += batch.size();
    if (before < n / 10 && done >= n / 10) rss_10 = peak_rss_kib();
  }
  const long rss_100 = peak_rss_kib();
  if (Status s = hub.checkpoint(); !s) die("checkpoint", s.to_string());
  sqlite3_wal_checkpoint_v2(ceiling.db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);

  const double store_rate = static_cast<double>(n) / store_s;
  const double ceiling_rate = static_cast<double>(n) / ceiling_s;
  const int64_t store_bytes = file_size(store_path) + file_size(store_path + "-wal");
  const int64_t ceiling_bytes = file_size(ceiling_path) + file_size(ceiling_path + "-wal");
  const double batches = static_cast<double>((n + kBatch - 1) / kBatch);
  std::printf("store:   %10.0f changes/s  (%.2f s, of which CPU %.2f s; %.0f pages written per batch)\n", store_rate,
              store_s, store_cpu, static_cast<double>(pages_written(store::testing::raw_handle(hub))) / batches);
  std::printf("ceiling: %10.0f changes/s  (%.2f s, of which CPU %.2f s; %.0f pages written per batch)\n", ceiling_rate,
              ceiling_s, ceiling_cpu, static_cast<double>(pages_written(ceiling.db)) / batches);
  std::printf("ratio store/ceiling: %.2f  (goal >= 0.50)\n", store_rate / ceiling_rate);
  std::printf("peak RSS: %ld KiB after 10%%, %ld KiB after 100%%\n", rss_10, rss_100);
  std::printf("db bytes per change: store %.0f, ceiling %.0f\n", static_cast<double>(store_bytes) / n,
              static_cast<double>(ceiling_bytes) / n);
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  if (n < kBatch) die("usage", "store_bench [N >= 500] [DIR]");
  std::string dir;
  const bool own_dir = argc <= 2;
  if (own_dir) {
    char tmpl[] = "/tmp/terril-bench-XXXXXX";
    if (!::mkdtemp(tmpl)) die("mkdtemp", "/tmp");
    dir = tmpl;
  } else {
    dir = argv[2];
  }
  run(n, dir);
  if (own_dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return 0;
}

// "Fail store operation N": each write path of the store runs with an I/O
// error injected at its Nth SQLite call (StoreOptions::fail_after), for
// N = 0, 1, 2... until it passes (beast's fail-every-step loop). After each
// failed run nothing half-written may be left: the reopened file passes
// integrity_check and its whole content (every table, rendered) is the state
// before the attempt, the failed Store's clock is restored, and the same
// Store then runs the operation to the expected result. After the passing
// run the content is the expected result.
#include <cstdio>
#include <filesystem>
#include <functional>
#include <sstream>

#include "common/core/hlc.h"
#include "tests/unit/store/store_fixture.h"

using namespace terril;
using namespace terril::test;

namespace {

const std::string kEvent = uuid(1, 0xe);

// Every table of the database, every row in a fixed order, every value with
// its type: equal dumps mean byte-identical content.
std::string dump(sqlite3* db) {
  std::vector<std::string> tables;
  {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name", -1, &st,
                               nullptr) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
      tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
  }
  std::ostringstream out;
  for (const auto& t : tables) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, ("SELECT * FROM \"" + t + "\"").c_str(), -1, &st, nullptr) == SQLITE_OK);
    const int n = sqlite3_column_count(st);
    sqlite3_finalize(st);
    std::string order;
    for (int i = 1; i <= n; ++i) order += (i > 1 ? ", " : "") + std::to_string(i);
    REQUIRE(sqlite3_prepare_v2(db, ("SELECT * FROM \"" + t + "\" ORDER BY " + order).c_str(), -1, &st, nullptr) ==
            SQLITE_OK);
    out << "[" << t << "]\n";
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int i = 0; i < n; ++i) {
        switch (sqlite3_column_type(st, i)) {
          case SQLITE_NULL:
            out << " null";
            break;
          case SQLITE_INTEGER:
            out << " i:" << sqlite3_column_int64(st, i);
            break;
          case SQLITE_FLOAT:
            out << " f:" << sqlite3_column_double(st, i);
            break;
          case SQLITE_TEXT:
            out << " t:'" << reinterpret_cast<const char*>(sqlite3_column_text(st, i)) << "'";
            break;
          default: {
            out << " b:";
            auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(st, i));
            char hex[3];
            for (int k = 0; k < sqlite3_column_bytes(st, i); ++k) {
              std::snprintf(hex, sizeof hex, "%02x", p[k]);
              out << hex;
            }
          }
        }
      }
      out << "\n";
    }
    sqlite3_finalize(st);
  }
  return out.str();
}

// Reopens `path` without fault injection: integrity ok, then its dump.
std::string reopened_dump(const std::string& path, StoreOptions opts) {
  opts.fail_after = -1;
  auto s = open_store(path, opts);
  ok(s->integrity_check());
  return dump(store::testing::raw_handle(*s));
}

void copy_db(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  for (const char* ext : {"", "-wal", "-shm"}) fs::remove(to + ext);
  fs::copy_file(from, to);
  if (fs::exists(from + "-wal")) fs::copy_file(from + "-wal", to + "-wal");
}

enum class Outcome {
  failed,     // the operation reported the injected error: nothing may have changed
  committed,  // it committed, yet the failure hit after (the checkpoint after an erasure, another batch)
  passed,     // the expected result
};

struct WritePath {
  std::string name;
  bool erases;  // it erases a record: the checkpoint after commit can fail too
  StoreOptions opts;
  std::function<void(Store&)> setup;   // the state before the operation
  std::function<Outcome(Store&)> run;  // the operation, once
};

struct LoopResult {
  int runs = 0;       // N = 0 .. runs - 1 had a failure injected; N = runs passed
  int committed = 0;  // of those, runs whose failure hit after the commit
};

// Runs `p` for N = 0, 1, 2... until it passes.
LoopResult fail_loop(const WritePath& p) {
  LoopResult result;
  TempDir dir("terril-failop");
  const std::string base = dir.file("before.db"), attempt = dir.file("attempt.db");
  {
    auto s = open_store(base, p.opts);
    p.setup(*s);
  }
  const std::string before = reopened_dump(base, p.opts);
  std::string expected;
  {
    copy_db(base, dir.file("expected.db"));
    auto s = open_store(dir.file("expected.db"), p.opts);
    REQUIRE(p.run(*s) == Outcome::passed);
  }
  expected = reopened_dump(dir.file("expected.db"), p.opts);
  REQUIRE(expected != before);

  for (int n = 0;; ++n) {
    INFO(p.name << ": failure injected at SQLite call " << n);
    REQUIRE(n < 10000);
    copy_db(base, attempt);
    StoreOptions opts = p.opts;
    opts.fail_after = n;
    Outcome o;
    {
      auto s = open_store(attempt, opts);
      const uint64_t hlc = s->hlc_last();
      o = p.run(*s);
      if (o == Outcome::failed) {
        CHECK(s->hlc_last() == hlc);  // memory restored with the rollback
        CHECK(reopened_dump(attempt, p.opts) == before);
        // The fail point is spent: the same Store now does the whole operation.
        CHECK(p.run(*s) == Outcome::passed);
      }
    }
    CHECK(reopened_dump(attempt, p.opts) == expected);
    if (o == Outcome::passed) {
      result.runs = n;
      return result;
    }
    if (o == Outcome::committed) ++result.committed;
  }
}

// --- The write paths -------------------------------------------------------

StoreOptions node() {
  return node_opts("node-a");
}

void centre_and_event(Store& s) {
  ok(s.write(centre_write("centre-a"), kNow));
  ok(s.write(event_write(kEvent, "centre-a"), kNow));
}

Outcome of(const Status& s) {
  return s ? Outcome::passed : Outcome::failed;
}

// ok, and no failure swallowed by the best-effort checkpoint after an erasure.
Outcome after_erase(Store& s, const Status& st) {
  if (!st) return Outcome::failed;
  return ok(s.stats()).erase_checkpoint_failures == 0 ? Outcome::passed : Outcome::committed;
}

Change erase_change(const Change& c, uint64_t seq, uint64_t hlc) {
  Change e = c;
  e.origin_seq = seq;
  e.hlc = hlc;
  e.op = Op::erase;
  e.fields.clear();
  return e;
}

std::vector<WritePath> write_paths() {
  std::vector<WritePath> paths;

  paths.push_back({"local write of a registration", false, node(), centre_and_event, [](Store& s) {
                     auto c = s.write(registration_write(uuid(1), "centre-a", kEvent), kNow + 1);
                     if (c) CHECK(c->origin_seq == 3);
                     return of(c.status());
                   }});

  paths.push_back(
      {"erase (local write)", true, node(),
       [](Store& s) {
         centre_and_event(s);
         ok(s.write(registration_write(uuid(1), "centre-a", kEvent), kNow));
         ok(s.write(update_write(Entity::registration, uuid(1), {{Field::notes, Value{std::string("x")}}}), kNow));
       },
       [](Store& s) {
         auto c = s.write(op_write(Entity::registration, uuid(1), Op::erase), kNow + 1);
         return after_erase(s, c.status());
       }});

  // Two batches: node-b's has a sequence gap (undone alone, conflict);
  // node-a's creates a registration, sends a change it did not make
  // (rejected, stored), and erases the registration.
  paths.push_back(
      {"apply_from_nodes, two batches, one valid", true, hub_opts(), centre_and_event, [](Store& s) {
         const Change c1 = registration_change("node-a", 1, hlc_make(kNow, 1), uuid(1), "centre-a", kEvent);
         const Change foreign = registration_change("node-x", 2, hlc_make(kNow, 2), uuid(2), "centre-a", kEvent);
         std::vector<NodeBatch> group(2);
         group[0] = {
             "node-b", {registration_change("node-b", 2, hlc_make(kNow, 3), uuid(3), "centre-a", kEvent)}, allow_all};
         group[1] = {"node-a", {c1, foreign, erase_change(c1, 3, hlc_make(kNow, 4))}, allow_all};
         auto out = s.apply_from_nodes(group, kNow);
         REQUIRE(out.size() == 2);
         if (!out[1]) return Outcome::failed;
         CHECK(out[1]->applied == 2);
         CHECK(out[1]->rejections.size() == 1);
         CHECK(out[1]->cursor == 3);
         if (out[0] || out[0].status().code() != Code::conflict) return Outcome::committed;
         return after_erase(s, Status::ok());
       }});

  paths.push_back({"apply_from_hub", true, node(),
                   [](Store& s) {
                     centre_and_event(s);
                     ok(s.write(registration_write(uuid(9), "centre-a", kEvent), kNow));
                   },
                   [](Store& s) {
                     const Change c1 = registration_change("node-b", 1, hlc_make(kNow, 1), uuid(1), "centre-a", kEvent);
                     Change invalid = registration_change("node-b", 2, hlc_make(kNow, 2), uuid(2), "centre-a", kEvent);
                     invalid.fields.clear();  // an UPSERT must carry a field
                     const Change c3 = registration_change("node-c", 1, hlc_make(kNow, 3), uuid(3), "centre-a", kEvent);
                     auto r = s.apply_from_hub({c1, invalid, c3, erase_change(c1, 3, hlc_make(kNow, 4))}, 7, kNow);
                     if (!r) return Outcome::failed;
                     CHECK(r->applied == 3);
                     CHECK(r->rejections.size() == 1);
                     CHECK(r->cursor == 7);
                     return after_erase(s, Status::ok());
                   }});

  paths.push_back({"set_acked", false, node(),
                   [](Store& s) {
                     centre_and_event(s);
                     ok(s.write(registration_write(uuid(1), "centre-a", kEvent), kNow));
                     ok(s.write(registration_write(uuid(2), "centre-a", kEvent), kNow));
                   },
                   [](Store& s) { return of(s.set_acked(3)); }});

  paths.push_back({"seed_centres", false, hub_opts(), [](Store& s) { ok(s.write(centre_write("centre-a"), kNow)); },
                   [](Store& s) {
                     Status st = s.seed_centres({centre_write("centre-a", "autre"), centre_write("centre-b"),
                                                 centre_write("centre-c", "lens-lievin", "Liévin")},
                                                kNow + 1);
                     UNSCOPED_INFO(st.to_string());
                     return of(st);
                   }});
  return paths;
}

}  // namespace

TEST_CASE("fail store operation N: no write path leaves anything half-written", "[store][fail]") {
  for (const WritePath& p : write_paths()) {
    const LoopResult r = fail_loop(p);
    std::printf("fail_op: %-42s passed at N = %d (%d runs with a failure injected, %d of them after the commit)\n",
                p.name.c_str(), r.runs, r.runs, r.committed);
    CHECK(r.runs > 0);
    if (p.erases) CHECK(r.committed > 0);  // the checkpoint after the erasure was failed too
  }
}

TEST_CASE("fail store operation N: a failed checkpoint after an erasure is counted, the erasure kept",
          "[store][fail][erase]") {
  TempDir dir("terril-failop");
  const std::string path = dir.file("n.db");
  {
    auto s = open_store(path, node());
    centre_and_event(*s);
    ok(s->write(registration_write(uuid(1), "centre-a", kEvent), kNow));
  }
  // Count the calls of the erase, then fail its last one: the checkpoint.
  int n = 0;
  for (;; ++n) {
    StoreOptions o = node();
    o.fail_after = n;
    copy_db(path, dir.file("a.db"));
    auto s = open_store(dir.file("a.db"), o);
    auto c = s->write(op_write(Entity::registration, uuid(1), Op::erase), kNow + 1);
    if (c && ok(s->stats()).erase_checkpoint_failures == 1) {
      CHECK(c->op == Op::erase);
      CHECK(ok(s->get(Entity::registration, uuid(1)))->erased);
      ok(s->checkpoint());  // a later checkpoint succeeds
      break;
    }
    REQUIRE(n < 1000);
    if (c) FAIL("the erase passed without its checkpoint failing");
  }
  CHECK(n > 0);
}

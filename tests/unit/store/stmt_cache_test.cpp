// The bounded prepared-statement cache (common/store/sqlite_util.h,
// security review L5): distinct SQL texts keep it at its capacity, evicted
// statements are prepared again on demand, pinned and running ones stay.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/store/sqlite_util.h"

using namespace terril;
using terril::store::Query;
using terril::store::StmtCache;

namespace {

struct MemDb {
  MemDb() { REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK); }
  ~MemDb() { sqlite3_close(db); }
  sqlite3* db = nullptr;
};

// "SELECT ?1 + n": distinct text per n, a known answer per n.
std::string sql_for(int n) {
  return "SELECT ?1 + " + std::to_string(n);
}

int64_t run(StmtCache& cache, int n) {
  Status err;
  sqlite3_stmt* st = cache.get(sql_for(n), &err);
  REQUIRE(st != nullptr);
  Query q(st);
  q.bind(1, int64_t{1000});
  REQUIRE(q.step() == SQLITE_ROW);
  return q.i64(0);
}

}  // namespace

TEST_CASE("L5: the prepared-statement cache is bounded", "[store][stmt_cache]") {
  MemDb m;
  {
    StmtCache cache(m.db);
    REQUIRE(cache.capacity() == StmtCache::kDefaultCapacity);
    for (int n = 0; n < 1000; ++n) {
      REQUIRE(run(cache, n) == 1000 + n);
      REQUIRE(cache.size() <= cache.capacity());
    }
    CHECK(cache.size() == cache.capacity());
    // The evicted ones (the first 872) still work when asked again.
    for (int n = 0; n < 1000; n += 7) REQUIRE(run(cache, n) == 1000 + n);
    CHECK(cache.size() == cache.capacity());
  }
  // Every statement was finalized: the connection closes cleanly.
  sqlite3_stmt* left = sqlite3_next_stmt(m.db, nullptr);
  CHECK(left == nullptr);
}

TEST_CASE("the statement cache evicts the least recently used and keeps pinned ones", "[store][stmt_cache]") {
  MemDb m;
  StmtCache cache(m.db, 4);
  Status err;
  sqlite3_stmt* pinned = cache.pin("SELECT 42", &err);
  REQUIRE(pinned != nullptr);
  sqlite3_stmt* first = cache.get(sql_for(0), &err);
  for (int n = 1; n < 4; ++n) run(cache, n);
  REQUIRE(cache.get(sql_for(0), &err) == first);  // a hit moves it to the front
  run(cache, 4);                                  // evicts 1, the least recently used
  CHECK(cache.size() == 4);
  CHECK(cache.get(sql_for(0), &err) == first);
  for (int n = 5; n < 50; ++n) run(cache, n);
  CHECK(cache.size() == 4);
  CHECK(cache.pinned() == 1);
  REQUIRE(cache.get("SELECT 42", &err) == pinned);
  Query q(pinned);
  REQUIRE(q.step() == SQLITE_ROW);
  CHECK(q.i64(0) == 42);
}

TEST_CASE("the statement cache never evicts a running statement", "[store][stmt_cache]") {
  MemDb m;
  StmtCache cache(m.db, 2);
  Status err;
  sqlite3_stmt* outer =
      cache.get("WITH RECURSIVE c(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM c WHERE v < 3) SELECT v FROM c", &err);
  REQUIRE(outer != nullptr);
  Query q(outer);
  int64_t sum = 0;
  int rows = 0;
  while (q.step() == SQLITE_ROW) {
    // Each row asks for two new texts: the outer statement is the least
    // recently used but is running, so the other one goes.
    sum += q.i64(0);
    run(cache, 2 * rows);
    run(cache, 2 * rows + 1);
    ++rows;
  }
  CHECK(rows == 3);
  CHECK(sum == 6);
  CHECK(cache.size() == 2);
}

// Thin helpers over the SQLite C API for common/store (the store and the
// hub registry): a bounded statement cache, a scoped use of a cached statement, the
// mapping of SQLite result codes to Status, and the test-only fail point
// behind StoreOptions::fail_after. Internal to common/store.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/core/status.h"

namespace terril::store {

// French message for staff when the disk (or the configured page limit) is full.
inline constexpr const char* kDiskFullFr =
    "Espace disque plein : l'enregistrement n'a pas pu être fait. Prévenez un technicien.";

// Maps a SQLite result code to a Status: SQLITE_FULL -> full (with the French
// message above), anything else -> io. `what` names the operation; the SQLite
// message never holds values, only table and column names.
Status sql_error(sqlite3* db, int rc, std::string_view what);

// --- Fault injection (tests only) -------------------------------------------

// Counts the SQLite calls made while it is armed (Query::step and the
// store's WAL checkpoint) and makes call number `fail_at` (0-based) fail
// with SQLITE_IOERR instead of running. Fails once; later calls run.
class FailPoint {
 public:
  explicit FailPoint(int64_t fail_at) : fail_at_(fail_at) {}
  // Counts one call; true when it is the one to fail.
  bool next() { return calls_++ == fail_at_; }
  int64_t calls() const { return calls_; }

 private:
  int64_t fail_at_;
  int64_t calls_ = 0;
};

// The fail point armed on this thread: nullptr unless a test set
// StoreOptions::fail_after and a write transaction of that store is open.
inline constinit thread_local FailPoint* t_fail_point = nullptr;

// Arms `fp` on this thread for its lifetime, then restores the previous one.
class FailScope {
 public:
  explicit FailScope(FailPoint& fp) : prev_(t_fail_point) { t_fail_point = &fp; }
  ~FailScope() { t_fail_point = prev_; }
  FailScope(const FailScope&) = delete;
  FailScope& operator=(const FailScope&) = delete;

 private:
  FailPoint* prev_;
};

// True when the armed fail point makes this call fail. With none armed (the
// daemons), one thread-local load.
inline bool injected_failure() {
  return t_fail_point != nullptr && t_fail_point->next();
}

// Prepared statements keyed by their SQL text. Not thread-safe, like the
// connection it serves. Two kinds:
// - pinned (pin()): the fixed statements a caller keeps a pointer to for the
//   connection's life (Store::Impl::prepare_all). Never evicted; finalized
//   with the cache.
// - cached (get()): the rest, including SQL built from a request's filters.
//   At most `capacity` are kept, least recently used evicted first (and
//   finalized) when a new text is prepared; a statement that is running
//   (stepped, not yet reset) is never evicted.
// Pointer lifetime: a pointer from get() stays valid until `capacity` other
// distinct texts have been prepared through get(). Callers therefore use it
// at once, in one Query scope, and never keep it across an unbounded number of
// other get() calls (a loop over rows that asks for one or a few fixed texts is
// fine: those are hits, not new entries).
class StmtCache {
 public:
  static constexpr size_t kDefaultCapacity = 128;

  explicit StmtCache(sqlite3* db, size_t capacity = kDefaultCapacity) : db_(db), capacity_(capacity ? capacity : 1) {}
  ~StmtCache();
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;

  // The statement for `sql`, or nullptr with *err set. REQUIRES: sql is built
  // from constant text and whitelisted names only; values are bound.
  sqlite3_stmt* get(const std::string& sql, Status* err);

  // The statement for `sql`, kept (not counted in `capacity`) until the cache
  // is destroyed, or nullptr with *err set. REQUIRES: constant text only.
  sqlite3_stmt* pin(const std::string& sql, Status* err);

  // Statements held by get() (at most capacity()), and pinned ones.
  size_t size() const { return lru_.size(); }
  size_t pinned() const { return pinned_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    std::string sql;
    sqlite3_stmt* stmt;
  };
  sqlite3_stmt* prepare(const std::string& sql, Status* err);
  void evict_one();

  sqlite3* db_;
  size_t capacity_;
  std::unordered_map<std::string, sqlite3_stmt*> pinned_;
  std::list<Entry> lru_;  // most recently used first
  // Keys view the Entry's own sql (list nodes do not move).
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;
};

// One use of a statement: binds, steps, reads columns; resets the statement
// when it goes out of scope so a cached statement is ready for its next use.
// Text and blobs are bound without copy (SQLITE_STATIC): the bound bytes must
// outlive the last step().
class Query {
 public:
  explicit Query(sqlite3_stmt* s) : s_(s) {}
  ~Query() {
    if (s_) sqlite3_reset(s_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Query& bind(int i, uint64_t v) { return bind(i, static_cast<int64_t>(v)); }
  Query& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Query& bind_blob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Query& bind_null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code (SQLITE_IOERR, without
  // running, when the armed fail point says so).
  int step() {
    if (injected_failure()) [[unlikely]]
      return SQLITE_IOERR;
    return sqlite3_step(s_);
  }

  bool is_null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
  uint64_t u64(int c) const { return static_cast<uint64_t>(sqlite3_column_int64(s_, c)); }
  std::string_view text(int c) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s_, c))) : std::string_view();
  }
  std::string_view blob(int c) const {
    auto* p = static_cast<const char*>(sqlite3_column_blob(s_, c));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s_, c))) : std::string_view();
  }
  sqlite3_stmt* stmt() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

}  // namespace terril::store

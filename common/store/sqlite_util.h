// Thin helpers over the SQLite C API for the store: a statement cache, a
// scoped use of a cached statement, and the mapping of SQLite result codes to
// Status. Internal to common/store.
#pragma once

#include <sqlite3.h>

#include <cstdint>
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

// Prepared statements keyed by their SQL text, prepared once (persistent) and
// finalized with the cache. Not thread-safe, like the connection it serves.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}
  ~StmtCache();
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;

  // The statement for `sql`, or nullptr with *err set. REQUIRES: sql is built
  // from constant text and whitelisted names only; values are bound.
  sqlite3_stmt* get(const std::string& sql, Status* err);

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
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
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }

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

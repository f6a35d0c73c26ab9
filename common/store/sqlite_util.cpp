// SQLite helpers of common/store: bounded statement cache, error mapping, test fail point (see sqlite_util.h).
#include "common/store/sqlite_util.h"

namespace terril::store {

Status sql_error(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if ((rc & 0xFF) == SQLITE_FULL) return Status(Code::full, "disk full: " + msg, {}, kDiskFullFr);
  return Status(Code::io, std::move(msg), {},
                "Erreur de la base de données : l'opération n'a pas pu être faite. Prévenez un technicien.");
}

StmtCache::~StmtCache() {
  for (auto& e : lru_) sqlite3_finalize(e.stmt);
  for (auto& [sql, s] : pinned_) sqlite3_finalize(s);
}

sqlite3_stmt* StmtCache::prepare(const std::string& sql, Status* err) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) {
    *err = sql_error(db_, rc, "prepare");
    sqlite3_finalize(s);
    return nullptr;
  }
  return s;
}

sqlite3_stmt* StmtCache::pin(const std::string& sql, Status* err) {
  if (auto it = pinned_.find(sql); it != pinned_.end()) return it->second;
  sqlite3_stmt* s = prepare(sql, err);
  if (s) pinned_.emplace(sql, s);
  return s;
}

sqlite3_stmt* StmtCache::get(const std::string& sql, Status* err) {
  if (auto it = pinned_.find(sql); it != pinned_.end()) return it->second;
  if (auto it = index_.find(sql); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);  // iterators stay valid
    return it->second->stmt;
  }
  sqlite3_stmt* s = prepare(sql, err);
  if (!s) return nullptr;
  if (lru_.size() >= capacity_) evict_one();
  lru_.push_front(Entry{sql, s});
  index_.emplace(lru_.front().sql, lru_.begin());
  return s;
}

// Finalizes the least recently used statement that is not running. With all
// of them running (more nested queries than the capacity), keeps them all.
void StmtCache::evict_one() {
  for (auto it = lru_.end(); it != lru_.begin();) {
    --it;
    if (sqlite3_stmt_busy(it->stmt)) continue;
    index_.erase(it->sql);
    sqlite3_finalize(it->stmt);
    lru_.erase(it);
    return;
  }
}

}  // namespace terril::store

// SQLite helpers of common/store: statement cache, error mapping, test fail point (see sqlite_util.h).
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
  for (auto& [sql, s] : stmts_) sqlite3_finalize(s);
}

sqlite3_stmt* StmtCache::get(const std::string& sql, Status* err) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) return it->second;
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) {
    *err = sql_error(db_, rc, "prepare");
    sqlite3_finalize(s);
    return nullptr;
  }
  stmts_.emplace(sql, s);
  return s;
}

}  // namespace terril::store

// Hub backup files at the SQLite level: VACUUM INTO copies, the
// backup_files table, and the checks made before a restore (backup.h).
//
// Why VACUUM INTO and not the online backup API (sqlite3_backup_step): the
// backup API copies pages in chunks, and each time another connection writes
// between two chunks it starts again from the first page; under the steady
// group commits of a serving hub it may never finish, unless it copies
// everything in one step, which is one read transaction like VACUUM INTO.
// VACUUM INTO reads one snapshot (WAL: the hub's writers never wait for it),
// writes a compact file that holds no free page (no leftover of erased
// records) in rollback-journal mode, i.e. one self-contained file.
#include "common/store/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "common/core/model.h"
#include "common/core/routing.h"
#include "common/store/migrations.h"
#include "common/store/sqlite_util.h"

namespace terril {

using store::sql_error;

namespace {

// One connection, closed with its statements at scope exit.
class Db {
 public:
  Db() = default;
  ~Db() { sqlite3_close_v2(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Status open(const std::string& path, bool read_only) {
    int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) return sql_error(db_, rc, "open " + path);
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, 5000);
    return Status::ok();
  }
  sqlite3* get() const { return db_; }

  Status exec(const std::string& sql, std::string_view what) {
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? Status::ok() : sql_error(db_, rc, what);
  }

  // The first column of the first row of `sql` (with `arg` bound to ?1 when
  // given); nullopt when there is no row.
  Result<std::optional<std::string>> scalar(const std::string& sql, const std::string* arg = nullptr) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
    if (rc != SQLITE_OK) return sql_error(db_, rc, sql);
    if (arg) sqlite3_bind_text(st, 1, arg->data(), static_cast<int>(arg->size()), SQLITE_STATIC);
    rc = sqlite3_step(st);
    std::optional<std::string> out;
    if (rc == SQLITE_ROW) {
      auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      out = t ? t : "";
    }
    Status s = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? Status::ok() : sql_error(db_, rc, sql);
    sqlite3_finalize(st);
    if (!s) return s;
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

bool exists(const std::string& path) {
  struct stat sb {};
  return ::stat(path.c_str(), &sb) == 0;
}

// SQLite does not fsync what VACUUM INTO writes: do it before the rename.
Status fsync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(Code::io, "open " + path + " for fsync failed");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status(Code::io, "fsync " + path + " failed");
  return Status::ok();
}

Status vacuum_into(Db& db, const std::string& out_path) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db.get(), "VACUUM INTO ?1", -1, &st, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(st, 1, out_path.data(), static_cast<int>(out_path.size()), SQLITE_STATIC);
    rc = sqlite3_step(st);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return sql_error(db.get(), rc, "VACUUM INTO " + out_path);
  return Status::ok();
}

// A file that is not a terril hub database (or not SQLite at all) is
// `invalid`; a real I/O failure stays `io`.
Status not_restorable(const std::string& path, const std::string& why) {
  return Status(Code::invalid, path + " is not a usable terril hub backup: " + why);
}

// The checks of inspect_backup() on an open connection, files apart.
Result<BackupInfo> check_hub_database(Db& db, const std::string& path) {
  BackupInfo info;
  auto check = db.scalar("PRAGMA integrity_check");
  if (!check) {
    int rc = sqlite3_extended_errcode(db.get()) & 0xff;
    if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) return not_restorable(path, "not a SQLite database or corrupted");
    return check.status();
  }
  if (!*check || **check != "ok") return not_restorable(path, "integrity check failed: " + check->value_or(""));
  auto version = db.scalar("PRAGMA user_version");
  if (!version) return version.status();
  auto migrations = schema_migrations();
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  info.schema_version = version->has_value() ? std::atoi((*version)->c_str()) : 0;
  if (info.schema_version < 1) return not_restorable(path, "no terril schema (user_version 0)");
  if (info.schema_version > latest)
    return not_restorable(path, "schema version " + std::to_string(info.schema_version) +
                                    " is newer than this software (" + std::to_string(latest) + ")");
  auto has_meta = db.scalar("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'");
  if (!has_meta) return has_meta.status();
  if (!*has_meta) return not_restorable(path, "no meta table");
  const std::string hub_key = "hub_id", origin_key = "origin";
  auto hub_id = db.scalar("SELECT value FROM meta WHERE key = ?1", &hub_key);
  if (!hub_id) return hub_id.status();
  auto origin = db.scalar("SELECT value FROM meta WHERE key = ?1", &origin_key);
  if (!origin) return origin.status();
  if (!*hub_id || (*hub_id)->empty() || *origin != std::optional<std::string>(std::string(kHubOrigin)))
    return not_restorable(path, "not a hub database (a node's, or a hub never initialised)");
  info.hub_id = **hub_id;
  for (const EntitySpec& es : entities()) {
    auto n = db.scalar("SELECT count(*) FROM " + std::string(es.table));
    if (!n) return n.status();
    info.records += std::strtoull(n->value_or("0").c_str(), nullptr, 10);
  }
  return info;
}

Status read_files(Db& db, const std::string& path, BackupInfo& info) {
  auto has = db.scalar("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'backup_files'");
  if (!has) return has.status();
  info.has_files = has->has_value();
  if (!info.has_files) return Status::ok();
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db.get(), "SELECT name, mode, content FROM backup_files ORDER BY name", -1, &st, nullptr);
  if (rc != SQLITE_OK) return sql_error(db.get(), rc, "read backup_files");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    BackupFile f;
    auto* name = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    f.name = name ? name : "";
    f.mode = static_cast<uint32_t>(sqlite3_column_int64(st, 1)) & 07777;
    auto* blob = static_cast<const char*>(sqlite3_column_blob(st, 2));
    f.content.assign(blob ? blob : "", static_cast<size_t>(sqlite3_column_bytes(st, 2)));
    info.files.push_back(std::move(f));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return sql_error(db.get(), rc, "read backup_files");
  for (const BackupFile& f : info.files)
    if (!valid_backup_file_name(f.name)) return not_restorable(path, "bad file name in backup_files");
  return Status::ok();
}

}  // namespace

bool valid_backup_file_name(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    std::string_view part(name.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    for (char c : part) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

Result<BackupInfo> write_backup(const std::string& db_path, const std::vector<BackupFile>& files,
                                const std::string& out_path) {
  for (const BackupFile& f : files)
    if (!valid_backup_file_name(f.name)) return Status(Code::invalid, "bad backup file name '" + f.name + "'");
  if (!exists(db_path)) return Status(Code::not_found, "no hub database at " + db_path);
  {
    Db src;
    if (Status s = src.open(db_path, true); !s) return s;
    if (Status s = vacuum_into(src, out_path); !s) return s;
  }
  Db out;
  if (Status s = out.open(out_path, false); !s) return s;
  if (Status s = out.exec("PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL; PRAGMA secure_delete = ON",
                          "backup pragmas");
      !s)
    return s;
  auto info = check_hub_database(out, db_path);
  if (!info) return info.status();
  if (Status s = out.exec("BEGIN IMMEDIATE; CREATE TABLE backup_files (name TEXT PRIMARY KEY, mode INTEGER NOT NULL, "
                          "content BLOB NOT NULL) STRICT",
                          "backup_files");
      !s)
    return s;
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(out.get(), "INSERT INTO backup_files (name, mode, content) VALUES (?1, ?2, ?3)", -1, &st,
                              nullptr);
  for (const BackupFile& f : files) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE) break;
    sqlite3_bind_text(st, 1, f.name.data(), static_cast<int>(f.name.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, f.mode & 07777);
    sqlite3_bind_blob(st, 3, f.content.data(), static_cast<int>(f.content.size()), SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK && rc != SQLITE_DONE) return sql_error(out.get(), rc, "backup_files insert");
  if (Status s = out.exec("COMMIT", "backup_files"); !s) return s;
  if (auto check = out.scalar("PRAGMA integrity_check"); !check || *check != std::optional<std::string>("ok"))
    return Status(Code::io, "the copy " + out_path + " fails its integrity check");
  info->has_files = true;
  info->files = files;
  if (Status s = fsync_file(out_path); !s) return s;
  return info;
}

Result<BackupInfo> inspect_backup(const std::string& path) {
  if (!exists(path)) return Status(Code::not_found, path + ": no such file");
  Db db;
  if (Status s = db.open(path, true); !s) return s;
  auto info = check_hub_database(db, path);
  if (!info) return info;
  if (Status s = read_files(db, path, *info); !s) return s;
  return info;
}

Status restore_database(const std::string& backup_path, const std::string& out_path) {
  {
    Db src;
    if (Status s = src.open(backup_path, true); !s) return s;
    if (Status s = vacuum_into(src, out_path); !s) return s;
  }
  Db out;
  if (Status s = out.open(out_path, false); !s) return s;
  // The journal stays in memory: the pages of backup_files (the TLS key)
  // never reach a journal file on disk. A crash leaves a broken temporary
  // file, which the caller never renames.
  if (Status s = out.exec("PRAGMA journal_mode = MEMORY; PRAGMA secure_delete = ON; "
                          "DROP TABLE IF EXISTS backup_files; VACUUM",
                          "restore copy");
      !s)
    return s;
  if (auto check = out.scalar("PRAGMA integrity_check"); !check || *check != std::optional<std::string>("ok"))
    return Status(Code::io, "the restored copy " + out_path + " fails its integrity check");
  return fsync_file(out_path);
}

}  // namespace terril

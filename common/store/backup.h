// Hub backups at the SQLite level: a consistent copy of a live hub database
// with the data folder's small files (TLS certificate and key, admin password
// hash) stored inside the copy, the checks a restore makes on such a file,
// and the database a restore puts back. Free functions over paths: each opens
// its own SQLite connections and closes them before returning, so they run
// beside a serving hub (WAL: its connections keep reading and writing).
//
// A backup file is one SQLite database (rollback journal, not WAL): the hub's
// tables as they were at one instant, plus
//   backup_files(name TEXT PRIMARY KEY, mode INTEGER, content BLOB)
// holding the small files, `name` relative to the data folder
// ("tls/hub-key.pem"), `mode` the file's permission bits when backed up.
// That table exists only in backup files: restore_database() drops it, so
// the live hub.db never holds the TLS key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/core/status.h"

namespace terril {

// One small file of the data folder.
struct BackupFile {
  std::string name;  // relative to the data folder, '/'-separated, no "..", e.g. "tls/hub-key.pem"
  uint32_t mode = 0600;
  std::string content;
};

// What a backup file holds, as checked by inspect_backup().
struct BackupInfo {
  std::string hub_id;
  int schema_version = 0;  // PRAGMA user_version of the copied database
  uint64_t records = 0;    // rows of the record tables (live and deleted)
  bool has_files = false;  // the file came from write_backup() (a plain hub.db copy has no backup_files)
  std::vector<BackupFile> files;
};

// A file name a backup may hold and a restore may write: non-empty, relative,
// '/'-separated parts of [A-Za-z0-9._-] that are not "." or "..".
bool valid_backup_file_name(const std::string& name);

// Copies the hub database `db_path` (which may be serving: the copy is one
// read transaction, `VACUUM INTO`, which holds no lock a writer waits on)
// into `out_path`, then adds `files` to the copy's backup_files table, checks
// the copy (PRAGMA integrity_check) and fsyncs it. `out_path` must not exist
// or be an empty file: the caller creates it 0600 (O_EXCL) so it is never
// readable by others, and renames it into place afterwards.
// Returns what the copy holds (as inspect_backup() would, files included).
// Errors: not_found (no database at db_path), invalid (not a terril hub
// database, a bad file name), io, full (disk full while writing the copy).
// Thread rules: none shared; safe while other connections use db_path.
Result<BackupInfo> write_backup(const std::string& db_path, const std::vector<BackupFile>& files,
                                const std::string& out_path);

// Opens `path` read-only and checks that it can be restored: PRAGMA
// integrity_check is "ok", the schema version is one this software knows
// (1..latest), and the meta table names a hub_id. Reads the backup_files
// table when present (a plain copy of hub.db has none: has_files false).
// Changes nothing. Errors: not_found (no such file), invalid (corrupted, not
// a SQLite database, not a terril hub database, a newer schema, a bad file
// name inside), io.
Result<BackupInfo> inspect_backup(const std::string& path);

// Writes the database part of backup `backup_path` to `out_path` (same
// contract as write_backup's out_path: absent or empty, created 0600 by the
// caller): a copy without the backup_files table, compacted so none of its
// bytes remain, fsynced. The caller renames it to hub.db.
// REQUIRES: inspect_backup(backup_path) succeeded. Errors: io, full.
Status restore_database(const std::string& backup_path, const std::string& out_path);

}  // namespace terril

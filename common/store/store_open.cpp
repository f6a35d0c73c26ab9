// Opening a store and looking after it: the pragmas, the schema migrations,
// the origin and the small meta settings, stats, the integrity check and
// the WAL checkpoint.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/core/validate.h"
#include "common/store/migrations.h"
#include "common/store/store_impl.h"

namespace terril {

using store::kMetaOrigin;
using store::kReservedMeta;

namespace {

// The database or its folder cannot be written by this process (a file
// left owned by root after running a command with sudo, a read-only mount).
Status not_writable(const std::string& path, const std::string& what) {
  struct stat st {};
  std::string owner = ::stat(path.c_str(), &st) == 0 ? " (owned by uid " + std::to_string(st.st_uid) + ")" : "";
  return Status(Code::io,
                "open " + path + ": " + what + owner + " is not writable by this user (uid " +
                    std::to_string(::geteuid()) +
                    "); it must belong to the daemon's user: chown -R terril-node: /var/lib/terril-node "
                    "(terril-hub: /var/lib/terril-hub on the hub)",
                {},
                "La base de données n'est pas modifiable par ce service (propriétaire ou droits des fichiers "
                "incorrects). Prévenez le technicien : « terril-node doctor » l'explique.");
}

// Before SQLite opens `path`: the file, if it exists, must be readable and
// writable, and its folder writable (the -wal and -shm files live there).
Status check_writable(const std::string& path) {
  if (::faccessat(AT_FDCWD, path.c_str(), F_OK, AT_EACCESS) == 0 &&
      ::faccessat(AT_FDCWD, path.c_str(), R_OK | W_OK, AT_EACCESS) != 0)
    return not_writable(path, "the database file");
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) return not_writable(dir, "the folder");
  return Status::ok();
}

// Commands run as root (`sudo terril-node enrol`) open a store in a folder
// the service user owns: a name planted there as a symbolic link (node.db,
// node.db-wal -> /etc/shadow) must be refused, not followed.
Status refuse_symlink(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return Status::ok();
  return Status(Code::io, "refusing to open " + path + ": it is a symbolic link", {},
                "La base de données est un lien symbolique : ouverture refusée. Prévenez le technicien.");
}

// chmod 0600 without following a symlink (glibc changes the file through an
// O_PATH descriptor, which never drops SQLite's POSIX locks). A missing file
// is fine; a symlink (EOPNOTSUPP) is refused.
Status make_private(const std::string& path) {
  if (::fchmodat(AT_FDCWD, path.c_str(), 0600, AT_SYMLINK_NOFOLLOW) == 0 || errno == ENOENT) return Status::ok();
  if (Status s = refuse_symlink(path); !s) return s;
  return Status::ok();  // another error (not our file): SQLite's own checks report what matters
}

}  // namespace

Store::Store(sqlite3* db, StoreOptions opts)
    : db_(db), opts_(std::move(opts)), impl_(std::make_unique<Impl>(*this, db)) {}

Store::~Store() {
  impl_.reset();  // finalizes the statements first
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path, StoreOptions opts) {
  // New files (db, -wal, -shm) are created readable by this user only; SQLite
  // also gives -wal and -shm the mode of the db file.
  const mode_t old_mask = umask(077);
  struct RestoreMask {
    mode_t m;
    ~RestoreMask() { umask(m); }
  } restore{old_mask};

  for (const std::string& p : {path, path + "-wal", path + "-shm"})
    if (Status s = refuse_symlink(p); !s) return s;
  if (Status s = check_writable(path); !s) return s;
  sqlite3* db = nullptr;
  // Not SQLITE_OPEN_NOFOLLOW: it also refuses a symlink anywhere above the
  // file (an admin's symlinked data folder); refuse_symlink checked the names
  // in the folder itself.
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = sql_error(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  // SQLite silently falls back to read-only when the file is not writable
  // (owned by another user, e.g. after running a command as root): every
  // write would then fail. Refuse at once, saying what to fix.
  if (sqlite3_db_readonly(db, "main") == 1) {
    sqlite3_close_v2(db);
    return not_writable(path, "the database file");
  }
  std::unique_ptr<Store> store(new Store(db, std::move(opts)));
  sqlite3_extended_result_codes(db, 1);
  if (Status s = make_private(path); !s) return s;

  auto exec = [&](const std::string& sql, std::string_view what) -> Status {
    int r = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    return r == SQLITE_OK ? Status::ok() : sql_error(db, r, what);
  };
  auto scalar = [&](const char* sql, std::string& out) -> Status {
    sqlite3_stmt* s = nullptr;
    int r = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    if (r == SQLITE_OK) {
      r = sqlite3_step(s);
      if (r == SQLITE_ROW) {
        auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        out = t ? t : "";
        r = SQLITE_OK;
      }
    }
    Status st = (r == SQLITE_OK || r == SQLITE_DONE) ? Status::ok() : sql_error(db, r, sql);
    sqlite3_finalize(s);
    return st;
  };

  // Every pragma, in one place. busy_timeout first: another connection may
  // be migrating. synchronous=FULL: a method that returned ok is on disk.
  // secure_delete: freed content is zeroed (ERASE must leave no trace).
  sqlite3_busy_timeout(db, 5000);
  std::string mode;
  if (Status s = scalar("PRAGMA journal_mode = WAL", mode); !s) return s;
  if (mode != "wal") return Status(Code::io, "open " + path + ": cannot enable WAL (journal_mode=" + mode + ")");
  if (Status s = exec("PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON; "
                      "PRAGMA trusted_schema = OFF; PRAGMA cache_size = -8192",
                      "pragmas");
      !s)
    return s;
  if (!store->opts_.durable) {
    if (Status s = exec("PRAGMA synchronous = OFF", "pragmas"); !s) return s;
  }
  if (store->opts_.max_page_count > 0) {
    std::string ignored;
    if (Status s = scalar(("PRAGMA max_page_count = " + std::to_string(store->opts_.max_page_count)).c_str(), ignored);
        !s)
      return s;
  }

  // Migrations: each in its own write transaction with its user_version,
  // re-read under the lock (another connection may be migrating). An
  // up-to-date database takes no write lock, so readers open freely.
  auto migrations = schema_migrations();
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  std::string version;
  if (Status s = scalar("PRAGMA user_version", version); !s) return s;
  auto newer = [&](const std::string& v) {
    return Status(Code::io, "open " + path + ": schema version " + v + " is newer than this software (" +
                                std::to_string(latest) + ")");
  };
  if (parse_number<int>(version) > latest) return newer(version);
  for (const Migration& m : migrations) {
    if (m.version <= parse_number<int>(version)) continue;
    if (Status s = exec("BEGIN IMMEDIATE", "migrate"); !s) return s;
    std::string v;
    Status s = scalar("PRAGMA user_version", v);
    const int current = s ? parse_number<int>(v) : 0;
    if (s && current > latest) s = newer(v);
    if (s && m.version > current) {
      s = exec(m.sql, "migration " + std::to_string(m.version));
      if (s) s = exec("PRAGMA user_version = " + std::to_string(m.version), "migrate");
    }
    if (s) s = exec("COMMIT", "migrate");
    if (!s) {
      // The migration's error is the one to report; a failed ROLLBACK leaves
      // nothing behind either (closing the connection rolls back).
      (void)exec("ROLLBACK", "migrate");
      return s;
    }
  }
  for (const std::string& p : {path + "-wal", path + "-shm"})
    if (Status s = make_private(p); !s) return s;

  Impl& im = *store->impl_;
  im.path = path;
  if (Status s = im.prepare_all(); !s) return s;
  if (Status s = im.load_counters(); !s) return s;
  if (parse_number<int>(version) < 3 && latest >= 3) {
    // Rows written before migration 003 get their digest (one pass, once).
    Impl::Tx tx(im);
    if (Status s = tx.begin(); !s) return s;
    if (Status s = im.backfill_digests(); !s) return s;
    if (Status s = tx.commit(); !s) return s;
  }
  if (parse_number<int>(version) < 6 && latest >= 6) {
    // Registrations written before migration 006 get their person columns,
    // and the hub its queue of possible duplicates over them (once).
    {
      Impl::Tx tx(im);
      if (Status s = tx.begin(); !s) return s;
      if (Status s = im.backfill_people(); !s) return s;
      if (Status s = tx.commit(); !s) return s;
    }
    if (store->opts_.hub)
      if (auto n = store->rebuild_duplicates(0); !n) return n.status();
  }
  if (parse_number<int>(version) < latest) {
    // After a migration the file's own header holds the new user_version (a
    // package's preinst reads it there, with no SQLite at hand, to refuse a
    // downgrade): checkpoint the write-ahead log into the file. Best effort:
    // a busy reader only delays it to the next checkpoint.
    (void)exec("PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint");
  }
  auto stored_origin = im.get_meta(kMetaOrigin);
  if (!stored_origin) return stored_origin.status();
  if (store->opts_.hub && store->opts_.origin.empty()) store->opts_.origin = std::string(kHubOrigin);
  if (store->opts_.origin.empty() && stored_origin->has_value()) store->opts_.origin = **stored_origin;
  if (!store->opts_.origin.empty()) {
    if (Status s = store->set_origin(store->opts_.origin); !s) return s;
  }
  return store;
}

Status Store::set_origin(std::string origin) {
  if (origin != kHubOrigin && !valid_node_id(origin))
    return invalid("origin is not a valid node id", "Identifiant de poste invalide.");
  auto stored = impl_->get_meta(kMetaOrigin);
  if (!stored) return stored.status();
  if (stored->has_value() && **stored != origin && impl_->own_seq > 0)
    return Status(Code::conflict, "this database already issued changes as origin " + **stored, {},
                  "Cette base a déjà enregistré des modifications sous un autre identifiant de poste.");
  if (!stored->has_value() || **stored != origin)
    if (Status s = impl_->put_meta(kMetaOrigin, origin); !s) return s;
  opts_.origin = std::move(origin);
  return Status::ok();
}

Result<std::optional<std::string>> Store::meta(std::string_view key) {
  return impl_->get_meta(key);
}

Status Store::set_meta(std::string_view key, std::string_view value) {
  if (std::find(kReservedMeta.begin(), kReservedMeta.end(), key) != kReservedMeta.end())
    return invalid("meta key " + std::string(key) + " belongs to the store", "Réglage réservé.");
  return impl_->put_meta(key, value);
}

// --- Maintenance -------------------------------------------------------------

Result<StoreStats> Store::stats() {
  Impl& im = *impl_;
  StoreStats st;
  Impl::Tx tx(im);
  if (Status s = tx.begin(false); !s) return s;
  st.own_seq = im.own_seq;
  st.acked_seq = im.acked_seq;
  st.pending = st.own_seq > st.acked_seq ? st.own_seq - st.acked_seq : 0;
  if (opts_.hub) {
    Query q(im.log_max);
    if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(db_, rc, "stats");
    st.hub_cursor = q.u64(0);
  } else {
    st.hub_cursor = im.hub_cursor;
  }
  for (const auto& es : entities()) {
    Query q(im.of(es.entity).count);
    if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(db_, rc, "stats");
    st.records += q.u64(0);
  }
  {
    Query q(im.rej_count);
    if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(db_, rc, "stats");
    st.rejections = q.u64(0);
  }
  st.erase_checkpoint_failures = im.erase_checkpoint_failures;
  st.erase_checkpoint_pending = im.erase_checkpoint_pending;
  if (Status s = tx.commit(); !s) return s;
  struct stat sb;
  if (::stat(im.path.c_str(), &sb) == 0) st.db_bytes = sb.st_size;
  if (::stat((im.path + "-wal").c_str(), &sb) == 0) st.wal_bytes = sb.st_size;
  return st;
}

Status Store::integrity_check() {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db_, "PRAGMA integrity_check", -1, &st, nullptr);
  std::string result;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      result = t ? t : "";
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW) return sql_error(db_, rc, "integrity_check");
  if (result != "ok") return Status(Code::io, "integrity_check: " + result);
  return Status::ok();
}

Status Store::checkpoint() {
  return impl_->checkpoint_truncate();
}

}  // namespace terril

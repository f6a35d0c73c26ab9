// `terril-hub backup` and `terril-hub restore` (backup_cmd.h): which files of
// the data folder travel in a backup, where the copy is written, the checks
// and the order of the steps of a restore, and what the technician is told.
#include "hub/backup_cmd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "common/ops/cli_util.h"
#include "common/ops/data_lock.h"
#include "common/ops/data_store.h"
#include "common/ops/tls.h"
#include "common/store/backup.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace terril {
namespace {

constexpr const char* kDbName = "hub.db";
// A data folder's small files are a few KiB; anything larger is not ours.
constexpr uintmax_t kMaxFileBytes = 1 << 20;
const std::regex kBackupName(R"(terril-hub-\d{8}T\d{6}\.\d{3}Z\.backup)");

int die(std::string_view msg) {
  return fail("terril-hub", msg);
}

// UTC, YYYYMMDDTHHMMSS.mmmZ: sorts as it reads, no ':' (safe in file names).
std::string stamp(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

Result<std::string> read_small_file(const fs::path& p) {
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec) return Status(Code::io, "cannot read " + p.string() + ": " + ec.message());
  if (size > kMaxFileBytes) return Status(Code::invalid, p.string() + " is larger than 1 MiB");
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  if (!in && !in.eof()) return Status(Code::io, "cannot read " + p.string());
  return out.str();
}

// The database's own files, the lock, what restore and atomic writes leave
// beside them, and backups kept in the folder, stay out of a backup.
bool skipped(const std::string& name) {
  return name == kDbName || name.rfind(std::string(kDbName) + "-", 0) == 0 ||
         name.rfind(std::string(kDbName) + ".", 0) == 0 || name == DataLock::kFileName ||
         name.find(".before-restore-") != std::string::npos || name.ends_with(".tmp") || name.ends_with(".backup") ||
         name.find(".backup.tmp-") != std::string::npos;
}

// Every regular file of the data folder but the skipped ones (what `init`
// writes: tls/hub-cert.pem, tls/hub-key.pem, admin.password; and whatever a
// later version adds; a file over 1 MiB is left out with a warning), plus the configured TLS pair when it lives
// elsewhere, under the names init would give it.
Result<std::vector<BackupFile>> collect_files(const HubConfig& cfg) {
  std::vector<BackupFile> files;
  std::error_code ec;
  const fs::path root(cfg.data_dir);
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    std::string name = fs::relative(it->path(), root, ec).generic_string();
    if (ec || skipped(it->path().filename().string())) continue;
    if (!valid_backup_file_name(name)) {
      std::cerr << "terril-hub: left out of the backup (unusual file name): " << it->path().string() << "\n";
      continue;
    }
    auto content = read_small_file(it->path());
    if (!content && content.status().code() == Code::invalid) {  // too large to be one of ours
      std::cerr << "terril-hub: left out of the backup (" << content.status().message() << ")\n";
      continue;
    }
    if (!content) return content.status();
    struct stat sb {};
    uint32_t mode = ::stat(it->path().c_str(), &sb) == 0 ? (sb.st_mode & 07777) : 0600;
    files.push_back({name, mode, std::move(*content)});
  }
  if (ec) return Status(Code::io, "cannot list " + cfg.data_dir + ": " + ec.message());
  auto add_outside = [&](const std::string& path, const char* name) -> Status {
    if (std::any_of(files.begin(), files.end(), [&](const BackupFile& f) { return f.name == name; })) return {};
    if (!fs::exists(path)) return {};
    auto content = read_small_file(path);
    if (!content) return content.status();
    files.push_back({name, 0600, std::move(*content)});
    return {};
  };
  if (Status s = add_outside(hub_tls_cert_path(cfg), "tls/hub-cert.pem"); !s) return s;
  if (Status s = add_outside(hub_tls_key_path(cfg), "tls/hub-key.pem"); !s) return s;
  std::sort(files.begin(), files.end(), [](const BackupFile& a, const BackupFile& b) { return a.name < b.name; });
  return files;
}

// An empty file only this user can read, created now (never existed before).
Status create_private_empty(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status(Code::io, "cannot create " + path + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);
  ::close(fd);
  return Status::ok();
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Deletes all but the `keep` newest terril-hub-*.backup files of `dir`.
std::vector<std::string> prune(const fs::path& dir, int keep) {
  std::vector<std::string> names, removed;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (std::regex_match(e.path().filename().string(), kBackupName)) names.push_back(e.path().filename().string());
  std::sort(names.rbegin(), names.rend());
  for (size_t i = static_cast<size_t>(keep); i < names.size(); ++i) {
    if (fs::remove(dir / names[i], ec)) removed.push_back((dir / names[i]).string());
  }
  return removed;
}

std::string human_bytes(int64_t n) {
  char buf[32];
  if (n >= (1 << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  return buf;
}

bool same_content(const fs::path& p, const std::string& content) {
  auto current = read_small_file(p);
  return current && *current == content;
}

// lchown's `dir` and everything under it (the lock file included).
void hand_to(const std::string& dir, uid_t uid, gid_t gid) {
  std::error_code ec;
  auto give = [&](const fs::path& p) {
    if (::lchown(p.c_str(), uid, gid) != 0)
      std::cerr << "terril-hub: cannot give " << p.string() << " to uid " << uid << ": " << std::strerror(errno)
                << "\n";
  };
  give(dir);
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) give(it->path());
}

}  // namespace

BackupCommands add_backup_commands(CLI::App& app, BackupFlags& f) {
  BackupCommands c;
  c.backup = app.add_subcommand("backup", "Write a consistent backup of the hub while it serves (mode 0600)");
  c.backup->add_option("--to", f.to, "Backup file, or a folder (existing, or ending in '/') for a dated file")
      ->required();
  c.backup->add_option("--keep", f.keep, "With a folder: keep only the N newest backups there")
      ->check(CLI::Range(1, 100000));
  c.backup->add_flag("--json", f.json, "Print JSON");
  c.restore = app.add_subcommand("restore", "Restore a backup into the data folder (the hub must be stopped)");
  c.restore->add_option("--from", f.from, "Backup file written by `terril-hub backup` (or a copy of hub.db)")
      ->required();
  c.restore->add_flag("--force", f.force, "Replace an existing hub.db (kept aside as hub.db.before-restore-TIME)");
  return c;
}

int run_backup(const HubConfig& cfg, const BackupFlags& f) {
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  const bool to_dir = f.to.ends_with('/') || fs::is_directory(f.to, ec);
  if (f.keep > 0 && !to_dir) return die("--keep needs --to to name a folder (e.g. /var/backups/terril-hub/)");
  fs::path dest = to_dir ? fs::path(f.to) / ("terril-hub-" + stamp(wall_now_ms()) + ".backup") : fs::path(f.to);
  fs::path dir = dest.parent_path().empty() ? fs::path(".") : dest.parent_path();
  if (!fs::is_directory(dir, ec)) return die("no folder " + dir.string() + " for the backup");

  auto files = collect_files(cfg);
  if (!files) return die(files.status().message());
  const std::string tmp = dest.string() + ".tmp-" + std::to_string(::getpid());
  // Whatever SQLite creates beside the copy (its journal) is private too.
  const mode_t old_mask = ::umask(077);
  Result<BackupInfo> info = Status(Code::internal, "not run");
  if (Status created = create_private_empty(tmp); created)
    info = write_backup(data_file(cfg.data_dir, kDbName), *files, tmp);
  else
    info = created;
  ::umask(old_mask);
  if (!info) {
    ::unlink(tmp.c_str());
    ::unlink((tmp + "-journal").c_str());
    return die("backup failed: " + info.status().message());
  }
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return die("cannot rename " + tmp + " to " + dest.string() + ": " + std::strerror(err));
  }
  fsync_dir(dir.string());
  std::vector<std::string> removed = f.keep > 0 ? prune(dir, f.keep) : std::vector<std::string>{};
  const int64_t bytes = static_cast<int64_t>(fs::file_size(dest, ec));
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();

  json names = json::array();
  for (const BackupFile& bf : *files) names.push_back(bf.name);
  if (f.json) {
    std::cout << json{{"file", dest.string()},    {"bytes", bytes},         {"ms", ms},
                      {"records", info->records}, {"hub_id", info->hub_id}, {"schema_version", info->schema_version},
                      {"files", names},           {"removed", removed}}
                     .dump()
              << "\n";
    return 0;
  }
  std::cout << "Backup written to " << dest.string() << "\n"
            << "  size:      " << human_bytes(bytes) << " (" << bytes << " bytes)\n"
            << "  duration:  " << ms << " ms\n"
            << "  hub id:    " << info->hub_id << "\n"
            << "  records:   " << info->records << "\n"
            << "  files:     " << (names.empty() ? std::string("none") : "") << "\n";
  for (const BackupFile& bf : *files) std::cout << "    " << bf.name << "\n";
  for (const std::string& r : removed) std::cout << "  removed older backup " << r << "\n";
  std::cout << "It holds the TLS key and the admin password hash: keep it as private as the data folder.\n";
  return 0;
}

int run_restore(const HubConfig& cfg, const BackupFlags& f) {
  // 1. Check the file before touching anything.
  auto info = inspect_backup(f.from);
  if (!info) return die("restore refused: " + info.status().message());
  for (const BackupFile& bf : info->files)
    if (skipped(fs::path(bf.name).filename().string())) return die("restore refused: unexpected file " + bf.name);

  // 2. The folder, and no hub serving it.
  const std::string& dir = cfg.data_dir;
  std::error_code ec;
  // Run as root (sudo) over the service user's folder: what restore writes
  // is handed to that user at the end, or `serve` could not open it.
  struct stat owner {};
  const bool hand_over = ::geteuid() == 0 && ::stat(dir.c_str(), &owner) == 0 && owner.st_uid != 0;
  if (fs::equivalent(f.from, data_file(dir, kDbName), ec))
    return die("restore refused: " + f.from + " is the data folder's own hub.db; copy it elsewhere first");
  if (Status s = make_private_dir(dir); !s) return die(s.message());
  auto lock = DataLock::acquire(dir);
  if (!lock) {
    if (lock.status().code() == Code::conflict)
      return die("restore refused: a terril-hub is serving " + dir +
                 ". Stop it first (sudo systemctl stop terril-hub), then run restore again.");
    return die(lock.status().message());
  }

  // 3. What would be replaced: only with --force.
  const std::string db = data_file(dir, kDbName);
  std::vector<const BackupFile*> differing;
  for (const BackupFile& bf : info->files) {
    fs::path p = fs::path(dir) / bf.name;
    if (fs::exists(p, ec) && !same_content(p, bf.content)) differing.push_back(&bf);
  }
  if (!f.force && fs::exists(db, ec))
    return die("restore refused: " + db + " exists. Add --force to replace it (it is kept aside as " + db +
               ".before-restore-TIME).");
  if (!f.force && !differing.empty())
    return die("restore refused: " + (fs::path(dir) / differing.front()->name).string() +
               " differs from the backup's copy. Add --force to replace it (it is kept aside).");

  // 4. Keep the current database aside (with its WAL: it may hold its last
  // commits), then remove what would corrupt the restored one.
  const std::string when = stamp(wall_now_ms());
  std::string aside;
  if (fs::exists(db, ec)) {
    aside = db + ".before-restore-" + when;
    if (::rename(db.c_str(), aside.c_str()) != 0) return die("cannot move " + db + " aside: " + std::strerror(errno));
    if (fs::exists(db + "-wal", ec)) ::rename((db + "-wal").c_str(), (aside + "-wal").c_str());
  }
  for (const char* suffix : {"-wal", "-shm", "-journal"}) fs::remove(db + suffix, ec);

  // 5. The database, then the files, each 0600 (folders 0700), atomically.
  const std::string tmp = db + ".restore-tmp";
  fs::remove(tmp, ec);
  const mode_t old_mask = ::umask(077);
  Status s = create_private_empty(tmp);
  if (s) s = restore_database(f.from, tmp);
  ::umask(old_mask);
  if (s && ::rename(tmp.c_str(), db.c_str()) != 0) s = Status(Code::io, "cannot rename " + tmp + " to " + db);
  if (!s) {
    fs::remove(tmp, ec);
    return die("restore failed: " + s.message() + (aside.empty() ? "" : " (the previous database is " + aside + ")"));
  }
  fsync_dir(dir);
  for (const BackupFile* bf : differing) {
    fs::path p = fs::path(dir) / bf->name;
    fs::rename(p, p.string() + ".before-restore-" + when, ec);
  }
  for (const BackupFile& bf : info->files) {
    fs::path p = fs::path(dir) / bf.name;
    if (Status m = make_private_dir(p.parent_path().string()); !m) return die(m.message());
    const mode_t mode = (bf.mode & 0600) ? (bf.mode & 0600) : 0600;
    if (Status w = write_file_atomic(p.string(), bf.content, mode); !w) return die("restore failed: " + w.message());
  }

  if (hand_over) hand_to(dir, owner.st_uid, owner.st_gid);

  std::cout << "Restored hub " << info->hub_id << " (" << info->records << " records, schema " << info->schema_version
            << ") into " << dir << "\n";
  if (!aside.empty()) std::cout << "  previous database kept as " << aside << "\n";
  if (hand_over) std::cout << "  files handed to uid " << owner.st_uid << " (the data folder's owner)\n";
  for (const BackupFile& bf : info->files) std::cout << "  restored " << bf.name << "\n";
  if (!info->has_files)
    std::cout << "  note: " << f.from
              << " is a plain copy of hub.db: no TLS certificate, key or admin password came with it; the "
                 "folder's own are kept (nodes pin the certificate: a new one cuts them off).\n";
  const std::string cert_cfg = hub_tls_cert_path(cfg), cert_here = data_file(dir, "tls/hub-cert.pem");
  if (info->has_files && fs::path(cert_cfg).lexically_normal() != fs::path(cert_here).lexically_normal())
    std::cout << "  note: the config reads the TLS pair from " << cert_cfg << " and " << hub_tls_key_path(cfg)
              << "; the backup's copies are in " << dir << "/tls/\n";
  std::cout << "Next:\n";
  if (::geteuid() == 0 && !hand_over)
    std::cout << "  - you ran this as root: sudo chown -R terril-hub: " << dir << "\n";
  std::cout << "  - start the hub: sudo systemctl start terril-hub\n"
            << "  - nothing else: at their next contact the nodes send the hub what it lost since the backup, "
               "and the hub heals with them by itself (watch `terril-hub node list`).\n";
  return 0;
}

}  // namespace terril

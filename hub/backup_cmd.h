// `terril-hub backup` and `terril-hub restore`: the technician's commands
// over common/store/backup.h (the SQLite copy and its checks) and
// common/ops/data_lock.h (restore refuses while `serve` holds the folder).
// Output is English, like the rest of the CLI. Exit codes as the other
// commands: 0 done, 1 refused or failed (the message on stderr says why).
//
//   terril-hub backup --to FILE|DIR/ [--keep N] [--json]
//     A consistent copy while the hub serves, with the data folder's small
//     files (TLS certificate and key, admin password hash) inside, written
//     0600 beside its destination and renamed into place. To a folder (an
//     existing one, or a path ending in '/'), the file is named
//     terril-hub-YYYYMMDDTHHMMSS.mmmZ.backup (UTC), and --keep N then deletes all but
//     the N newest such files there (the systemd timer's use).
//   terril-hub restore --from FILE [--force]
//     Into the configured data folder (--data-dir DIR): refused while a hub
//     serves it, checked before anything is touched, keeps an existing
//     hub.db aside with --force.
#pragma once

#include <string>

#include "common/ops/config.h"

namespace CLI {
class App;
}

namespace terril {

// The flags of both commands; must outlive app.parse() and the run_*() call.
struct BackupFlags {
  std::string to;
  int keep = 0;  // 0 = keep everything
  std::string from;
  bool force = false;
  bool json = false;
};

struct BackupCommands {
  CLI::App* backup = nullptr;
  CLI::App* restore = nullptr;
};

// Adds the `backup` and `restore` subcommands with their own flags, bound to
// `flags`; the caller adds the common ones (--config, --data-dir...).
BackupCommands add_backup_commands(CLI::App& app, BackupFlags& flags);

// The commands, with the loaded config. Return the process exit code.
int run_backup(const HubConfig& cfg, const BackupFlags& flags);
int run_restore(const HubConfig& cfg, const BackupFlags& flags);

}  // namespace terril

// The data folder's serve lock: a daemon that serves a data folder holds an
// exclusive flock(2) on DATA_DIR/serve.lock for its lifetime, and commands
// that must not run beside it (`terril-hub restore`) try the same lock and
// refuse when it is held. The kernel drops the lock when the process dies
// (even by kill -9), so a stale lock file never blocks anything.
#pragma once

#include <string>

#include "common/core/status.h"

namespace terril {

class DataLock {
 public:
  // The lock file's name inside the data folder.
  static constexpr const char* kFileName = "serve.lock";

  // Takes the lock on DATA_DIR/serve.lock without waiting, creating the file
  // (0600) if needed. REQUIRES: the folder exists.
  // Errors: conflict (another process holds it: a daemon serves the folder),
  // io (cannot create or lock the file).
  static Result<DataLock> acquire(const std::string& data_dir);

  DataLock(DataLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  DataLock& operator=(DataLock&& o) noexcept;
  DataLock(const DataLock&) = delete;
  DataLock& operator=(const DataLock&) = delete;
  // Releases the lock (closes the file; the file stays).
  ~DataLock();

 private:
  explicit DataLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace terril

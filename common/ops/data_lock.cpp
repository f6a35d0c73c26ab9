// The data folder's serve lock (data_lock.h): flock(2) on DATA_DIR/serve.lock.
#include "common/ops/data_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace terril {

Result<DataLock> DataLock::acquire(const std::string& data_dir) {
  const std::string path = (std::filesystem::path(data_dir) / kFileName).string();
  // O_CLOEXEC: a child process never inherits (and so never keeps) the lock.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status(Code::io, "cannot open lock file " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return Status(Code::conflict, "another process (a running `serve`) holds " + path);
    return Status(Code::io, "cannot lock " + path + ": " + std::strerror(err));
  }
  return DataLock(fd);
}

DataLock& DataLock::operator=(DataLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

DataLock::~DataLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace terril

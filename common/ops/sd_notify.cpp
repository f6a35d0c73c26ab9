// Native sd_notify(3): one datagram to $NOTIFY_SOCKET, as libsystemd does,
// without linking libsystemd (it and the libraries it maps were 0.7 MiB of
// terril-node's idle RSS, for two calls; bench/README.md).
// Protocol (sd_notify(3), "NOTIFY_SOCKET"): an AF_UNIX datagram socket named
// by a path, or by an abstract name when the variable starts with '@'; the
// message is newline-separated KEY=VALUE assignments.
#include "common/ops/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace terril {
namespace {

// Sends `msg` to $NOTIFY_SOCKET; false when unset or on any error (never
// fatal: a daemon started outside systemd simply has no one to tell).
bool send_notify(std::string_view msg) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (env == nullptr || (env[0] != '/' && env[0] != '@')) return false;
  size_t len = std::strlen(env);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (len < 2 || len > sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, env, len);
  socklen_t addr_len;
  if (env[0] == '@') {
    addr.sun_path[0] = '\0';  // abstract namespace: the name is the bytes after it, no terminator
    addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  } else {
    if (len == sizeof addr.sun_path) return false;  // no room for the terminator
    addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len + 1);
  }
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t n;
  do {
    n = ::sendto(fd, msg.data(), msg.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), addr_len);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  return n == static_cast<ssize_t>(msg.size());
}

// A decimal unsigned number, whole string, no sign, no overflow.
bool parse_u64(const char* s, uint64_t& out) {
  if (s == nullptr || *s < '0' || *s > '9') return false;
  uint64_t v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return false;
    unsigned d = static_cast<unsigned>(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

}  // namespace

void notify_ready() {
  send_notify("READY=1");
}

void notify_status(std::string_view text) {
  std::string msg = "STATUS=";
  for (char c : text) msg += (c == '\n' || c == '\r') ? ' ' : c;
  send_notify(msg);
}

void notify_stopping() {
  send_notify("STOPPING=1");
}

// As sd_watchdog_enabled(0, &usec): WATCHDOG_USEC must be a positive number;
// when WATCHDOG_PID is set it must name this process (the variables may have
// been inherited by a child that is not the watched service).
uint64_t watchdog_interval_us() {
  uint64_t usec = 0;
  if (!parse_u64(std::getenv("WATCHDOG_USEC"), usec) || usec == 0) return 0;
  if (const char* p = std::getenv("WATCHDOG_PID"); p != nullptr) {
    uint64_t pid = 0;
    if (!parse_u64(p, pid) || pid == 0) return 0;
    if (pid != static_cast<uint64_t>(::getpid())) return 0;
  }
  return usec;
}

void notify_watchdog() {
  send_notify("WATCHDOG=1");
}

}  // namespace terril

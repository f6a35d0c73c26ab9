#include "common/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdlib>
#include <string>

#include "tests/unit/hub/test_util.h"

using namespace terril;

namespace {

// A datagram socket standing in for systemd's notification socket.
struct FakeSystemd {
  // `path` starting with '@' names an abstract socket, as systemd may pass.
  explicit FakeSystemd(const std::string& path) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    socklen_t len = sizeof addr;
    if (path[0] == '@') {
      addr.sun_path[0] = '\0';
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    }
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  ~FakeSystemd() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd);
  }
  std::string receive() {
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
  int fd;
};

}  // namespace

TEST_CASE("sd_notify: messages reach NOTIFY_SOCKET", "[sd_notify]") {
  terril::test::TempDir dir;
  FakeSystemd sd(dir.file("notify"));
  notify_ready();
  CHECK(sd.receive() == "READY=1");
  notify_status("syncing\n3 pending");
  CHECK(sd.receive() == "STATUS=syncing 3 pending");
  notify_watchdog();
  CHECK(sd.receive() == "WATCHDOG=1");
  notify_stopping();
  CHECK(sd.receive() == "STOPPING=1");
}

TEST_CASE("sd_notify: an abstract NOTIFY_SOCKET ('@name') is reached", "[sd_notify]") {
  FakeSystemd sd("@terril-sd-notify-test-" + std::to_string(::getpid()));
  notify_ready();
  CHECK(sd.receive() == "READY=1");
  notify_watchdog();
  CHECK(sd.receive() == "WATCHDOG=1");
}

TEST_CASE("sd_notify: no socket, no failure", "[sd_notify]") {
  ::unsetenv("NOTIFY_SOCKET");
  notify_ready();
  notify_watchdog();
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);  // not a path nor '@': ignored
  notify_ready();
  ::setenv("NOTIFY_SOCKET", "/nonexistent/terril/notify", 1);
  notify_ready();
  ::unsetenv("NOTIFY_SOCKET");
}

TEST_CASE("sd_notify: the watchdog interval comes from WATCHDOG_USEC for this pid", "[sd_notify]") {
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  CHECK(watchdog_interval_us() == 0);
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  CHECK(watchdog_interval_us() == 30000000);
  ::setenv("WATCHDOG_PID", "1", 1);  // meant for another process
  CHECK(watchdog_interval_us() == 0);
  ::unsetenv("WATCHDOG_PID");  // no pid: meant for us
  CHECK(watchdog_interval_us() == 30000000);
  for (const char* bad : {"0", "", "-5", "30s", "99999999999999999999999"}) {
    ::setenv("WATCHDOG_USEC", bad, 1);
    CHECK(watchdog_interval_us() == 0);
  }
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

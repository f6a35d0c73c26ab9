#include "common/ops/sd_notify.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "tests/support/temp_dir.h"
#include "tests/unit/ops/fake_systemd.h"

using namespace terril;

TEST_CASE("sd_notify: messages reach NOTIFY_SOCKET", "[sd_notify]") {
  terril::test::TempDir dir;
  terril::test::FakeSystemd sd(dir.file("notify"));
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
  terril::test::FakeSystemd sd("@terril-sd-notify-test-" + std::to_string(::getpid()));
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

// common/ops/daemon_loop: the serve loop both daemons share (ticker, watchdog,
// stop signal, READY/STOPPING, the port line), against a fake systemd socket.
#include "common/ops/daemon_loop.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/net/event_loop.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/ops/fake_systemd.h"

using namespace terril;

namespace {

// Captures std::cout for the test's duration.
struct CaptureStdout {
  CaptureStdout() : old(std::cout.rdbuf(out.rdbuf())) {}
  ~CaptureStdout() { std::cout.rdbuf(old); }
  std::ostringstream out;
  std::streambuf* old;
};

// Every datagram received until STOPPING=1 (or the socket's 2 s timeout).
std::vector<std::string> messages_until_stopping(test::FakeSystemd& sd) {
  std::vector<std::string> got;
  for (std::string m = sd.receive(); !m.empty(); m = sd.receive()) {
    got.push_back(m);
    if (m == "STOPPING=1") break;
  }
  return got;
}

}  // namespace

TEST_CASE("daemon loop: READY, status, port line, ticks with watchdog, SIGTERM stops it", "[daemon_loop]") {
  test::TempDir dir;
  test::FakeSystemd sd(dir.file("notify"));
  ::setenv("WATCHDOG_USEC", "2000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);

  EventLoop loop;
  int ticks = 0, stops = 0;
  DaemonLoopOptions o;
  o.name = "test";
  o.tick_ms = 5;
  o.on_tick = [&] {
    if (++ticks == 3) ::kill(::getpid(), SIGTERM);  // handled on the loop's thread
  };
  o.on_stop = [&] {
    ++stops;
    CHECK(ticks == 3);
  };
  o.status = "serving";
  o.host = "127.0.0.1";
  o.port = 8123;
  {
    CaptureStdout cap;
    run_daemon(loop, o);
    CHECK(cap.out.str() == "listening 127.0.0.1:8123\n");
  }
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  CHECK(stops == 1);
  CHECK(ticks == 3);  // the ticker stops with the loop
  CHECK(loop.stopped());
  auto got = messages_until_stopping(sd);
  REQUIRE(got.size() >= 3);
  CHECK(got[0] == "READY=1");
  CHECK(got[1] == "STATUS=serving");
  CHECK(got.back() == "STOPPING=1");
  // One WATCHDOG=1 after each of the ticks that ran before the signal.
  std::vector<std::string> middle(got.begin() + 2, got.end() - 1);
  CHECK(middle.size() >= 2);
  for (const auto& m : middle) CHECK(m == "WATCHDOG=1");
}

TEST_CASE("daemon loop: no watchdog set, no status: only READY and STOPPING", "[daemon_loop]") {
  test::TempDir dir;
  test::FakeSystemd sd(dir.file("notify"));
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  EventLoop loop;
  int ticks = 0;
  DaemonLoopOptions o;
  o.name = "test";
  o.tick_ms = 5;
  o.on_tick = [&] {
    if (++ticks == 2) ::kill(::getpid(), SIGINT);
  };  // no on_stop: the loop still stops
  o.host = "::1";
  CaptureStdout cap;
  run_daemon(loop, o);
  CHECK(cap.out.str() == "listening ::1:0\n");
  CHECK(messages_until_stopping(sd) == std::vector<std::string>{"READY=1", "STOPPING=1"});
}

// Atomicity under a crash: a hub process SIGKILLed at a random moment while
// it applies a large batch holds, once reopened, either all of it or none.
// Override the random seed with TERRIL_CRASH_SEED to replay a run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "common/core/hlc.h"
#include "tests/support/random.h"
#include "tests/unit/store/store_fixture.h"

using namespace terril;
using namespace terril::test;

namespace {

constexpr uint64_t kBatch = 5000;

std::vector<Change> big_batch() {
  std::vector<Change> batch;
  batch.reserve(kBatch);
  for (uint64_t i = 1; i <= kBatch; ++i)
    batch.push_back(registration_change("node-a", i, hlc_make(kNow, i), uuid(i), "centre-a", uuid(1, 0xe),
                                        "Nom" + std::to_string(i)));
  return batch;
}

// Child: open, tell the parent it is about to apply, apply, report the time
// taken (µs), exit. Never returns.
[[noreturn]] void child(const std::string& path, int fd) {
  auto s = Store::open(path, hub_opts());
  if (!s) ::_exit(2);
  auto batch = big_batch();
  char go = 'g';
  if (::write(fd, &go, 1) != 1) ::_exit(3);
  auto t0 = std::chrono::steady_clock::now();
  auto r = (*s)->apply_from_node("node-a", batch, allow_all, kNow);
  int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  if (!r) ::_exit(4);
  if (::write(fd, &us, sizeof us) != sizeof us) ::_exit(5);
  ::_exit(0);
}

struct Outcome {
  bool killed = false;
  int64_t apply_us = 0;
};

// Runs one child; kills it `delay_us` after it starts applying (<0: never).
Outcome run(const std::string& path, int64_t delay_us) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    child(path, fds[1]);
  }
  ::close(fds[1]);
  Outcome out;
  char go = 0;
  REQUIRE(::read(fds[0], &go, 1) == 1);
  if (delay_us >= 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
    out.killed = ::kill(pid, SIGKILL) == 0;
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status)) {
    REQUIRE(WEXITSTATUS(status) == 0);
    out.killed = false;
    REQUIRE(::read(fds[0], &out.apply_us, sizeof out.apply_us) == sizeof out.apply_us);
  } else {
    REQUIRE(WIFSIGNALED(status));
    out.killed = true;
  }
  ::close(fds[0]);
  return out;
}

}  // namespace

TEST_CASE("a hub killed while applying a batch holds all of it or none", "[store][crash]") {
  unsigned seed = std::random_device{}();
  if (const char* env = std::getenv("TERRIL_CRASH_SEED")) seed = static_cast<unsigned>(std::strtoul(env, nullptr, 10));
  std::printf("crash_test: seed %u (TERRIL_CRASH_SEED=%u to replay)\n", seed, seed);
  std::fflush(stdout);
  std::mt19937 rng(seed);
  TempDir dir;

  // Calibrate: how long does the batch take here?
  const Outcome cal = run(dir.file("calibrate.db"), -1);
  REQUIRE_FALSE(cal.killed);
  const int64_t span = std::max<int64_t>(cal.apply_us * 6 / 5, 1000);

  // 12 rounds; fewer under emulation (scripts/build-arm64.sh), where each forked writer is slow.
  const int rounds = static_cast<int>(env_or("TERRIL_CRASH_ROUNDS", 12));
  int all = 0, none = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::string path = dir.file("hub-" + std::to_string(round) + ".db");
    const int64_t delay = std::uniform_int_distribution<int64_t>(0, span)(rng);
    const Outcome o = run(path, delay);
    INFO("seed " << seed << " round " << round << " delay " << delay << "us killed " << o.killed);
    auto hub = open_store(path, hub_opts());
    ok(hub->integrity_check());
    const int64_t regs = sql_int(*hub, "SELECT count(*) FROM registrations");
    const int64_t logged = sql_int(*hub, "SELECT count(*) FROM change_log");
    const uint64_t cursor = ok(hub->origin_cursor("node-a"));
    if (regs == 0) {
      CHECK(logged == 0);
      CHECK(cursor == 0);
      ++none;
    } else {
      CHECK(regs == static_cast<int64_t>(kBatch));
      CHECK(logged == static_cast<int64_t>(kBatch));
      CHECK(cursor == kBatch);
      ++all;
    }
    // And it can go on: the node resends, the hub takes it exactly once.
    auto rep = ok(hub->apply_from_node("node-a", big_batch(), allow_all, kNow));
    CHECK(rep.applied + rep.duplicates == kBatch);
    CHECK(sql_int(*hub, "SELECT count(*) FROM registrations") == static_cast<int64_t>(kBatch));
  }
  std::printf("crash_test: batch applies in %lld us; %d rounds found all, %d none\n",
              static_cast<long long>(cal.apply_us), all, none);
}

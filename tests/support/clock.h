// Fixed time for tests: the core never reads a clock, so tests pass one in.
#pragma once

#include <cstdint>

namespace terril::test {

constexpr int64_t kMinuteMs = 60LL * 1000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr int64_t kDayMs = 24 * kHourMs;

// 2026-11-30T00:53:20Z: a plausible "now" for a test that has no reason to
// pick another.
constexpr int64_t kNow = 1796000000000;

// A clock a test moves by hand; pass `[&] { return clock.now(); }` where a
// std::function<int64_t()> is wanted.
struct FixedClock {
  int64_t ms = kNow;
  int64_t now() const { return ms; }
  void advance(int64_t d) { ms += d; }
};

}  // namespace terril::test

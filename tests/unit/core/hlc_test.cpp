// Hybrid logical clock (common/core/hlc.h). Time is always passed in.
#include "common/core/hlc.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

namespace terril {
namespace {

constexpr int64_t kNow = 1795946400000;                         // 2026-11-29T10:00:00Z
constexpr int64_t kTwentyYears = int64_t{20} * 365 * 86400000;  // close enough
constexpr int64_t kMinute = 60000;

TEST_CASE("hlc packs 48 bits of ms and 16 bits of counter", "[hlc]") {
  constexpr uint64_t h = hlc_make(kNow, 7);
  STATIC_REQUIRE(hlc_ms(h) == kNow);
  STATIC_REQUIRE(hlc_counter(h) == 7);
  STATIC_REQUIRE(hlc_make(1, 0) > hlc_make(0, 0xFFFF));
  STATIC_REQUIRE(hlc_ms(hlc_make(kHlcMaxMs, kHlcCounterMask)) == kHlcMaxMs);
}

TEST_CASE("tick follows the wall clock when it moves forward", "[hlc]") {
  Hlc h;
  CHECK(h.tick(kNow) == hlc_make(kNow, 0));
  CHECK(h.tick(kNow + 5) == hlc_make(kNow + 5, 0));
  CHECK(h.tick(kNow + 5) == hlc_make(kNow + 5, 1));
  CHECK(h.last() == hlc_make(kNow + 5, 1));
}

TEST_CASE("tick stays strictly monotonic when the wall clock goes backwards", "[hlc]") {
  // Wall readings: forward, back a little, back to 1970, a +20 year jump and a -20 year jump.
  const std::vector<int64_t> walls = {kNow,
                                      kNow + 10,
                                      kNow - 1000,
                                      0,
                                      -5,
                                      kNow + 11,
                                      kNow + 11,
                                      kNow + kTwentyYears,
                                      kNow,
                                      kNow - kTwentyYears,
                                      kNow + kTwentyYears + 1};
  Hlc h;
  uint64_t prev = 0;
  for (int64_t w : walls) {
    uint64_t t = h.tick(w);
    INFO("wall " << w);
    CHECK(t > prev);
    CHECK(t == h.last());
    prev = t;
  }
  // After the +20 year jump the clock keeps that time: going back 20 years only counts.
  CHECK(hlc_ms(prev) == static_cast<uint64_t>(kNow + kTwentyYears + 1));
}

TEST_CASE("a jump of +20 years is followed; a jump back of 20 years only advances the counter", "[hlc]") {
  Hlc h;
  h.tick(kNow);
  uint64_t future = h.tick(kNow + kTwentyYears);
  CHECK(hlc_ms(future) == static_cast<uint64_t>(kNow + kTwentyYears));
  uint64_t back = h.tick(kNow - kTwentyYears);
  CHECK(back == future + 1);
  CHECK(hlc_ms(back) == hlc_ms(future));

  Hlc past;
  uint64_t a = past.tick(kNow);
  uint64_t b = past.tick(kNow - kTwentyYears);
  CHECK(b == a + 1);
}

TEST_CASE("65536 ticks in the same millisecond advance the millisecond", "[hlc]") {
  Hlc h;
  uint64_t prev = h.tick(kNow);
  CHECK(prev == hlc_make(kNow, 0));
  for (uint64_t i = 1; i <= kHlcCounterMask; ++i) {
    uint64_t t = h.tick(kNow);
    REQUIRE(t == prev + 1);
    prev = t;
  }
  CHECK(prev == hlc_make(kNow, kHlcCounterMask));
  uint64_t overflow = h.tick(kNow);  // tick number 65537 in this ms
  CHECK(overflow == hlc_make(kNow + 1, 0));
  CHECK(overflow > prev);
  // The real clock catching up to the borrowed ms keeps counting, never repeats.
  CHECK(h.tick(kNow + 1) == hlc_make(kNow + 1, 1));
  CHECK(h.tick(kNow + 2) == hlc_make(kNow + 2, 0));
}

TEST_CASE("a clock restarted from the persisted last() never goes back", "[hlc]") {
  Hlc before;
  before.set_offset(3 * kMinute);
  before.tick(kNow);
  before.tick(kNow);
  const uint64_t persisted = before.last();

  // The box reboots with its RTC-less clock in 1970.
  Hlc after(persisted, before.offset_ms());
  CHECK(after.last() == persisted);
  CHECK(after.offset_ms() == 3 * kMinute);
  uint64_t t = after.tick(0);
  CHECK(t > persisted);
  CHECK(t == persisted + 1);
  // A fresh clock would have gone back: this is what persisting prevents.
  CHECK(Hlc().tick(0) < persisted);
}

TEST_CASE("observe merges remote stamps but ignores those too far ahead", "[hlc]") {
  struct Case {
    const char* name;
    uint64_t remote;
    uint64_t expected_last;
  };
  const uint64_t local = hlc_make(kNow, 4);
  const Case cases[] = {
      {"older remote", hlc_make(kNow - 10, 9), local},
      {"equal remote", local, local},
      {"slightly ahead", hlc_make(kNow + 30000, 2), hlc_make(kNow + 30000, 2)},
      {"exactly at the limit", hlc_make(kNow + kMinute, 0), hlc_make(kNow + kMinute, 0)},
      {"just over the limit", hlc_make(kNow + kMinute + 1, 0), local},
      {"20 years ahead", hlc_make(kNow + kTwentyYears, 0), local},
      {"at the end of time", hlc_make(kHlcMaxMs, kHlcCounterMask), local},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Hlc h(local, 0);
    h.observe(c.remote, kNow, kMinute);
    CHECK(h.last() == c.expected_last);
    uint64_t t = h.tick(kNow);
    CHECK(t > local);
    if (c.expected_last == local) CHECK(hlc_ms(t) == static_cast<uint64_t>(kNow));  // not pulled forward
    if (c.remote <= c.expected_last) CHECK(t > c.remote);                           // a merged stamp is exceeded
  }
}

TEST_CASE("observe with a negative window still accepts stamps up to the corrected time", "[hlc]") {
  Hlc h;
  h.observe(hlc_make(kNow, 3), kNow, -5);
  CHECK(h.last() == hlc_make(kNow, 3));
  h.observe(hlc_make(kNow + 1, 0), kNow, -5);
  CHECK(h.last() == hlc_make(kNow, 3));
}

TEST_CASE("the hub time offset corrects a clock stuck in 1970 or running ahead", "[hlc]") {
  struct Case {
    const char* name;
    int64_t wall;  // what the box reads when the hub says kNow
  };
  const Case cases[] = {
      {"booted in 1970", 42}, {"20 years ahead", kNow + kTwentyYears}, {"exact", kNow}, {"5 s behind", kNow - 5000}};
  for (const auto& c : cases) {
    INFO(c.name);
    Hlc h;
    h.set_offset(kNow - c.wall);  // learnt at the handshake
    CHECK(h.corrected(c.wall) == static_cast<uint64_t>(kNow));
    CHECK(h.corrected(c.wall + 1500) == static_cast<uint64_t>(kNow + 1500));
    CHECK(h.tick(c.wall + 10) == hlc_make(kNow + 10, 0));
  }
}

TEST_CASE("corrected time is clamped to [0, kHlcMaxMs]", "[hlc]") {
  Hlc h(0, -kNow);
  CHECK(h.corrected(5) == 0);
  CHECK(h.corrected(kNow + 5) == 5);
  Hlc far(0, INT64_MAX / 2);
  CHECK(far.corrected(INT64_MAX / 4) == kHlcMaxMs);
}

TEST_CASE("rewind brings a clock that ran in the future back to corrected time", "[hlc]") {
  Hlc h;
  const int64_t wall = kNow + kTwentyYears;  // the box thinks it is 2046
  uint64_t bad = h.tick(wall);
  CHECK(hlc_ms(bad) == static_cast<uint64_t>(wall));
  // Handshake: the hub says kNow.
  h.set_offset(kNow - wall);
  // Without a rewind, new stamps stay in the future.
  CHECK(hlc_ms(h.tick(wall)) == static_cast<uint64_t>(wall));
  h.rewind(wall);
  CHECK(h.last() == hlc_make(kNow, 0));
  uint64_t good = h.tick(wall + 20);
  CHECK(good == hlc_make(kNow + 20, 0));
  CHECK(good < bad);  // the caller re-stamps unsent changes
}

}  // namespace
}  // namespace terril

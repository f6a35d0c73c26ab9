// Reconnect backoff: the ceiling doubles from the base up to the cap, and the
// delay is the random draw scaled into [0, ceiling].
#include "common/core/backoff.h"

#include <catch2/catch.hpp>

using namespace terril;

TEST_CASE("backoff: the ceiling doubles per attempt and stops at the cap", "[backoff]") {
  BackoffPolicy p;  // 1 s base, 60 s cap
  struct Row {
    int attempt;
    int64_t ceiling;
  };
  const Row table[] = {{-3, 1000}, {0, 1000},  {1, 2000},  {2, 4000},   {3, 8000},
                       {5, 32000}, {6, 60000}, {7, 60000}, {63, 60000}, {100000, 60000}};
  for (const auto& r : table) {
    INFO("attempt " << r.attempt);
    CHECK(backoff_ceiling_ms(r.attempt, p) == r.ceiling);
  }
}

TEST_CASE("backoff: full jitter maps the draw onto [0, ceiling]", "[backoff]") {
  BackoffPolicy p;
  CHECK(backoff_delay_ms(0, 0.0, p) == 0);
  CHECK(backoff_delay_ms(0, 0.5, p) == 500);
  CHECK(backoff_delay_ms(0, 0.9999999, p) == 1000);
  CHECK(backoff_delay_ms(3, 0.25, p) == 2000);
  CHECK(backoff_delay_ms(40, 0.5, p) == 30000);
  // Out-of-range draws are clamped, never beyond the ceiling or negative.
  CHECK(backoff_delay_ms(2, 1.0, p) == 4000);
  CHECK(backoff_delay_ms(2, -1.0, p) == 0);
}

TEST_CASE("backoff: a policy with a small cap never exceeds it", "[backoff]") {
  BackoffPolicy p{.base_ms = 250, .cap_ms = 900, .slow_attempt = 3};
  for (int a = 0; a < 70; ++a)
    for (double u : {0.0, 0.3, 0.7, 0.999}) {
      int64_t d = backoff_delay_ms(a, u, p);
      CHECK(d >= 0);
      CHECK(d <= 900);
    }
  CHECK(backoff_ceiling_ms(0, p) == 250);
  CHECK(backoff_ceiling_ms(2, p) == 900);
}

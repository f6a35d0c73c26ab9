// Reconnect delay, as a pure function: exponential backoff with full jitter
// (uniform in [0, min(cap, base * 2^attempt)]), the caller passing the
// random draw so tests can pin it.
#pragma once

#include <cstdint>

namespace terril {

struct BackoffPolicy {
  int64_t base_ms = 1000;  // ceiling of the first retry's delay
  int64_t cap_ms = 60000;  // no delay is ever longer
  int slow_attempt = 6;    // attempt count used for "needs a technician" errors
};

// The ceiling of the delay before retry number `attempt` (0-based):
// min(cap, base << attempt), with the shift saturating.
int64_t backoff_ceiling_ms(int attempt, const BackoffPolicy& p);

// The delay before retry number `attempt`: `u01` in [0, 1) (a uniform random
// draw) times the ceiling, rounded down. REQUIRES: 0 <= u01 < 1.
int64_t backoff_delay_ms(int attempt, double u01, const BackoffPolicy& p);

}  // namespace terril

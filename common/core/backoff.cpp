// Reconnect backoff (see backoff.h).
#include "common/core/backoff.h"

#include <algorithm>

namespace terril {

int64_t backoff_ceiling_ms(int attempt, const BackoffPolicy& p) {
  if (attempt < 0) attempt = 0;
  int64_t ceiling = p.cap_ms;
  // base << attempt without overflow: stop doubling once past the cap.
  int64_t v = std::max<int64_t>(p.base_ms, 0);
  for (int i = 0; i < attempt && v < p.cap_ms; ++i) v *= 2;
  return std::min(ceiling, v);
}

int64_t backoff_delay_ms(int attempt, double u01, const BackoffPolicy& p) {
  if (!(u01 >= 0.0)) u01 = 0.0;
  if (u01 >= 1.0) u01 = 0.999999999;
  const int64_t ceiling = backoff_ceiling_ms(attempt, p);
  return std::min<int64_t>(ceiling, static_cast<int64_t>(u01 * static_cast<double>(ceiling + 1)));
}

}  // namespace terril

// The hybrid logical clock (see hlc.h). Pure: the wall clock is passed in.
#include "common/core/hlc.h"

#include <algorithm>

namespace terril {

uint64_t Hlc::corrected(int64_t wall_ms) const {
  int64_t t = wall_ms + offset_ms_;
  if (t < 0) return 0;
  return std::min<uint64_t>(static_cast<uint64_t>(t), kHlcMaxMs);
}

uint64_t Hlc::tick(int64_t wall_ms) {
  uint64_t pt = corrected(wall_ms);
  uint64_t last_ms = hlc_ms(last_);
  if (pt > last_ms) {
    last_ = hlc_make(pt, 0);
  } else if (hlc_counter(last_) == kHlcCounterMask) {
    last_ = hlc_make(last_ms + 1, 0);  // counter overflow: borrow one ms
  } else {
    last_ += 1;
  }
  return last_;
}

void Hlc::observe(uint64_t remote, int64_t wall_ms, int64_t max_ahead_ms) {
  uint64_t pt = corrected(wall_ms);
  if (hlc_ms(remote) > pt + static_cast<uint64_t>(std::max<int64_t>(0, max_ahead_ms))) return;
  if (remote > last_) last_ = remote;
}

}  // namespace terril

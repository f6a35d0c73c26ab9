// Hybrid logical clock: 48 bits of milliseconds since the epoch, 16 bits of
// counter. Pure: the caller passes the wall clock in; the caller persists
// `last()` after each tick, so the clock never goes back across restarts.
//
// Nodes have no real-time clock: the wall clock may read 1970 or 2040. A node
// learns the hub's time at each handshake and keeps an `offset_ms` so that
// `corrected(wall) = wall + offset` tracks the hub. Ticks use the corrected
// time. Unsent changes stamped while the clock ran ahead are re-stamped by
// Store::restamp_future (common/store/store.h), which the node's HubLink calls
// after each Welcome; the hub refuses changes stamped too far in its future
// (StoreOptions::max_future_ms). See docs/design.md, "Clocks".
#pragma once

#include <cstdint>

namespace terril {

constexpr uint64_t kHlcCounterBits = 16;
constexpr uint64_t kHlcCounterMask = (uint64_t{1} << kHlcCounterBits) - 1;
constexpr uint64_t kHlcMaxMs = (uint64_t{1} << 48) - 1;  // year 10889

constexpr uint64_t hlc_make(uint64_t ms, uint64_t counter) {
  return (ms << kHlcCounterBits) | (counter & kHlcCounterMask);
}
constexpr uint64_t hlc_ms(uint64_t hlc) {
  return hlc >> kHlcCounterBits;
}
constexpr uint64_t hlc_counter(uint64_t hlc) {
  return hlc & kHlcCounterMask;
}

class Hlc {
 public:
  Hlc() = default;
  Hlc(uint64_t last, int64_t offset_ms) : last_(last), offset_ms_(offset_ms) {}

  // A new timestamp strictly greater than every one issued or observed.
  // When the counter would overflow, the millisecond part advances by one.
  uint64_t tick(int64_t wall_ms);

  // Merge a remote timestamp (standard HLC receive), but never let a remote
  // stamp more than `max_ahead_ms` ahead of our corrected time pull our
  // clock forward: such a stamp is ignored for clock purposes.
  void observe(uint64_t remote, int64_t wall_ms, int64_t max_ahead_ms);

  // Corrected wall time in ms (clamped to [0, kHlcMaxMs]).
  uint64_t corrected(int64_t wall_ms) const;

  // Learn the hub's time: offset = hub_ms - local wall ms at receipt.
  void set_offset(int64_t offset_ms) { offset_ms_ = offset_ms; }
  int64_t offset_ms() const { return offset_ms_; }

  // Put the clock back to the corrected time. Only for a node whose clock ran
  // in the future while it held no change that another replica has seen; the
  // caller re-stamps its unsent changes after this.
  void rewind(int64_t wall_ms) { last_ = hlc_make(corrected(wall_ms), 0); }

  uint64_t last() const { return last_; }

 private:
  uint64_t last_ = 0;
  int64_t offset_ms_ = 0;
};

}  // namespace terril

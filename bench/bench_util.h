// Helpers the store-level benches share: fail loudly, unwrap results, ids,
// timings. A bench prints figures; it never hides an error behind one.
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/core/status.h"

namespace terril::bench {

using Clock = std::chrono::steady_clock;

// Prints "<program>: what: detail" and exits 1.
[[noreturn]] inline void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, detail.c_str());
  std::exit(1);
}

template <class T>
T ok(Result<T> r, const char* what) {
  if (!r) die(what, r.status().to_string());
  return std::move(r.value());
}
inline void ok(const Status& s, const char* what) {
  if (!s) die(what, s.to_string());
}

// A valid, readable UUID: kind in the first group, n in the last.
inline std::string uuid(uint64_t n, uint32_t kind) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012llx", kind,
                static_cast<unsigned long long>(n & 0xffffffffffffULL));
  return buf;
}

inline double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The p-quantile (0..1) of v, 0 when empty.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace terril::bench

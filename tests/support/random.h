// Small helpers of the randomised (property) tests: the generator, draws,
// and a knob read from the environment (seed, case count).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

namespace terril::test {

using Rng = std::mt19937_64;

// The number in environment variable `name`, or `fallback` when unset or empty.
inline uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

// REQUIRES: n > 0.
inline size_t pick(Rng& rng, size_t n) {
  return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
}
inline int64_t between(Rng& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}
inline bool chance(Rng& rng, double p) {
  return std::bernoulli_distribution(p)(rng);
}
// REQUIRES: !v.empty().
template <typename T>
const T& one_of(Rng& rng, const std::vector<T>& v) {
  return v[pick(rng, v.size())];
}

}  // namespace terril::test

// A replica for the fuzz targets: records keyed by (entity, id), merged with the core's merge,
// rendered as one canonical string.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/core/merge.h"

namespace terril::fuzz {

using Replica = std::map<std::pair<Entity, std::string>, std::optional<Record>>;

inline MergeResult apply(Replica& r, const Change& c) {
  return merge(r[{c.entity, c.record_id}], c);
}

inline std::string dump(const Replica& r) {
  std::string out;
  for (const auto& [key, rec] : r)
    if (rec) out += canonical(*rec);
  return out;
}

// A broken invariant: print what differs and abort, so libFuzzer keeps the input.
[[noreturn]] inline void fail(const char* what, const std::string& a, const std::string& b) {
  std::fprintf(stderr, "invariant broken: %s\n--- a\n%s\n--- b\n%s\n", what, a.c_str(), b.c_str());
  std::abort();
}

}  // namespace terril::fuzz

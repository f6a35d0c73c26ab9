// Input: a sequence of [u16 little-endian length][that many bytes], each decoded with
// decode_change. The valid changes are merged forward, backward, and interleaved with
// duplicates; every order must give the same canonical records (docs/design.md "Changes and merging").
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/wire/wire.h"
#include "tests/fuzz/replica.h"

using namespace terril;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static google::protobuf::LogSilencer quiet;
  std::vector<Change> changes;
  size_t pos = 0;
  while (pos + 2 <= size) {
    size_t len = data[pos] | size_t{data[pos + 1]} << 8;
    pos += 2;
    len = std::min(len, size - pos);
    auto c = wire::decode_change(std::string_view(reinterpret_cast<const char*>(data + pos), len));
    pos += len;
    if (c.is_ok()) changes.push_back(std::move(*c));
  }
  if (changes.empty()) return 0;

  fuzz::Replica forward, backward, mixed;
  for (const auto& c : changes) fuzz::apply(forward, c);
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) fuzz::apply(backward, *it);
  // Odd positions first, then even ones, then everything again: duplicates and redelivery.
  for (size_t i = 1; i < changes.size(); i += 2) fuzz::apply(mixed, changes[i]);
  for (size_t i = 0; i < changes.size(); i += 2) fuzz::apply(mixed, changes[i]);
  for (const auto& c : changes) fuzz::apply(mixed, c);

  const std::string a = fuzz::dump(forward);
  if (fuzz::dump(backward) != a) fuzz::fail("forward and backward orders differ", a, fuzz::dump(backward));
  if (fuzz::dump(mixed) != a) fuzz::fail("forward and mixed orders differ", a, fuzz::dump(mixed));
  return 0;
}

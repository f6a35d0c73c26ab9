// printable(): outside text cut and reduced to printable ASCII (see text.h).
#include "common/core/text.h"

#include <algorithm>

namespace terril {

std::string printable(std::string_view s, size_t max) {
  std::string out(s.substr(0, std::min(s.size(), max)));
  for (char& c : out)
    if (c < 0x20 || c > 0x7e) c = '?';  // char may be signed: bytes >= 0x80 are negative
  return out;
}

}  // namespace terril

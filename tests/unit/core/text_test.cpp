// printable() (common/core/text.h): what the hub prints or stores of a
// node's own text (security review L7).
#include "common/core/text.h"

#include <catch2/catch.hpp>
#include <string>

using terril::printable;

TEST_CASE("L7: printable keeps printable ASCII and replaces the rest", "[text]") {
  CHECK(printable("0.4.1 (abc) ~!", 64) == "0.4.1 (abc) ~!");
  CHECK(printable("a\x1b[2Jb\r\nc\td\x7f", 64) == "a?[2Jb??c?d?");
  CHECK(printable("\xc3\xa9t\xc3\xa9", 64) == "??t??");  // UTF-8 bytes too
  CHECK(printable(std::string("a\0b", 3), 64) == "a?b");
  CHECK(printable("", 64).empty());
}

TEST_CASE("L7: printable cuts to the maximum length", "[text]") {
  CHECK(printable(std::string(100, 'x'), 64) == std::string(64, 'x'));
  CHECK(printable("abc", 0).empty());
  CHECK(printable("abcdef", 3) == "abc");
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  std::string p = printable(all, all.size());
  REQUIRE(p.size() == 256);
  for (char c : p) CHECK((c >= 0x20 && c <= 0x7e));
}

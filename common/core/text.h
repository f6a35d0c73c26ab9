// Text from outside (a node's software version, its error messages) made
// safe to print on a terminal or write to a log: pure, no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace terril {

// `s` with every byte outside printable ASCII (0x20..0x7e: no ESC, CR, LF,
// TAB, DEL, nor any byte of a UTF-8 sequence) replaced by '?', cut to its
// first `max` bytes. The result has at most `max` characters, all printable.
std::string printable(std::string_view s, size_t max);

}  // namespace terril

// Small helpers shared by the daemons' command lines.
#pragma once

#include <cstdint>
#include <string>

namespace terril {

// Wall clock, ms since the epoch. The one place the mains read the clock.
int64_t wall_now_ms();

// A password: from the terminal without echo (prompt on stderr), or one line
// of standard input when it is not a terminal (scripts, tests).
std::string read_password(const char* prompt);

}  // namespace terril

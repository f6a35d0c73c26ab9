// Small helpers shared by the daemons' command lines: the wall clock, the
// password a command is given, the one-line error exit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace terril {

// Wall clock, ms since the epoch. The one place the mains read the clock.
int64_t wall_now_ms();

// Standard input is a terminal (a person types), not a pipe or a file.
bool stdin_is_terminal();

// The contract's rule for every command that reads a password: one line of
// standard input when it is not a terminal (scripts, tests, `echo pw |`);
// from the terminal without echo (prompt on stderr) only when `ask_terminal`.
// nullopt when standard input is a terminal and !ask_terminal, or when it
// ended before giving a single character (e.g. </dev/null). The line's
// trailing "\r\n" is removed; the policy check is the caller's.
std::optional<std::string> given_password(const char* prompt, bool ask_terminal);

// given_password(prompt, true), "" when none was given (the policy check
// then refuses it).
std::string read_password(const char* prompt);

// Prints "PROGRAM: MESSAGE" on stderr and returns 1, the commands' exit code
// for a failure the message explains.
int fail(std::string_view program, std::string_view message);

}  // namespace terril

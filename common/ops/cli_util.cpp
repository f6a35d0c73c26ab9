// Command-line helpers of both mains: clock, passwords from a terminal or a pipe, error exit.
#include "common/ops/cli_util.h"

#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <iostream>

namespace terril {

int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool stdin_is_terminal() {
  return ::isatty(STDIN_FILENO) != 0;
}

std::optional<std::string> given_password(const char* prompt, bool ask_terminal) {
  std::string pw;
  if (stdin_is_terminal()) {
    if (!ask_terminal) return std::nullopt;
    std::cerr << prompt << std::flush;
    termios old{};
    bool restore = tcgetattr(STDIN_FILENO, &old) == 0;
    if (restore) {
      termios quiet = old;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::getline(std::cin, pw);
    if (restore) tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  } else {
    // getline sets failbit only when it extracted nothing before the end of input.
    if (!std::getline(std::cin, pw)) return std::nullopt;
  }
  while (!pw.empty() && (pw.back() == '\r' || pw.back() == '\n')) pw.pop_back();
  return pw;
}

std::string read_password(const char* prompt) {
  return given_password(prompt, true).value_or("");
}

int fail(std::string_view program, std::string_view message) {
  std::cerr << program << ": " << message << "\n";
  return 1;
}

}  // namespace terril

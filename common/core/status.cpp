// Status names and the log rendering of a Status (see status.h).
#include "common/core/status.h"

namespace terril {

const char* code_name(Code c) {
  switch (c) {
    case Code::ok:
      return "ok";
    case Code::invalid:
      return "invalid";
    case Code::not_found:
      return "not_found";
    case Code::forbidden:
      return "forbidden";
    case Code::conflict:
      return "conflict";
    case Code::io:
      return "io";
    case Code::full:
      return "full";
    case Code::unavailable:
      return "unavailable";
    case Code::internal:
      return "internal";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string s = code_name(code_);
  s += ": ";
  s += message_;
  return s;
}

}  // namespace terril

// Status and Result<T>: the outcome of an operation that can fail for reasons
// outside the code (bad input, a full disk, a peer). Two-part messages: what
// failed, on what. Errors that staff see carry a French message separately.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace terril {

// Categories are chosen by what the caller does next.
enum class Code {
  ok = 0,
  invalid,      // bad input: report it, change nothing, do not retry
  not_found,    // the thing does not exist
  forbidden,    // the caller may not do this
  conflict,     // state does not allow it (sequence gap, erased record...)
  io,           // disk or database failure: retry later, maybe a technician
  full,         // no space left: clear message, retry when space returns
  unavailable,  // peer or network: retry with backoff
  internal,     // a bug
};

const char* code_name(Code c);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message, std::string field = {}, std::string message_fr = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)), message_fr_(std::move(message_fr)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == Code::ok; }
  explicit operator bool() const { return is_ok(); }

  Code code() const { return code_; }
  // English, for logs and developers. Never holds personal data.
  const std::string& message() const { return message_; }
  // The offending field name, when the error is about one field.
  const std::string& field() const { return field_; }
  // French, for staff; falls back to the English message.
  const std::string& message_fr() const { return message_fr_.empty() ? message_ : message_fr_; }
  // For logs: "ok", or the category's code_name(), ": " and the English
  // message, e.g. "invalid: too_long: first_name is longer than 100 bytes".
  // Not a stable machine code: a validation error's short code ("too_long")
  // is error_code() (common/core/validate.h).
  std::string to_string() const;

 private:
  Code code_ = Code::ok;
  std::string message_;
  std::string field_;
  std::string message_fr_;
};

// A value or a failed Status. REQUIRES: a Result built from a Status holds a
// non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                                       // NOLINT: implicit on purpose
  Result(Status s) : v_(std::move(s)) { assert(!std::get<Status>(v_).is_ok()); }  // NOLINT

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  Status status() const { return is_ok() ? Status{} : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace terril

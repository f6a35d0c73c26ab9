// The error-code table (common/wire/errors.h): every code's name and next
// step, Status -> code at each step, rejection strings both ways.
#include "common/wire/errors.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/wire/frames.h"

namespace terril::wire {
namespace {

TEST_CASE("every error code has its .proto name and one next step", "[wire][errors]") {
  struct Row {
    ErrorCode code;
    const char* name;
    NextStep next;
  };
  const std::vector<Row> table = {
      {ErrorCode::unspecified, "ERROR_CODE_UNSPECIFIED", NextStep::retry},
      {ErrorCode::bad_proof, "ERROR_CODE_BAD_PROOF", NextStep::retry_slowly},
      {ErrorCode::unknown_node, "ERROR_CODE_UNKNOWN_NODE", NextStep::retry_slowly},
      {ErrorCode::revoked_node, "ERROR_CODE_REVOKED_NODE", NextStep::retry_slowly},
      {ErrorCode::unsupported_version, "ERROR_CODE_UNSUPPORTED_VERSION", NextStep::retry},
      {ErrorCode::malformed_frame, "ERROR_CODE_MALFORMED_FRAME", NextStep::resync},
      {ErrorCode::frame_too_large, "ERROR_CODE_FRAME_TOO_LARGE", NextStep::resync},
      {ErrorCode::protocol_violation, "ERROR_CODE_PROTOCOL_VIOLATION", NextStep::resync},
      {ErrorCode::forbidden_change, "ERROR_CODE_FORBIDDEN_CHANGE", NextStep::drop},
      {ErrorCode::invalid_change, "ERROR_CODE_INVALID_CHANGE", NextStep::drop},
      {ErrorCode::clock_skew, "ERROR_CODE_CLOCK_SKEW", NextStep::drop},
      {ErrorCode::bad_enrol_code, "ERROR_CODE_BAD_ENROL_CODE", NextStep::drop},
      {ErrorCode::internal, "ERROR_CODE_INTERNAL", NextStep::retry},
      {ErrorCode::timeout, "ERROR_CODE_TIMEOUT", NextStep::retry},
  };
  for (size_t i = 0; i < table.size(); ++i) {
    INFO(table[i].name);
    CHECK(static_cast<size_t>(table[i].code) == i);  // the table covers every number, in order
    CHECK(error_code_name(table[i].code) == table[i].name);
    CHECK(next_step(table[i].code) == table[i].next);
  }
  CHECK(error_code_name(static_cast<ErrorCode>(99)).empty());
  CHECK(next_step(static_cast<ErrorCode>(99)) == NextStep::retry);  // a newer peer's code
}

TEST_CASE("a Status maps to the wire code of the step that failed", "[wire][errors]") {
  struct Row {
    Step step;
    Status status;
    ErrorCode code;
  };
  const std::vector<Row> table = {
      {Step::decoding, malformed("empty frame"), ErrorCode::malformed_frame},
      {Step::decoding, Status(Code::invalid, "invalid change: bad email", "email"), ErrorCode::malformed_frame},
      {Step::decoding, frame_too_large(kMaxFrameBytes + 1, kMaxFrameBytes), ErrorCode::frame_too_large},
      {Step::proof, Status(Code::not_found, "no such node"), ErrorCode::unknown_node},
      {Step::proof, Status(Code::forbidden, "node revoked"), ErrorCode::revoked_node},
      {Step::proof, Status(Code::invalid, "proof does not match"), ErrorCode::bad_proof},
      {Step::proof, Status(Code::io, "disk"), ErrorCode::bad_proof},
      {Step::enrolment, Status(Code::not_found, "unknown code"), ErrorCode::bad_enrol_code},
      {Step::enrolment, Status(Code::forbidden, "spent"), ErrorCode::bad_enrol_code},
      {Step::applying, Status(Code::conflict, "sequence gap"), ErrorCode::protocol_violation},
      {Step::applying, Status(Code::io, "disk I/O error"), ErrorCode::internal},
      {Step::applying, Status(Code::full, "disk full"), ErrorCode::internal},
      {Step::store, Status(Code::io, "disk I/O error"), ErrorCode::internal},
      {Step::store, Status(Code::conflict, "busy"), ErrorCode::internal},
  };
  for (const auto& r : table) {
    INFO(r.status.to_string());
    CHECK(error_code_for(r.step, r.status) == r.code);
  }
}

TEST_CASE("decode errors are invalid and say what is wrong", "[wire][errors]") {
  Status m = malformed("bad node id");
  CHECK(m.code() == Code::invalid);
  CHECK(m.message() == "malformed frame: bad node id");
  Status big = frame_too_large(5000000, 4194304);
  CHECK(big.code() == Code::invalid);
  CHECK(big.message().find("too large") != std::string::npos);
  CHECK(big.message().find("5000000") != std::string::npos);
}

TEST_CASE("rejection codes map to wire codes and back", "[wire][errors]") {
  struct Row {
    std::string stored;
    ErrorCode code;
    std::string back;
  };
  const std::vector<Row> table = {
      {"forbidden", ErrorCode::forbidden_change, "forbidden"},
      {"clock_skew", ErrorCode::clock_skew, "clock_skew"},
      {"invalid", ErrorCode::invalid_change, "invalid"},
      {"conflict", ErrorCode::invalid_change, "invalid"},  // a Status code name from a judge
      {"", ErrorCode::invalid_change, "invalid"},
  };
  for (const auto& r : table) {
    INFO(r.stored);
    CHECK(rejection_error_code(r.stored) == r.code);
    CHECK(rejection_code(r.code) == r.back);
  }
  CHECK(rejection_code(ErrorCode::internal) == "invalid");
}

}  // namespace
}  // namespace terril::wire

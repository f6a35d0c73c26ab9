// The one table of the sync protocol's error codes (see errors.h).
#include "common/wire/errors.h"

#include "terril/v1/sync.pb.h"

namespace terril::wire {

namespace {

#define TERRIL_SAME_CODE(ours, theirs) \
  static_assert(static_cast<int>(ErrorCode::ours) == v1::ERROR_CODE_##theirs, #ours)
TERRIL_SAME_CODE(unspecified, UNSPECIFIED);
TERRIL_SAME_CODE(bad_proof, BAD_PROOF);
TERRIL_SAME_CODE(unknown_node, UNKNOWN_NODE);
TERRIL_SAME_CODE(revoked_node, REVOKED_NODE);
TERRIL_SAME_CODE(unsupported_version, UNSUPPORTED_VERSION);
TERRIL_SAME_CODE(malformed_frame, MALFORMED_FRAME);
TERRIL_SAME_CODE(frame_too_large, FRAME_TOO_LARGE);
TERRIL_SAME_CODE(protocol_violation, PROTOCOL_VIOLATION);
TERRIL_SAME_CODE(forbidden_change, FORBIDDEN_CHANGE);
TERRIL_SAME_CODE(invalid_change, INVALID_CHANGE);
TERRIL_SAME_CODE(clock_skew, CLOCK_SKEW);
TERRIL_SAME_CODE(bad_enrol_code, BAD_ENROL_CODE);
TERRIL_SAME_CODE(internal, INTERNAL);
TERRIL_SAME_CODE(timeout, TIMEOUT);
static_assert(v1::ErrorCode_MAX == v1::ERROR_CODE_TIMEOUT, "a new ErrorCode: add it to errors.h");
#undef TERRIL_SAME_CODE

// The Status field that marks a frame over the size limit (the frame's size is
// the offending "field"); no record field has this name.
constexpr std::string_view kFrameSizeField = "frame_size";

}  // namespace

std::string error_code_name(ErrorCode c) {
  return v1::ErrorCode_Name(static_cast<v1::ErrorCode>(c));
}

NextStep next_step(ErrorCode c) {
  switch (c) {
    case ErrorCode::bad_proof:
    case ErrorCode::unknown_node:
    case ErrorCode::revoked_node:
      return NextStep::retry_slowly;
    case ErrorCode::malformed_frame:
    case ErrorCode::frame_too_large:
    case ErrorCode::protocol_violation:
      return NextStep::resync;
    case ErrorCode::forbidden_change:
    case ErrorCode::invalid_change:
    case ErrorCode::clock_skew:
    case ErrorCode::bad_enrol_code:
      return NextStep::drop;
    case ErrorCode::unspecified:
    case ErrorCode::unsupported_version:  // an upgrade may come; retrying costs one handshake
    case ErrorCode::internal:
    case ErrorCode::timeout:
      return NextStep::retry;
  }
  return NextStep::retry;  // a code from a newer peer
}

ErrorCode error_code_for(Step where, const Status& s) {
  switch (where) {
    case Step::decoding:
      return s.field() == kFrameSizeField ? ErrorCode::frame_too_large : ErrorCode::malformed_frame;
    case Step::proof:
      if (s.code() == Code::not_found) return ErrorCode::unknown_node;
      if (s.code() == Code::forbidden) return ErrorCode::revoked_node;
      return ErrorCode::bad_proof;
    case Step::enrolment:
      return ErrorCode::bad_enrol_code;
    case Step::applying:
      // A sequence gap is the sender's fault; anything else is the store's.
      return s.code() == Code::conflict ? ErrorCode::protocol_violation : ErrorCode::internal;
    case Step::store:
      return ErrorCode::internal;
  }
  return ErrorCode::internal;
}

ErrorCode rejection_error_code(std::string_view rejection_code) {
  if (rejection_code == kRejectForbidden) return ErrorCode::forbidden_change;
  if (rejection_code == kRejectClockSkew) return ErrorCode::clock_skew;
  return ErrorCode::invalid_change;
}

std::string rejection_code(ErrorCode c) {
  if (c == ErrorCode::forbidden_change) return std::string(kRejectForbidden);
  if (c == ErrorCode::clock_skew) return std::string(kRejectClockSkew);
  return std::string(kRejectInvalid);
}

Status malformed(std::string what) {
  return Status(Code::invalid, "malformed frame: " + what);
}

Status frame_too_large(size_t bytes, size_t limit) {
  return Status(Code::invalid,
                "frame too large: " + std::to_string(bytes) + " bytes, over the limit of " + std::to_string(limit),
                std::string(kFrameSizeField));
}

}  // namespace terril::wire

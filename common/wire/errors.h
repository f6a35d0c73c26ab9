// The sync protocol's error codes, and every mapping between them and the rest
// of terril, in one place (after syncthing's lib/protocol/errors.go):
//   Status (what failed, at which step)  -> ErrorCode   (what goes on the wire)
//   ErrorCode                            -> NextStep    (what the receiver does next)
//   Rejection::code (the store's string) <-> ErrorCode  (per-change refusals)
// and the two decode errors the frame decoder builds (malformed, too large).
//
// Pure values: includes only common/core and the standard library; the
// numbers equal terril.v1.ErrorCode (errors.cpp checks each one at compile
// time), so nothing outside common/wire needs the generated header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/core/status.h"

namespace terril::wire {

// terril.v1.ErrorCode, value for value. Codes marked "per change" appear only
// in Ack rejections; the others in Error frames.
enum class ErrorCode : uint32_t {
  unspecified = 0,
  bad_proof = 1,  // HMAC proof does not match
  unknown_node = 2,
  revoked_node = 3,
  unsupported_version = 4,
  malformed_frame = 5,  // undecodable or invalid frame
  frame_too_large = 6,
  protocol_violation = 7,  // valid frame at the wrong time, or a sequence gap
  forbidden_change = 8,    // per change: the node may not make this change
  invalid_change = 9,      // per change: fails validation
  clock_skew = 10,         // per change: stamped too far in the future
  bad_enrol_code = 11,     // unknown, spent or expired enrolment code
  internal = 12,           // the other side failed; retry later
  timeout = 13,
};

// "ERROR_CODE_BAD_PROOF", as the .proto spells it (logs, SyncState::last_error);
// "" for a number this build does not know.
std::string error_code_name(ErrorCode c);

// What the side that receives a code does next.
enum class NextStep {
  retry,         // reconnect with the usual backoff (the cause may pass by itself)
  retry_slowly,  // reconnect at the slow end of the backoff: a technician must act
                 // (node revoked or unknown, wrong secret)
  resync,        // reconnect and restart from the cursors the handshake exchanges
                 // (a frame or a sequence went wrong; nothing is lost, merging is idempotent)
  drop,          // give up on this item: a refused change is kept as a rejection and
                 // never resent; a refused enrolment code is final
};
NextStep next_step(ErrorCode c);

// Where a Status came from: the same Status code means different things at
// different steps (not_found while checking a proof is an unknown node, while
// reading the store it is a hub bug).
enum class Step {
  decoding,   // decode_frame
  proof,      // checking a Hello's node id and proof (Registry::verify)
  enrolment,  // spending an enrolment code
  applying,   // applying a node's batch (Store::apply_from_nodes)
  store,      // any other store read or write
};
// The code to send in an Error frame for `s` (not ok) failing at `where`.
ErrorCode error_code_for(Step where, const Status& s);

// Rejection::code, the strings the stores keep for refused changes. The hub's
// store writes them; the node stores what the hub's Ack says.
inline constexpr std::string_view kRejectForbidden = "forbidden";
inline constexpr std::string_view kRejectInvalid = "invalid";
inline constexpr std::string_view kRejectClockSkew = "clock_skew";
// "forbidden" -> forbidden_change, "clock_skew" -> clock_skew, anything else
// (the store may also write a Status code name) -> invalid_change.
ErrorCode rejection_error_code(std::string_view rejection_code);
// The inverse: forbidden_change -> "forbidden", clock_skew -> "clock_skew",
// anything else -> "invalid".
std::string rejection_code(ErrorCode c);

// The decoder's errors, both Code::invalid; error_code_for(Step::decoding)
// tells them apart. `what` names the defect: "bad node id".
Status malformed(std::string what);
Status frame_too_large(size_t bytes, size_t limit);

}  // namespace terril::wire

// A Change on the wire: explicit conversions between the core's Change and
// the generated terril.v1.Change, and a Change as bytes (one serialized
// terril.v1.Change, the payload the stores keep in change_log.payload).
// Decoding validates (validate_change), so nothing malformed reaches merge or
// storage.
//
// to_wire/from_wire take generated types, declared here only by name: their
// callers are common/wire's own sources and the tests and tools that build
// raw frames (which include terril/v1/sync.pb.h themselves). The daemons use
// encode_change/decode_change and the plain frames of frames.h.
#pragma once

#include <string>
#include <string_view>

#include "common/core/model.h"
#include "common/core/status.h"

namespace terril::v1 {
class Change;
}  // namespace terril::v1

namespace terril::wire {

// Change -> terril.v1.Change (`out` is cleared first). Never fails: a change
// the receiver would refuse is encoded as it is, and refused there.
void to_wire(const Change& c, v1::Change& out);
// terril.v1.Change -> Change, checked: known entity and op, 16-byte ids,
// field numbers in range, every field with a value, then validate_change.
// Errors: invalid, naming the defect (and the field, when there is one).
Result<Change> from_wire(const v1::Change& in);
// The same without refusing: what from_wire would refuse for its form is
// in Change::undecodable, and validate_change is not run. A batch decodes
// whole, and the store rejects its bad changes one by one (a newer sender's
// change must not block the ones around it).
Change from_wire_lenient(const v1::Change& in);

std::string encode_change(const Change& c);
// Errors: invalid (does not parse, or from_wire refuses it).
Result<Change> decode_change(std::string_view bytes);

}  // namespace terril::wire

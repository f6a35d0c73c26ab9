// The edge between the pure core and the generated protobuf code: explicit
// conversions, and a frame decoder that validates while decoding, so nothing
// malformed reaches merge or storage. Only this folder includes *.pb.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/model.h"
#include "common/core/status.h"

namespace terril::v1 {
class Change;
class Frame;
}  // namespace terril::v1

namespace terril::wire {

constexpr uint32_t kProtocolVersion = 1;
// A Changes frame stays well below this; it bounds memory on a 1 GiB Pi.
constexpr size_t kMaxFrameBytes = 4u << 20;
// Changes per batch, and unacknowledged batches in flight per direction.
constexpr size_t kMaxBatchChanges = 2048;
constexpr uint32_t kWindow = 4;

// Change <-> terril.v1.Change. from_wire validates (validate_change).
void to_wire(const Change& c, v1::Change& out);
Result<Change> from_wire(const v1::Change& in);

// A Change as bytes (a serialized terril.v1.Change): the payload kept in
// change logs.
std::string encode_change(const Change& c);
Result<Change> decode_change(std::string_view bytes);

// Frame bytes -> Frame, checked: size limit, parses, a known message set,
// and every Change inside valid. Error status code `invalid` with a message
// naming what is wrong.
Status decode_frame(std::string_view bytes, v1::Frame& out);
std::string encode_frame(const v1::Frame& f);

}  // namespace terril::wire

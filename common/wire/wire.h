// common/wire in one include, plus the frame decoder and encoder at the level
// of the generated terril.v1.Frame, for the code that builds or inspects raw
// frames: tests, fuzzers, the load generator (they include
// terril/v1/sync.pb.h themselves). The daemons include frames.h, errors.h or
// change_codec.h instead and never see a generated type.
//
// Only common/wire's sources include *.pb.h; this header names the generated
// types without including them.
#pragma once

#include <string>
#include <string_view>

#include "common/core/status.h"
#include "common/wire/change_codec.h"
#include "common/wire/errors.h"
#include "common/wire/frames.h"

namespace terril::v1 {
class Frame;
}  // namespace terril::v1

namespace terril::wire {

// The checks of decode_frame(bytes) (frames.h), keeping the generated frame:
// `out` holds what parsed even when the result is an error.
Status decode_frame(std::string_view bytes, v1::Frame& out);
std::string encode_frame(const v1::Frame& f);

}  // namespace terril::wire

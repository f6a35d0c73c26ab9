// decode_frame on arbitrary bytes. A batch decodes whole (issue 13, L1): each change the strict
// decoder (from_wire) refuses must also fail validate_change once decoded leniently, so every store
// rejects it alone; the others must survive an encode/decode round trip unchanged and merge
// idempotently.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/core/validate.h"
#include "common/wire/wire.h"
#include "terril/v1/sync.pb.h"
#include "tests/fuzz/replica.h"

using namespace terril;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static google::protobuf::LogSilencer quiet;  // invalid UTF-8 in string fields is logged
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  v1::Frame frame;
  if (!wire::decode_frame(bytes, frame).is_ok() || frame.msg_case() != v1::Frame::kChanges) return 0;

  fuzz::Replica replica;
  std::vector<Change> valid;
  for (const auto& w : frame.changes().changes()) {
    auto c = wire::from_wire(w);
    if (!c.is_ok()) {
      if (validate_change(wire::from_wire_lenient(w)).is_ok())
        fuzz::fail("a change from_wire refuses passes validation once decoded leniently", c.status().to_string(), "");
      continue;  // the store rejects it alone
    }
    valid.push_back(*c);
    auto again = wire::decode_change(wire::encode_change(*c));
    if (!again.is_ok() || !(*again == *c))
      fuzz::fail("change does not round trip", canonical(*c), again.is_ok() ? canonical(*again) : "");
    fuzz::apply(replica, *c);
  }
  const std::string once = fuzz::dump(replica);
  for (const Change& c : valid) {
    MergeResult m = fuzz::apply(replica, c);
    if (m != MergeResult::stale && m != MergeResult::ignored)
      fuzz::fail("merging twice won", once, fuzz::dump(replica));
  }
  if (fuzz::dump(replica) != once) fuzz::fail("merging twice changed the records", once, fuzz::dump(replica));
  return 0;
}

// The sync protocol's frames as plain values, one struct per message of
// proto/terril/v1/sync.proto (the exchange and every field are described
// there), and the one validating decoder: the daemons' protocol code (hub/
// node_session, node/hub_link, node/sync_client) sees these types, never the
// generated ones.
//
// Includes only common/core, common/wire/errors.h and the standard library;
// frames.cpp is the only file that converts to and from terril.v1.Frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/core/digest.h"
#include "common/core/model.h"
#include "common/core/status.h"
#include "common/wire/errors.h"

namespace terril::wire {

constexpr uint32_t kProtocolVersion = 1;
// A Changes frame stays well below this; it bounds memory on a 1 GiB Pi.
constexpr size_t kMaxFrameBytes = 4u << 20;
// Changes per batch, and unacknowledged batches in flight per direction.
constexpr size_t kMaxBatchChanges = 2048;
constexpr uint32_t kWindow = 4;

// The sending window both peers keep while streaming: `inflight` holds the
// last_seq of each unacknowledged batch sent. True when the entries ascend
// strictly within (acked, sent], the last equals sent (or, with nothing in
// flight, acked equals sent), and there are at most kWindow of them. The
// debug invariant checks of both state machines use it.
bool window_consistent(const std::deque<uint64_t>& inflight, uint64_t acked, uint64_t sent);

// hub -> node, first frame of every sync connection. nonce: 32 bytes.
struct Challenge {
  std::string nonce;
  std::string hub_id;
  std::vector<uint32_t> protocol_versions;
};

// node -> hub. node_id: 1..kMaxOriginLen bytes; proof: 32 bytes.
struct Hello {
  std::string node_id;
  std::string proof;  // HMAC-SHA256(node_secret, nonce)
  uint32_t protocol_version = 0;
  std::string software_version;
  uint64_t hub_cursor = 0;  // last hub sequence this node has applied
  uint64_t node_acked = 0;  // last own origin_seq the node believes the hub holds
};

// hub -> node, after a good Hello.
struct Welcome {
  uint64_t hub_time_ms = 0;  // hub wall clock, ms since the epoch
  uint64_t node_cursor = 0;  // last origin_seq of this node the hub holds durably
  std::string centre_id;
  uint32_t window = 0;
  uint64_t hub_seq = 0;          // the hub's newest sequence, for progress display
  uint64_t node_cursor_hlc = 0;  // hlc of the node's change node_cursor at the hub (0: unknown)
  uint64_t hub_rewound = 0;      // hub sequences the node applied that the hub lost (restore)
};

// A batch, either way; each change decoded by from_wire_lenient: the
// receiving store validates and rejects changes one by one. last_seq: the
// origin_seq of the last change (node -> hub) or the hub sequence of the last
// change (hub -> node, which may jump over changes routed elsewhere).
struct Changes {
  std::vector<Change> changes;
  uint64_t last_seq = 0;
};

// A change the hub refused. message: French, for staff.
struct Rejection {
  uint64_t origin_seq = 0;
  ErrorCode code = ErrorCode::unspecified;
  std::string message;
  std::string field;
};

// Acknowledges every batch up to `seq`, committed and synced to disk.
struct Ack {
  uint64_t seq = 0;
  std::vector<Rejection> rejections;
};

// Either side, then close. message: English, for logs and technicians.
struct Error {
  ErrorCode code = ErrorCode::unspecified;
  std::string message;
  std::vector<uint32_t> protocol_versions;  // with unsupported_version
};

// Enrolment (on a `?enrol=1` socket): node -> hub, then hub -> node once.
struct Enrol {
  std::string code;
  std::string software_version;
};
struct Enrolled {
  std::string node_id;
  std::string node_secret;  // 32 random bytes
  std::string centre_id;
  std::string hub_id;
  uint64_t hub_time_ms = 0;
};

// Anti-entropy (sync.proto says how a round runs). Limits checked by the
// decoder: kMaxRanges ranges (split + children + leaves' ranges), kMaxLeaves
// leaves in all, kMaxRepairRecords records and kMaxRefs refs per frame; each
// record passes validate_record.
constexpr size_t kMaxRanges = 4096;
constexpr size_t kMaxLeaves = 65536;  // 16-byte id + 8-byte hash each: under 2 MiB
constexpr size_t kMaxRepairRecords = 512;
constexpr size_t kMaxRefs = 16384;

struct DigestCheck {
  uint64_t round = 0;
  std::vector<RangeDigest> ranges;
};

struct RangeLeaves {
  RangeDigest range;
  std::vector<Leaf> leaves;
};

struct DigestReply {
  uint64_t round = 0;
  std::vector<RangeDigest> split;
  std::vector<RangeDigest> children;
  std::vector<RangeLeaves> leaves;
  std::vector<RangeDigest> again;  // differing, not compared this time: check again
  bool empty() const { return split.empty() && leaves.empty() && again.empty(); }
};

struct Repair {
  uint64_t round = 0;
  std::vector<Record> records;
  std::vector<RecordRef> want;
  std::vector<RecordRef> purge;
  bool last = false;
};

// Exactly one message per frame.
using Frame =
    std::variant<Challenge, Hello, Welcome, Changes, Ack, Error, Enrol, Enrolled, DigestCheck, DigestReply, Repair>;

// The message's name as in the .proto ("Hello"), for logs.
const char* frame_name(const Frame& f);

// An Error frame; with unsupported_version it lists the versions this build
// speaks.
Error error_frame(ErrorCode code, std::string message);

// Bytes -> Frame, checked while decoding: at most kMaxFrameBytes, parses,
// exactly one message set, a Challenge's nonce and a Hello's proof are 32
// bytes, a Hello's node id is 1..kMaxOriginLen bytes, a batch holds at most
// kMaxBatchChanges changes (each decoded by from_wire_lenient). Errors: invalid, with a
// message naming the defect; error_code_for(Step::decoding, status) gives the
// code to answer with (frame_too_large or malformed_frame).
Result<Frame> decode_frame(std::string_view bytes);
std::string encode_frame(const Frame& f);

}  // namespace terril::wire

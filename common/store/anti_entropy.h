// Anti-entropy over a Store (docs/design.md, "Replicas that heal"): the two
// sides of a digest round as plain functions of a Store and the wire's plain
// frames (common/wire/frames.h), with no socket, so the daemons' state
// machines (node/hub_link, hub/node_session) and the tests drive the same
// code.
//
// A round, started by the node:
//   node  DigestCheck{level-0 digests: one per entity}
//   hub   DigestReply{differing ranges: split (+ the hub's children) or leaves}
//   node  DigestCheck{its differing children}      ... until only leaves remain
//   node  Repair{records the hub lacks or holds differently, ids it wants}
//   hub   Repair{the records wanted, the ids the node may not hold: purge; last}
// Each node Repair gets replies ending with one marked `last`. A round that
// finds nothing costs one DigestCheck and one empty DigestReply (a few
// hundred bytes). Repairs cost what differs: ranges narrow by owner, then
// by id prefix, until a range holds at most kLeafMax records on both sides,
// or the node holds nothing of it, or its counts differ by a sixteenth or
// more (then nearly every child differs too: leaves are cheaper).
//
// Threading: those of Store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/store/store.h"
#include "common/wire/frames.h"

namespace terril {

// Ranges with at most this many records (both sides together) are compared
// record by record.
constexpr uint64_t kLeafMax = 64;
// Bytes of record states per Repair frame, well under wire::kMaxFrameBytes.
constexpr size_t kRepairFrameBytes = 1u << 20;

// Splits `records` into Repair frames of at most kRepairFrameBytes of state
// and wire::kMaxRepairRecords records; the last one carries `want`, `purge`
// and `last`. Always at least one frame.
std::vector<wire::Repair> repair_frames(uint64_t round, std::vector<Record> records, std::vector<RecordRef> want,
                                        std::vector<RecordRef> purge, bool last);

// --- Hub -----------------------------------------------------------------------

// Answers a node's check against what `centre`'s replica should hold.
Result<wire::DigestReply> answer_digest_check(Store& hub, const std::string& centre, const wire::DigestCheck& check);

// The hub's replies to a node's Repair, once its records were merged
// (`applied`: that batch's ApplyReport): the records it wanted, and those it
// may not hold (purge); the last frame marked `last`.
Result<std::vector<wire::Repair>> answer_repair(Store& hub, const wire::Repair& from_node, const ApplyReport& applied);

// --- Node ----------------------------------------------------------------------

struct ReconcileStats {
  uint64_t ranges_checked = 0;
  uint64_t pushed = 0;  // records sent to the hub
  uint64_t pulled = 0;  // records received from the hub that changed something here
  uint64_t purged = 0;  // rows removed at the hub's word
  uint64_t bytes = 0;   // frames both ways, for the figures
};

// One node's rounds. Drive it with the frames of one link; `start()` on a
// fresh link (the previous round, if any, is abandoned: it repeats at the
// next one).
class Reconciler {
 public:
  Reconciler(Store& store, std::string own_centre) : store_(store), centre_(std::move(own_centre)) {}

  // A new round: the level-0 check to send.
  Result<wire::DigestCheck> start();
  // Records the hub lost (Welcome: its cursor for us went back), sent as
  // Repair frames outside the digest walk; each counts as awaiting a reply.
  Result<std::vector<wire::Repair>> resend(const std::vector<RecordRef>& refs);

  struct Step {
    std::vector<wire::DigestCheck> checks;  // 0 or 1
    std::vector<wire::Repair> repairs;
  };
  // The hub's reply to our check: the next check (differing children), and
  // the Repair frames for what the leaves showed.
  Result<Step> on_reply(const wire::DigestReply& r);
  // A Repair from the hub: merged and purged here (one transaction).
  Status on_repair(const wire::Repair& r, int64_t wall_ms);

  // True while a round is under way (a check or a Repair awaits its reply).
  bool busy() const { return checks_out_ > 0 || repairs_out_ > 0; }
  uint64_t round() const { return round_; }
  // This round's figures so far (the last round's, once it is over).
  const ReconcileStats& stats() const { return stats_; }
  // Called by the owner with the size of each frame of a round, both ways.
  void count_bytes(size_t n) { stats_.bytes += n; }

 private:
  Store& store_;
  std::string centre_;
  uint64_t round_ = 0;
  int checks_out_ = 0;
  int repairs_out_ = 0;
  ReconcileStats stats_;
};

}  // namespace terril

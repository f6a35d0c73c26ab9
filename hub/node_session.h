// The hub's side of one sync (or enrolment) WebSocket: NodeSession, the
// protocol state machine of one node's link. A Peer: it sees plain frames
// (common/wire/frames.h), never sockets; SyncHub makes it at the upgrade
// request and keeps the streaming ones by node and by centre.
//
// States (every value of NodeSession::State):
//
//                 on_open               on_hello (good Hello)
//   AWAIT_OPEN ------------> AWAIT_HELLO ---------------------> STREAMING
//   (made at the upgrade)   (Challenge sent)                     |  Changes -> SessionHost::submit ->
//                                                                |     group commit -> on_applied -> Ack
//   ENROL (made at an upgrade with ?enrol=1; the node speaks     |  Ack -> pump next hub batches (window)
//          first: Enrol -> Enrolled or Error)                    |  DigestCheck -> DigestReply; Repair ->
//                                                                |     group commit -> Repair reply (6.6)
//                                                                |  (Hello: fork point, witness, raised cursor)
//      |                                                         v
//      +--------------------------------------------------->  CLOSED
//         every state: Error sent (fail), link closed (on_closed), node's Error,
//         Hello deadline (check_deadline), revoked or displaced (revoke)
//
// Transitions (FROM -> TO [function]):
//   AWAIT_OPEN  -> AWAIT_HELLO  [on_open]
//   AWAIT_HELLO -> STREAMING    [on_hello]
//   ENROL       -> CLOSED       [on_enrol]
//   AWAIT_HELLO, ENROL -> CLOSED [check_deadline -> fail]
//   STREAMING   -> CLOSED       [revoke -> fail; on_message (node's Error) -> close_link]
//   *           -> CLOSED       [fail, on_closed]
//   CLOSED      -> CLOSED       [on_open closes at once a session that failed while its socket opened]
//
// Invariants (check_invariants(), asserted at each transition in debug builds):
//   AWAIT_OPEN:  no link; node id and nonce empty; not registered in the hub's maps.
//   AWAIT_HELLO: a link; a 32-byte nonce sent in the Challenge; node id empty;
//                not registered; nothing sent or in flight.
//   ENROL:       node id empty; not registered; nothing sent or in flight.
//   STREAMING:   a link; node id and centre set; registered by node and by
//                centre (SessionHost::registered); acked <= sent; the in-flight
//                batches' last_seq ascending, each in (acked, sent], the last
//                equal to sent (acked == sent when none), at most kWindow of
//                them (wire::window_consistent). A batch from the node
//                is acknowledged only after its transaction committed
//                (synchronous=FULL).
//   CLOSED:      not registered; the link, if still set, was asked to close.
//
// Threading: everything runs on the hub's single event-loop thread; the group
// commit's store thread never touches a session.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/core/status.h"
#include "common/net/link.h"
#include "common/store/store.h"
#include "common/wire/frames.h"

namespace terril {

class Registry;
class NodeSession;
class LoginLimiter;

struct HubMetrics {
  uint64_t changes_applied = 0;
  uint64_t changes_sent = 0;
  uint64_t rejected = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t sessions_opened = 0;
  uint64_t handshake_failures = 0;
  // apply latency histogram (ms) buckets: <=1, 2, 5, 10, 25, 50, 100, 250, 1000, +Inf
  std::array<uint64_t, 10> apply_ms_buckets{};
  double apply_ms_sum = 0;
  // Group commit: transactions run, and the node batches they carried.
  uint64_t group_commits = 0;
  uint64_t grouped_batches = 0;
  // Healing: digest checks answered, records received and merged from
  // nodes, records sent to nodes, purges sent, restores detected (a node
  // ahead of this hub's history).
  uint64_t digest_checks = 0;
  uint64_t repair_records_in = 0;
  uint64_t repair_records_out = 0;
  uint64_t repair_purges = 0;
  uint64_t restores_detected = 0;
  // Inbound window: times a node's link stopped reading because it had a
  // window of batches (or kMaxInboundBytes) waiting in the group commit.
  uint64_t inbound_pauses = 0;
};

// What the hub last repaired with one node (for the dashboard and metrics).
struct RepairNote {
  int64_t at_ms = 0;
  uint64_t received = 0, sent = 0, purged = 0;
  bool witness = false;  // the node still holds history this hub lost
};

// RepairNote as text for the hub's meta table (key "repair.<node id>"):
// "at_ms,received,sent,purged,witness"; a bad text decodes as a blank note.
std::string encode_note(const RepairNote& n);
RepairNote decode_note(std::string_view text);
inline std::string repair_note_key(const std::string& node_id) {
  return "repair." + node_id;
}

// What a session asks of the hub-wide registry (SyncHub implements it).
class SessionHost {
 public:
  // A good Hello: register `s` by node and by centre; an older link of the
  // same node is closed (the new one wins).
  virtual void attach(const std::shared_ptr<NodeSession>& s) = 0;
  // `s` is closing: drop its entries (not a newer link's).
  virtual void detach(const NodeSession& s) = 0;
  // Queue a batch for the next group commit; NodeSession::on_applied answers.
  virtual void submit(const std::shared_ptr<NodeSession>& s, NodeBatch batch) = 0;
  // `s` is the registered session of its node, by node and by centre (debug checks).
  virtual bool registered(const NodeSession& s) const = 0;
  // A repair with node `node_id` moved records (or its witness state changed).
  virtual void repaired(const std::string& node_id, const RepairNote& note) = 0;

 protected:
  ~SessionHost() = default;
};

// What every session of one hub shares. Owned by SyncHub, which outlives its
// sessions' use of it.
struct SessionContext {
  Store& store;
  Registry& registry;
  HubMetrics& metrics;
  SessionHost& host;
  std::string hub_id;
  std::function<int64_t()> now_ms;                  // wall clock
  std::function<std::string(size_t)> random_bytes;  // nonces
  int hello_timeout_ms = 10000;
  // Refused enrolment codes per address (SyncHub's); null = no limit.
  LoginLimiter* enrol_limiter = nullptr;
};

class NodeSession : public Peer, public std::enable_shared_from_this<NodeSession> {
 public:
  // Frame bytes of one node's batches waiting in the group commit before its
  // link stops reading (with at most wire::kWindow batches).
  static constexpr size_t kMaxInboundBytes = 8u << 20;
  enum class State { await_open, await_hello, streaming, enrol, closed };

  // The Hello deadline counts from now (the upgrade request), so a tick
  // between it and on_open never sees an unset start time.
  NodeSession(const SessionContext& ctx, bool enrol);

  void on_open(Link& link) override;
  void on_message(std::string_view bytes) override;
  void on_closed(std::string_view why) override;

  // Wake: stream what is new for this node, within the window. No-op unless STREAMING.
  void pump();
  // Fails with TIMEOUT an AWAIT_HELLO or ENROL session older than the Hello deadline.
  void check_deadline(int64_t now_ms);
  // Fails with REVOKED_NODE (revocation, or a newer link of the node).
  void revoke();
  // pump() when nothing is in flight: moves an idle cursor over changes routed elsewhere.
  void advance_if_idle();
  // The group commit applied (or failed) this session's batch: Ack it, or
  // fail. The batch is durable even when the session closed meanwhile; the
  // node resends it and the hub counts duplicates.
  void on_applied(const Result<ApplyReport>& rep, int64_t elapsed_ms);

  State state() const { return state_; }
  bool streaming() const { return state_ == State::streaming; }
  const std::string& node_id() const { return node_id_; }
  const std::string& centre_id() const { return centre_id_; }
  // The acknowledged hub cursor, when it moved since the last call.
  std::optional<uint64_t> take_cursor_change();
  // Sends a Repair outside any round (a registration moved to or away from
  // this node's centre). No-op unless STREAMING.
  void push_repair(wire::Repair r);
  struct Info {
    std::string node_id, centre_id, remote, software_version;
    int64_t since_ms = 0;
    uint64_t acked_hub_seq = 0;
  };
  Info info() const;

 private:
  void fail(wire::ErrorCode code, const std::string& msg);
  void close_link();
  void on_enrol(const wire::Enrol& e);
  void on_hello(const wire::Hello& h);
  void on_changes(wire::Changes&& ch, size_t frame_bytes);
  void submitted(std::optional<wire::Repair> repair, size_t frame_bytes);
  void on_ack(const wire::Ack& a);
  void on_digest_check(const wire::DigestCheck& c);
  void on_repair(wire::Repair&& r, size_t frame_bytes);
  void answer_repair(const wire::Repair& r, const ApplyReport& applied);
  void send(const wire::Frame& f);
  void observe_latency(int64_t ms);
  // Asserts the invariants of the current state (the header's table); no-op
  // under NDEBUG.
  void check_invariants() const;
  // Moves to `to`, asserting that the table allows it.
  void enter(State to);

  const SessionContext& ctx_;
  State state_;
  Link* link_ = nullptr;
  std::string nonce_;
  std::string node_id_, centre_id_, software_version_;
  int64_t opened_ms_ = 0, since_ms_ = 0;
  uint64_t sent_ = 0, acked_ = 0, saved_acked_ = 0;
  std::deque<uint64_t> inflight_;  // last_seq of each unacknowledged batch sent
  bool close_requested_ = false;
  // Batches submitted to the group commit, in order: a Repair's (its frame,
  // without records, to answer once applied) or changes (empty), with the
  // size of the frame that brought it (the inbound window, submitted()).
  struct Submitted {
    std::optional<wire::Repair> repair;
    size_t bytes = 0;
  };
  std::deque<Submitted> submitted_;
  size_t inbound_bytes_ = 0;
  bool reading_paused_ = false;
  // Set at Hello when the node applied hub history (or holds own changes)
  // this hub lost: its records of other centres are taken (NodeBatch::witness).
  bool witness_ = false;
  RepairNote note_;
};

}  // namespace terril

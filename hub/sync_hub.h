// The hub's side of the sync protocol: one NodeSession per WebSocket, and
// SyncHub, the hub-wide registry of connected sessions that fans new changes
// out to the nodes they are routed to.
//
// NodeSession state machine (a Peer: it sees frames, never sockets):
//
//      on_open            good Hello                 Error sent / link closed
//   o ---------> AWAIT_HELLO ----------> STREAMING ---------------------------> CLOSED
//                   |  (Challenge sent)     |  Changes -> queued -> group commit -> Ack
//                   |                       |  Ack -> pump next hub batches (window)
//                   +--- bad Hello, timeout, revoked, malformed ---> CLOSED
//
//   ENROL (socket opened with ?enrol=1): on Enrol -> Enrolled or Error -> CLOSED
//
// Invariants in STREAMING: acked_ <= sent_; inflight_ holds the last_seq of
// each unacknowledged batch sent, ascending, size <= window; a batch is
// acknowledged only after its transaction committed (synchronous=FULL).
//
// Threading: everything runs on the hub's single event-loop thread.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/net/http.h"
#include "common/net/link.h"
#include "common/store/store.h"

namespace terril {

class Registry;

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
};

struct SyncHubOptions {
  std::string hub_id;
  std::string software_version;
  std::function<int64_t()> now_ms;                  // wall clock
  std::function<std::string(size_t)> random_bytes;  // nonces
  int hello_timeout_ms = 10000;
  // Group commit. Batches from nodes are queued and applied together, one
  // transaction and one fsync per group, in one of three ways:
  //  - `apply_on` and `post` set (the daemon): the group runs on a store
  //    thread, over `apply_store` (a second connection to the hub's file),
  //    while the event loop keeps reading; `post` brings the results back to
  //    the loop thread, which acks and wakes sessions, then starts the next
  //    group with what arrived meanwhile. One group in flight at a time, so
  //    a group is as large as what one fsync took to accumulate.
  //  - only `post` set: the group runs on the loop, posted after the handlers
  //    already ready;
  //  - neither: each batch is applied at once (tests).
  // Everything else, and every SyncHub member, stays on the loop thread.
  std::function<void(std::function<void()>)> post;      // onto the event-loop thread
  std::function<void(std::function<void()>)> apply_on;  // onto the store thread
  Store* apply_store = nullptr;
};

class NodeSession;

class SyncHub {
 public:
  SyncHub(Store& store, Registry& registry, SyncHubOptions opts);
  ~SyncHub();

  // For the server: a new WebSocket on /v1/sync. `?enrol=1` opens an
  // enrolment session, anything else a sync session.
  std::shared_ptr<Peer> make_session(const HttpRequest& upgrade);

  // New changes were committed (from a node or the admin): wake every
  // connected session so it streams what is routed to it.
  void notify_changes();
  // The same, waking only the sessions the changes are routed to (all when
  // `everyone`), except the node they came from.
  void notify_changes(bool everyone, const std::vector<std::string>& centres, const std::string& from_node);

  // Periodic housekeeping, every ~500 ms: Hello deadlines, revocations made
  // by the CLI in another process (closed within a second), idle sessions
  // moved over changes routed elsewhere (a tenth of them per tick), and every
  // ~5 s the nodes' acknowledged hub cursors in one transaction (for
  // monitoring; not per Ack, which would cost an fsync per node per batch).
  void tick();

  // Close every session of this node (revocation from this process).
  void drop_node(const std::string& node_id);

  struct Connected {
    std::string node_id, centre_id, remote, software_version;
    int64_t since_ms = 0;
    uint64_t acked_hub_seq = 0;
  };
  std::vector<Connected> connected() const;
  const HubMetrics& metrics() const { return metrics_; }

 private:
  friend class NodeSession;
  void attach(const std::string& node_id, const std::shared_ptr<NodeSession>& s);
  void detach(const NodeSession* s);
  // Removes node_id's entries if they point to s (or to a closed session).
  void forget(const std::string& node_id, const NodeSession* s);

  // Group commit: a received batch waits for flush(), which applies every
  // queued batch in one transaction, answers each session, then wakes the
  // sessions the applied changes are routed to.
  void submit(const std::shared_ptr<NodeSession>& s, NodeBatch batch);
  void flush();
  struct Queued {
    std::shared_ptr<NodeSession> session;
    NodeBatch batch;
  };
  struct Group {
    std::vector<std::shared_ptr<NodeSession>> sessions;
    std::vector<NodeBatch> batches;
    std::vector<Result<ApplyReport>> results;
    int64_t elapsed_ms = 0;
  };
  // Loop thread: answers each session of an applied group, wakes the
  // sessions its changes are routed to.
  void finish(Group& g);
  struct Wake {
    std::vector<std::shared_ptr<NodeSession>> sessions;
    std::set<const NodeSession*> seen;
  };
  // Adds to `wake` the sessions changes routed to `centres` (all when
  // `everyone`) concern, except the node they came from.
  void collect(Wake& wake, bool everyone, const std::vector<std::string>& centres, const std::string& from_node);

  Store& store_;
  Registry& registry_;
  SyncHubOptions opts_;
  HubMetrics metrics_;
  std::vector<std::weak_ptr<NodeSession>> pending_;            // before Hello
  std::map<std::string, std::weak_ptr<NodeSession>> by_node_;  // streaming
  // centre -> node -> session, for waking only the sessions a change concerns
  std::map<std::string, std::map<std::string, std::weak_ptr<NodeSession>>> by_centre_;
  std::vector<Queued> queue_;
  bool flush_posted_ = false;     // `post` only: a flush is queued on the loop
  bool group_in_flight_ = false;  // `apply_on`: a group is on the store thread
  std::shared_ptr<bool> alive_;   // a deferred flush after destruction does nothing
  int64_t last_cursor_flush_ms_ = 0;
  // Idle sessions are advanced round-robin, a tenth per tick (~500 ms).
  static constexpr size_t kAdvanceTicks = 10;
  std::string advance_after_;  // the node id advanced last
};

}  // namespace terril

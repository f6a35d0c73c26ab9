// The hub's side of the sync protocol: one NodeSession per WebSocket, and
// SyncHub, the hub-wide registry of connected sessions that fans new changes
// out to the nodes they are routed to.
//
// NodeSession state machine (a Peer: it sees frames, never sockets):
//
//      on_open            good Hello                 Error sent / link closed
//   o ---------> AWAIT_HELLO ----------> STREAMING ---------------------------> CLOSED
//                   |  (Challenge sent)     |  Changes -> apply -> Ack
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
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/net/http.h"
#include "common/net/link.h"

namespace terril {

class Store;
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
};

struct SyncHubOptions {
  std::string hub_id;
  std::string software_version;
  std::function<int64_t()> now_ms;                         // wall clock
  std::function<std::string(size_t)> random_bytes;          // nonces
  int hello_timeout_ms = 10000;
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
  // by the CLI in another process (closed within a second), and every ~5 s
  // the nodes' acknowledged hub cursors (for monitoring; not per Ack, which
  // would cost the hub an fsync per node per batch).
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

  Store& store_;
  Registry& registry_;
  SyncHubOptions opts_;
  HubMetrics metrics_;
  std::vector<std::weak_ptr<NodeSession>> pending_;            // before Hello
  std::map<std::string, std::weak_ptr<NodeSession>> by_node_;  // streaming
  int64_t last_cursor_flush_ms_ = 0;
};

}  // namespace terril

// The hub's side of the sync protocol, hub-wide: SyncHub makes one
// NodeSession (hub/node_session.h, the per-link state machine) per WebSocket
// on /v1/sync, keeps the streaming sessions by node and by centre, fans new
// changes out to the sessions they are routed to, hands node batches to the
// group commit (hub/group_commit.h), and runs the periodic housekeeping.
//
// Threading: everything runs on the hub's single event-loop thread, except
// the group commit's store thread (see SyncHubOptions).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/net/auth.h"
#include "common/net/http.h"
#include "common/net/link.h"
#include "common/store/store.h"
#include "hub/group_commit.h"
#include "hub/node_session.h"

namespace terril {

class Registry;

struct SyncHubOptions {
  std::string hub_id;
  std::string software_version;
  std::function<int64_t()> now_ms;                  // wall clock
  std::function<std::string(size_t)> random_bytes;  // nonces
  int hello_timeout_ms = 10000;
  // Group commit (hub/group_commit.h says how each combination runs):
  // `apply_on` and `post` set, the daemon's store thread; only `post`, on the
  // loop after the ready handlers; neither, each batch at once (tests).
  // Everything else, and every SyncHub member, stays on the loop thread.
  std::function<void(std::function<void()>)> post;      // onto the event-loop thread
  std::function<void(std::function<void()>)> apply_on;  // onto the store thread
  Store* apply_store = nullptr;
};

class SyncHub : private SessionHost {
 public:
  SyncHub(Store& store, Registry& registry, SyncHubOptions opts);
  ~SyncHub();
  SyncHub(const SyncHub&) = delete;
  SyncHub& operator=(const SyncHub&) = delete;

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

  // Registrations that moved to another host (a node's change or the
  // admin's): the new host's sessions get the whole record, the old host's a
  // purge. Hosts not connected get both at their next check.
  void fan_out_moves(const std::vector<ApplyReport::Move>& moves);

  // Close every session of this node (revocation from this process).
  void drop_node(const std::string& node_id);

  using Connected = NodeSession::Info;
  std::vector<Connected> connected() const;
  const HubMetrics& metrics() const { return metrics_; }

 private:
  // SessionHost, for the sessions.
  void attach(const std::shared_ptr<NodeSession>& s) override;
  void detach(const NodeSession& s) override;
  void submit(const std::shared_ptr<NodeSession>& s, NodeBatch batch) override;
  bool registered(const NodeSession& s) const override;
  void repaired(const std::string& node_id, const RepairNote& note) override;

  // Removes node_id's entries if they point to s (or to a closed session).
  void forget(const std::string& node_id, const NodeSession* s);
  // Loop thread: answers each session of an applied group, wakes the
  // sessions its changes are routed to.
  void finish(GroupCommit::Group& g);
  struct Wake {
    std::vector<std::shared_ptr<NodeSession>> sessions;
    std::set<const NodeSession*> seen;
  };
  // Adds to `wake` the sessions changes routed to `centres` (all when
  // `everyone`) concern, except the node they came from.
  void collect(Wake& wake, bool everyone, const std::vector<std::string>& centres, const std::string& from_node);

  Registry& registry_;
  HubMetrics metrics_;
  // Refused enrolment codes: 10 per address per minute, then refused unread.
  LoginLimiter enrol_limiter_{LoginLimiterOptions{10, 60 * 1000, 4096}};
  SessionContext ctx_;
  std::vector<std::weak_ptr<NodeSession>> pending_;            // before Hello
  std::map<std::string, std::weak_ptr<NodeSession>> by_node_;  // streaming
  // centre -> node -> session, for waking only the sessions a change concerns
  std::map<std::string, std::map<std::string, std::weak_ptr<NodeSession>>> by_centre_;
  GroupCommit group_commit_;
  int64_t last_cursor_flush_ms_ = 0;
  // Repair notes changed since the last flush (persisted in the hub's meta
  // with the cursors, every ~5 s).
  std::map<std::string, RepairNote> notes_dirty_;
  // Idle sessions are advanced round-robin, a tenth per tick (~500 ms).
  static constexpr size_t kAdvanceTicks = 10;
  std::string advance_after_;  // the node id advanced last
};

}  // namespace terril

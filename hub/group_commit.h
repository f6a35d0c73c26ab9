// Group commit: the hub's hand-off of node batches to the store. A received
// batch waits in a queue; flush() applies every queued batch in one
// transaction and one fsync, then hands the results back to the event loop,
// where SyncHub answers each session and wakes the sessions the changes are
// routed to. One of three ways, chosen by the options:
//  - `apply_on` and `post` set (the daemon): the group runs on a store thread,
//    over `apply_store` (a second connection to the hub's file), while the
//    event loop keeps reading; `post` brings the results back to the loop
//    thread, which finishes the group, then starts the next one with what
//    arrived meanwhile. One group in flight at a time, so a group is as large
//    as what one fsync took to accumulate;
//  - only `post` set: the group runs on the loop, posted after the handlers
//    already ready;
//  - neither: each batch is applied at once, inside submit() (tests).
//
// Threading: submit() and the `finish` callback run on the loop thread; the
// store thread touches only the group in flight, `apply_store` and `now_ms`.
// A GroupCommit destroyed with a group in flight drops its results (their
// sessions' nodes resend; the hub counts duplicates).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/core/status.h"
#include "common/store/store.h"

namespace terril {

class NodeSession;

struct GroupCommitOptions {
  std::function<int64_t()> now_ms;                      // wall clock, for the apply latency
  std::function<void(std::function<void()>)> post;      // onto the event-loop thread
  std::function<void(std::function<void()>)> apply_on;  // onto the store thread
  Store* apply_store = nullptr;                         // with apply_on: the store thread's connection
};

class GroupCommit {
 public:
  // One applied group: results[i] answers batches[i] of sessions[i].
  struct Group {
    std::vector<std::shared_ptr<NodeSession>> sessions;
    std::vector<NodeBatch> batches;
    std::vector<Result<ApplyReport>> results;
    int64_t elapsed_ms = 0;
  };
  using Finish = std::function<void(Group&)>;

  // `store`: the loop thread's connection (used when `apply_on` is not set).
  // `finish` runs on the loop thread for every applied group.
  GroupCommit(Store& store, GroupCommitOptions opts, Finish finish);
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues `batch` of `s` for the next group.
  void submit(std::shared_ptr<NodeSession> s, NodeBatch batch);

 private:
  void flush();
  bool threaded() const { return opts_.apply_on && opts_.post; }

  struct Queued {
    std::shared_ptr<NodeSession> session;
    NodeBatch batch;
  };
  Store& store_;
  GroupCommitOptions opts_;
  Finish finish_;
  std::vector<Queued> queue_;
  bool flush_posted_ = false;     // `post` only: a flush is queued on the loop
  bool group_in_flight_ = false;  // threaded: a group is on the store thread
  std::shared_ptr<bool> alive_;   // a deferred flush after destruction does nothing
};

}  // namespace terril

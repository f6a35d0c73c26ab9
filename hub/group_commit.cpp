// Group commit: node batches queued, applied together on the store thread (or
// the loop), results handed back to the loop (see group_commit.h).
#include "hub/group_commit.h"

namespace terril {

GroupCommit::GroupCommit(Store& store, GroupCommitOptions opts, Finish finish)
    : store_(store), opts_(std::move(opts)), finish_(std::move(finish)), alive_(std::make_shared<bool>(true)) {}

GroupCommit::~GroupCommit() = default;

void GroupCommit::submit(std::shared_ptr<NodeSession> s, NodeBatch batch) {
  queue_.push_back({std::move(s), std::move(batch)});
  if (threaded()) {
    if (!group_in_flight_) flush();
    return;
  }
  if (!opts_.post) return flush();
  if (flush_posted_) return;
  flush_posted_ = true;
  opts_.post([this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    flush_posted_ = false;
    flush();
  });
}

void GroupCommit::flush() {
  if (queue_.empty()) return;
  auto g = std::make_shared<Group>();
  g->sessions.reserve(queue_.size());
  g->batches.reserve(queue_.size());
  for (auto& q : queue_) {
    g->sessions.push_back(std::move(q.session));
    g->batches.push_back(std::move(q.batch));
  }
  queue_.clear();
  if (!threaded()) {
    const int64_t t0 = opts_.now_ms();
    g->results = store_.apply_from_nodes(g->batches, t0);
    g->elapsed_ms = opts_.now_ms() - t0;
    return finish_(*g);
  }
  // Store thread: touches only the group, apply_store and now_ms.
  group_in_flight_ = true;
  opts_.apply_on(
      [this, g, alive = std::weak_ptr<bool>(alive_), store = opts_.apply_store, now = opts_.now_ms, post = opts_.post] {
        const int64_t t0 = now();
        g->results = store->apply_from_nodes(g->batches, t0);
        g->elapsed_ms = now() - t0;
        post([this, g, alive] {
          if (alive.expired()) return;
          group_in_flight_ = false;
          finish_(*g);
          flush();  // what arrived during this group
        });
      });
}

}  // namespace terril

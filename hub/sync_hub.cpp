// SyncHub: the hub-wide registry of sync sessions, fan-out of new changes,
// housekeeping (see sync_hub.h).
#include "hub/sync_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/store/hub_registry.h"

namespace terril {

SyncHub::SyncHub(Store& store, Registry& registry, SyncHubOptions opts)
    : registry_(registry),
      ctx_{store,          registry,    metrics_,          *this,
           opts.hub_id,    opts.now_ms, opts.random_bytes, opts.hello_timeout_ms,
           &enrol_limiter_},
      group_commit_(store, GroupCommitOptions{opts.now_ms, opts.post, opts.apply_on, opts.apply_store},
                    [this](GroupCommit::Group& g) { finish(g); }) {}

SyncHub::~SyncHub() = default;

std::shared_ptr<Peer> SyncHub::make_session(const HttpRequest& upgrade) {
  bool enrol = false;
  for (const auto& [k, v] : upgrade.query)
    if (k == "enrol" && v == "1") enrol = true;
  auto s = std::make_shared<NodeSession>(ctx_, enrol);
  std::erase_if(pending_, [](const auto& w) { return w.expired(); });
  pending_.push_back(s);
  return s;
}

void SyncHub::attach(const std::shared_ptr<NodeSession>& s) {
  const std::string& node_id = s->node_id();
  auto it = by_node_.find(node_id);
  if (it != by_node_.end()) {
    if (auto old = it->second.lock(); old && old.get() != s.get()) {
      spdlog::info("sync: node {} reconnected; closing its previous link", node_id);
      forget(node_id, old.get());
      old->revoke();  // closes; the new link wins
    }
  }
  by_node_[node_id] = s;
  by_centre_[s->centre_id()][node_id] = s;
}

void SyncHub::forget(const std::string& node_id, const NodeSession* s) {
  auto it = by_node_.find(node_id);
  if (it != by_node_.end()) {
    auto sp = it->second.lock();
    if (sp && sp.get() != s) return;  // a newer link of this node
    by_node_.erase(it);
  }
  if (!s) return;
  auto c = by_centre_.find(s->centre_id());
  if (c == by_centre_.end()) return;
  if (auto n = c->second.find(node_id); n != c->second.end()) {
    auto sp = n->second.lock();
    if (!sp || sp.get() == s) c->second.erase(n);
  }
  if (c->second.empty()) by_centre_.erase(c);
}

void SyncHub::detach(const NodeSession& s) {
  if (!s.node_id().empty()) forget(s.node_id(), &s);
}

bool SyncHub::registered(const NodeSession& s) const {
  if (s.node_id().empty()) return false;
  auto n = by_node_.find(s.node_id());
  if (n == by_node_.end() || n->second.lock().get() != &s) return false;
  auto c = by_centre_.find(s.centre_id());
  if (c == by_centre_.end()) return false;
  auto cn = c->second.find(s.node_id());
  return cn != c->second.end() && cn->second.lock().get() == &s;
}

void SyncHub::submit(const std::shared_ptr<NodeSession>& s, NodeBatch batch) {
  group_commit_.submit(s, std::move(batch));
}

void SyncHub::repaired(const std::string& node_id, const RepairNote& note) {
  notes_dirty_[node_id] = note;
}

void SyncHub::fan_out_moves(const std::vector<ApplyReport::Move>& moves) {
  for (const auto& m : moves) {
    const RecordRef ref{Entity::registration, m.id};
    auto recs = ctx_.store.records({ref});
    if (!recs) {
      spdlog::warn("sync: cannot read a moved registration: {}", recs.status().message());
      continue;
    }
    auto send_to = [&](const std::string& centre, const wire::Repair& r) {
      if (centre.empty() || centre == m.owner) return;
      auto it = by_centre_.find(centre);
      if (it == by_centre_.end()) return;
      for (const auto& [node, w] : it->second)
        if (auto s = w.lock()) s->push_repair(r);
    };
    wire::Repair whole;
    whole.records = *recs;
    send_to(m.new_host, whole);
    wire::Repair purge;
    purge.purge.push_back(ref);
    send_to(m.old_host, purge);
  }
}

void SyncHub::finish(GroupCommit::Group& g) {
  ++metrics_.group_commits;
  metrics_.grouped_batches += g.batches.size();
  Wake wake;
  for (size_t i = 0; i < g.sessions.size(); ++i) {
    g.sessions[i]->on_applied(g.results[i], g.elapsed_ms);
    if (g.results[i] && !g.results[i]->moves.empty()) fan_out_moves(g.results[i]->moves);
    if (g.results[i] && g.results[i]->applied > 0)
      collect(wake, g.results[i]->to_everyone, g.results[i]->to_centres, g.batches[i].node_id);
  }
  for (auto& s : wake.sessions) s->pump();
}

void SyncHub::collect(Wake& wake, bool everyone, const std::vector<std::string>& centres,
                      const std::string& from_node) {
  auto add = [&](const std::string& node, const std::weak_ptr<NodeSession>& w) {
    if (node == from_node) return;
    auto s = w.lock();
    if (s && wake.seen.insert(s.get()).second) wake.sessions.push_back(std::move(s));
  };
  if (everyone) {
    for (const auto& [node, w] : by_node_) add(node, w);
    return;
  }
  for (const auto& centre : centres) {
    auto it = by_centre_.find(centre);
    if (it == by_centre_.end()) continue;
    for (const auto& [node, w] : it->second) add(node, w);
  }
}

void SyncHub::notify_changes() {
  std::vector<std::shared_ptr<NodeSession>> live;
  for (auto& [id, w] : by_node_)
    if (auto s = w.lock()) live.push_back(s);
  for (auto& s : live) s->pump();
}

void SyncHub::notify_changes(bool everyone, const std::vector<std::string>& centres, const std::string& from_node) {
  Wake wake;
  collect(wake, everyone, centres, from_node);
  for (auto& s : wake.sessions) s->pump();
}

void SyncHub::tick() {
  int64_t now = ctx_.now_ms();
  // Sessions are woken only for changes routed to them, so an idle one's
  // cursor stays behind changes meant for others. Move it over them (an
  // empty batch), so its acknowledged cursor, the dashboard's "waiting"
  // count and the tombstone horizon mean what they say: each session about
  // every 5 s, a tenth of them per tick, so 2,000 sessions make no burst.
  if (!by_node_.empty()) {
    const size_t per_tick = (by_node_.size() + kAdvanceTicks - 1) / kAdvanceTicks;
    std::vector<std::shared_ptr<NodeSession>> turn;
    auto it = by_node_.upper_bound(advance_after_);
    for (size_t i = 0; i < per_tick; ++i, ++it) {
      if (it == by_node_.end()) it = by_node_.begin();
      advance_after_ = it->first;
      if (auto s = it->second.lock()) turn.push_back(std::move(s));
    }
    for (auto& s : turn) s->advance_if_idle();
  }
  if (now - last_cursor_flush_ms_ >= 5000) {
    last_cursor_flush_ms_ = now;
    std::vector<std::pair<std::string, uint64_t>> cursors;
    for (auto& [id, w] : by_node_)
      if (auto s = w.lock())
        if (auto c = s->take_cursor_change()) cursors.emplace_back(id, *c);
    if (Status st = registry_.set_hub_cursors(cursors); !st)
      spdlog::warn("sync: cannot record the nodes' hub cursors: {}", st.message());
    for (const auto& [id, note] : notes_dirty_)
      if (Status st = ctx_.store.set_meta(repair_note_key(id), encode_note(note)); !st)
        spdlog::warn("sync: cannot record node {}'s repair: {}", id, st.message());
    notes_dirty_.clear();
  }
  std::vector<std::shared_ptr<NodeSession>> check;
  for (auto& w : pending_)
    if (auto s = w.lock()) check.push_back(s);
  std::erase_if(pending_, [](const auto& w) { return w.expired(); });
  for (auto& s : check) s->check_deadline(now);
  if (by_node_.empty()) return;
  auto inactive = registry_.inactive_ids();
  if (!inactive) return;
  for (const auto& id : *inactive)
    if (by_node_.count(id)) drop_node(id);
}

void SyncHub::drop_node(const std::string& node_id) {
  auto it = by_node_.find(node_id);
  if (it == by_node_.end()) return;
  auto s = it->second.lock();
  forget(node_id, s.get());
  if (s) {
    spdlog::info("sync: node {} revoked; closing its link", node_id);
    s->revoke();
  }
}

std::vector<SyncHub::Connected> SyncHub::connected() const {
  std::vector<Connected> out;
  for (const auto& [id, w] : by_node_)
    if (auto s = w.lock(); s && s->streaming()) out.push_back(s->info());
  return out;
}

}  // namespace terril

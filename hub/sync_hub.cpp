#include "hub/sync_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "common/core/routing.h"
#include "common/store/store.h"
#include "common/wire/wire.h"
#include "hub/registry.h"
#include "terril/v1/sync.pb.h"

namespace terril {

namespace {

std::string error_frame(v1::ErrorCode code, const std::string& msg) {
  v1::Frame f;
  f.mutable_error()->set_code(code);
  f.mutable_error()->set_message(msg);
  if (code == v1::ERROR_CODE_UNSUPPORTED_VERSION) f.mutable_error()->add_protocol_versions(wire::kProtocolVersion);
  return wire::encode_frame(f);
}

v1::ErrorCode rejection_code(const std::string& code) {
  if (code == "forbidden") return v1::ERROR_CODE_FORBIDDEN_CHANGE;
  if (code == "clock_skew") return v1::ERROR_CODE_CLOCK_SKEW;
  return v1::ERROR_CODE_INVALID_CHANGE;
}

}  // namespace

class NodeSession : public Peer, public std::enable_shared_from_this<NodeSession> {
  friend class SyncHub;  // on_applied

 public:
  enum class State { await_open, await_hello, streaming, enrol, closed };

  // The Hello deadline counts from the upgrade request, so a tick between it
  // and on_open never sees an unset start time.
  NodeSession(SyncHub& hub, bool enrol)
      : hub_(hub), state_(enrol ? State::enrol : State::await_open), opened_ms_(hub.opts_.now_ms()) {}

  void on_open(Link& link) override {
    link_ = &link;
    if (state_ == State::closed) {  // failed (deadline) while its WebSocket was opening: stay closed
      link_->close();
      return;
    }
    opened_ms_ = hub_.opts_.now_ms();
    ++hub_.metrics_.sessions_opened;
    if (state_ == State::enrol) return;  // the node speaks first
    nonce_ = hub_.opts_.random_bytes(32);
    v1::Frame f;
    auto* c = f.mutable_challenge();
    c->set_nonce(nonce_);
    c->set_hub_id(hub_.opts_.hub_id);
    c->add_protocol_versions(wire::kProtocolVersion);
    link_->send(wire::encode_frame(f));
    state_ = State::await_hello;
  }

  void on_message(std::string_view bytes) override {
    if (state_ == State::closed) return;
    hub_.metrics_.bytes_in += bytes.size();
    if (bytes.size() > wire::kMaxFrameBytes)
      return fail(v1::ERROR_CODE_FRAME_TOO_LARGE, "frame of " + std::to_string(bytes.size()) +
                                                      " bytes is over the limit of " +
                                                      std::to_string(wire::kMaxFrameBytes));
    v1::Frame f;
    if (Status s = wire::decode_frame(bytes, f); !s) return fail(v1::ERROR_CODE_MALFORMED_FRAME, s.message());
    switch (state_) {
      case State::enrol:
        if (f.msg_case() != v1::Frame::kEnrol) return fail(v1::ERROR_CODE_PROTOCOL_VIOLATION, "expected Enrol");
        return on_enrol(f.enrol());
      case State::await_hello:
        if (f.msg_case() != v1::Frame::kHello) return fail(v1::ERROR_CODE_PROTOCOL_VIOLATION, "expected Hello");
        return on_hello(f.hello());
      case State::streaming:
        if (f.msg_case() == v1::Frame::kChanges) return on_changes(f.changes());
        if (f.msg_case() == v1::Frame::kAck) return on_ack(f.ack());
        if (f.msg_case() == v1::Frame::kError) {
          spdlog::warn("sync: node {} reported error {}: {}", node_id_, static_cast<int>(f.error().code()),
                       f.error().message());
          return close_link();
        }
        return fail(v1::ERROR_CODE_PROTOCOL_VIOLATION, "unexpected frame while streaming");
      default:
        return;
    }
  }

  void on_closed(std::string_view why) override {
    if (!node_id_.empty() && state_ == State::streaming) {
      spdlog::info("sync: node {} disconnected ({})", node_id_, why);
      if (auto c = take_cursor_change()) hub_.registry_.set_hub_cursor(node_id_, *c);
    }
    state_ = State::closed;
    link_ = nullptr;
    hub_.detach(this);
  }

  // Wake: stream what is new, within the window.
  void pump() {
    if (state_ != State::streaming || !link_) return;
    while (inflight_.size() < wire::kWindow) {
      auto out = hub_.store_.changes_for_centre(centre_id_, node_id_, sent_, wire::kMaxBatchChanges);
      if (!out) {
        spdlog::error("sync: reading changes for node {} failed: {}", node_id_, out.status().message());
        return fail(v1::ERROR_CODE_INTERNAL, "hub store error; retry later");
      }
      if (out->last_seq <= sent_) return;  // nothing new
      v1::Frame f;
      auto* ch = f.mutable_changes();
      for (const auto& c : out->changes) wire::to_wire(c, *ch->add_changes());
      ch->set_last_seq(out->last_seq);
      std::string bytes = wire::encode_frame(f);
      hub_.metrics_.bytes_out += bytes.size();
      hub_.metrics_.changes_sent += out->changes.size();
      link_->send(std::move(bytes));
      sent_ = out->last_seq;
      inflight_.push_back(sent_);
    }
  }

  void check_deadline(int64_t now) {
    if (state_ == State::await_hello || state_ == State::enrol) {
      if (now - opened_ms_ > hub_.opts_.hello_timeout_ms) fail(v1::ERROR_CODE_TIMEOUT, "no Hello in time");
    }
  }

  void revoke() { fail(v1::ERROR_CODE_REVOKED_NODE, "node revoked"); }

  void advance_if_idle() {
    if (inflight_.empty()) pump();
  }

  const std::string& node_id() const { return node_id_; }
  const std::string& centre_id() const { return centre_id_; }
  // The acknowledged hub cursor when it moved since the last call.
  std::optional<uint64_t> take_cursor_change() {
    if (acked_ == saved_acked_) return std::nullopt;
    saved_acked_ = acked_;
    return acked_;
  }
  SyncHub::Connected info() const {
    return {node_id_, centre_id_, link_ ? link_->remote() : "", software_version_, since_ms_, acked_};
  }
  bool streaming() const { return state_ == State::streaming; }

 private:
  void fail(v1::ErrorCode code, const std::string& msg) {
    if (state_ == State::closed) return;
    spdlog::warn("sync: closing {} ({}): {}", node_id_.empty() ? (link_ ? link_->remote() : "?") : node_id_,
                 v1::ErrorCode_Name(code), msg);
    if (state_ == State::await_hello || state_ == State::enrol) ++hub_.metrics_.handshake_failures;
    if (link_) link_->send(error_frame(code, msg));
    close_link();
  }

  void close_link() {
    auto was = state_;
    state_ = State::closed;
    if (link_) link_->close();
    if (was == State::streaming) hub_.detach(this);
  }

  void on_enrol(const v1::Enrol& e) {
    int64_t now = hub_.opts_.now_ms();
    auto r = hub_.registry_.enrol(e.code(), now);
    if (!r) {
      spdlog::warn("enrol: refused a code from {}: {}", link_->remote(), r.status().message());
      return fail(v1::ERROR_CODE_BAD_ENROL_CODE, r.status().message());
    }
    spdlog::info("enrol: node {} of centre {} enrolled from {}", r->node_id, r->centre_id, link_->remote());
    v1::Frame f;
    auto* en = f.mutable_enrolled();
    en->set_node_id(r->node_id);
    en->set_node_secret(r->secret);
    en->set_centre_id(r->centre_id);
    en->set_hub_id(hub_.opts_.hub_id);
    en->set_hub_time_ms(static_cast<uint64_t>(now));
    link_->send(wire::encode_frame(f));
    state_ = State::closed;
    link_->close();
  }

  void on_hello(const v1::Hello& h) {
    if (h.protocol_version() != wire::kProtocolVersion)
      return fail(v1::ERROR_CODE_UNSUPPORTED_VERSION, "protocol version " + std::to_string(h.protocol_version()) +
                                                          " is not supported; hub speaks " +
                                                          std::to_string(wire::kProtocolVersion));
    Status v = hub_.registry_.verify(h.node_id(), nonce_, h.proof());
    if (!v) {
      v1::ErrorCode code = v.code() == Code::not_found   ? v1::ERROR_CODE_UNKNOWN_NODE
                           : v.code() == Code::forbidden ? v1::ERROR_CODE_REVOKED_NODE
                                                         : v1::ERROR_CODE_BAD_PROOF;
      return fail(code, v.message());
    }
    auto centre = hub_.registry_.centre_of(h.node_id());
    if (!centre) return fail(v1::ERROR_CODE_UNKNOWN_NODE, centre.status().message());
    auto cursor = hub_.store_.origin_cursor(h.node_id());
    auto stats = hub_.store_.stats();
    if (!cursor || !stats) return fail(v1::ERROR_CODE_INTERNAL, "hub store error; retry later");
    node_id_ = h.node_id();
    centre_id_ = *centre;
    software_version_ = h.software_version();
    since_ms_ = hub_.opts_.now_ms();
    sent_ = acked_ = saved_acked_ = h.hub_cursor();
    if (sent_ > stats->hub_cursor) {
      // The node claims more than the hub ever issued: the hub's store was
      // restored from an older backup. Restart the node from zero; merging is
      // idempotent, so resending is safe.
      spdlog::warn("sync: node {} cursor {} is ahead of hub seq {}; resending from 0", node_id_, sent_,
                   stats->hub_cursor);
      sent_ = acked_ = 0;
    }
    if (Status t = hub_.registry_.touch(node_id_, since_ms_, software_version_); !t)
      spdlog::warn("sync: cannot record last-seen of {}: {}", node_id_, t.message());
    v1::Frame f;
    auto* w = f.mutable_welcome();
    w->set_hub_time_ms(static_cast<uint64_t>(hub_.opts_.now_ms()));
    w->set_node_cursor(*cursor);
    w->set_centre_id(centre_id_);
    w->set_window(wire::kWindow);
    w->set_hub_seq(stats->hub_cursor);
    link_->send(wire::encode_frame(f));
    state_ = State::streaming;
    spdlog::info("sync: node {} ({}) connected from {}, node cursor {}, hub cursor {}", node_id_, centre_id_,
                 link_->remote(), *cursor, sent_);
    hub_.attach(node_id_, shared_from_this());
    pump();
  }

  // A batch is queued for the hub's next group commit; on_applied answers it.
  void on_changes(const v1::Changes& ch) {
    NodeBatch b;
    b.node_id = node_id_;
    b.changes.reserve(static_cast<size_t>(ch.changes_size()));
    for (const auto& w : ch.changes()) {
      auto c = wire::from_wire(w);
      if (!c) return fail(v1::ERROR_CODE_MALFORMED_FRAME, c.status().message());  // decode_frame checked already
      b.changes.push_back(std::move(*c));
    }
    b.judge = [node = node_id_, centre = centre_id_](const Change& c, const Record* existing, const std::string& host) {
      PermissionContext ctx{node, centre, existing, host};
      return check_node_change(ctx, c);
    };
    hub_.submit(shared_from_this(), std::move(b));
  }

  // The batch committed (or failed): acknowledge it. The batch is durable
  // even when this session closed meanwhile; the node resends it, and the
  // hub counts it as duplicates.
  void on_applied(const Result<ApplyReport>& rep, int64_t elapsed_ms) {
    if (state_ != State::streaming || !link_) return;
    if (!rep) {
      if (rep.status().code() == Code::conflict) return fail(v1::ERROR_CODE_PROTOCOL_VIOLATION, rep.status().message());
      spdlog::error("sync: applying a batch from {} failed: {}", node_id_, rep.status().message());
      return fail(v1::ERROR_CODE_INTERNAL, "hub store error; retry later");
    }
    observe_latency(elapsed_ms);
    hub_.metrics_.changes_applied += rep->applied;
    hub_.metrics_.rejected += rep->rejections.size();
    for (const auto& r : rep->rejections)
      spdlog::warn("sync: rejected change {}#{} ({} {}): {}", r.origin, r.origin_seq, r.entity, r.code, r.field);
    v1::Frame f;
    auto* a = f.mutable_ack();
    a->set_seq(rep->cursor);
    for (const auto& r : rep->rejections) {
      auto* x = a->add_rejections();
      x->set_origin_seq(r.origin_seq);
      x->set_code(rejection_code(r.code));
      x->set_message(r.message);
      x->set_field(r.field);
    }
    std::string bytes = wire::encode_frame(f);
    hub_.metrics_.bytes_out += bytes.size();
    link_->send(std::move(bytes));
  }

  void on_ack(const v1::Ack& a) {
    if (a.seq() > sent_) return fail(v1::ERROR_CODE_PROTOCOL_VIOLATION, "ack beyond what was sent");
    while (!inflight_.empty() && inflight_.front() <= a.seq()) inflight_.pop_front();
    if (a.seq() > acked_) acked_ = a.seq();  // persisted by SyncHub::tick
    pump();
  }

  void observe_latency(int64_t ms) {
    static constexpr int64_t kBounds[] = {1, 2, 5, 10, 25, 50, 100, 250, 1000};
    size_t i = 0;
    while (i < std::size(kBounds) && ms > kBounds[i]) ++i;
    ++hub_.metrics_.apply_ms_buckets[i];
    hub_.metrics_.apply_ms_sum += static_cast<double>(ms);
  }

  SyncHub& hub_;
  State state_;
  Link* link_ = nullptr;
  std::string nonce_;
  std::string node_id_, centre_id_, software_version_;
  int64_t opened_ms_ = 0, since_ms_ = 0;
  uint64_t sent_ = 0, acked_ = 0, saved_acked_ = 0;
  std::deque<uint64_t> inflight_;
};

SyncHub::SyncHub(Store& store, Registry& registry, SyncHubOptions opts)
    : store_(store), registry_(registry), opts_(std::move(opts)), alive_(std::make_shared<bool>(true)) {}

SyncHub::~SyncHub() = default;

std::shared_ptr<Peer> SyncHub::make_session(const HttpRequest& upgrade) {
  bool enrol = false;
  for (const auto& [k, v] : upgrade.query)
    if (k == "enrol" && v == "1") enrol = true;
  auto s = std::make_shared<NodeSession>(*this, enrol);
  std::erase_if(pending_, [](const auto& w) { return w.expired(); });
  pending_.push_back(s);
  return s;
}

void SyncHub::attach(const std::string& node_id, const std::shared_ptr<NodeSession>& s) {
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

void SyncHub::detach(const NodeSession* s) {
  if (!s->node_id().empty()) forget(s->node_id(), s);
}

void SyncHub::submit(const std::shared_ptr<NodeSession>& s, NodeBatch batch) {
  queue_.push_back({s, std::move(batch)});
  if (opts_.apply_on && opts_.post) {
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

void SyncHub::flush() {
  if (queue_.empty()) return;
  auto g = std::make_shared<Group>();
  g->sessions.reserve(queue_.size());
  g->batches.reserve(queue_.size());
  for (auto& q : queue_) {
    g->sessions.push_back(std::move(q.session));
    g->batches.push_back(std::move(q.batch));
  }
  queue_.clear();
  if (!(opts_.apply_on && opts_.post)) {
    const int64_t t0 = opts_.now_ms();
    g->results = store_.apply_from_nodes(g->batches, t0);
    g->elapsed_ms = opts_.now_ms() - t0;
    return finish(*g);
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
          finish(*g);
          flush();  // what arrived during this group
        });
      });
}

void SyncHub::finish(Group& g) {
  ++metrics_.group_commits;
  metrics_.grouped_batches += g.batches.size();
  Wake wake;
  for (size_t i = 0; i < g.sessions.size(); ++i) {
    g.sessions[i]->on_applied(g.results[i], g.elapsed_ms);
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
  int64_t now = opts_.now_ms();
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

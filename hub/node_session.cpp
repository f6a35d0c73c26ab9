// NodeSession: the hub's protocol state machine for one node's link (see
// node_session.h for the states, transitions and invariants).
#include "hub/node_session.h"

#include <spdlog/spdlog.h>

#include <cassert>

#include "common/core/routing.h"
#include "common/store/hub_registry.h"

namespace terril {

namespace {

using State = NodeSession::State;
using wire::ErrorCode;

// The transition table of node_session.h.
[[maybe_unused]] bool allowed(State from, State to) {
  if (to == State::closed) return true;
  return (from == State::await_open && to == State::await_hello) ||
         (from == State::await_hello && to == State::streaming);
}

}  // namespace

NodeSession::NodeSession(const SessionContext& ctx, bool enrol)
    : ctx_(ctx), state_(enrol ? State::enrol : State::await_open), opened_ms_(ctx.now_ms()) {
  check_invariants();
}

void NodeSession::enter(State to) {
  assert(allowed(state_, to));
  state_ = to;
}

void NodeSession::check_invariants() const {
#ifndef NDEBUG
  const bool registered = ctx_.host.registered(*this);
  switch (state_) {
    case State::await_open:
      assert(!link_);
      assert(node_id_.empty() && nonce_.empty());
      assert(!registered);
      break;
    case State::await_hello:
      assert(link_);
      assert(nonce_.size() == 32);
      assert(node_id_.empty());
      assert(!registered);
      assert(sent_ == 0 && inflight_.empty());
      break;
    case State::enrol:
      assert(node_id_.empty());
      assert(!registered);
      assert(sent_ == 0 && inflight_.empty());
      break;
    case State::streaming:
      assert(link_);
      assert(!node_id_.empty() && !centre_id_.empty());
      assert(registered);
      assert(wire::window_consistent(inflight_, acked_, sent_));
      break;
    case State::closed:
      assert(!registered);
      assert(!link_ || close_requested_);
      break;
  }
#endif
}

void NodeSession::on_open(Link& link) {
  link_ = &link;
  if (state_ == State::closed) {  // failed (deadline) while its WebSocket was opening: stay closed
    close_link();
    check_invariants();
    return;
  }
  opened_ms_ = ctx_.now_ms();
  ++ctx_.metrics.sessions_opened;
  if (state_ == State::enrol) return check_invariants();  // the node speaks first
  nonce_ = ctx_.random_bytes(32);
  send(wire::Challenge{nonce_, ctx_.hub_id, {wire::kProtocolVersion}});
  enter(State::await_hello);
  check_invariants();
}

void NodeSession::on_message(std::string_view bytes) {
  if (state_ == State::closed) return;
  ctx_.metrics.bytes_in += bytes.size();
  auto decoded = wire::decode_frame(bytes);
  if (!decoded) return fail(wire::error_code_for(wire::Step::decoding, decoded.status()), decoded.status().message());
  wire::Frame& f = *decoded;
  switch (state_) {
    case State::enrol:
      if (auto* e = std::get_if<wire::Enrol>(&f)) return on_enrol(*e);
      return fail(ErrorCode::protocol_violation, "expected Enrol");
    case State::await_hello:
      if (auto* h = std::get_if<wire::Hello>(&f)) return on_hello(*h);
      return fail(ErrorCode::protocol_violation, "expected Hello");
    case State::streaming:
      if (auto* ch = std::get_if<wire::Changes>(&f)) return on_changes(std::move(*ch));
      if (auto* a = std::get_if<wire::Ack>(&f)) return on_ack(*a);
      if (auto* e = std::get_if<wire::Error>(&f)) {
        spdlog::warn("sync: node {} reported error {}: {}", node_id_, static_cast<int>(e->code), e->message);
        close_link();
        return check_invariants();
      }
      return fail(ErrorCode::protocol_violation, "unexpected frame while streaming");
    default:
      return;
  }
}

void NodeSession::on_closed(std::string_view why) {
  if (!node_id_.empty() && state_ == State::streaming) {
    spdlog::info("sync: node {} disconnected ({})", node_id_, why);
    // The acknowledged cursor is for the node list and lag metrics only (the
    // node resends from its own cursor at the next handshake): a failure is
    // logged, not fatal.
    if (auto c = take_cursor_change())
      if (Status s = ctx_.registry.set_hub_cursor(node_id_, *c); !s)
        spdlog::warn("sync: cannot record node {}'s hub cursor: {}", node_id_, s.message());
  }
  enter(State::closed);
  link_ = nullptr;
  ctx_.host.detach(*this);
  check_invariants();
}

void NodeSession::send(const wire::Frame& f) {
  std::string bytes = wire::encode_frame(f);
  ctx_.metrics.bytes_out += bytes.size();
  link_->send(std::move(bytes));
}

void NodeSession::pump() {
  if (state_ != State::streaming || !link_) return;
  while (inflight_.size() < wire::kWindow) {
    auto out = ctx_.store.changes_for_centre(centre_id_, node_id_, sent_, wire::kMaxBatchChanges);
    if (!out) {
      spdlog::error("sync: reading changes for node {} failed: {}", node_id_, out.status().message());
      return fail(wire::error_code_for(wire::Step::store, out.status()), "hub store error; retry later");
    }
    if (out->last_seq <= sent_) break;  // nothing new
    ctx_.metrics.changes_sent += out->changes.size();
    send(wire::Changes{std::move(out->changes), out->last_seq});
    sent_ = out->last_seq;
    inflight_.push_back(sent_);
  }
  check_invariants();
}

void NodeSession::check_deadline(int64_t now) {
  if (state_ == State::await_hello || state_ == State::enrol) {
    if (now - opened_ms_ > ctx_.hello_timeout_ms) fail(ErrorCode::timeout, "no Hello in time");
  }
}

void NodeSession::revoke() {
  fail(ErrorCode::revoked_node, "node revoked");
}

void NodeSession::advance_if_idle() {
  if (inflight_.empty()) pump();
}

std::optional<uint64_t> NodeSession::take_cursor_change() {
  if (acked_ == saved_acked_) return std::nullopt;
  saved_acked_ = acked_;
  return acked_;
}

NodeSession::Info NodeSession::info() const {
  return {node_id_, centre_id_, link_ ? link_->remote() : "", software_version_, since_ms_, acked_};
}

void NodeSession::fail(ErrorCode code, const std::string& msg) {
  if (state_ == State::closed) return;
  spdlog::warn("sync: closing {} ({}): {}", node_id_.empty() ? (link_ ? link_->remote() : "?") : node_id_,
               wire::error_code_name(code), msg);
  if (state_ == State::await_hello || state_ == State::enrol) ++ctx_.metrics.handshake_failures;
  if (link_) link_->send(wire::encode_frame(wire::error_frame(code, msg)));
  close_link();
  check_invariants();
}

void NodeSession::close_link() {
  const State was = state_;
  enter(State::closed);
  if (link_) {
    close_requested_ = true;
    link_->close();
  }
  if (was == State::streaming) ctx_.host.detach(*this);
}

void NodeSession::on_enrol(const wire::Enrol& e) {
  const int64_t now = ctx_.now_ms();
  auto r = ctx_.registry.enrol(e.code, now);
  if (!r) {
    spdlog::warn("enrol: refused a code from {}: {}", link_->remote(), r.status().message());
    return fail(wire::error_code_for(wire::Step::enrolment, r.status()), r.status().message());
  }
  spdlog::info("enrol: node {} of centre {} enrolled from {}", r->node_id, r->centre_id, link_->remote());
  send(wire::Enrolled{r->node_id, r->secret, r->centre_id, ctx_.hub_id, static_cast<uint64_t>(now)});
  close_link();
  check_invariants();
}

void NodeSession::on_hello(const wire::Hello& h) {
  if (h.protocol_version != wire::kProtocolVersion)
    return fail(ErrorCode::unsupported_version, "protocol version " + std::to_string(h.protocol_version) +
                                                    " is not supported; hub speaks " +
                                                    std::to_string(wire::kProtocolVersion));
  if (Status v = ctx_.registry.verify(h.node_id, nonce_, h.proof); !v)
    return fail(wire::error_code_for(wire::Step::proof, v), v.message());
  auto centre = ctx_.registry.centre_of(h.node_id);
  if (!centre) return fail(ErrorCode::unknown_node, centre.status().message());
  auto cursor = ctx_.store.origin_cursor(h.node_id);
  auto stats = ctx_.store.stats();
  if (!cursor || !stats)
    return fail(wire::error_code_for(wire::Step::store, !cursor ? cursor.status() : stats.status()),
                "hub store error; retry later");
  node_id_ = h.node_id;
  centre_id_ = *centre;
  software_version_ = h.software_version;
  since_ms_ = ctx_.now_ms();
  sent_ = acked_ = saved_acked_ = h.hub_cursor;
  if (sent_ > stats->hub_cursor) {
    // The node claims more than the hub ever issued: the hub's store was
    // restored from an older backup. Restart the node from zero; merging is
    // idempotent, so resending is safe.
    spdlog::warn("sync: node {} cursor {} is ahead of hub seq {}; resending from 0", node_id_, sent_,
                 stats->hub_cursor);
    sent_ = acked_ = 0;
  }
  if (Status t = ctx_.registry.touch(node_id_, since_ms_, software_version_); !t)
    spdlog::warn("sync: cannot record last-seen of {}: {}", node_id_, t.message());
  send(wire::Welcome{static_cast<uint64_t>(ctx_.now_ms()), *cursor, centre_id_, wire::kWindow, stats->hub_cursor});
  spdlog::info("sync: node {} ({}) connected from {}, node cursor {}, hub cursor {}", node_id_, centre_id_,
               link_->remote(), *cursor, sent_);
  enter(State::streaming);
  ctx_.host.attach(shared_from_this());
  check_invariants();
  pump();
}

// A batch is queued for the hub's next group commit; on_applied answers it.
void NodeSession::on_changes(wire::Changes&& ch) {
  NodeBatch b;
  b.node_id = node_id_;
  b.changes = std::move(ch.changes);  // decode_frame checked every change
  b.judge = [node = node_id_, centre = centre_id_](const Change& c, const Record* existing, const std::string& host) {
    PermissionContext ctx{node, centre, existing, host};
    return check_node_change(ctx, c);
  };
  ctx_.host.submit(shared_from_this(), std::move(b));
}

void NodeSession::on_applied(const Result<ApplyReport>& rep, int64_t elapsed_ms) {
  if (state_ != State::streaming || !link_) return;
  if (!rep) {
    const ErrorCode code = wire::error_code_for(wire::Step::applying, rep.status());
    if (code != ErrorCode::internal) return fail(code, rep.status().message());
    spdlog::error("sync: applying a batch from {} failed: {}", node_id_, rep.status().message());
    return fail(code, "hub store error; retry later");
  }
  observe_latency(elapsed_ms);
  ctx_.metrics.changes_applied += rep->applied;
  ctx_.metrics.rejected += rep->rejections.size();
  wire::Ack ack;
  ack.seq = rep->cursor;
  for (const auto& r : rep->rejections) {
    spdlog::warn("sync: rejected change {}#{} ({} {}): {}", r.origin, r.origin_seq, r.entity, r.code, r.field);
    ack.rejections.push_back({r.origin_seq, wire::rejection_error_code(r.code), r.message, r.field});
  }
  send(ack);
}

void NodeSession::on_ack(const wire::Ack& a) {
  if (a.seq > sent_) return fail(ErrorCode::protocol_violation, "ack beyond what was sent");
  while (!inflight_.empty() && inflight_.front() <= a.seq) inflight_.pop_front();
  if (a.seq > acked_) acked_ = a.seq;  // persisted by SyncHub::tick
  pump();
}

void NodeSession::observe_latency(int64_t ms) {
  static constexpr int64_t kBounds[] = {1, 2, 5, 10, 25, 50, 100, 250, 1000};
  size_t i = 0;
  while (i < std::size(kBounds) && ms > kBounds[i]) ++i;
  ++ctx_.metrics.apply_ms_buckets[i];
  ctx_.metrics.apply_ms_sum += static_cast<double>(ms);
}

}  // namespace terril

// NodeSession: the hub's protocol state machine for one node's link (see
// node_session.h for the states, transitions and invariants).
#include "hub/node_session.h"

#include <spdlog/spdlog.h>

#include <cassert>

#include <algorithm>

#include "common/core/routing.h"
#include "common/core/text.h"
#include "common/net/auth.h"
#include "common/store/anti_entropy.h"
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

std::string encode_note(const RepairNote& n) {
  return std::to_string(n.at_ms) + "," + std::to_string(n.received) + "," + std::to_string(n.sent) + "," +
         std::to_string(n.purged) + "," + (n.witness ? "1" : "0");
}

RepairNote decode_note(std::string_view text) {
  RepairNote n;
  uint64_t v[5] = {};
  size_t i = 0;
  for (size_t pos = 0; i < 5 && pos <= text.size(); ++i) {
    size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    for (char c : text.substr(pos, end - pos)) {
      if (c < '0' || c > '9') return RepairNote{};
      v[i] = v[i] * 10 + static_cast<uint64_t>(c - '0');
    }
    pos = end + 1;
  }
  if (i != 5) return RepairNote{};
  n.at_ms = static_cast<int64_t>(v[0]);
  n.received = v[1];
  n.sent = v[2];
  n.purged = v[3];
  n.witness = v[4] != 0;
  return n;
}

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
      if (auto* ch = std::get_if<wire::Changes>(&f)) return on_changes(std::move(*ch), bytes.size());
      if (auto* a = std::get_if<wire::Ack>(&f)) return on_ack(*a);
      if (auto* d = std::get_if<wire::DigestCheck>(&f)) return on_digest_check(*d);
      if (auto* r = std::get_if<wire::Repair>(&f)) return on_repair(std::move(*r), bytes.size());
      if (auto* e = std::get_if<wire::Error>(&f)) {
        spdlog::warn("sync: node {} reported error {}: {}", node_id_, static_cast<int>(e->code),
                     printable(e->message, 200));
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
  const std::string& from = link_->remote();
  // Codes are refused before the registry is asked once an address has made
  // too many wrong attempts: guessing costs no database work.
  if (ctx_.enrol_limiter) {
    if (int64_t wait = ctx_.enrol_limiter->retry_after_ms(from, now); wait > 0) {
      spdlog::warn("enrol: too many refused codes from {}; refusing for {} s", from, (wait + 999) / 1000);
      return fail(ErrorCode::bad_enrol_code, "too many refused enrolment codes from this address; retry in " +
                                                 std::to_string((wait + 999) / 1000) + " s");
    }
  }
  auto r = ctx_.registry.enrol(e.code, now);
  if (!r) {
    if (ctx_.enrol_limiter && r.status().code() == Code::forbidden) ctx_.enrol_limiter->record_failure(from, now);
    spdlog::warn("enrol: refused a code from {}: {}", from, r.status().message());
    return fail(wire::error_code_for(wire::Step::enrolment, r.status()), r.status().message());
  }
  // The code stays valid until the box's first Hello proved with this
  // secret (Registry::verify): a cut link here leaves it usable.
  spdlog::info("enrol: node {} of centre {}: secret offered to {}", r->node_id, r->centre_id, from);
  send(wire::Enrolled{r->node_id, r->secret, r->centre_id, ctx_.hub_id, static_cast<uint64_t>(now)});
  close_link();
  check_invariants();
}

void NodeSession::on_hello(const wire::Hello& h) {
  if (h.protocol_version != wire::kProtocolVersion)
    return fail(ErrorCode::unsupported_version, "protocol version " + std::to_string(h.protocol_version) +
                                                    " is not supported; hub speaks " +
                                                    std::to_string(wire::kProtocolVersion));
  if (Status v = ctx_.registry.verify(h.node_id, nonce_, h.proof, ctx_.now_ms()); !v) {
    // The log says why; the node hears one answer for an unknown id and a
    // wrong proof, so ids cannot be probed (a revoked box, proved, is told).
    const ErrorCode code = wire::error_code_for(wire::Step::proof, v);
    if (code == ErrorCode::internal || v.code() == Code::io || v.code() == Code::full) {
      spdlog::error("sync: handshake from {}: {}", link_->remote(), v.message());
      return fail(ErrorCode::internal, "hub store error; retry later");
    }
    spdlog::warn("sync: handshake from {} refused: {}", link_->remote(), printable(v.message(), 200));
    return fail(code, code == ErrorCode::revoked_node ? "node revoked" : "unknown node or bad proof");
  }
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
  // History checks (docs/design.md "Replicas that heal"): a node cursor this
  // hub never issued, or own changes of the node it no longer holds, mean
  // this hub was restored from an older copy. Resume from where both agree;
  // the records travel again through anti-entropy, with this node trusted
  // as a witness of what was lost.
  uint64_t rewound = 0;
  // A repair left unfinished by an earlier link keeps its witness.
  if (auto m = ctx_.store.meta(repair_note_key(h.node_id)); m && *m) {
    note_ = decode_note(**m);
    witness_ = note_.witness;
  }
  auto fork = ctx_.store.hub_fork_point(h.hub_cursor);
  auto cursor_hlc = ctx_.store.origin_cursor_hlc(h.node_id);
  if (!fork || !cursor_hlc)
    return fail(wire::error_code_for(wire::Step::store, !fork ? fork.status() : cursor_hlc.status()),
                "hub store error; retry later");
  if (*fork < h.hub_cursor) {
    rewound = h.hub_cursor - *fork;
    sent_ = acked_ = saved_acked_ = *fork;
    witness_ = true;
    spdlog::warn("sync: node {} applied hub history up to {} that this hub does not hold (restored); resuming at {}",
                 node_id_, h.hub_cursor, *fork);
  }
  if (h.node_acked > *cursor) {
    if (Status s = ctx_.store.raise_origin_cursor(h.node_id, h.node_acked); !s)
      return fail(wire::error_code_for(wire::Step::store, s), "hub store error; retry later");
    witness_ = true;
    spdlog::warn("sync: node {} says this hub held its changes up to {}, the store ends at {} (restored)", node_id_,
                 h.node_acked, *cursor);
  }
  if (witness_) {
    ++ctx_.metrics.restores_detected;
    note_.witness = true;
    note_.at_ms = since_ms_;
    ctx_.host.repaired(node_id_, note_);
  }
  if (Status t = ctx_.registry.touch(node_id_, since_ms_, software_version_); !t)
    spdlog::warn("sync: cannot record last-seen of {}: {}", node_id_, t.message());
  // Authenticated: frames up to the protocol's limit from now on (before
  // this, the listener's small pre-authentication limit held, M1).
  link_->set_read_limit(wire::kMaxFrameBytes + (64u << 10));
  send(wire::Welcome{static_cast<uint64_t>(ctx_.now_ms()), *cursor, centre_id_, wire::kWindow, stats->hub_cursor,
                     *cursor_hlc, rewound});
  spdlog::info("sync: node {} ({}) connected from {}, node cursor {}, hub cursor {}", node_id_, centre_id_,
               link_->remote(), *cursor, sent_);
  enter(State::streaming);
  ctx_.host.attach(shared_from_this());
  check_invariants();
  pump();
}

// A batch is queued for the hub's next group commit; on_applied answers it.
void NodeSession::on_changes(wire::Changes&& ch, size_t frame_bytes) {
  NodeBatch b;
  b.node_id = node_id_;
  b.changes = std::move(ch.changes);  // validated one by one when applied: a bad one is rejected alone
  b.node_centre = centre_id_;
  b.judge = [node = node_id_, centre = centre_id_](const Change& c, const Record* existing, const std::string& host) {
    PermissionContext ctx{node, centre, existing, host};
    return check_node_change(ctx, c);
  };
  submitted(std::nullopt, frame_bytes);
  ctx_.host.submit(shared_from_this(), std::move(b));
}

// Inbound window: what this node has in the group commit is bounded (as many
// batches as the window it was given at Welcome, and kMaxInboundBytes of
// frames). At the bound the link stops reading, so a node that pipelines
// more is slowed by TCP, not buffered here; reading resumes as batches apply.
void NodeSession::submitted(std::optional<wire::Repair> repair, size_t frame_bytes) {
  submitted_.push_back({std::move(repair), frame_bytes});
  inbound_bytes_ += frame_bytes;
  if (!reading_paused_ && link_ && (submitted_.size() >= wire::kWindow || inbound_bytes_ >= kMaxInboundBytes)) {
    reading_paused_ = true;
    ++ctx_.metrics.inbound_pauses;
    link_->set_reading(false);
  }
}

void NodeSession::on_digest_check(const wire::DigestCheck& c) {
  ++ctx_.metrics.digest_checks;
  auto reply = answer_digest_check(ctx_.store, centre_id_, c);
  if (!reply) {
    spdlog::error("sync: digest check of {} failed: {}", node_id_, reply.status().message());
    return fail(wire::error_code_for(wire::Step::store, reply.status()), "hub store error; retry later");
  }
  // A level-0 check that matches: this node holds nothing this hub lacks.
  const bool level0 =
      std::all_of(c.ranges.begin(), c.ranges.end(), [](const RangeDigest& d) { return d.key.owner.empty(); });
  if (level0 && reply->empty() && witness_) {
    witness_ = false;
    note_.witness = false;
    ctx_.host.repaired(node_id_, note_);
  }
  send(*reply);
}

// Records go through the group commit like changes; the answer (the
// records wanted, and the purges) follows the commit.
void NodeSession::on_repair(wire::Repair&& r, size_t frame_bytes) {
  if (r.records.empty()) return answer_repair(r, ApplyReport{});
  NodeBatch b;
  b.node_id = node_id_;
  b.records = std::move(r.records);
  b.node_centre = centre_id_;
  b.witness = witness_;
  r.records.clear();
  submitted(std::move(r), frame_bytes);
  ctx_.host.submit(shared_from_this(), std::move(b));
}

void NodeSession::answer_repair(const wire::Repair& r, const ApplyReport& applied) {
  auto frames = terril::answer_repair(ctx_.store, r, applied);
  if (!frames) {
    spdlog::error("sync: repair with {} failed: {}", node_id_, frames.status().message());
    return fail(wire::error_code_for(wire::Step::store, frames.status()), "hub store error; retry later");
  }
  uint64_t sent = 0;
  for (const auto& f : *frames) sent += f.records.size();
  ctx_.metrics.repair_records_in += applied.repaired;
  ctx_.metrics.repair_records_out += sent;
  ctx_.metrics.repair_purges += applied.purge.size();
  if (applied.repaired + sent + applied.purge.size() > 0) {
    note_.at_ms = ctx_.now_ms();
    note_.received += applied.repaired;
    note_.sent += sent;
    note_.purged += applied.purge.size();
    ctx_.host.repaired(node_id_, note_);
  }
  for (auto& f : *frames) send(f);
}

void NodeSession::push_repair(wire::Repair r) {
  if (state_ != State::streaming || !link_) return;
  ctx_.metrics.repair_records_out += r.records.size();
  ctx_.metrics.repair_purges += r.purge.size();
  send(r);
}

void NodeSession::on_applied(const Result<ApplyReport>& rep, int64_t elapsed_ms) {
  std::optional<wire::Repair> repair;
  if (!submitted_.empty()) {
    repair = std::move(submitted_.front().repair);
    inbound_bytes_ -= submitted_.front().bytes;
    submitted_.pop_front();
  }
  if (reading_paused_ && link_ && submitted_.size() < wire::kWindow && inbound_bytes_ < kMaxInboundBytes) {
    reading_paused_ = false;
    link_->set_reading(true);
  }
  if (state_ != State::streaming || !link_) return;
  if (repair && rep) return answer_repair(*repair, *rep);
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

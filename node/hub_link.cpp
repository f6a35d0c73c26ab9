// HubLink: the node's protocol state machine for one link to the hub (see
// hub_link.h for the states, transitions and invariants).
#include "node/hub_link.h"

#include <spdlog/spdlog.h>

#include <cassert>

#include "common/store/store.h"
#include "common/ops/tls.h"

namespace terril {

namespace {
// Re-stamp only what is far ahead of the hub: a minute of drift is normal.
constexpr int64_t kFutureToleranceMs = 60 * 1000;

using State = HubLink::State;
using wire::ErrorCode;

// The transition table of hub_link.h.
[[maybe_unused]] bool allowed(State from, State to) {
  if (to == State::closed) return true;
  return (from == State::await_open && to == State::await_challenge) ||
         (from == State::await_challenge && to == State::await_welcome) ||
         (from == State::await_welcome && to == State::streaming);
}

std::string list(const std::vector<uint32_t>& versions) {
  std::string out;
  for (auto v : versions) out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out;
}
}  // namespace

HubLink::HubLink(Store& store, SyncState& state, Credentials creds, HubLinkOptions opts)
    : store_(store), state_(state), creds_(std::move(creds)), opts_(std::move(opts)) {
  check_invariants();
}

void HubLink::enter(State to) {
  assert(allowed(st_, to));
  st_ = to;
}

void HubLink::check_invariants() const {
#ifndef NDEBUG
  switch (st_) {
    case State::await_open:
      assert(!link_);
      assert(!hello_sent_ && sent_ == 0 && inflight_.empty());
      break;
    case State::await_challenge:
      assert(link_);
      assert(!hello_sent_ && sent_ == 0 && inflight_.empty());
      break;
    case State::await_welcome:
      assert(link_);
      assert(hello_sent_ && inflight_.empty());
      break;
    case State::streaming:
      assert(link_);
      assert(state_.connected);
      assert(wire::window_consistent(inflight_, acked_, sent_));
      break;
    case State::closed:
      break;
  }
#endif
}

void HubLink::on_open(Link& link) {
  link_ = &link;
  enter(State::await_challenge);
  check_invariants();
}

void HubLink::fail(ErrorCode code, const std::string& msg) {
  spdlog::warn("sync: closing link to hub: {}", msg);
  state_.last_error = msg;
  if (link_) {
    link_->send(wire::encode_frame(wire::error_frame(code, msg)));
    link_->close();
  }
  enter(State::closed);
  check_invariants();
}

void HubLink::send_frame(const wire::Frame& f) {
  std::string bytes = wire::encode_frame(f);
  state_.bytes_sent += bytes.size();
  if (link_) link_->send(std::move(bytes));
}

void HubLink::on_message(std::string_view bytes) {
  if (st_ == State::closed) return;
  state_.bytes_received += bytes.size();
  auto decoded = wire::decode_frame(bytes);
  if (!decoded) return fail(wire::error_code_for(wire::Step::decoding, decoded.status()), decoded.status().message());
  wire::Frame& f = *decoded;
  if (auto* e = std::get_if<wire::Error>(&f)) return on_error(*e);
  switch (st_) {
    case State::await_challenge:
      if (auto* c = std::get_if<wire::Challenge>(&f)) return on_challenge(*c);
      return fail(ErrorCode::protocol_violation, "expected Challenge");
    case State::await_welcome:
      if (auto* w = std::get_if<wire::Welcome>(&f)) return on_welcome(*w);
      return fail(ErrorCode::protocol_violation, "expected Welcome");
    case State::streaming:
      if (auto* ch = std::get_if<wire::Changes>(&f)) return on_changes(std::move(*ch));
      if (auto* a = std::get_if<wire::Ack>(&f)) return on_ack(*a);
      if (auto* d = std::get_if<wire::DigestReply>(&f)) return on_digest_reply(*d);
      if (auto* r = std::get_if<wire::Repair>(&f)) return on_repair(*r);
      return fail(ErrorCode::protocol_violation, "unexpected frame while streaming");
    default:
      return;
  }
}

void HubLink::on_closed(std::string_view why) {
  if (st_ == State::streaming) spdlog::info("sync: link to hub lost ({})", why);
  enter(State::closed);
  link_ = nullptr;
  check_invariants();
  if (opts_.on_lost) opts_.on_lost(last_error_code_);
}

void HubLink::on_challenge(const wire::Challenge& c) {
  bool speaks = false;
  for (auto v : c.protocol_versions) speaks = speaks || v == wire::kProtocolVersion;
  if (!speaks) {
    return fail(ErrorCode::unsupported_version, "hub speaks protocol versions [" + list(c.protocol_versions) +
                                                    "], this node speaks " + std::to_string(wire::kProtocolVersion) +
                                                    ": upgrade terril-node");
  }
  if (!creds_.hub_id.empty() && c.hub_id != creds_.hub_id)
    return fail(ErrorCode::protocol_violation, "hub id " + c.hub_id + " is not the hub this node enrolled with");
  auto stats = store_.stats();
  if (!stats) return fail(ErrorCode::internal, "node store error: " + stats.status().message());
  hub_cursor_ = stats->hub_cursor;
  challenge_at_ms_ = opts_.now_ms();
  send_frame(wire::Hello{creds_.node_id, hmac_sha256(creds_.node_secret, c.nonce), wire::kProtocolVersion,
                         opts_.software_version, hub_cursor_, stats->acked_seq});
  hello_sent_ = true;
  enter(State::await_welcome);
  check_invariants();
}

void HubLink::on_welcome(const wire::Welcome& w) {
  int64_t now = opts_.now_ms();
  // The hub's clock at receipt is about hub_time + half the round trip.
  int64_t rtt = std::max<int64_t>(0, now - challenge_at_ms_);
  int64_t offset = static_cast<int64_t>(w.hub_time_ms) + rtt / 2 - now;
  if (Status s = store_.set_clock_offset(offset); !s) return fail(ErrorCode::internal, s.message());
  state_.clock_offset_ms = offset;
  if (std::llabs(offset) > 5 * 60 * 1000)
    spdlog::warn("sync: local clock is {} s off the hub's; using the hub's time", offset / 1000);
  auto own = store_.stats();
  if (!own) return fail(ErrorCode::internal, own.status().message());
  // History checks (docs/design.md "Replicas that heal"). The hub holds our
  // changes up to node_cursor: if those are not the changes our log holds
  // under those numbers (our log ends before, or the change there has
  // another stamp), this box was restored from an older image and its
  // unsent changes reuse numbers the hub has seen: renumber them above.
  if (w.node_cursor > own->acked_seq) {
    auto mine = store_.own_change_hlc(w.node_cursor);
    if (!mine) return fail(ErrorCode::internal, mine.status().message());
    if (w.node_cursor > own->own_seq || (w.node_cursor_hlc != 0 && *mine != w.node_cursor_hlc)) {
      auto n = store_.renumber_unsent(w.node_cursor);
      if (!n) return fail(ErrorCode::internal, n.status().message());
      state_.renumbered += *n;
      spdlog::warn(
          "sync: the hub holds changes up to {} from this node that are not in the local log (box restored from "
          "an older image): {} unsent change(s) renumbered; what was lost comes back from the hub",
          w.node_cursor, *n);
    }
  }
  // The hub lost changes it had acknowledged (restored hub): send the
  // records they touched again, whole.
  std::vector<RecordRef> resend;
  if (w.node_cursor < own->acked_seq) {
    auto refs = store_.refs_changed_after(w.node_cursor);
    if (!refs) return fail(ErrorCode::internal, refs.status().message());
    resend = std::move(*refs);
    state_.hub_lost += own->acked_seq - w.node_cursor;
    spdlog::warn("sync: the hub lost {} of this node's changes (restored from an older copy); resending {} record(s)",
                 own->acked_seq - w.node_cursor, resend.size());
  }
  if (w.hub_rewound > 0) {
    // Applied hub history the hub no longer has: resume where both agree.
    const uint64_t fork = hub_cursor_ > w.hub_rewound ? hub_cursor_ - w.hub_rewound : 0;
    if (Status s = store_.rewind_hub_cursor(fork); !s) return fail(ErrorCode::internal, s.message());
    spdlog::warn("sync: the hub went back {} sequence(s) (restored); resuming from {}", w.hub_rewound, fork);
    hub_cursor_ = fork;
  }
  if (w.node_cursor > own->acked_seq)
    if (Status s = store_.set_acked(w.node_cursor); !s) return fail(ErrorCode::internal, s.message());
  // Only changes the hub does not hold may be re-stamped: acknowledge first.
  auto restamped = store_.restamp_future(now, kFutureToleranceMs);
  if (!restamped) return fail(ErrorCode::internal, restamped.status().message());
  if (*restamped > 0) spdlog::warn("sync: re-stamped {} unsent changes made while the clock was ahead", *restamped);
  sent_ = acked_ = w.node_cursor;
  hub_seq_at_welcome_ = w.hub_seq;
  caught_up_down_ = hub_cursor_ >= w.hub_seq;
  state_.connected = true;
  enter(State::streaming);
  check_invariants();
  state_.offline_since_ms = 0;
  state_.last_error.clear();
  if (state_.centre_id.empty()) state_.centre_id = w.centre_id;
  spdlog::info("sync: connected to hub (node cursor {}, hub cursor {}, hub seq {})", w.node_cursor, hub_cursor_,
               w.hub_seq);
  if (opts_.on_handshake) opts_.on_handshake();
  pump();
  // The records the hub lost go at once; the digest round waits until both
  // directions are caught up (mark_synced_if_idle), so it never sends as
  // repairs the changes still on their way.
  if (!resend.empty()) {
    if (!reconciler_) reconciler_ = std::make_unique<Reconciler>(store_, state_.centre_id);
    auto frames = reconciler_->resend(resend);
    if (!frames) return fail(ErrorCode::internal, "node store error: " + frames.status().message());
    for (auto& f : *frames) send_frame(std::move(f));
  }
  round_due_ = true;
  mark_synced_if_idle();
}

void HubLink::start_round() {
  if (st_ != State::streaming) return;
  if (!reconciler_) reconciler_ = std::make_unique<Reconciler>(store_, state_.centre_id);
  if (reconciler_->busy()) return;
  auto check = reconciler_->start();
  if (!check) return fail(ErrorCode::internal, "node store error: " + check.status().message());
  round_due_ = false;
  round_started_ms_ = opts_.now_ms();
  send_frame(std::move(*check));
}

void HubLink::check_due() {
  if (st_ != State::streaming) return;
  if (opts_.now_ms() - round_started_ms_ >= opts_.repair_interval_ms) round_due_ = true;
  mark_synced_if_idle();
}

void HubLink::on_digest_reply(const wire::DigestReply& r) {
  if (!reconciler_) return fail(ErrorCode::protocol_violation, "DigestReply without a check");
  auto step = reconciler_->on_reply(r);
  if (!step) return fail(ErrorCode::internal, "node store error: " + step.status().message());
  for (auto& c : step->checks) send_frame(std::move(c));
  for (auto& x : step->repairs) send_frame(std::move(x));
  finish_round_if_done();
}

void HubLink::on_repair(const wire::Repair& r) {
  if (!reconciler_) reconciler_ = std::make_unique<Reconciler>(store_, state_.centre_id);
  const bool was_busy = reconciler_->busy();
  if (Status s = reconciler_->on_repair(r, opts_.now_ms()); !s)
    return fail(ErrorCode::internal, "node store error: " + s.message());
  if (r.round == 0 && (!r.records.empty() || !r.purge.empty())) {
    // Pushed by the hub outside a round (a registration moved here or away).
    state_.repaired_total += r.records.size() + r.purge.size();
    spdlog::info("sync: the hub sent {} record(s) and {} purge(s) (audience change)", r.records.size(), r.purge.size());
  }
  pump();  // what the seat rules did after the repair (a freed seat used) goes now
  if (was_busy) finish_round_if_done();
}

void HubLink::finish_round_if_done() {
  if (!reconciler_ || reconciler_->busy()) return;
  const ReconcileStats& st = reconciler_->stats();
  const int64_t now = opts_.now_ms();
  ++state_.repair_rounds;
  state_.last_check_ms = now;
  const uint64_t moved = st.pushed + st.pulled + st.purged;
  if (moved == 0) return;
  state_.last_repair_ms = now;
  state_.last_repair_pushed = st.pushed;
  state_.last_repair_pulled = st.pulled;
  state_.last_repair_purged = st.purged;
  state_.repaired_total += moved;
  spdlog::info("sync: repair round {}: {} record(s) sent, {} received, {} purged", reconciler_->round(), st.pushed,
               st.pulled, st.purged);
  const std::string v = std::to_string(now) + "," + std::to_string(st.pushed) + "," + std::to_string(st.pulled) + "," +
                        std::to_string(st.purged);
  if (Status s = store_.set_meta("last_repair", v); !s) spdlog::warn("sync: cannot record the repair: {}", s.message());
}

void HubLink::wipe_revoked() {
  if (state_.wiped_at_ms) return;
  auto rep = store_.wipe_personal(state_.centre_id.empty() ? creds_.centre_id : state_.centre_id, opts_.now_ms());
  if (!rep) {
    spdlog::error("sync: revoked, but wiping personal data failed: {}", rep.status().message());
    return;
  }
  state_.wiped_at_ms = opts_.now_ms();
  state_.wiped_count = rep->removed;
  spdlog::warn(
      "sync: the hub says this box is revoked: {} registration(s) removed from it; {} never sent kept (a "
      "technician can recover them)",
      rep->removed, rep->kept);
}

void HubLink::pump() {
  if (st_ != State::streaming || !link_) return;
  while (inflight_.size() < wire::kWindow) {
    auto out = store_.own_changes_after(sent_, wire::kMaxBatchChanges);
    if (!out) return fail(ErrorCode::internal, out.status().message());
    if (out->changes.empty()) break;
    state_.changes_sent += out->changes.size();
    send_frame(wire::Changes{std::move(out->changes), out->last_seq});
    sent_ = out->last_seq;
    inflight_.push_back(sent_);
  }
  check_invariants();
}

void HubLink::on_changes(wire::Changes&& ch) {
  // decode_frame checked every change.
  auto rep = store_.apply_from_hub(ch.changes, ch.last_seq, opts_.now_ms());
  if (!rep) {
    spdlog::error("sync: applying a batch from the hub failed: {}", rep.status().message());
    return fail(ErrorCode::internal, "node store error: " + rep.status().message());
  }
  state_.changes_received += rep->applied;
  hub_cursor_ = std::max(hub_cursor_, ch.last_seq);
  send_frame(wire::Ack{ch.last_seq, {}});
  if (rep->seat_writes) pump();  // promotions and returns the batch caused go now
  if (hub_cursor_ >= hub_seq_at_welcome_) caught_up_down_ = true;
  mark_synced_if_idle();
}

void HubLink::on_ack(const wire::Ack& a) {
  if (a.seq > sent_) return fail(ErrorCode::protocol_violation, "ack beyond what was sent");
  std::vector<Rejection> rej;
  for (const auto& r : a.rejections) {
    Rejection x;
    x.origin = creds_.node_id;
    x.origin_seq = r.origin_seq;
    x.code = wire::rejection_code(r.code);
    x.field = r.field;
    x.message = r.message;
    x.at_ms = opts_.now_ms();
    rej.push_back(std::move(x));
  }
  if (!rej.empty()) {
    spdlog::warn("sync: the hub refused {} change(s); see `terril-node status`", rej.size());
    if (Status s = store_.add_rejections(rej); !s) return fail(ErrorCode::internal, s.message());
  }
  if (Status s = store_.set_acked(a.seq); !s) return fail(ErrorCode::internal, s.message());
  acked_ = std::max(acked_, a.seq);
  while (!inflight_.empty() && inflight_.front() <= a.seq) inflight_.pop_front();
  pump();
  mark_synced_if_idle();
}

void HubLink::on_error(const wire::Error& e) {
  last_error_code_ = e.code;
  std::string msg = e.message;
  if (e.code == ErrorCode::unsupported_version) {
    msg = "the hub speaks protocol versions [" + list(e.protocol_versions) + "] and this node speaks " +
          std::to_string(wire::kProtocolVersion) + ": upgrade terril-node (or the hub)";
  }
  spdlog::error("sync: hub refused the link ({}): {}", wire::error_code_name(e.code), msg);
  if (e.code == ErrorCode::revoked_node) wipe_revoked();
  state_.last_error = wire::error_code_name(e.code) + ": " + msg;
  enter(State::closed);
  if (link_) link_->close();
  check_invariants();
}

void HubLink::mark_synced_if_idle() {
  if (st_ != State::streaming || !inflight_.empty() || !caught_up_down_) return;
  state_.last_sync_ms = opts_.now_ms();
  if (round_due_) start_round();
}

}  // namespace terril

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
                         opts_.software_version, hub_cursor_});
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
  if (w.node_cursor > own->own_seq) {
    // The hub holds more of our changes than we ever made: this box's store
    // was replaced or restored. Continuing would reuse origin_seq numbers.
    return fail(ErrorCode::protocol_violation, "hub holds changes up to " + std::to_string(w.node_cursor) +
                                                   " from this node but the local log ends at " +
                                                   std::to_string(own->own_seq) +
                                                   "; the box must be re-enrolled (terril-hub node replace)");
  }
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
  mark_synced_if_idle();
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
  state_.last_error = wire::error_code_name(e.code) + ": " + msg;
  enter(State::closed);
  if (link_) link_->close();
  check_invariants();
}

void HubLink::mark_synced_if_idle() {
  if (st_ != State::streaming || !inflight_.empty() || !caught_up_down_) return;
  state_.last_sync_ms = opts_.now_ms();
}

}  // namespace terril

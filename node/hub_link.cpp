#include "node/hub_link.h"

#include <spdlog/spdlog.h>

#include "common/store/store.h"
#include "common/tls.h"
#include "common/wire/wire.h"
#include "terril/v1/sync.pb.h"

namespace terril {

namespace {
// Re-stamp only what is far ahead of the hub: a minute of drift is normal.
constexpr int64_t kFutureToleranceMs = 60 * 1000;
}  // namespace

HubLink::HubLink(Store& store, SyncState& state, Credentials creds, HubLinkOptions opts)
    : store_(store), state_(state), creds_(std::move(creds)), opts_(std::move(opts)) {}

void HubLink::fail(int code, const std::string& msg) {
  spdlog::warn("sync: closing link to hub: {}", msg);
  state_.last_error = msg;
  if (link_) {
    v1::Frame f;
    f.mutable_error()->set_code(static_cast<v1::ErrorCode>(code));
    f.mutable_error()->set_message(msg);
    link_->send(wire::encode_frame(f));
    link_->close();
  }
  st_ = State::closed;
}

void HubLink::send_frame(std::string bytes) {
  state_.bytes_sent += bytes.size();
  if (link_) link_->send(std::move(bytes));
}

void HubLink::on_message(std::string_view bytes) {
  if (st_ == State::closed) return;
  state_.bytes_received += bytes.size();
  v1::Frame f;
  if (Status s = wire::decode_frame(bytes, f); !s) return fail(v1::ERROR_CODE_MALFORMED_FRAME, s.message());
  if (f.msg_case() == v1::Frame::kError) return on_error(f.error());
  switch (st_) {
    case State::await_challenge:
      if (f.msg_case() != v1::Frame::kChallenge) return fail(v1::ERROR_CODE_PROTOCOL_VIOLATION, "expected Challenge");
      return on_challenge(f.challenge());
    case State::await_welcome:
      if (f.msg_case() != v1::Frame::kWelcome) return fail(v1::ERROR_CODE_PROTOCOL_VIOLATION, "expected Welcome");
      return on_welcome(f.welcome());
    case State::streaming:
      if (f.msg_case() == v1::Frame::kChanges) return on_changes(f.changes());
      if (f.msg_case() == v1::Frame::kAck) return on_ack(f.ack());
      return fail(v1::ERROR_CODE_PROTOCOL_VIOLATION, "unexpected frame while streaming");
    default:
      return;
  }
}

void HubLink::on_closed(std::string_view why) {
  if (st_ == State::streaming) spdlog::info("sync: link to hub lost ({})", why);
  st_ = State::closed;
  link_ = nullptr;
  if (opts_.on_lost) opts_.on_lost(last_error_code_);
}

void HubLink::on_challenge(const v1::Challenge& c) {
  bool speaks = false;
  for (auto v : c.protocol_versions()) speaks = speaks || v == wire::kProtocolVersion;
  if (!speaks) {
    std::string versions;
    for (auto v : c.protocol_versions()) versions += (versions.empty() ? "" : ", ") + std::to_string(v);
    return fail(v1::ERROR_CODE_UNSUPPORTED_VERSION,
                "hub speaks protocol versions [" + versions + "], this node speaks " +
                    std::to_string(wire::kProtocolVersion) + ": upgrade terril-node");
  }
  if (!creds_.hub_id.empty() && c.hub_id() != creds_.hub_id)
    return fail(v1::ERROR_CODE_PROTOCOL_VIOLATION, "hub id " + c.hub_id() + " is not the hub this node enrolled with");
  auto stats = store_.stats();
  if (!stats) return fail(v1::ERROR_CODE_INTERNAL, "node store error: " + stats.status().message());
  hub_cursor_ = stats->hub_cursor;
  challenge_at_ms_ = opts_.now_ms();
  v1::Frame f;
  auto* h = f.mutable_hello();
  h->set_node_id(creds_.node_id);
  h->set_proof(hmac_sha256(creds_.node_secret, c.nonce()));
  h->set_protocol_version(wire::kProtocolVersion);
  h->set_software_version(opts_.software_version);
  h->set_hub_cursor(hub_cursor_);
  send_frame(wire::encode_frame(f));
  st_ = State::await_welcome;
}

void HubLink::on_welcome(const v1::Welcome& w) {
  int64_t now = opts_.now_ms();
  // The hub's clock at receipt is about hub_time + half the round trip.
  int64_t rtt = std::max<int64_t>(0, now - challenge_at_ms_);
  int64_t offset = static_cast<int64_t>(w.hub_time_ms()) + rtt / 2 - now;
  if (Status s = store_.set_clock_offset(offset); !s) return fail(v1::ERROR_CODE_INTERNAL, s.message());
  state_.clock_offset_ms = offset;
  if (std::llabs(offset) > 5 * 60 * 1000)
    spdlog::warn("sync: local clock is {} s off the hub's; using the hub's time", offset / 1000);
  auto own = store_.stats();
  if (!own) return fail(v1::ERROR_CODE_INTERNAL, own.status().message());
  if (w.node_cursor() > own->own_seq) {
    // The hub holds more of our changes than we ever made: this box's store
    // was replaced or restored. Continuing would reuse origin_seq numbers.
    return fail(v1::ERROR_CODE_PROTOCOL_VIOLATION, "hub holds changes up to " + std::to_string(w.node_cursor()) +
                                                       " from this node but the local log ends at " +
                                                       std::to_string(own->own_seq) +
                                                       "; the box must be re-enrolled (terril-hub node replace)");
  }
  if (Status s = store_.set_acked(w.node_cursor()); !s) return fail(v1::ERROR_CODE_INTERNAL, s.message());
  // Only changes the hub does not hold may be re-stamped: acknowledge first.
  auto restamped = store_.restamp_future(now, kFutureToleranceMs);
  if (!restamped) return fail(v1::ERROR_CODE_INTERNAL, restamped.status().message());
  if (*restamped > 0) spdlog::warn("sync: re-stamped {} unsent changes made while the clock was ahead", *restamped);
  sent_ = w.node_cursor();
  hub_seq_at_welcome_ = w.hub_seq();
  caught_up_down_ = hub_cursor_ >= w.hub_seq();
  st_ = State::streaming;
  state_.connected = true;
  state_.offline_since_ms = 0;
  state_.last_error.clear();
  if (state_.centre_id.empty()) state_.centre_id = w.centre_id();
  spdlog::info("sync: connected to hub (node cursor {}, hub cursor {}, hub seq {})", w.node_cursor(), hub_cursor_,
               w.hub_seq());
  if (opts_.on_handshake) opts_.on_handshake();
  pump();
  mark_synced_if_idle();
}

void HubLink::pump() {
  if (st_ != State::streaming || !link_) return;
  while (inflight_.size() < wire::kWindow) {
    auto out = store_.own_changes_after(sent_, wire::kMaxBatchChanges);
    if (!out) return fail(v1::ERROR_CODE_INTERNAL, out.status().message());
    if (out->changes.empty()) return;
    v1::Frame f;
    auto* ch = f.mutable_changes();
    for (const auto& c : out->changes) wire::to_wire(c, *ch->add_changes());
    ch->set_last_seq(out->last_seq);
    send_frame(wire::encode_frame(f));
    state_.changes_sent += out->changes.size();
    sent_ = out->last_seq;
    inflight_.push_back(sent_);
  }
}

void HubLink::on_changes(const v1::Changes& ch) {
  std::vector<Change> changes;
  changes.reserve(static_cast<size_t>(ch.changes_size()));
  for (const auto& w : ch.changes()) {
    auto c = wire::from_wire(w);
    if (!c) return fail(v1::ERROR_CODE_MALFORMED_FRAME, c.status().message());
    changes.push_back(std::move(*c));
  }
  auto rep = store_.apply_from_hub(changes, ch.last_seq(), opts_.now_ms());
  if (!rep) {
    spdlog::error("sync: applying a batch from the hub failed: {}", rep.status().message());
    return fail(v1::ERROR_CODE_INTERNAL, "node store error: " + rep.status().message());
  }
  state_.changes_received += rep->applied;
  hub_cursor_ = std::max(hub_cursor_, ch.last_seq());
  v1::Frame f;
  f.mutable_ack()->set_seq(ch.last_seq());
  send_frame(wire::encode_frame(f));
  if (hub_cursor_ >= hub_seq_at_welcome_) caught_up_down_ = true;
  mark_synced_if_idle();
}

void HubLink::on_ack(const v1::Ack& a) {
  if (a.seq() > sent_) return fail(v1::ERROR_CODE_PROTOCOL_VIOLATION, "ack beyond what was sent");
  std::vector<Rejection> rej;
  for (const auto& r : a.rejections()) {
    Rejection x;
    x.origin = creds_.node_id;
    x.origin_seq = r.origin_seq();
    x.code = r.code() == v1::ERROR_CODE_FORBIDDEN_CHANGE ? "forbidden"
             : r.code() == v1::ERROR_CODE_CLOCK_SKEW     ? "clock_skew"
                                                         : "invalid";
    x.field = r.field();
    x.message = r.message();
    x.at_ms = opts_.now_ms();
    rej.push_back(std::move(x));
  }
  if (!rej.empty()) {
    spdlog::warn("sync: the hub refused {} change(s); see `terril-node status`", rej.size());
    if (Status s = store_.add_rejections(rej); !s) return fail(v1::ERROR_CODE_INTERNAL, s.message());
  }
  if (Status s = store_.set_acked(a.seq()); !s) return fail(v1::ERROR_CODE_INTERNAL, s.message());
  while (!inflight_.empty() && inflight_.front() <= a.seq()) inflight_.pop_front();
  pump();
  mark_synced_if_idle();
}

void HubLink::on_error(const v1::Error& e) {
  last_error_code_ = e.code();
  std::string msg = e.message();
  if (e.code() == v1::ERROR_CODE_UNSUPPORTED_VERSION) {
    std::string versions;
    for (auto v : e.protocol_versions()) versions += (versions.empty() ? "" : ", ") + std::to_string(v);
    msg = "the hub speaks protocol versions [" + versions + "] and this node speaks " +
          std::to_string(wire::kProtocolVersion) + ": upgrade terril-node (or the hub)";
  }
  spdlog::error("sync: hub refused the link ({}): {}", v1::ErrorCode_Name(e.code()), msg);
  state_.last_error = v1::ErrorCode_Name(e.code()) + ": " + msg;
  st_ = State::closed;
  if (link_) link_->close();
}

void HubLink::mark_synced_if_idle() {
  if (st_ != State::streaming || !inflight_.empty() || !caught_up_down_) return;
  state_.last_sync_ms = opts_.now_ms();
}

}  // namespace terril

// SyncClient: the node's connection to the hub, its one LinkState, reconnect
// backoff (see sync_client.h); and the one-shot enrolment client.
#include "node/sync_client.h"

#include <spdlog/spdlog.h>

#include <cassert>
#include <optional>
#include <random>

#include "common/core/backoff.h"
#include "common/net/event_loop.h"
#include "common/net/ws_client.h"
#include "common/store/store.h"
#include "common/ops/tls.h"
#include "common/wire/errors.h"
#include "common/wire/frames.h"
#include "node/hub_link.h"

namespace terril {

const char* link_state_name(LinkState s) {
  switch (s) {
    case LinkState::idle:
      return "idle";
    case LinkState::connecting:
      return "connecting";
    case LinkState::handshaking:
      return "handshaking";
    case LinkState::streaming:
      return "streaming";
    case LinkState::backoff:
      return "backoff";
    case LinkState::stopped:
      return "stopped";
  }
  return "?";
}

bool link_transition_allowed(LinkState from, LinkState to) {
  using S = LinkState;
  if (to == S::stopped) return true;
  switch (from) {
    case S::idle:
      return to == S::connecting;
    case S::connecting:
      return to == S::handshaking || to == S::backoff;
    case S::handshaking:
      return to == S::streaming || to == S::backoff;
    case S::streaming:
      return to == S::backoff;
    case S::backoff:
      return to == S::connecting;
    case S::stopped:
      return false;
  }
  return false;
}

struct SyncClient::Impl : std::enable_shared_from_this<SyncClient::Impl> {
  EventLoop& loop;
  Store& store;
  SyncState& state;
  Credentials creds;
  SyncClientOptions opts;
  BackoffPolicy backoff;
  Timer watchdog;
  Timer backoff_timer;
  LinkState link = LinkState::idle;
  std::shared_ptr<HubLink> peer;  // set in CONNECTING, HANDSHAKING, STREAMING (and while a stop closes it)
  std::function<void()> cancel;
  int attempt = 0;
  std::mt19937_64 rng{std::random_device{}()};

  Impl(EventLoop& l, Store& s, SyncState& st, Credentials c, SyncClientOptions o)
      : loop(l), store(s), state(st), creds(std::move(c)), opts(std::move(o)), watchdog(l), backoff_timer(l) {
    backoff.cap_ms = opts.max_backoff_ms;
  }

  void enter(LinkState to) {
    assert(link_transition_allowed(link, to));
    link = to;
    check_invariants();
    if (opts.on_state) opts.on_state(to);
  }

  void check_invariants() const {
#ifndef NDEBUG
    switch (link) {
      case LinkState::idle:
        assert(!peer && !backoff_timer.pending());
        break;
      case LinkState::connecting:
        assert(peer && peer->state() == HubLink::State::await_open && !backoff_timer.pending());
        break;
      case LinkState::handshaking:
        assert(peer && !backoff_timer.pending());
        break;
      case LinkState::streaming:
        assert(peer && peer->streaming() && !backoff_timer.pending() && attempt == 0);
        break;
      case LinkState::backoff:
        assert(!peer && backoff_timer.pending());
        break;
      case LinkState::stopped:
        assert(!backoff_timer.pending() && !watchdog.pending());
        break;
    }
#endif
  }

  // IDLE or BACKOFF (timer fired) -> CONNECTING.
  void connect() {
    if (link != LinkState::idle && link != LinkState::backoff) return;
    HubLinkOptions ho;
    ho.software_version = opts.software_version;
    ho.now_ms = opts.now_ms;
    ho.repair_interval_ms = opts.repair_interval_ms;
    std::weak_ptr<Impl> weak = weak_from_this();
    ho.on_handshake = [weak] {
      if (auto s = weak.lock()) s->handshake_done();
    };
    ho.on_lost = [weak](wire::ErrorCode code) {
      if (auto s = weak.lock()) s->link_lost(code);
    };
    peer = std::make_shared<HubLink>(store, state, creds, ho);
    enter(LinkState::connecting);
    ClientOptions co;
    co.url = creds.hub_url;
    co.pin = creds.hub_fingerprint;
    co.ws_idle_timeout_s = opts.ws_idle_timeout_s;
    cancel = connect_ws(loop, co, peer, [self = shared_from_this()](Status s, const std::string&) {
      if (self->link != LinkState::connecting) return;  // stopped meanwhile
      if (s) return self->enter(LinkState::handshaking);
      if (self->state.last_error != s.message()) spdlog::warn("sync: cannot reach hub: {}", s.message());
      self->state.last_error = s.message();
      self->peer.reset();
      self->schedule_reconnect();
    });
  }

  // Called by the HubLink when its link is gone.
  void link_lost(wire::ErrorCode code) {
    peer.reset();
    state.connected = false;
    if (state.offline_since_ms == 0) state.offline_since_ms = opts.now_ms();
    if (link == LinkState::stopped) return;
    if (wire::next_step(code) == wire::NextStep::retry_slowly) attempt = std::max(attempt, backoff.slow_attempt);
    schedule_reconnect();
  }

  void handshake_done() {
    attempt = 0;
    ++state.reconnects;
    enter(LinkState::streaming);
  }

  // CONNECTING, HANDSHAKING or STREAMING -> BACKOFF.
  void schedule_reconnect() {
    const int64_t delay = backoff_delay_ms(attempt, std::uniform_real_distribution<double>(0.0, 1.0)(rng), backoff);
    ++attempt;
    backoff_timer.start(delay, [self = shared_from_this()] { self->connect(); });
    enter(LinkState::backoff);
  }

  void arm_watchdog() {
    watchdog.start(opts.watchdog_ms, [self = shared_from_this()] {
      if (self->link == LinkState::stopped) return;
      if (self->link == LinkState::streaming) {
        self->peer->pump();
        self->peer->check_due();
      }
      self->arm_watchdog();
    });
  }
};

SyncClient::SyncClient(EventLoop& loop, Store& store, SyncState& state, Credentials creds, SyncClientOptions opts)
    : impl_(std::make_shared<Impl>(loop, store, state, std::move(creds), std::move(opts))) {
  impl_->state.enrolled = true;
  impl_->state.hub_url = impl_->creds.hub_url;
  impl_->state.node_id = impl_->creds.node_id;
  impl_->state.centre_id = impl_->creds.centre_id;
}

SyncClient::~SyncClient() {
  stop();
}

void SyncClient::start() {
  impl_->state.offline_since_ms = impl_->opts.now_ms();
  impl_->connect();
  impl_->arm_watchdog();
}

void SyncClient::stop() {
  if (!impl_ || impl_->link == LinkState::stopped) return;
  impl_->watchdog.cancel();
  impl_->backoff_timer.cancel();
  impl_->enter(LinkState::stopped);
  if (impl_->peer) impl_->peer->close();
  if (impl_->cancel) impl_->cancel();
}

void SyncClient::nudge() {
  if (impl_->link == LinkState::streaming) impl_->peer->pump();
}

LinkState SyncClient::state() const {
  return impl_->link;
}

// --- Enrolment ---------------------------------------------------------------

namespace {

class EnrolPeer : public Peer {
 public:
  EnrolPeer(std::string code, std::string version) : code_(std::move(code)), version_(std::move(version)) {}
  void on_open(Link& link) override {
    link_ = &link;
    link.send(wire::encode_frame(wire::Enrol{code_, version_}));
  }
  void on_message(std::string_view bytes) override {
    auto f = wire::decode_frame(bytes);
    if (!f) {
      result = Status(Code::invalid, "the hub sent an unreadable answer: " + f.status().message());
    } else if (auto* e = std::get_if<wire::Enrolled>(&*f)) {
      enrolled = std::move(*e);
      result = Status::ok();
    } else if (auto* err = std::get_if<wire::Error>(&*f)) {
      result = Status(Code::forbidden, err->message);
    }
    if (link_) link_->close();
  }
  void on_closed(std::string_view why) override {
    link_ = nullptr;
    if (!done) {
      done = true;
      if (result.is_ok() && !enrolled)
        result = Status(Code::unavailable, "link closed during enrolment: " + std::string(why));
    }
  }
  std::string code_, version_;
  Link* link_ = nullptr;
  Status result = Status(Code::unavailable, "no answer from the hub");
  std::optional<wire::Enrolled> enrolled;
  bool done = false;
};

}  // namespace

Result<Credentials> enrol_with_hub(const std::string& hub_url, const std::string& code,
                                   const std::string& expected_fingerprint, const std::string& software_version,
                                   int timeout_s) {
  EventLoop loop;
  auto peer = std::make_shared<EnrolPeer>(code, software_version);
  ClientOptions co;
  co.url = hub_url;
  co.query = "enrol=1";
  co.pin = expected_fingerprint;
  co.connect_timeout_s = timeout_s;
  Status connect_status = Status::ok();
  std::string fingerprint;
  auto cancel = connect_ws(loop, co, peer, [&](Status s, const std::string& fp) {
    connect_status = s;
    fingerprint = fp;
  });
  loop.run_for((timeout_s + 2) * int64_t{1000});
  cancel();
  if (!connect_status) return connect_status;
  if (!peer->enrolled) return peer->result.is_ok() ? Status(Code::unavailable, "no answer from the hub") : peer->result;
  auto parsed = parse_ws_url(hub_url);
  Credentials c;
  c.node_id = peer->enrolled->node_id;
  c.node_secret = peer->enrolled->node_secret;
  c.centre_id = peer->enrolled->centre_id;
  c.hub_id = peer->enrolled->hub_id;
  c.hub_url = hub_url;
  c.hub_fingerprint = parsed && parsed->tls ? fingerprint : "";
  c.enrolled_at_ms = static_cast<int64_t>(peer->enrolled->hub_time_ms);
  return c;
}

namespace {

// One handshake with new credentials: Challenge -> Hello -> Welcome, then close.
class ConfirmPeer : public Peer {
 public:
  ConfirmPeer(const Credentials& c, std::string version) : creds_(c), version_(std::move(version)) {}
  void on_open(Link& link) override { link_ = &link; }
  void on_message(std::string_view bytes) override {
    auto f = wire::decode_frame(bytes);
    if (!f) {
      result = Status(Code::invalid, "the hub sent an unreadable answer: " + f.status().message());
    } else if (auto* c = std::get_if<wire::Challenge>(&*f)) {
      if (!creds_.hub_id.empty() && c->hub_id != creds_.hub_id) {
        result = Status(Code::forbidden, "the hub's id is not the one that enrolled this box");
      } else if (link_) {
        link_->send(wire::encode_frame(wire::Hello{creds_.node_id, hmac_sha256(creds_.node_secret, c->nonce),
                                                   wire::kProtocolVersion, version_, 0, 0}));
        return;
      }
    } else if (std::get_if<wire::Welcome>(&*f)) {
      result = Status::ok();
    } else if (auto* err = std::get_if<wire::Error>(&*f)) {
      result = Status(Code::forbidden, err->message);
    } else {
      return;  // changes streamed after Welcome: the result is known
    }
    if (link_) link_->close();
  }
  void on_closed(std::string_view) override { link_ = nullptr; }

  const Credentials& creds_;
  std::string version_;
  Link* link_ = nullptr;
  Status result = Status(Code::unavailable, "no answer from the hub");
};

}  // namespace

Status confirm_enrolment(const Credentials& creds, const std::string& software_version, int timeout_s) {
  EventLoop loop;
  auto peer = std::make_shared<ConfirmPeer>(creds, software_version);
  ClientOptions co;
  co.url = creds.hub_url;
  co.pin = creds.hub_fingerprint;
  co.connect_timeout_s = timeout_s;
  Status connect_status = Status::ok();
  auto cancel = connect_ws(loop, co, peer, [&](Status s, const std::string&) { connect_status = s; });
  loop.run_for((timeout_s + 2) * int64_t{1000});
  cancel();
  if (!connect_status) return connect_status;
  return peer->result;
}

}  // namespace terril

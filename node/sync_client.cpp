#include "node/sync_client.h"

#include <spdlog/spdlog.h>

#include <deque>
#include <random>

#include "common/net/event_loop.h"
#include "common/net/ws_client.h"
#include "node/hub_link.h"
#include "common/store/store.h"
#include "common/tls.h"
#include "common/wire/wire.h"
#include "terril/v1/sync.pb.h"

namespace terril {

struct SyncClient::Impl : std::enable_shared_from_this<SyncClient::Impl> {
  EventLoop& loop;
  Store& store;
  SyncState& state;
  Credentials creds;
  SyncClientOptions opts;
  Timer watchdog;
  Timer backoff_timer;
  std::shared_ptr<HubLink> peer;
  std::function<void()> cancel;
  bool connecting = false;
  bool waiting_backoff = false;
  bool stopped = false;
  int attempt = 0;
  std::mt19937_64 rng{std::random_device{}()};

  Impl(EventLoop& l, Store& s, SyncState& st, Credentials c, SyncClientOptions o)
      : loop(l), store(s), state(st), creds(std::move(c)), opts(std::move(o)), watchdog(l), backoff_timer(l) {}

  void connect() {
    if (stopped || connecting || peer || waiting_backoff) return;
    connecting = true;
    HubLinkOptions ho;
    ho.software_version = opts.software_version;
    ho.now_ms = opts.now_ms;
    std::weak_ptr<Impl> weak = weak_from_this();
    ho.on_handshake = [weak] {
      if (auto s = weak.lock()) s->handshake_done();
    };
    ho.on_lost = [weak](int code) {
      if (auto s = weak.lock()) s->link_lost(code);
    };
    peer = std::make_shared<HubLink>(store, state, creds, ho);
    ClientOptions co;
    co.url = creds.hub_url;
    co.pin = creds.hub_fingerprint;
    co.ws_idle_timeout_s = opts.ws_idle_timeout_s;
    cancel = connect_ws(loop, co, peer, [self = shared_from_this()](Status s, const std::string&) {
      self->connecting = false;
      if (!s) {
        if (self->state.last_error != s.message()) spdlog::warn("sync: cannot reach hub: {}", s.message());
        self->state.last_error = s.message();
        self->peer.reset();
        self->schedule_reconnect();
      }
    });
  }

  // Called by the peer when its link is gone.
  void link_lost(int code) {
    peer.reset();
    state.connected = false;
    if (state.offline_since_ms == 0) state.offline_since_ms = opts.now_ms();
    if (code == v1::ERROR_CODE_REVOKED_NODE || code == v1::ERROR_CODE_UNKNOWN_NODE || code == v1::ERROR_CODE_BAD_PROOF)
      attempt = std::max(attempt, 6);  // needs a technician: retry slowly
    schedule_reconnect();
  }

  void handshake_done() {
    attempt = 0;
    ++state.reconnects;
  }

  void schedule_reconnect() {
    if (stopped || waiting_backoff) return;
    // Full jitter: uniform in [0, min(cap, base * 2^attempt)].
    int64_t cap = std::min<int64_t>(opts.max_backoff_ms, int64_t{1000} << std::min(attempt, 16));
    ++attempt;
    int64_t delay = std::uniform_int_distribution<int64_t>(0, cap)(rng);
    waiting_backoff = true;
    backoff_timer.start(delay, [self = shared_from_this()] {
      self->waiting_backoff = false;
      self->connect();
    });
  }

  void arm_watchdog() {
    watchdog.start(opts.watchdog_ms, [self = shared_from_this()] {
      if (self->stopped) return;
      if (self->peer && self->peer->streaming())
        self->peer->pump();
      else
        self->connect();
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
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->watchdog.cancel();
  impl_->backoff_timer.cancel();
  if (impl_->peer) impl_->peer->close();
  if (impl_->cancel) impl_->cancel();
}

void SyncClient::nudge() {
  if (impl_->peer && impl_->peer->streaming()) impl_->peer->pump();
}

// --- Enrolment ---------------------------------------------------------------

namespace {

class EnrolPeer : public Peer {
 public:
  EnrolPeer(std::string code, std::string version) : code_(std::move(code)), version_(std::move(version)) {}
  void on_open(Link& link) override {
    link_ = &link;
    v1::Frame f;
    f.mutable_enrol()->set_code(code_);
    f.mutable_enrol()->set_software_version(version_);
    link.send(wire::encode_frame(f));
  }
  void on_message(std::string_view bytes) override {
    v1::Frame f;
    if (!f.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      result = Status(Code::invalid, "the hub sent an unreadable answer");
    } else if (f.msg_case() == v1::Frame::kEnrolled) {
      enrolled = f.enrolled();
      result = Status::ok();
    } else if (f.msg_case() == v1::Frame::kError) {
      result = Status(Code::forbidden, f.error().message());
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
  std::optional<v1::Enrolled> enrolled;
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
  c.node_id = peer->enrolled->node_id();
  c.node_secret = peer->enrolled->node_secret();
  c.centre_id = peer->enrolled->centre_id();
  c.hub_id = peer->enrolled->hub_id();
  c.hub_url = hub_url;
  c.hub_fingerprint = parsed && parsed->tls ? fingerprint : "";
  c.enrolled_at_ms = static_cast<int64_t>(peer->enrolled->hub_time_ms());
  return c;
}

}  // namespace terril

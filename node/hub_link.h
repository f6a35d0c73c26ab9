// The node's protocol logic for one link to the hub (a Peer: it sees frames,
// never sockets). SyncClient owns the connection and reconnects; tests join
// a HubLink to the hub's NodeSession in memory.
//
// States: AWAIT_CHALLENGE -> (Hello sent) AWAIT_WELCOME -> STREAMING -> CLOSED.
// Invariants in STREAMING: sent_ >= acked (store); inflight_ holds the
// last_seq of each unacknowledged batch, ascending, size <= window; the hub
// cursor is advanced only in the transaction that applied the batch.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "common/credentials.h"
#include "common/net/link.h"
#include "node/sync_state.h"

namespace terril::v1 {
class Challenge;
class Welcome;
class Changes;
class Ack;
class Error;
}  // namespace terril::v1

namespace terril {

class Store;

struct HubLinkOptions {
  std::string software_version;
  std::function<int64_t()> now_ms;
  // Called when the handshake succeeds, and when the link is gone with the
  // hub's error code (0 if none).
  std::function<void()> on_handshake;
  std::function<void(int error_code)> on_lost;
};

class HubLink : public Peer {
 public:
  HubLink(Store& store, SyncState& state, Credentials creds, HubLinkOptions opts);

  void on_open(Link& link) override { link_ = &link; }
  void on_message(std::string_view bytes) override;
  void on_closed(std::string_view why) override;

  // Send what is pending, within the window. Safe to call any time.
  void pump();
  bool streaming() const { return st_ == State::streaming; }
  void close() {
    if (link_) link_->close();
  }

 private:
  enum class State { await_challenge, await_welcome, streaming, closed };
  void fail(int code, const std::string& msg);
  void send_frame(std::string bytes);
  void on_challenge(const v1::Challenge& c);
  void on_welcome(const v1::Welcome& w);
  void on_changes(const v1::Changes& c);
  void on_ack(const v1::Ack& a);
  void on_error(const v1::Error& e);
  void mark_synced_if_idle();

  Store& store_;
  SyncState& state_;
  Credentials creds_;
  HubLinkOptions opts_;
  Link* link_ = nullptr;
  State st_ = State::await_challenge;
  uint64_t sent_ = 0;
  std::deque<uint64_t> inflight_;
  int64_t challenge_at_ms_ = 0;
  bool caught_up_down_ = false;
  uint64_t hub_seq_at_welcome_ = 0;
  uint64_t hub_cursor_ = 0;
  int last_error_code_ = 0;
};

}  // namespace terril

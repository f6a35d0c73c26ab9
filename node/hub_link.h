// The node's protocol state machine for one link to the hub: HubLink, a Peer
// that sees plain frames (common/wire/frames.h), never sockets. SyncClient
// owns the connection and reconnects; tests join a HubLink to the hub's
// NodeSession (hub/node_session.h) in memory.
//
// States (every value of HubLink::State):
//
//               on_open               on_challenge              on_welcome
//   AWAIT_OPEN --------> AWAIT_CHALLENGE -----------> AWAIT_WELCOME ---------> STREAMING
//   (made by SyncClient)                (Hello sent)                            |  own changes up (window),
//                                                                               |  hub's Changes applied -> Ack,
//                                                                               |  hub's Ack -> compact log, pump
//                                                                               |  anti-entropy round (DigestCheck/
//                                                                               |  DigestReply/Repair, Reconciler)
//                                                                               |  once caught up, then periodically
//   * ---------------------------------------------------------------------> CLOSED
//      fail (Error sent), the hub's Error (on_error), link gone (on_closed)
//
// Transitions (FROM -> TO [function]):
//   AWAIT_OPEN      -> AWAIT_CHALLENGE [on_open]
//   AWAIT_CHALLENGE -> AWAIT_WELCOME   [on_challenge]
//   AWAIT_WELCOME   -> STREAMING       [on_welcome]
//   *               -> CLOSED          [fail, on_error, on_closed]
//
// Invariants (check_invariants(), asserted at each transition in debug builds):
//   AWAIT_OPEN:      no link; nothing sent or in flight.
//   AWAIT_CHALLENGE: a link; nothing sent or in flight.
//   AWAIT_WELCOME:   a link; a Hello sent; nothing in flight.
//   STREAMING:       a link; SyncState::connected; acked <= sent; the
//                    in-flight batches' last_seq ascending, each in
//                    (acked, sent], the last equal to sent (acked == sent when
//                    none), at most kWindow of them (wire::window_consistent).
//                    The hub cursor is advanced only in the transaction
//                    that applied the hub's batch; the acked cursor is stored
//                    before it is used.
//   CLOSED:          nothing more is sent; on_lost is called once, at on_closed.
//
// History checks in on_welcome (docs/design.md 6.6): a hub that lost our
// acknowledged changes gets their records again; a node_cursor whose change
// is not ours (restored image) renumbers our unsent changes; hub_rewound
// moves the hub cursor back to the fork point. REVOKED_NODE wipes the
// personal data the hub holds (Store::wipe_personal) before closing.
//
// Threading: the node's single event-loop thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "common/store/anti_entropy.h"
#include "node/credentials.h"
#include "common/net/link.h"
#include "common/wire/frames.h"
#include "node/sync_state.h"

namespace terril {

class Store;

struct HubLinkOptions {
  std::string software_version;
  std::function<int64_t()> now_ms;
  // Called when the handshake succeeds, and when the link is gone with the
  // hub's error code (unspecified if it sent none).
  std::function<void()> on_handshake;
  std::function<void(wire::ErrorCode hub_error)> on_lost;
  // Anti-entropy: a round at each handshake, then one every this many ms
  // while streaming (started by check_due, which the sync client's watchdog
  // calls).
  int64_t repair_interval_ms = 10 * 60 * 1000;
};

class HubLink : public Peer {
 public:
  enum class State { await_open, await_challenge, await_welcome, streaming, closed };

  HubLink(Store& store, SyncState& state, Credentials creds, HubLinkOptions opts);

  void on_open(Link& link) override;
  void on_message(std::string_view bytes) override;
  void on_closed(std::string_view why) override;

  // Send what is pending, within the window. Safe to call any time.
  void pump();
  // Makes an anti-entropy round due when the interval has passed since the
  // last one began; it starts once both directions are caught up.
  void check_due();
  State state() const { return st_; }
  bool streaming() const { return st_ == State::streaming; }
  // Asks the link to close (on_closed follows).
  void close() {
    if (link_) link_->close();
  }

 private:
  void fail(wire::ErrorCode code, const std::string& msg);
  void send_frame(const wire::Frame& f);
  void on_challenge(const wire::Challenge& c);
  void on_welcome(const wire::Welcome& w);
  void on_changes(wire::Changes&& c);
  void on_ack(const wire::Ack& a);
  void on_error(const wire::Error& e);
  void on_digest_reply(const wire::DigestReply& r);
  void on_repair(const wire::Repair& r);
  // Starts a round (DigestCheck sent) unless one is under way.
  void start_round();
  // The round is over when nothing awaits a reply: record what it did.
  void finish_round_if_done();
  // Revoked by the hub: wipe what it holds of other people (once).
  void wipe_revoked();
  void mark_synced_if_idle();
  // Moves to `to`, asserting that the table allows it.
  void enter(State to);
  // Asserts the invariants of the current state; no-op under NDEBUG.
  void check_invariants() const;

  Store& store_;
  SyncState& state_;
  Credentials creds_;
  HubLinkOptions opts_;
  Link* link_ = nullptr;
  State st_ = State::await_open;
  bool hello_sent_ = false;
  uint64_t sent_ = 0;   // own origin_seq sent up to
  uint64_t acked_ = 0;  // own origin_seq the hub acknowledged (also in the store)
  std::deque<uint64_t> inflight_;
  int64_t challenge_at_ms_ = 0;
  bool caught_up_down_ = false;
  uint64_t hub_seq_at_welcome_ = 0;
  uint64_t hub_cursor_ = 0;
  wire::ErrorCode last_error_code_ = wire::ErrorCode::unspecified;
  std::unique_ptr<Reconciler> reconciler_;
  int64_t round_started_ms_ = 0;
  bool round_due_ = false;  // a round starts once both directions are caught up
};

}  // namespace terril

// The node's side of the sync protocol, connection-wide: SyncClient keeps one
// WebSocket to the hub open whenever the network allows, runs a HubLink
// (node/hub_link.h, the per-link protocol state machine) on it, and
// reconnects with backoff. Also the one-shot enrolment client.
//
// Connection states (every value of LinkState; one enum, the only record of
// where the client is):
//
//          start             ws open              Welcome (on_handshake)
//   IDLE --------> CONNECTING --------> HANDSHAKING ----------------------> STREAMING
//                   |   ^                    |                                 |
//   connect failed  |   | backoff timer      | link lost (HubLink::on_lost)    | link lost
//                   v   |                    v                                 v
//                  BACKOFF <-----------------+---------------------------------+
//
//   * --stop--> STOPPED (final)
//
// Transitions (FROM -> TO [function]):
//   IDLE        -> CONNECTING  [start -> connect]
//   CONNECTING  -> HANDSHAKING [connect_ws done, ok]
//   CONNECTING  -> BACKOFF     [connect_ws done, error -> schedule_reconnect]
//   HANDSHAKING -> STREAMING   [handshake_done]
//   HANDSHAKING -> BACKOFF     [link_lost -> schedule_reconnect]
//   STREAMING   -> BACKOFF     [link_lost -> schedule_reconnect]
//   BACKOFF     -> CONNECTING  [backoff timer -> connect]
//   *           -> STOPPED     [stop]
//
// Invariants (asserted at each transition in debug builds):
//   IDLE:        no HubLink; no backoff timer armed.
//   CONNECTING:  a HubLink in AWAIT_OPEN; no backoff timer armed.
//   HANDSHAKING: a HubLink (opened right after connect_ws reports success);
//                no backoff timer armed.
//   STREAMING:   a streaming HubLink; no backoff timer armed; attempt == 0.
//   BACKOFF:     no HubLink; the backoff timer armed.
//   STOPPED:     no timer armed; nothing will connect again.
//
// In STREAMING: own changes go up in batches, at most `window` unacknowledged;
// an Ack from the hub compacts the log; Changes from the hub are applied in
// one transaction and acknowledged after commit. A local write calls nudge():
// it is pushed at once when streaming. A watchdog timer re-runs the pump every
// few seconds, so a queued change never waits for the next local write.
//
// Backoff: backoff_delay_ms (common/core/backoff.h), exponential with full
// jitter, 1 s doubling to max_backoff_ms, the draw from the client's own
// random generator; reset after a successful handshake. When the hub's Error
// says a technician must act (wire::next_step == retry_slowly: revoked or
// unknown node, bad proof), retries start at the slow end.
//
// Threading: the node's single event-loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "node/credentials.h"
#include "node/sync_state.h"

namespace terril {

class Store;
class EventLoop;

enum class LinkState { idle, connecting, handshaking, streaming, backoff, stopped };
const char* link_state_name(LinkState s);
// The transition table above: true when `from -> to` is one of its rows.
bool link_transition_allowed(LinkState from, LinkState to);

struct SyncClientOptions {
  std::string software_version;
  std::function<int64_t()> now_ms;  // wall clock
  int watchdog_ms = 2000;
  int max_backoff_ms = 60000;
  int ws_idle_timeout_s = 20;                   // a dead link is noticed within this
  int64_t repair_interval_ms = 10 * 60 * 1000;  // anti-entropy round period while connected
  std::function<void(LinkState)> on_state;      // after each transition, with the new state (tests); optional
};

class SyncClient {
 public:
  SyncClient(EventLoop& loop, Store& store, SyncState& state, Credentials creds, SyncClientOptions opts);
  ~SyncClient();
  void start();
  void stop();
  // A local change was committed: push it now if connected.
  void nudge();
  LinkState state() const;

  struct Impl;  // public so the per-link protocol object can report to it

 private:
  std::shared_ptr<Impl> impl_;
};

// One-shot enrolment: connect to `hub_url` (?enrol=1), present `code`, and
// return the credentials with the hub certificate's fingerprint pinned.
// Runs its own EventLoop; returns within `timeout_s`.
// Errors: unavailable (hub unreachable), forbidden (code refused, with the
// hub's reason), invalid (bad URL, or an answer that does not decode).
Result<Credentials> enrol_with_hub(const std::string& hub_url, const std::string& code,
                                   const std::string& expected_fingerprint, const std::string& software_version,
                                   int timeout_s);

// The first handshake with the credentials enrol_with_hub returned: the hub
// makes the node active and spends its code at this Hello (until then the
// code stays usable, so a cut link during enrolment costs nothing). Closes
// at Welcome. Runs its own EventLoop; returns within `timeout_s`.
// Errors: unavailable, forbidden (the hub's refusal), invalid.
Status confirm_enrolment(const Credentials& creds, const std::string& software_version, int timeout_s);

}  // namespace terril

// The node's side of the sync protocol: keeps one WebSocket to the hub open
// whenever the link allows, streams the node's change log up and the hub's
// routed changes down, and reconnects with backoff.
//
// Link state machine:
//
//   IDLE --connect--> CONNECTING --ws open--> AWAIT_CHALLENGE --Challenge/Hello-->
//   AWAIT_WELCOME --Welcome--> STREAMING --link lost / Error--> BACKOFF --timer--> CONNECTING
//
// In STREAMING: own changes after `sent_` go up in batches, at most `window`
// unacknowledged (inflight_); an Ack from the hub compacts the log; Changes
// from the hub are applied in one transaction and acknowledged after commit.
// A local write calls nudge(): it is pushed at once when streaming. A
// watchdog timer re-arms the pump and the connection every few seconds, so a
// queued change never waits for the next local write.
//
// Backoff: exponential with full jitter, 1 s doubling to 60 s, reset after a
// successful handshake.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/credentials.h"
#include "node/sync_state.h"

namespace terril {

class Store;
class EventLoop;

struct SyncClientOptions {
  std::string software_version;
  std::function<int64_t()> now_ms;  // wall clock
  int watchdog_ms = 2000;
  int max_backoff_ms = 60000;
  int ws_idle_timeout_s = 20;  // a dead link is noticed within this
};

class SyncClient {
 public:
  SyncClient(EventLoop& loop, Store& store, SyncState& state, Credentials creds, SyncClientOptions opts);
  ~SyncClient();
  void start();
  void stop();
  // A local change was committed: push it now if connected.
  void nudge();

  struct Impl;  // public so the per-link protocol object can report to it

 private:
  std::shared_ptr<Impl> impl_;
};

// One-shot enrolment: connect to `hub_url` (?enrol=1), present `code`, and
// return the credentials with the hub certificate's fingerprint pinned.
// Runs its own EventLoop; returns within `timeout_s`.
// Errors: unavailable (hub unreachable), forbidden (code refused, with the
// hub's reason), invalid (bad URL).
Result<Credentials> enrol_with_hub(const std::string& hub_url, const std::string& code,
                                   const std::string& expected_fingerprint, const std::string& software_version,
                                   int timeout_s);

}  // namespace terril

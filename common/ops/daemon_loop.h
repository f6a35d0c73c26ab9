// The serve loop both daemons share (`terril-hub serve`, `terril-node serve`):
// a periodic ticker, the systemd watchdog, the stop signals, READY=1 /
// STOPPING=1, and the "listening HOST:PORT" line on stdout. Over
// common/net/event_loop.h (no Asio here) and common/ops/sd_notify.h.
//
// Sequence of run_daemon(loop, opts):
//   1. arms the ticker: every opts.tick_ms, on the loop's thread, on_tick()
//      then WATCHDOG=1 when systemd set a watchdog for this process (so the
//      watchdog is fed at least every tick_ms: keep it under WatchdogSec / 2);
//   2. on the first SIGINT or SIGTERM: logs it, STOPPING=1, on_stop() (stop
//      the servers and links there), cancels the ticker, stops the loop;
//   3. READY=1, then STATUS=opts.status when not empty;
//   4. prints "listening HOST:PORT" and flushes: tests and scripts read this
//      line to learn the port (port 0 in the config means "any free port");
//   5. runs the loop on the calling thread until it is stopped.
// Call it once the store is open and the listener is bound (READY means
// "serving"). Returns when the loop returns; pending handlers are dropped
// when the loop is destroyed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace terril {

class EventLoop;

struct DaemonLoopOptions {
  std::string name;               // "hub", "node": the stop log line's prefix
  int64_t tick_ms = 1000;         // the hub ticks every 500 ms, the node every 1 s
  std::function<void()> on_tick;  // housekeeping on the loop's thread; may be empty
  std::function<void()> on_stop;  // first stop signal, before the loop stops; may be empty
  std::string status;             // STATUS= after READY=1 (one line, no personal data); empty: none
  std::string host;               // for the "listening HOST:PORT" line
  uint16_t port = 0;              // the bound port
};

void run_daemon(EventLoop& loop, const DaemonLoopOptions& opts);

}  // namespace terril

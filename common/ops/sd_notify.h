// Thin wrappers over sd_notify(3) for Type=notify units (NotifyAccess=main).
// Each is a no-op when NOTIFY_SOCKET is unset (not started by systemd), so
// daemons call them unconditionally. Thread-safe; never fail loudly.
//
// Daemon contract: notify_ready() once listening and the store is open;
// notify_watchdog() from the main loop at least every watchdog_interval_us() / 2
// when that is non-zero; notify_stopping() when SIGTERM starts the shutdown.
// common/ops/daemon_loop.h does all three for both daemons.
#pragma once

#include <cstdint>
#include <string_view>

namespace terril {

void notify_ready();                        // READY=1
void notify_status(std::string_view text);  // STATUS=text (one line; no personal data)
void notify_stopping();                     // STOPPING=1
// The watchdog period systemd expects (WatchdogSec=), in microseconds, or 0
// when no watchdog is set for this process.
uint64_t watchdog_interval_us();
void notify_watchdog();  // WATCHDOG=1

}  // namespace terril

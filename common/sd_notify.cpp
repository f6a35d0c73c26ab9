#include "common/sd_notify.h"

#include <systemd/sd-daemon.h>

#include <string>

namespace terril {

void notify_ready() { sd_notify(0, "READY=1"); }

void notify_status(std::string_view text) {
  std::string msg = "STATUS=";
  for (char c : text) msg += (c == '\n' || c == '\r') ? ' ' : c;
  sd_notify(0, msg.c_str());
}

void notify_stopping() { sd_notify(0, "STOPPING=1"); }

uint64_t watchdog_interval_us() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) return usec;
  return 0;
}

void notify_watchdog() { sd_notify(0, "WATCHDOG=1"); }

}  // namespace terril

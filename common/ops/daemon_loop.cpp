// The serve loop both daemons share: ticker, watchdog, stop signals, READY and the port line.
#include "common/ops/daemon_loop.h"

#include <spdlog/spdlog.h>

#include <iostream>

#include "common/net/event_loop.h"
#include "common/ops/sd_notify.h"

namespace terril {

void run_daemon(EventLoop& loop, const DaemonLoopOptions& opts) {
  Timer ticker(loop);
  const bool watchdog = watchdog_interval_us() != 0;
  std::function<void()> arm = [&] {
    ticker.start(opts.tick_ms, [&] {
      if (opts.on_tick) opts.on_tick();
      if (watchdog) notify_watchdog();
      arm();
    });
  };
  arm();

  loop.on_stop_signal([&](int sig) {
    spdlog::info("{}: signal {}, stopping", opts.name, sig);
    notify_stopping();
    if (opts.on_stop) opts.on_stop();
    ticker.cancel();
    loop.stop();
  });
  notify_ready();
  if (!opts.status.empty()) notify_status(opts.status);
  std::cout << "listening " << opts.host << ":" << opts.port << std::endl;
  loop.run();
}

}  // namespace terril

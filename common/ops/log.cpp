// Logging setup for both daemons (common/ops/log.h): stderr, or the journal through it.
#include "common/ops/log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <mutex>
#include <string>

namespace terril {
namespace {

// Records for the journal, through the stderr stream systemd gave us: one
// line each, prefixed with its syslog priority ("<3>failed ..."), which
// journald turns into PRIORITY= (SyslogLevelPrefix=, on by default; see
// sd-daemon(3)). The identifier is the unit's (SyslogIdentifier= or the
// process name). Replaces spdlog's systemd_sink, so libsystemd is not linked.
class journal_stream_sink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    int prio = 6;  // info
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        prio = 7;
        break;
      case spdlog::level::info:
        prio = 6;
        break;
      case spdlog::level::warn:
        prio = 4;
        break;
      case spdlog::level::err:
        prio = 3;
        break;
      case spdlog::level::critical:
        prio = 2;
        break;
      default:
        break;
    }
    std::string line = "<" + std::to_string(prio) + ">";
    line.reserve(line.size() + msg.payload.size() + 1);
    for (char c : msg.payload) line += (c == '\n') ? ' ' : c;  // one record, one journal entry
    line += '\n';
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(2, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  void flush_() override {}
};

}  // namespace

bool stderr_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js || !*js) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st;
  if (::fstat(2, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

void init_logging(std::string_view level, std::string_view name) {
  std::string n(name);
  std::shared_ptr<spdlog::logger> logger;
  if (stderr_is_journal()) {
    // The journal stamps time and priority itself.
    auto sink = std::make_shared<journal_stream_sink>();
    logger = std::make_shared<spdlog::logger>(n, std::move(sink));
  } else {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    logger = std::make_shared<spdlog::logger>(n, std::move(sink));
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%^%l%$] %v");
  }
  auto lvl = spdlog::level::from_str(std::string(level));
  // from_str answers `off` for unknown names; only take it when asked.
  if (lvl == spdlog::level::off && level != "off") lvl = spdlog::level::info;
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace terril

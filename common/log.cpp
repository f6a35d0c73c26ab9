#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstdio>
#include <string>

namespace terril {

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
    auto sink = std::make_shared<spdlog::sinks::systemd_sink_mt>(n);
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

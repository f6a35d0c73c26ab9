#include "common/log.h"

#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>

using namespace terril;

TEST_CASE("log: stderr is the journal only when JOURNAL_STREAM names it", "[log]") {
  ::unsetenv("JOURNAL_STREAM");
  CHECK_FALSE(stderr_is_journal());
  ::setenv("JOURNAL_STREAM", "1:1", 1);
  CHECK_FALSE(stderr_is_journal());
  ::setenv("JOURNAL_STREAM", "garbage", 1);
  CHECK_FALSE(stderr_is_journal());
  ::unsetenv("JOURNAL_STREAM");
}

TEST_CASE("log: init sets the level, unknown names mean info", "[log]") {
  init_logging("debug", "terril-test");
  CHECK(spdlog::default_logger()->level() == spdlog::level::debug);
  CHECK(spdlog::default_logger()->name() == "terril-test");
  init_logging("off", "terril-test");
  CHECK(spdlog::default_logger()->level() == spdlog::level::off);
  init_logging("loud", "terril-test");
  CHECK(spdlog::default_logger()->level() == spdlog::level::info);
  init_logging("off", "terril-test");
}

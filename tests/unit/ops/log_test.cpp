#include "common/ops/log.h"

#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

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

TEST_CASE("log: under the journal, one line per record with its syslog priority", "[log]") {
  // Point stderr at a file and tell the logger it is the journal's stream.
  char path[] = "/tmp/terril-log-test-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  int saved = ::dup(2);
  ::dup2(fd, 2);
  struct stat st {};
  ::fstat(fd, &st);
  std::string js = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  ::setenv("JOURNAL_STREAM", js.c_str(), 1);
  CHECK(stderr_is_journal());
  init_logging("debug", "terril-test");
  spdlog::info("started on {}", "port 8080");
  spdlog::warn("two\nlines");
  spdlog::error("failed");
  spdlog::debug("detail");
  ::dup2(saved, 2);
  ::close(saved);
  ::unsetenv("JOURNAL_STREAM");
  init_logging("off", "terril-test");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ::close(fd);
  ::unlink(path);
  CHECK(text == "<6>started on port 8080\n<4>two lines\n<3>failed\n<7>detail\n");
}

// The data folder's serve lock (common/ops/data_lock.h): one holder at a
// time, released with its holder (O_CLOEXEC: never inherited across exec).
#include "common/ops/data_lock.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace terril::test {

TEST_CASE("the serve lock has one holder and is free again once released", "[ops][data_lock]") {
  TempDir dir("terril-lock");
  {
    auto held = DataLock::acquire(dir.path());
    REQUIRE(held.is_ok());
    CHECK(file_mode(dir.file(DataLock::kFileName)) == 0600);
    auto second = DataLock::acquire(dir.path());
    REQUIRE_FALSE(second.is_ok());
    CHECK(second.status().code() == Code::conflict);
    // A moved lock is still held.
    DataLock moved = std::move(held.value());
    CHECK(DataLock::acquire(dir.path()).status().code() == Code::conflict);
  }
  CHECK(DataLock::acquire(dir.path()).is_ok());
}

TEST_CASE("the serve lock is seen held by another process", "[ops][data_lock]") {
  TempDir dir("terril-lock");
  auto held = DataLock::acquire(dir.path());
  REQUIRE(held.is_ok());
  // Another process sees it held (exit 1 = conflict).
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto r = DataLock::acquire(dir.path());
    ::_exit(r.is_ok() ? 0 : r.status().code() == Code::conflict ? 1 : 2);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WEXITSTATUS(status) == 1);
}

TEST_CASE("the serve lock needs an existing folder", "[ops][data_lock]") {
  TempDir dir("terril-lock");
  CHECK(DataLock::acquire(dir.file("missing")).status().code() == Code::io);
}

}  // namespace terril::test

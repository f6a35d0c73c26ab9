// A fresh temporary folder for one test, removed with everything in it at
// scope exit. Shared by every test executable (tests/support is on their
// include path as "tests/support/...").
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace terril::test {

class TempDir {
 public:
  // `prefix` names the folder under $TMPDIR (default /tmp), for a human who
  // finds one left behind by a killed test.
  explicit TempDir(const std::string& prefix = "terril-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace terril::test

#include "node/credentials.h"

#include <catch2/catch.hpp>

#include "common/ops/tls.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

using namespace terril;
using terril::test::file_mode;
using terril::test::read_text;
using terril::test::TempDir;
using terril::test::write_text;

namespace {

Credentials sample() {
  Credentials c;
  c.node_id = "cs-denain-1";
  c.node_secret = std::string(32, '\x5a');
  c.centre_id = "cs-denain";
  c.hub_url = "wss://hub.example:8443";
  c.hub_id = "hub-7f3a";
  c.hub_fingerprint = std::string(95, 'A');
  for (size_t i = 2; i < 95; i += 3) c.hub_fingerprint[i] = ':';
  c.enrolled_at_ms = 1714564800123;  // 2024-05-01T12:00:00.123Z
  return c;
}

}  // namespace

TEST_CASE("credentials: round trip through a 0600 file", "[credentials]") {
  TempDir dir;
  ::umask(0);  // the mode must not depend on the umask
  REQUIRE(save_credentials(dir.path(), sample()).is_ok());
  ::umask(022);
  std::string path = dir.file(kCredentialsFile);
  CHECK(file_mode(path) == 0600);
  std::string text = read_text(path);
  CHECK(text.find("node_secret = '" + to_hex(std::string(32, '\x5a')) + "'") != std::string::npos);
  CHECK(text.find("enrolled_at = 2024-05-01T12:00:00.123Z") != std::string::npos);

  auto loaded = load_credentials(dir.path());
  REQUIRE(loaded.is_ok());
  REQUIRE(loaded->has_value());
  const Credentials& c = **loaded;
  Credentials s = sample();
  CHECK(c.node_id == s.node_id);
  CHECK(c.node_secret == s.node_secret);
  CHECK(c.centre_id == s.centre_id);
  CHECK(c.hub_url == s.hub_url);
  CHECK(c.hub_id == s.hub_id);
  CHECK(c.hub_fingerprint == s.hub_fingerprint);
  CHECK(c.enrolled_at_ms == s.enrolled_at_ms);
  CHECK_FALSE(c.loose_permissions);
}

TEST_CASE("credentials: no file means not enrolled", "[credentials]") {
  TempDir dir;
  auto loaded = load_credentials(dir.path());
  REQUIRE(loaded.is_ok());
  CHECK_FALSE(loaded->has_value());
}

TEST_CASE("credentials: save creates the data folder 0700", "[credentials]") {
  TempDir dir;
  std::string sub = dir.file("data/node");
  REQUIRE(save_credentials(sub, sample()).is_ok());
  CHECK(file_mode(sub) == 0700);
  CHECK(load_credentials(sub)->has_value());
}

TEST_CASE("credentials: saving replaces atomically, leaving no temporary file", "[credentials]") {
  TempDir dir;
  REQUIRE(save_credentials(dir.path(), sample()).is_ok());
  Credentials c = sample();
  c.hub_url = "wss://other.example:8443";
  REQUIRE(save_credentials(dir.path(), c).is_ok());
  CHECK((*load_credentials(dir.path()))->hub_url == "wss://other.example:8443");
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);
}

TEST_CASE("credentials: a file readable by others loads with a warning flag", "[credentials]") {
  TempDir dir;
  REQUIRE(save_credentials(dir.path(), sample()).is_ok());
  ::chmod(dir.file(kCredentialsFile).c_str(), 0644);
  auto loaded = load_credentials(dir.path());
  REQUIRE(loaded.is_ok());
  CHECK((*loaded)->loose_permissions);
}

TEST_CASE("credentials: bad content is refused, naming the key but not the secret", "[credentials]") {
  TempDir dir;
  Credentials bad = sample();
  bad.node_secret = "short";
  CHECK(save_credentials(dir.path(), bad).code() == Code::invalid);

  REQUIRE(save_credentials(dir.path(), sample()).is_ok());
  std::string path = dir.file(kCredentialsFile);
  std::string text = read_text(path);
  std::string secret_hex = to_hex(std::string(32, '\x5a'));
  auto pos = text.find(secret_hex);
  REQUIRE(pos != std::string::npos);
  write_text(path, text.substr(0, pos) + "zz" + text.substr(pos + 2));
  auto r = load_credentials(dir.path());
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::invalid);
  CHECK(r.status().field() == "node_secret");
  CHECK(r.status().message().find("zz") == std::string::npos);

  write_text(path, text + "extra = \"x\"\n");
  CHECK(load_credentials(dir.path()).status().field() == "extra");

  write_text(path, "node_id = \"a\"\n");
  CHECK(load_credentials(dir.path()).status().code() == Code::invalid);
}

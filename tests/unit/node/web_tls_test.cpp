// The web UI's certificate (node/web_tls.h): the scheme serve picks for its
// listen address, what the certificate names, and making it only once.
#include "node/web_tls.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace terril {
namespace {

using test::TempDir;

TEST_CASE("M3: HTTPS off loopback unless plain_http; loopback stays plain", "[web_tls]") {
  struct Case {
    const char* listen;
    bool plain_http;
    WebScheme expected;
  };
  const Case cases[] = {
      {"127.0.0.1:8080", false, WebScheme::plain_loopback},
      {"127.0.0.1:8080", true, WebScheme::plain_loopback},
      {"127.1.2.3:0", false, WebScheme::plain_loopback},
      {"[::1]:8080", false, WebScheme::plain_loopback},
      {"0.0.0.0:8080", false, WebScheme::https},
      {"192.168.1.20:8080", false, WebScheme::https},
      {"[::]:8080", false, WebScheme::https},
      {"localhost:8080", false, WebScheme::https},  // names are not resolved
      {"0.0.0.0:8080", true, WebScheme::plain_off_loopback},
  };
  for (const auto& c : cases) {
    INFO(c.listen << " plain_http=" << c.plain_http);
    NodeConfig cfg;
    cfg.listen = c.listen;
    cfg.plain_http = c.plain_http;
    CHECK(web_scheme(cfg) == c.expected);
  }
  CHECK(std::string(web_scheme_name(WebScheme::https)) == "https");
  CHECK(std::string(web_scheme_name(WebScheme::plain_off_loopback)) == "http");
}

TEST_CASE("M3: the certificate names the box and outlives a clock far behind", "[web_tls]") {
  SelfSignedSpec s = web_certificate_spec("cs-lens-1", "terril-lens", {"192.168.1.20"}, 1796000000000);
  CHECK(s.common_name == "cs-lens-1");
  CHECK(s.dns_names == std::vector<std::string>{"terril-lens", "terril-lens.local", "cs-lens-1"});
  CHECK(s.ip_addresses == std::vector<std::string>{"192.168.1.20"});
  CHECK(s.now_s == 1796000000);
  CHECK(s.backdate_days >= 365);
  CHECK(s.days >= 3650);

  // A box that believes it is 1970, with a dotted or unusable host name.
  SelfSignedSpec old = web_certificate_spec("", "pi.lan", {}, 0);
  CHECK(old.now_s == 1735689600);  // counted from 2025-01-01
  CHECK(old.common_name == "pi.lan");
  CHECK(old.dns_names == std::vector<std::string>{"pi.lan"});
  SelfSignedSpec odd = web_certificate_spec("", "bad,name", {}, 0);
  CHECK(odd.common_name == "terril-node");
  CHECK(odd.dns_names.empty());
}

TEST_CASE("M3: ensure makes the pair once, then keeps it; fingerprint null without one", "[web_tls]") {
  TempDir dir;
  NodeConfig cfg;
  cfg.data_dir = dir.file("data");
  auto none = web_fingerprint(cfg);
  REQUIRE(none.is_ok());
  CHECK_FALSE(none->has_value());

  auto first = ensure_web_certificate(cfg, "cs-lens-1", 1796000000000);
  REQUIRE(first.is_ok());
  CHECK(valid_fingerprint(*first));
  CHECK(test::file_mode(node_web_key_path(cfg)) == 0600);
  CHECK(test::file_mode(node_web_cert_path(cfg)) == 0644);
  CHECK(*ensure_web_certificate(cfg, "cs-lens-1", 1796000000000) == *first);  // kept
  CHECK(**web_fingerprint(cfg) == *first);

  std::filesystem::remove(node_web_key_path(cfg));  // half a pair: made again
  auto again = ensure_web_certificate(cfg, "cs-lens-1", 1796000000000);
  REQUIRE(again.is_ok());
  CHECK(*again != *first);
  CHECK(std::filesystem::exists(node_web_key_path(cfg)));

  test::write_text(node_web_cert_path(cfg), "not a certificate");
  CHECK(web_fingerprint(cfg).status().code() == Code::invalid);
}

TEST_CASE("M3: the certificate is never written through a planted link (L4)", "[web_tls]") {
  TempDir dir;
  NodeConfig cfg;
  cfg.data_dir = dir.file("data");
  std::filesystem::create_directories(dir.file("elsewhere"));
  std::filesystem::create_directories(cfg.data_dir);
  std::filesystem::create_directory_symlink(dir.file("elsewhere"), cfg.data_dir + "/tls");
  auto r = make_web_certificate(cfg, "cs-lens-1", 1796000000000);
  CHECK(r.status().code() == Code::invalid);
  CHECK(std::filesystem::is_empty(dir.file("elsewhere")));
}

}  // namespace
}  // namespace terril

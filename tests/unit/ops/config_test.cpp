#include "common/ops/config.h"

#include <CLI/CLI.hpp>
#include <catch2/catch.hpp>
#include <sstream>

#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

using namespace terril;
using terril::test::TempDir;
using terril::test::write_text;

TEST_CASE("config: a missing default file gives the defaults", "[config]") {
  TempDir dir;
  auto c = load_node_config(dir.file("node.toml"), /*must_exist=*/false);
  REQUIRE(c.is_ok());
  CHECK(c->data_dir == "/var/lib/terril-node");
  CHECK(c->listen == "127.0.0.1:8080");
  CHECK(c->hub_url.empty());
  CHECK(c->log_level == "info");
  CHECK_FALSE(c->insecure);
  CHECK_FALSE(c->plain_http);
  CHECK(node_web_cert_path(*c) == "/var/lib/terril-node/tls/web-cert.pem");
  CHECK(node_web_key_path(*c) == "/var/lib/terril-node/tls/web-key.pem");

  auto h = load_hub_config(dir.file("hub.toml"), false);
  REQUIRE(h.is_ok());
  CHECK(h->listen == "0.0.0.0:8443");
  CHECK(hub_tls_cert_path(*h) == "/var/lib/terril-hub/tls/hub-cert.pem");
  CHECK(hub_tls_key_path(*h) == "/var/lib/terril-hub/tls/hub-key.pem");
}

TEST_CASE("config: a missing explicit file is an error naming it", "[config]") {
  TempDir dir;
  auto c = load_node_config(dir.file("nope.toml"), /*must_exist=*/true);
  REQUIRE_FALSE(c.is_ok());
  CHECK(c.status().code() == Code::not_found);
  CHECK(c.status().message() == dir.file("nope.toml") + ": no such file");
}

TEST_CASE("config: a good node file sets every key", "[config]") {
  TempDir dir;
  write_text(dir.file("node.toml"),
             "# comment\n"
             "data_dir = \"/srv/terril\"\n"
             "listen = \"[::1]:9090\"\n"
             "hub_url = \"wss://hub.example:8443\"\n"
             "log_level = \"debug\"\n"
             "insecure = true\n"
             "plain_http = true\n");
  auto c = load_node_config(dir.file("node.toml"), true);
  REQUIRE(c.is_ok());
  CHECK(c->data_dir == "/srv/terril");
  CHECK(c->listen == "[::1]:9090");
  CHECK(c->hub_url == "wss://hub.example:8443");
  CHECK(c->log_level == "debug");
  CHECK(c->insecure);
  CHECK(c->plain_http);
}

TEST_CASE("config: plain_http (M3) is a boolean key with a --plain-http flag", "[config]") {
  TempDir dir;
  write_text(dir.file("node.toml"), "listen = \"0.0.0.0:8080\"\nplain_http = \"yes\"\n");
  auto bad = load_node_config(dir.file("node.toml"), true);
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message() == dir.file("node.toml") + ":2: key 'plain_http': expected true or false");

  write_text(dir.file("node.toml"), "listen = \"0.0.0.0:8080\"\nplain_http = false\n");
  CLI::App app;
  NodeConfig flags;
  add_node_flags(app, flags);
  app.parse("--plain-http", false);
  auto cfg = load_node_config(dir.file("node.toml"), true);
  REQUIRE(cfg.is_ok());
  CHECK_FALSE(cfg->plain_http);
  REQUIRE(apply_node_flags(app, flags, *cfg).is_ok());
  CHECK(cfg->plain_http);  // the flag wins over the file
  CHECK(cfg->listen == "0.0.0.0:8080");
  CHECK(app.get_option("--plain-http")->get_description().find("clear") != std::string::npos);
}

TEST_CASE("config: a good hub file sets every key", "[config]") {
  TempDir dir;
  write_text(dir.file("hub.toml"),
             "data_dir = \"/srv/hub\"\nlisten = \"127.0.0.1:0\"\ntls_cert = \"/etc/terril/c.pem\"\n"
             "tls_key = \"/etc/terril/k.pem\"\ninsecure = false\nlog_level = \"warn\"\n"
             "public_url = \"wss://hub.example:8443\"\nmetrics_token = \"s3cret-Token_1\"\n");
  auto h = load_hub_config(dir.file("hub.toml"), true);
  REQUIRE(h.is_ok());
  CHECK(h->data_dir == "/srv/hub");
  CHECK(h->listen == "127.0.0.1:0");
  CHECK(hub_tls_cert_path(*h) == "/etc/terril/c.pem");
  CHECK(hub_tls_key_path(*h) == "/etc/terril/k.pem");
  CHECK(h->log_level == "warn");
  CHECK(h->public_url == "wss://hub.example:8443");
  CHECK(h->metrics_token == "s3cret-Token_1");
}

TEST_CASE("config: errors name the file, the line and the key", "[config]") {
  TempDir dir;
  std::string path = dir.file("node.toml");
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"data_dir = \"/x\"\n\nlisen = \"127.0.0.1:80\"\n", path + ":3: unknown key 'lisen'"},
      {"listen = \"localhost\"\n", path + ":1: key 'listen': expected HOST:PORT, got 'localhost'"},
      {"\nlisten = \"h:99999\"\n", path + ":2: key 'listen': expected HOST:PORT, got 'h:99999'"},
      {"insecure = \"yes\"\n", path + ":1: key 'insecure': expected true or false"},
      {"listen = 8080\n", path + ":1: key 'listen': expected a string in quotes"},
      {"log_level = \"loud\"\n",
       path + ":1: key 'log_level': expected one of trace, debug, info, warn, error, critical, off, got 'loud'"},
      {"hub_url = \"https://x\"\n", path + ":1: key 'hub_url': expected a ws:// or wss:// URL, got 'https://x'"},
      {"[server]\nlisten = \"1.2.3.4:5\"\n", path + ":1: unknown key 'server'"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    write_text(path, c.text);
    auto r = load_node_config(path, true);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::invalid);
    CHECK(r.status().message() == c.message);
  }
}

TEST_CASE("config: a syntax error names the line", "[config]") {
  TempDir dir;
  write_text(dir.file("hub.toml"), "listen = \"0.0.0.0:8443\"\ndata_dir = /var/lib\n");
  auto r = load_hub_config(dir.file("hub.toml"), true);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Code::invalid);
  CHECK(r.status().message().starts_with(dir.file("hub.toml") + ":2: "));
}

TEST_CASE("config: flags given override the file, others keep it", "[config]") {
  TempDir dir;
  write_text(dir.file("node.toml"), "listen = \"127.0.0.1:7000\"\nlog_level = \"warn\"\ndata_dir = \"/d\"\n");
  CLI::App app;
  NodeConfig flags;
  add_node_flags(app, flags);
  app.parse("--listen 0.0.0.0:9000 --insecure --hub-url ws://127.0.0.1:1", false);

  auto cfg = load_node_config(dir.file("node.toml"), true);
  REQUIRE(cfg.is_ok());
  REQUIRE(apply_node_flags(app, flags, *cfg).is_ok());
  CHECK(cfg->listen == "0.0.0.0:9000");  // flag
  CHECK(cfg->insecure);                  // flag
  CHECK(cfg->hub_url == "ws://127.0.0.1:1");
  CHECK(cfg->log_level == "warn");  // file
  CHECK(cfg->data_dir == "/d");     // file
}

TEST_CASE("config: every hub key has a flag", "[config]") {
  CLI::App app;
  HubConfig flags;
  add_hub_flags(app, flags);
  app.parse(
      "--data-dir /h --listen 127.0.0.1:0 --tls-cert c.pem --tls-key k.pem --insecure "
      "--log-level error --public-url wss://hub:8443 --metrics-token t0ken",
      false);
  HubConfig cfg;
  REQUIRE(apply_hub_flags(app, flags, cfg).is_ok());
  CHECK(cfg.data_dir == "/h");
  CHECK(cfg.listen == "127.0.0.1:0");
  CHECK(cfg.tls_cert == "c.pem");
  CHECK(cfg.tls_key == "k.pem");
  CHECK(cfg.insecure);
  CHECK(cfg.log_level == "error");
  CHECK(cfg.public_url == "wss://hub:8443");
  CHECK(cfg.metrics_token == "t0ken");
}

TEST_CASE("config: M2: the daily quotas are whole numbers from 0, in the file and as flags", "[config]") {
  TempDir dir;
  CHECK(HubConfig{}.daily_events_per_centre == 200);
  CHECK(HubConfig{}.daily_notes_per_centre == 500);
  write_text(dir.file("hub.toml"), "daily_events_per_centre = 3\ndaily_notes_per_centre = 0\n");
  auto h = load_hub_config(dir.file("hub.toml"), true);
  REQUIRE(h.is_ok());
  CHECK(h->daily_events_per_centre == 3);
  CHECK(h->daily_notes_per_centre == 0);
  for (const char* bad :
       {"daily_events_per_centre = -1\n", "daily_notes_per_centre = \"10\"\n", "daily_notes_per_centre = 1.5\n"}) {
    INFO(bad);
    write_text(dir.file("hub.toml"), bad);
    auto e = load_hub_config(dir.file("hub.toml"), true);
    CHECK(e.status().code() == Code::invalid);
    CHECK(e.status().message().find("expected a whole number") != std::string::npos);
  }
}

TEST_CASE("config: a metrics token with a space or a control character is refused", "[config]") {
  TempDir dir;
  for (const char* bad : {"a b", "a\\u001bb"}) {
    write_text(dir.file("hub.toml"), std::string("metrics_token = \"") + bad + "\"\n");
    auto h = load_hub_config(dir.file("hub.toml"), true);
    CHECK(h.status().code() == Code::invalid);
    CHECK(h.status().message().find("metrics_token") != std::string::npos);
  }
}

TEST_CASE("config: a bad flag value is refused, naming the flag", "[config]") {
  CLI::App app;
  NodeConfig flags;
  add_node_flags(app, flags);
  app.parse("--listen nowhere", false);
  NodeConfig cfg;
  Status st = apply_node_flags(app, flags, cfg);
  CHECK(st.code() == Code::invalid);
  CHECK(st.message() == "--listen: expected HOST:PORT, got 'nowhere'");
  CHECK(cfg.listen == "127.0.0.1:8080");
}

TEST_CASE("config: HOST:PORT parsing", "[config]") {
  struct Case {
    const char* in;
    bool ok;
    const char* host;
    uint16_t port;
  };
  const Case cases[] = {
      {"127.0.0.1:8080", true, "127.0.0.1", 8080},
      {"0.0.0.0:8443", true, "0.0.0.0", 8443},
      {"hub.example:443", true, "hub.example", 443},
      {"[::1]:9000", true, "::1", 9000},
      {"localhost:0", true, "localhost", 0},
      {"localhost", false, "", 0},
      {":8080", false, "", 0},
      {"host:", false, "", 0},
      {"host:65536", false, "", 0},
      {"host:8o80", false, "", 0},
      {"::1:9000", false, "", 0},
      {"ho st:1", false, "", 0},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    auto r = parse_host_port(c.in);
    REQUIRE(r.is_ok() == c.ok);
    if (c.ok) {
      CHECK(r->host == c.host);
      CHECK(r->port == c.port);
    }
  }
}

TEST_CASE("config: the shipped files load, commented or not, to the defaults", "[config]") {
  TempDir dir;
  for (const char* name : {"node.toml", "hub.toml"}) {
    INFO(name);
    std::string shipped = TERRIL_SOURCE_DIR "/config/" + std::string(name);
    std::string text = terril::test::read_text(shipped);
    REQUIRE(!text.empty());
    // Uncomment every "#key = value" line.
    std::string uncommented;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.size() > 1 && line[0] == '#' && line[1] != ' ') line.erase(0, 1);
      uncommented += line + "\n";
    }
    write_text(dir.file(name), uncommented);
    if (std::string(name) == "node.toml") {
      for (const auto& path : {shipped, dir.file(name)}) {
        auto c = load_node_config(path, true);
        REQUIRE(c.is_ok());
        NodeConfig d;
        CHECK((c->data_dir == d.data_dir && c->listen == d.listen && c->hub_url == d.hub_url &&
               c->log_level == d.log_level && c->insecure == d.insecure && c->plain_http == d.plain_http));
      }
    } else {
      for (const auto& path : {shipped, dir.file(name)}) {
        auto c = load_hub_config(path, true);
        REQUIRE(c.is_ok());
        HubConfig d;
        CHECK((c->data_dir == d.data_dir && c->listen == d.listen && c->tls_cert == d.tls_cert &&
               c->tls_key == d.tls_key && c->log_level == d.log_level && c->insecure == d.insecure &&
               c->public_url == d.public_url && c->metrics_token == d.metrics_token));
      }
    }
  }
}

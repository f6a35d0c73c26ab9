// Daemon configuration (common/ops/config.h): TOML files, flags, validation.
#include "common/ops/config.h"

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace terril {
namespace {

constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};

// A value check: nullopt when fine, else what was expected ("HOST:PORT").
using Check = std::optional<std::string> (*)(std::string_view);

std::optional<std::string> check_listen(std::string_view v) {
  if (parse_host_port(v)) return std::nullopt;
  return "HOST:PORT";
}

std::optional<std::string> check_log_level(std::string_view v) {
  if (valid_log_level(v)) return std::nullopt;
  return "one of trace, debug, info, warn, error, critical, off";
}

std::optional<std::string> check_non_empty(std::string_view v) {
  if (!v.empty()) return std::nullopt;
  return "a non-empty folder path";
}

// Empty (unset) or ws://HOST... / wss://HOST...
std::optional<std::string> check_ws_url(std::string_view v) {
  if (v.empty()) return std::nullopt;
  for (std::string_view scheme : {"wss://", "ws://"}) {
    if (v.starts_with(scheme) && v.size() > scheme.size() && v.find_first_of(" \t\r\n") == v.npos) {
      return std::nullopt;
    }
  }
  return "a ws:// or wss:// URL";
}

// A bearer token: empty, or printable ASCII without spaces (an HTTP header value).
std::optional<std::string> check_token(std::string_view v) {
  for (char c : v)
    if (c <= 0x20 || c >= 0x7f) return "printable characters without spaces";
  return std::nullopt;
}

// One configuration key: its TOML name, its flag, where it lives in C.
template <typename C>
struct KeySpec {
  const char* key;
  const char* flag;
  const char* help;
  std::string C::*str = nullptr;  // exactly one of str / boolean / integer is set
  bool C::*boolean = nullptr;
  Check check = nullptr;
  int64_t C::*integer = nullptr;  // a whole number in [0, kMaxInteger]
};

constexpr int64_t kMaxInteger = 1'000'000'000;

const std::vector<KeySpec<NodeConfig>>& node_keys() {
  static const std::vector<KeySpec<NodeConfig>> keys = {
      {"data_dir", "--data-dir", "Data folder (database, credentials)", &NodeConfig::data_dir, nullptr,
       check_non_empty},
      {"listen", "--listen", "HOST:PORT of the local API and web UI", &NodeConfig::listen, nullptr, check_listen},
      {"hub_url", "--hub-url", "Hub URL (wss://HOST:PORT); default: the one saved at enrolment", &NodeConfig::hub_url,
       nullptr, check_ws_url},
      {"log_level", "--log-level", "trace|debug|info|warn|error|critical|off", &NodeConfig::log_level, nullptr,
       check_log_level},
      {"insecure", "--insecure", "Allow plain ws:// to the hub (loopback tests only)", nullptr, &NodeConfig::insecure,
       nullptr},
      {"plain_http", "--plain-http",
       "Serve the web UI in plain HTTP off loopback, not HTTPS (the staff password and personal data then cross the "
       "network in clear: a trusted staff network only)",
       nullptr, &NodeConfig::plain_http, nullptr},
  };
  return keys;
}

const std::vector<KeySpec<HubConfig>>& hub_keys() {
  static const std::vector<KeySpec<HubConfig>> keys = {
      {"data_dir", "--data-dir", "Data folder (database, TLS files)", &HubConfig::data_dir, nullptr, check_non_empty},
      {"listen", "--listen", "HOST:PORT for the dashboard, API and /v1/sync", &HubConfig::listen, nullptr,
       check_listen},
      {"tls_cert", "--tls-cert", "TLS certificate (PEM); default: DATA_DIR/tls/hub-cert.pem", &HubConfig::tls_cert,
       nullptr, nullptr},
      {"tls_key", "--tls-key", "TLS private key (PEM); default: DATA_DIR/tls/hub-key.pem", &HubConfig::tls_key, nullptr,
       nullptr},
      {"insecure", "--insecure", "Serve plain HTTP/ws:// (loopback tests only)", nullptr, &HubConfig::insecure,
       nullptr},
      {"log_level", "--log-level", "trace|debug|info|warn|error|critical|off", &HubConfig::log_level, nullptr,
       check_log_level},
      {"public_url", "--public-url", "URL technicians give nodes (wss://HOST:PORT)", &HubConfig::public_url, nullptr,
       check_ws_url},
      {"metrics_token", "--metrics-token", "Bearer token for /metrics off loopback; empty: dashboard login only",
       &HubConfig::metrics_token, nullptr, check_token},
      {"daily_events_per_centre", "--daily-events-per-centre",
       "Events the nodes of one centre may create per day (they reach every box); 0: no quota", nullptr, nullptr,
       nullptr, &HubConfig::daily_events_per_centre},
      {"daily_notes_per_centre", "--daily-notes-per-centre",
       "Prototype notes the nodes of one centre may create per day (they reach every box); 0: no quota", nullptr,
       nullptr, nullptr, &HubConfig::daily_notes_per_centre},
  };
  return keys;
}

std::string at(const std::string& path, const toml::source_region& src) {
  return path + ":" + std::to_string(src.begin.line);
}

template <typename C>
Result<C> load_config(const std::string& path, bool must_exist, const std::vector<KeySpec<C>>& keys) {
  C cfg;
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (st.type() == std::filesystem::file_type::not_found) {
    if (!must_exist) return cfg;
    return Status(Code::not_found, path + ": no such file", "", path + " : fichier de configuration introuvable");
  }
  if (ec) return Status(Code::io, path + ": cannot read: " + ec.message());
  if (st.type() == std::filesystem::file_type::directory) {
    return Status(Code::io, path + ": cannot read: is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::io, path + ": cannot read: " + std::strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Status(Code::io, path + ": cannot read");

  toml::table tbl;
  try {
    tbl = toml::parse(buf.str(), path);
  } catch (const toml::parse_error& e) {
    return Status(Code::invalid, at(path, e.source()) + ": " + std::string(e.description()));
  }

  for (auto&& [k, v] : tbl) {
    const KeySpec<C>* spec = nullptr;
    for (const auto& s : keys) {
      if (k.str() == s.key) spec = &s;
    }
    if (!spec) {
      return Status(Code::invalid, at(path, k.source()) + ": unknown key '" + std::string(k.str()) + "'",
                    std::string(k.str()));
    }
    std::string where = at(path, v.source()) + ": key '" + spec->key + "': ";
    if (spec->boolean) {
      auto b = v.as_boolean();
      if (!b) return Status(Code::invalid, where + "expected true or false", spec->key);
      cfg.*(spec->boolean) = b->get();
    } else if (spec->integer) {
      auto n = v.as_integer();
      if (!n || n->get() < 0 || n->get() > kMaxInteger)
        return Status(Code::invalid, where + "expected a whole number from 0 to " + std::to_string(kMaxInteger),
                      spec->key);
      cfg.*(spec->integer) = n->get();
    } else {
      auto s = v.as_string();
      if (!s) return Status(Code::invalid, where + "expected a string in quotes", spec->key);
      if (spec->check) {
        if (auto expected = spec->check(s->get())) {
          return Status(Code::invalid, where + "expected " + *expected + ", got '" + s->get() + "'", spec->key);
        }
      }
      cfg.*(spec->str) = s->get();
    }
  }
  return cfg;
}

template <typename C>
Status validate_config(const C& c, const std::vector<KeySpec<C>>& keys) {
  for (const auto& s : keys) {
    if (!s.str || !s.check) continue;
    if (auto expected = s.check(c.*(s.str))) {
      return Status(Code::invalid,
                    std::string("key '") + s.key + "': expected " + *expected + ", got '" + c.*(s.str) + "'", s.key);
    }
  }
  return Status::ok();
}

template <typename C>
void add_flags(CLI::App& app, C& flags, const std::vector<KeySpec<C>>& keys) {
  for (const auto& s : keys) {
    if (s.boolean) {
      app.add_flag(s.flag, flags.*(s.boolean), s.help);
    } else if (s.integer) {
      app.add_option(s.flag, flags.*(s.integer), s.help)->check(CLI::Range(int64_t{0}, kMaxInteger));
    } else {
      app.add_option(s.flag, flags.*(s.str), s.help);
    }
  }
}

template <typename C>
Status apply_flags(const CLI::App& app, const C& flags, C& cfg, const std::vector<KeySpec<C>>& keys) {
  for (const auto& s : keys) {
    const CLI::Option* opt = app.get_option_no_throw(s.flag);
    if (!opt || opt->count() == 0) continue;
    if (s.boolean) {
      cfg.*(s.boolean) = flags.*(s.boolean);
      continue;
    }
    if (s.integer) {
      cfg.*(s.integer) = flags.*(s.integer);
      continue;
    }
    const std::string& v = flags.*(s.str);
    if (s.check) {
      if (auto expected = s.check(v)) {
        return Status(Code::invalid, std::string(s.flag) + ": expected " + *expected + ", got '" + v + "'", s.key);
      }
    }
    cfg.*(s.str) = v;
  }
  return Status::ok();
}

bool valid_dns_name(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return h.front() != '.' && h.front() != '-';
}

bool valid_ipv6(std::string_view h) {
  if (h.size() < 2 || h.size() > 45) return false;
  int colons = 0;
  for (char c : h) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
    if (!ok) return false;
    if (c == ':') ++colons;
  }
  return colons >= 2;
}

}  // namespace

Result<HostPort> parse_host_port(std::string_view s) {
  auto bad = [&] { return Status(Code::invalid, "expected HOST:PORT, got '" + std::string(s) + "'"); };
  auto colon = s.rfind(':');
  if (colon == s.npos) return bad();
  std::string_view host = s.substr(0, colon);
  std::string_view port = s.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (!valid_ipv6(host)) return bad();
  } else if (!valid_dns_name(host)) {
    return bad();
  }
  if (port.empty() || port.size() > 5) return bad();
  uint32_t p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad();
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p > 65535) return bad();
  return HostPort{std::string(host), static_cast<uint16_t>(p)};
}

bool valid_log_level(std::string_view level) {
  for (auto l : kLogLevels) {
    if (l == level) return true;
  }
  return false;
}

Result<NodeConfig> load_node_config(const std::string& path, bool must_exist) {
  return load_config(path, must_exist, node_keys());
}

Result<HubConfig> load_hub_config(const std::string& path, bool must_exist) {
  return load_config(path, must_exist, hub_keys());
}

Status validate_node_config(const NodeConfig& c) {
  return validate_config(c, node_keys());
}
Status validate_hub_config(const HubConfig& c) {
  return validate_config(c, hub_keys());
}

void add_config_flag(CLI::App& app, std::string& path, bool& given) {
  app.add_option("--config", path, "TOML config file")->each([&given](const std::string&) { given = true; });
}

void add_node_flags(CLI::App& app, NodeConfig& flags) {
  add_flags(app, flags, node_keys());
}
void add_hub_flags(CLI::App& app, HubConfig& flags) {
  add_flags(app, flags, hub_keys());
}

Status apply_node_flags(const CLI::App& app, const NodeConfig& flags, NodeConfig& cfg) {
  if (auto st = apply_flags(app, flags, cfg, node_keys()); !st) return st;
  return validate_node_config(cfg);
}

Status apply_hub_flags(const CLI::App& app, const HubConfig& flags, HubConfig& cfg) {
  if (auto st = apply_flags(app, flags, cfg, hub_keys()); !st) return st;
  return validate_hub_config(cfg);
}

std::string hub_tls_cert_path(const HubConfig& c) {
  return c.tls_cert.empty() ? c.data_dir + "/tls/hub-cert.pem" : c.tls_cert;
}

std::string hub_tls_key_path(const HubConfig& c) {
  return c.tls_key.empty() ? c.data_dir + "/tls/hub-key.pem" : c.tls_key;
}

std::string node_web_cert_path(const NodeConfig& c) {
  return c.data_dir + "/tls/web-cert.pem";
}

std::string node_web_key_path(const NodeConfig& c) {
  return c.data_dir + "/tls/web-key.pem";
}

}  // namespace terril

// Daemon configuration: defaults < TOML file < command-line flags.
//
// The file is flat TOML, one `key = value` per setting, keys named as the
// struct fields below (config/node.toml and config/hub.toml are the commented
// defaults). Every key also has a flag: `data_dir` <-> `--data-dir`.
//
// Typical use in a command:
//   NodeConfig flags;                      // scratch values bound to flags
//   std::string path = kDefaultNodeConfigPath;
//   auto* opt = serve->add_option("--config", path);
//   add_node_flags(*serve, flags);
//   ... app.parse(argc, argv) ...
//   auto cfg = load_node_config(path, /*must_exist=*/opt->count() > 0);
//   if (cfg) st = apply_node_flags(*serve, flags, *cfg);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/core/status.h"

namespace CLI {
class App;
}

namespace terril {

inline constexpr const char* kDefaultNodeConfigPath = "/etc/terril/node.toml";
inline constexpr const char* kDefaultHubConfigPath = "/etc/terril/hub.toml";

struct NodeConfig {
  std::string data_dir = "/var/lib/terril-node";  // SQLite file, credentials.toml
  std::string listen = "127.0.0.1:8080";          // HOST:PORT of the local API + web UI
  std::string hub_url;                            // wss://HOST:PORT; empty = the one saved at enrolment
  std::string log_level = "info";                 // trace|debug|info|warn|error|critical|off
  bool insecure = false;                          // allow ws:// to the hub (loopback tests only)
  // Off loopback the web UI is HTTPS (node_web_cert_path); true serves it
  // in plain HTTP there instead (a trusted staff network only; `serve` warns
  // and `doctor` reports it). A loopback `listen` is always plain HTTP.
  bool plain_http = false;
};

struct HubConfig {
  std::string data_dir = "/var/lib/terril-hub";
  std::string listen = "0.0.0.0:8443";  // HOST:PORT: dashboard, JSON API and /v1/sync
  std::string tls_cert;                 // PEM path; empty = hub_tls_cert_path() default
  std::string tls_key;                  // PEM path; empty = hub_tls_key_path() default
  bool insecure = false;                // plain HTTP/ws:// (loopback tests only)
  std::string log_level = "info";
  std::string public_url;  // wss://HOST:PORT given to technicians by `node add`
  // Bearer token a Prometheus sends for /metrics when the hub listens off
  // loopback; empty: /metrics needs the dashboard's login there.
  std::string metrics_token;
  // Records the nodes of one centre may create per day (UTC, hub clock):
  // events and prototype notes reach every box. 0 = no quota.
  int64_t daily_events_per_centre = 200;
  int64_t daily_notes_per_centre = 500;
};

// Loads `path` over the defaults. A missing file is not an error when
// !must_exist (the default path); it is when the user named it (--config).
// Errors:
//   not_found  "PATH: no such file" (must_exist only)
//   io         unreadable file
//   invalid    syntax error, unknown key, wrong type or bad value; the message
//              names the file, line and key, e.g.
//              "/etc/terril/node.toml:3: unknown key 'lisen'"
//              "/etc/terril/node.toml:2: key 'listen': expected HOST:PORT, got 'localhost'"
Result<NodeConfig> load_node_config(const std::string& path, bool must_exist);
Result<HubConfig> load_hub_config(const std::string& path, bool must_exist);

// The whole config is valid: listen is HOST:PORT, log level known, URLs are
// ws:// or wss://, data_dir non-empty. Errors: invalid, naming the key.
Status validate_node_config(const NodeConfig& c);
Status validate_hub_config(const HubConfig& c);

// Registers one flag per key on `app`, bound to `flags`:
//   node: --data-dir --listen --hub-url --log-level --insecure --plain-http
//   hub:  --data-dir --listen --tls-cert --tls-key --insecure --log-level --public-url
//         --metrics-token
// `flags` is scratch storage owned by the caller; it must outlive app.parse()
// and the apply_*_flags() call. REQUIRES: none of these flags exists on app.
void add_node_flags(CLI::App& app, NodeConfig& flags);
// --config FILE on `app`, bound to `path`; `given` turns true when the flag
// is on the command line (then load_*_config() must find the file). Both
// must outlive app.parse().
void add_config_flag(CLI::App& app, std::string& path, bool& given);
void add_hub_flags(CLI::App& app, HubConfig& flags);

// After app.parse(): copies into `cfg` each key whose flag was given on the
// command line (Option::count() > 0), then validates the result. Flags not
// given leave the file's (or default) value. Errors: invalid, naming the flag.
Status apply_node_flags(const CLI::App& app, const NodeConfig& flags, NodeConfig& cfg);
Status apply_hub_flags(const CLI::App& app, const HubConfig& flags, HubConfig& cfg);

// The hub's TLS files: the configured path, or the pair `terril-hub init`
// makes in the data folder (<data_dir>/tls/hub-cert.pem, hub-key.pem).
std::string hub_tls_cert_path(const HubConfig& c);
std::string hub_tls_key_path(const HubConfig& c);

// The certificate of the box's local web UI (HTTPS off loopback), made by
// `terril-node enrol` or the first `serve` that needs it:
// <data_dir>/tls/web-cert.pem (0644) and web-key.pem (0600).
std::string node_web_cert_path(const NodeConfig& c);
std::string node_web_key_path(const NodeConfig& c);

// HOST:PORT. HOST is a DNS name, an IPv4 address or a bracketed IPv6
// address ("[::1]:8443"; returned without brackets). PORT is 0..65535; 0
// asks the OS for a free port (tests). Errors: invalid.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
Result<HostPort> parse_host_port(std::string_view s);

// trace, debug, info, warn, error, critical, off.
bool valid_log_level(std::string_view level);

}  // namespace terril

// terril-node: the centre's daemon and its command line. Thin main: parse
// the command line and config, then run one command; `serve` wires the
// objects and runs one event-loop thread (common/ops/daemon_loop.h).
//
//   terril-node enrol --hub URL --code CODE   enrol this box with the hub (node/enrol_cmd.cpp)
//   terril-node serve [--config FILE]         local web UI + API (HTTPS off loopback), sync with the hub
//   terril-node status                        node id, pending changes, last sync, hub reachable
//                                             (node/doctor_cmd.cpp)
//   terril-node passwd                        set the staff password (stdin when not a terminal)
//   terril-node doctor                        explain what needs a technician's action
//                                             (node/doctor_cmd.cpp)
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <array>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "common/net/auth.h"
#include "common/net/event_loop.h"
#include "common/net/ws_client.h"
#include "common/net/ws_server.h"
#include "common/ops/cli_util.h"
#include "common/ops/config.h"
#include "common/ops/daemon_loop.h"
#include "common/ops/log.h"
#include "common/ops/tls.h"
#include "common/store/store.h"
#include "common/version.h"
#include "node/api.h"
#include "node/commands.h"
#include "node/credentials.h"
#include "node/sync_client.h"
#include "node/web_tls.h"

namespace terril {
namespace {

// Accepted connections of the web UI and API; more are closed at once.
constexpr size_t kMaxWebConnections = 256;

int cmd_passwd(const NodeConfig& cfg) {
  std::string pw = read_password("Nouveau mot de passe de l'accueil : ");
  if (Status s = check_password_policy(pw); !s) return node_fail(s.message_fr());
  auto h = hash_password(pw);
  if (!h) return node_fail(h.status().message());
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);  // an error shows in the write below
  if (Status s = write_password_file(node_password_path(cfg), *h); !s) return node_fail(s.message());
  std::cout << "Mot de passe enregistré. / Staff password set.\n";
  return 0;
}

// The last sync, one source of truth for the web banner (SyncState, in
// memory, written by the sync client) and `terril-node status` (the store's
// kLastSyncMeta): at start the banner shows the persisted time; afterwards
// every change is persisted before the API can show it (persist() runs
// before each request), at each tick and at stop. A failed write is retried
// at the next call.
class LastSyncMirror {
 public:
  LastSyncMirror(Store& store, SyncState& state) : store_(store), state_(state) {
    saved_ = stored_last_sync_ms(store);
    state_.last_sync_ms = saved_;
  }
  void persist() {
    if (state_.last_sync_ms == saved_) return;
    if (Status s = store_.set_meta(kLastSyncMeta, std::to_string(state_.last_sync_ms)); !s) {
      if (!failing_) spdlog::warn("node: cannot save the last sync time (retrying): {}", s.message());
      failing_ = true;
      return;
    }
    saved_ = state_.last_sync_ms;
    failing_ = false;
  }

 private:
  Store& store_;
  SyncState& state_;
  int64_t saved_ = 0;
  bool failing_ = false;
};

int cmd_serve(const NodeConfig& cfg) {
  auto hp = parse_host_port(cfg.listen);
  if (!hp) return node_fail(hp.status().message());
  auto creds = load_credentials(cfg.data_dir);
  if (!creds) return node_fail(creds.status().message());
  auto st = open_node_store(cfg, *creds ? (*creds)->node_id : "", *creds ? (*creds)->centre_id : "");
  if (!st) return node_fail(st.status().message());
  Store& store = **st;
  // The seat rules' step for every event, once: a restart or a restored
  // backup may have left a freed seat or a request unanswered.
  if (auto n = store.reconcile_seats(wall_clock_ms()); !n)
    spdlog::warn("seats: {}", n.status().message());
  else if (*n)
    spdlog::info("seats: {} change(s) made by the seat rules at start", *n);

  EventLoop loop;
  SyncState state;
  LastSyncMirror last_sync(store, state);
  std::unique_ptr<SyncClient> client;
  if (*creds) {
    Credentials c = **creds;
    if (!cfg.hub_url.empty()) c.hub_url = cfg.hub_url;
    auto url = parse_ws_url(c.hub_url);
    if (!url) return node_fail(url.status().message());
    if (!url->tls && !cfg.insecure) return node_fail("refusing plain ws:// to the hub without --insecure");
    if (auto w = store.meta("wiped_at"); w && *w) {
      state.wiped_at_ms = std::atoll((*w)->c_str());
      if (auto n = store.meta("wiped_count"); n && *n) state.wiped_count = std::strtoull((*n)->c_str(), nullptr, 10);
    }
    SyncClientOptions so;
    so.software_version = std::string(kVersion);
    so.now_ms = wall_now_ms;
    client = std::make_unique<SyncClient>(loop, store, state, c, so);
  } else {
    spdlog::warn("node is not enrolled: serving the local UI only (run `terril-node enrol`)");
  }

  SessionManager sessions;
  LoginLimiter limiter;
  NodeApi::Hooks hooks;
  hooks.now_ms = wall_now_ms;
  hooks.random16 = [] {
    std::array<uint8_t, 16> a{};
    auto b = *random_bytes(16);
    std::memcpy(a.data(), b.data(), 16);
    return a;
  };
  hooks.on_local_write = [&] {
    if (client) client->nudge();
  };

  ServerOptions opts;
  opts.host = hp->host;
  opts.port = hp->port;
  opts.ws_path.clear();
  // Below the unit's LimitNOFILE=1024 with room for the hub link, SQLite
  // and the journal (L6): a LAN host holding sockets cannot exhaust the fds.
  opts.max_connections = kMaxWebConnections;
  const WebScheme scheme = web_scheme(cfg);
  if (scheme == WebScheme::https) {
    // A box enrolled before HTTPS existed gets its certificate here, dated by the hub-corrected clock.
    auto fp = ensure_web_certificate(cfg, *creds ? (*creds)->node_id : "", wall_now_ms() + store.clock_offset());
    if (!fp) return node_fail("web UI certificate: " + fp.status().message());
    if (Status s = load_server_tls(opts, node_web_cert_path(cfg), node_web_key_path(cfg)); !s)
      return node_fail(s.message() + " (remove " + node_web_cert_path(cfg) + " and " + node_web_key_path(cfg) +
                       " to make a new one; reception PCs then accept the new certificate once)");
    hooks.secure_cookie = true;
    hooks.web_fingerprint = *fp;
    spdlog::info("web UI certificate fingerprint (SHA-256): {}", *fp);
  } else if (scheme == WebScheme::plain_off_loopback) {
    spdlog::warn(
        "plain_http is on: the web UI on {} is plain HTTP, so the staff password and personal data cross the "
        "centre's network in clear; use it only on a network reserved for the staff",
        cfg.listen);
  }
  NodeApi api(store, state, sessions, limiter, node_password_path(cfg), hooks);
  auto handle = [&](const HttpRequest& r) {
    last_sync.persist();  // what the API shows, `status` reads
    return api.handle(r);
  };
  Server server(loop, opts, handle, nullptr);
  if (Status s = server.start(); !s) return node_fail(s.message());
  spdlog::info("node listening on {}://{}:{} (store {})", web_scheme_name(scheme), hp->host, server.port(),
               data_file(cfg.data_dir, "node.db"));
  if (client) client->start();

  DaemonLoopOptions d;
  d.name = "node";
  d.tick_ms = 1000;
  // An erasure whose WAL checkpoint failed (a reader held the WAL) is
  // retried each tick until the erased bytes are in no file.
  // `doctor` (another process) reads the pending state from the meta table.
  bool erase_pending_saved = false;
  d.on_tick = [&] {
    last_sync.persist();
    (void)store.retry_erase_checkpoint();
    const bool pending = store.erase_checkpoint_pending();
    if (pending != erase_pending_saved && store.set_meta(kErasePendingMeta, pending ? "1" : "0"))
      erase_pending_saved = pending;
  };
  d.on_stop = [&] {
    if (client) client->stop();
    server.stop();
    last_sync.persist();
  };
  d.host = hp->host;
  d.port = server.port();
  run_daemon(loop, d);
  return 0;
}

}  // namespace
}  // namespace terril

int main(int argc, char** argv) {
  using namespace terril;
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout or socket is an error code, not a death
  CLI::App app{"terril-node: the centre's offline-first registrations and prototype notes"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(kVersion));
  NodeConfig flags;
  std::string config_path = kDefaultNodeConfigPath;
  bool config_given = false, as_json = false;
  auto add_common = [&](CLI::App* sub) {
    add_config_flag(*sub, config_path, config_given);
    add_node_flags(*sub, flags);
  };
  auto* enrol = app.add_subcommand("enrol", "Enrol this box with the hub using a one-time code");
  std::string hub, code, fingerprint;
  enrol->add_option("--hub", hub, "Hub URL, wss://HOST:PORT")->required();
  enrol->add_option("--code", code, "One-time enrolment code from `terril-hub node add`")->required();
  enrol->add_option("--fingerprint", fingerprint,
                    "The hub certificate's SHA-256 fingerprint, as the hub printed it (required with wss://)");
  enrol->add_flag("--json", as_json, "Print JSON");
  add_common(enrol);
  auto* serve = app.add_subcommand("serve", "Serve the local web UI and API, and sync with the hub");
  add_common(serve);
  auto* status = app.add_subcommand("status", "Node id, pending changes, last sync, hub reachable");
  status->add_flag("--json", as_json, "Print JSON");
  add_common(status);
  auto* passwd = app.add_subcommand("passwd", "Set the reception staff password");
  add_common(passwd);
  auto* doctor = app.add_subcommand("doctor", "Check the box and explain what needs action");
  doctor->add_flag("--json", as_json, "Print JSON");
  add_common(doctor);
  CLI11_PARSE(app, argc, argv);

  CLI::App* used = app.get_subcommands().front();
  auto cfg = load_node_config(config_path, config_given);
  if (!cfg) return node_fail(cfg.status().message());
  if (Status s = apply_node_flags(*used, flags, *cfg); !s) return node_fail(s.message());
  init_logging(cfg->log_level, "terril-node");
  try {
    if (used == enrol) return cmd_enrol(*cfg, hub, code, fingerprint, as_json);
    if (used == serve) return cmd_serve(*cfg);
    if (used == status) return cmd_status(*cfg, as_json);
    if (used == passwd) return cmd_passwd(*cfg);
    if (used == doctor) return cmd_doctor(*cfg, as_json);
  } catch (const std::exception& e) {
    spdlog::critical("terril-node: {}", e.what());
    return 2;
  }
  return 0;
}

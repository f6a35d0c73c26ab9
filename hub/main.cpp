// terril-hub: the central hub and its command line. Thin main: parse the
// command line and config, then run one command; `serve` wires the objects
// and runs the event loop on one thread (common/ops/daemon_loop.h), group
// commit on a store thread of its own.
//
//   terril-hub init --data-dir DIR            create store, TLS cert, admin password, seed centres
//                                             (password: stdin when not a terminal, else random)
//   terril-hub serve [--config FILE]          dashboard + JSON API + /v1/sync on one port
//   terril-hub passwd                         change the admin password (stdin when not a terminal)
//   terril-hub node add|list|revoke|replace   node management
//   terril-hub export --entity E --format csv export consolidated data
//   terril-hub backup --to FILE | restore --from FILE   hub/backup_cmd.h
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/core/ids.h"
#include "common/core/text.h"
#include "common/net/auth.h"
#include "common/net/event_loop.h"
#include "common/net/ws_server.h"
#include "common/ops/cli_util.h"
#include "common/ops/config.h"
#include "common/ops/daemon_loop.h"
#include "common/ops/data_lock.h"
#include "common/ops/data_store.h"
#include "common/ops/log.h"
#include "common/ops/tls.h"
#include "common/store/store.h"
#include "common/version.h"
#include "hub/admin.h"
#include "hub/backup_cmd.h"
#include "hub/centres_seed.h"
#include "hub/export_cli.h"
#include "common/store/hub_registry.h"
#include "hub/sync_hub.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace terril {
namespace {

int64_t now_ms() {
  return wall_now_ms();
}

int die(std::string_view msg) {
  return fail("terril-hub", msg);
}

std::string password_path(const HubConfig& c) {
  return data_file(c.data_dir, "admin.password");
}

// DATA_DIR/hub.db; only `init` creates the data folder.
Result<std::unique_ptr<Store>> open_store(const HubConfig& c, bool create_dir = false) {
  StoreOptions o;
  o.origin = "hub";
  o.hub = true;
  o.daily_event_quota = c.daily_events_per_centre;
  o.daily_note_quota = c.daily_notes_per_centre;
  return open_data_store(c.data_dir, "hub.db", o, create_dir);
}

std::string random_password() {
  static const char* alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  auto bytes = random_bytes(16);
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i && i % 4 == 0) out += '-';
    out += alphabet[static_cast<unsigned char>((*bytes)[i]) % 56];
  }
  return out;
}

Result<std::string> hub_id_of(Store& st) {
  auto id = st.meta("hub_id");
  if (!id) return id.status();
  if (!*id) return Status(Code::not_found, "hub is not initialised: run `terril-hub init --data-dir DIR` first");
  return **id;
}

// The admin password: the one given (piped on standard input, or typed at
// the terminal with --password-stdin), else on a new hub a random one printed
// once; a hub that has one keeps it.
int cmd_init(const HubConfig& cfg, bool password_stdin) {
  auto st = open_store(cfg, true);
  if (!st) return die(st.status().message());
  auto existing = (*st)->meta("hub_id");
  if (!existing) return die(existing.status().message());
  std::string hub_id;
  if (*existing) {
    hub_id = **existing;
    std::cout << "Hub already initialised (hub id " << hub_id << "); keeping its data.\n";
  } else {
    hub_id = "hub-" + to_hex(*random_bytes(6));
    if (Status s = (*st)->set_meta("hub_id", hub_id); !s) return die(s.message());
  }
  auto centres = parse_centres(centres_csv());
  if (!centres) return die("embedded centres: " + centres.status().message());
  if (Status s = (*st)->seed_centres(*centres, now_ms()); !s) return die("seeding centres: " + s.message());
  std::string cert = hub_tls_cert_path(cfg), key = hub_tls_key_path(cfg);
  if (!fs::exists(cert)) {
    if (Status s = generate_self_signed(cert, key, "localhost", 3650); !s) return die(s.message());
  }
  auto fp = cert_fingerprint_pem(cert);
  if (!fp) return die(fp.status().message());
  std::optional<std::string> given = given_password("Admin password: ", password_stdin);
  if (!given && password_stdin) return die("no password on standard input (--password-stdin)");
  bool new_password = given || !fs::exists(password_path(cfg));
  std::string pw;
  if (new_password) {
    pw = given ? *given : random_password();
    if (Status s = check_password_policy(pw); !s) return die(s.message());
    auto h = hash_password(pw);
    if (!h) return die(h.status().message());
    if (Status s = write_password_file(password_path(cfg), *h); !s) return die(s.message());
  }
  std::cout << "Hub initialised in " << cfg.data_dir << "\n"
            << "  hub id:           " << hub_id << "\n"
            << "  centres:          " << centres->size() << "\n"
            << "  TLS certificate:  " << cert << "\n"
            << "  fingerprint:      " << *fp << "\n";
  if (new_password && !given)
    std::cout << "  admin password:   " << pw << "   (shown once; change it with `terril-hub passwd`)\n";
  return 0;
}

int cmd_passwd(const HubConfig& cfg) {
  std::string pw = read_password("New admin password: ");
  if (Status s = check_password_policy(pw); !s) return die(s.message_fr());
  auto h = hash_password(pw);
  if (!h) return die(h.status().message());
  if (Status s = write_password_file(password_path(cfg), *h); !s) return die(s.message());
  std::cout << "Admin password changed. Sessions opened before remain valid until they expire or the hub restarts.\n";
  return 0;
}

json node_json(const NodeInfo& n, uint64_t node_cursor) {
  return {{"node_id", n.node_id},
          {"node_cursor", node_cursor},
          {"centre_id", n.centre_id},
          {"state", node_state_name(n.state)},
          {"last_seen", n.last_seen_at_ms ? json(format_iso8601(n.last_seen_at_ms)) : json(nullptr)},
          {"enrolled_at", n.enrolled_at_ms ? json(format_iso8601(n.enrolled_at_ms)) : json(nullptr)},
          {"software_version", n.software_version},
          {"hub_cursor", n.hub_cursor},
          {"replaced_by", n.replaced_by}};
}

// The hub URL technicians are given: public_url, else the listen address
// (a wildcard host becomes a placeholder to replace: set public_url).
std::string technician_url(const HubConfig& cfg) {
  if (!cfg.public_url.empty()) return cfg.public_url;
  std::string listen = cfg.listen;
  if (listen.rfind("0.0.0.0:", 0) == 0) listen = "ADRESSE-DU-HUB" + listen.substr(7);
  if (listen.rfind("[::]:", 0) == 0) listen = "ADRESSE-DU-HUB" + listen.substr(4);
  return (cfg.insecure ? "ws://" : "wss://") + listen;
}

// The fingerprint of the certificate `serve` presents ("" with --insecure).
Result<std::string> served_fingerprint(const HubConfig& cfg) {
  if (cfg.insecure) return std::string();
  return cert_fingerprint_pem(hub_tls_cert_path(cfg));
}

int print_code(const HubConfig& cfg, const NodeCode& code, bool as_json, const char* what) {
  auto fp = served_fingerprint(cfg);
  // Never hand out a command without the pin: the box would have nothing to
  // check the hub with (the code is valid and can be asked for again).
  if (!fp) return die("cannot read the hub's certificate to print its fingerprint: " + fp.status().message());
  const std::string& fingerprint = *fp;
  const std::string url = technician_url(cfg);
  if (as_json) {
    std::cout << json{{"node_id", code.node_id},
                      {"centre_id", code.centre_id},
                      {"code", code.code},
                      {"expires_at", format_iso8601(code.expires_at_ms)},
                      {"hub_fingerprint", fingerprint},
                      {"command", enrolment_command(url, code.code, fingerprint)}}
                     .dump()
              << "\n";
    return 0;
  }
  std::cout << what << " " << code.node_id << " for centre " << code.centre_id << ".\n"
            << "One-time enrolment code: " << code.code << "  (valid until " << format_fr_datetime(code.expires_at_ms)
            << ")\n"
            << "On the centre's box, run:\n"
            << "  " << enrolment_command(url, code.code, fingerprint) << "\n";
  if (!fingerprint.empty()) std::cout << "Hub certificate fingerprint: " << fingerprint << "\n";
  if (url.find("ADRESSE-DU-HUB") != std::string::npos)
    std::cout << "Replace ADRESSE-DU-HUB by the hub's address, or set public_url in hub.toml.\n";
  return 0;
}

int cmd_serve(const HubConfig& cfg) {
  auto hp = parse_host_port(cfg.listen);
  if (!hp) return die(hp.status().message());
  if (cfg.insecure) {
    if (!is_loopback_address(hp->host))
      return die("--insecure serves plain ws:// and is refused on " + hp->host + ": use a loopback address");
  }
  // Held until serve returns: `restore` refuses while it is.
  auto lock = DataLock::acquire(cfg.data_dir);
  if (!lock) return die(lock.status().message());
  auto st = open_store(cfg);
  if (!st) return die(st.status().message());
  Store& store = **st;
  auto hub_id = hub_id_of(store);
  if (!hub_id) return die(hub_id.status().message());
  Registry registry(store);

  EventLoop loop;
  ServerOptions opts;
  opts.host = hp->host;
  opts.port = hp->port;
  if (!cfg.insecure)
    if (Status s = load_server_tls(opts, hub_tls_cert_path(cfg), hub_tls_key_path(cfg)); !s) return die(s.message());

  // A new epoch at each start: hub sequences never repeat, even after a
  // restore from an older copy (docs/design.md "Replicas that heal").
  auto epoch = store.begin_epoch(now_ms());
  if (!epoch) return die(epoch.status().message());
  spdlog::info("hub epoch starts at sequence {}", *epoch);

  SyncHubOptions so;
  so.hub_id = *hub_id;
  so.software_version = std::string(kVersion);
  so.now_ms = now_ms;
  so.random_bytes = [](size_t n) { return *random_bytes(n); };
  // Group commit on a store thread of its own, over a second connection to
  // the same file (WAL: the loop's connection keeps reading meanwhile).
  auto apply_store = open_store(cfg);
  if (!apply_store) return die(apply_store.status().message());
  WorkerThread store_thread;
  so.post = [&loop](std::function<void()> fn) { loop.post(std::move(fn)); };
  so.apply_on = [&store_thread](std::function<void()> fn) { store_thread.post(std::move(fn)); };
  so.apply_store = apply_store->get();
  SyncHub hub(store, registry, so);

  AdminApi::Options ao{password_path(cfg), !cfg.insecure, std::string(kVersion), now_ms};
  // The dashboard's enrolment commands carry the pin (never trust on first use).
  auto served_fp = served_fingerprint(cfg);
  if (!served_fp) return die(served_fp.status().message());
  ao.hub_fingerprint = *served_fp;
  ao.public_url = cfg.public_url;
  ao.metrics_open = is_loopback_address(hp->host);  // else login or metrics_token (L7)
  ao.metrics_token = cfg.metrics_token;
  AdminApi admin(store, registry, hub, std::move(ao));

  Server server(
      loop, opts, [&](const HttpRequest& r) { return admin.handle(r); },
      [&](const HttpRequest& r) { return hub.make_session(r); });
  if (Status s = server.start(); !s) return die(s.message());
  spdlog::info("hub {} listening on {}://{}:{} (store {})", *hub_id, cfg.insecure ? "http" : "https", hp->host,
               server.port(), data_file(cfg.data_dir, "hub.db"));

  DaemonLoopOptions d;
  d.name = "hub";
  d.tick_ms = 500;
  // An erasure whose WAL checkpoint failed (a reader held the WAL) is
  // retried each tick until the erased bytes are in no file.
  d.on_tick = [&] {
    hub.tick();
    (void)store.retry_erase_checkpoint();  // the admin's erasures
    Store* applier = apply_store->get();   // the nodes' erasures, on its own thread
    store_thread.post([applier] { (void)applier->retry_erase_checkpoint(); });
  };
  d.on_stop = [&] { server.stop(); };
  d.status = "serving";
  d.host = hp->host;
  d.port = server.port();
  run_daemon(loop, d);
  store_thread.join();  // a group being applied finishes; its answers are dropped (nodes resend)
  return 0;
}

}  // namespace
}  // namespace terril

int main(int argc, char** argv) {
  using namespace terril;
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout or socket is an error code, not a death
  CLI::App app{"terril-hub: central hub of the Centres sociaux connectés du bassin minier"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(kVersion));
  HubConfig flags;
  std::string config_path = kDefaultHubConfigPath;
  bool config_given = false;
  bool as_json = false;

  auto add_common = [&](CLI::App* sub) {
    add_config_flag(*sub, config_path, config_given);
    add_hub_flags(*sub, flags);
  };

  auto* init = app.add_subcommand("init", "Create the hub's data folder, store, TLS certificate and admin password");
  add_common(init);
  bool password_stdin = false;
  init->add_flag("--password-stdin", password_stdin,
                 "Read the admin password from standard input (the default when it is not a terminal; with a "
                 "terminal, prompt for it)");
  auto* serve = app.add_subcommand("serve", "Serve the dashboard, JSON API and /v1/sync");
  add_common(serve);
  auto* passwd = app.add_subcommand("passwd", "Change the admin password");
  add_common(passwd);

  auto* node = app.add_subcommand("node", "Manage the centres' nodes");
  node->require_subcommand(1);
  std::string node_id, centre_id;
  auto* add = node->add_subcommand("add", "Register a node and print its one-time enrolment code");
  add->add_option("NODE_ID", node_id, "Node id (lowercase letters, digits, '-')")->required();
  add->add_option("--centre", centre_id, "Centre id (see data/centres.csv)")->required();
  add->add_flag("--json", as_json, "Print JSON");
  add_common(add);
  auto* list = node->add_subcommand("list", "List nodes with their state, last contact and cursors");
  list->add_flag("--json", as_json, "Print JSON");
  add_common(list);
  auto* revoke = node->add_subcommand("revoke", "Cut a node off at once and refuse it from then on");
  revoke->add_option("NODE_ID", node_id)->required();
  add_common(revoke);
  auto* replace = node->add_subcommand("replace", "Revoke a node's box and print a code for its replacement");
  replace->add_option("NODE_ID", node_id)->required();
  replace->add_flag("--json", as_json, "Print JSON");
  add_common(replace);

  auto* exp = app.add_subcommand("export", "Export consolidated data");
  std::string entity, format = "csv", out_path;
  ExportFilters ef;
  exp->add_option("--entity", entity, "registrations | events | prototype-notes | centres")->required();
  exp->add_option("--format", format, "csv | json")->check(CLI::IsMember({"csv", "json"}));
  exp->add_option("--output,-o", out_path, "Write to this file instead of standard output");
  add_export_flags(*exp, ef);
  add_common(exp);

  BackupFlags backup_flags;
  BackupCommands backup = add_backup_commands(app, backup_flags);
  add_common(backup.backup);
  add_common(backup.restore);

  CLI11_PARSE(app, argc, argv);

  CLI::App* used = app.get_subcommands().front();
  if (used == node) used = node->get_subcommands().front();
  auto cfg = load_hub_config(config_path, config_given);
  if (!cfg) return die(cfg.status().message());
  if (Status s = apply_hub_flags(*used, flags, *cfg); !s) return die(s.message());
  init_logging(cfg->log_level, "terril-hub");

  try {
    if (used == init) return cmd_init(*cfg, password_stdin);
    if (used == serve) return cmd_serve(*cfg);
    if (used == passwd) return cmd_passwd(*cfg);
    if (used == backup.backup) return run_backup(*cfg, backup_flags);
    if (used == backup.restore) return run_restore(*cfg, backup_flags);

    auto st = open_store(*cfg);
    if (!st) return die(st.status().message());
    if (auto id = hub_id_of(**st); !id) return die(id.status().message());
    Registry registry(**st);
    int64_t now = now_ms();
    if (used == add) {
      auto centre = (*st)->get(Entity::centre, centre_id);
      if (!centre) return die(centre.status().message());
      if (!*centre) return die("unknown centre '" + centre_id + "' (see `terril-hub export --entity centres`)");
      auto code = registry.add(node_id, centre_id, now, "cli");
      if (!code) return die(code.status().message());
      return print_code(*cfg, *code, as_json, "Node added:");
    }
    if (used == replace) {
      auto code = registry.replace(node_id, now, "cli");
      if (!code) return die(code.status().message());
      if (!as_json) std::cout << "The old box of " << node_id << " is revoked; changes it never synced are lost.\n";
      return print_code(*cfg, *code, as_json, "Replacement node");
    }
    if (used == revoke) {
      if (Status s = registry.revoke(node_id, now, "cli"); !s) return die(s.message());
      std::cout << "Node " << node_id << " revoked; a running hub closes its link within a second.\n";
      return 0;
    }
    if (used == list) {
      auto nodes = registry.list();
      if (!nodes) return die(nodes.status().message());
      // The node cursor: how far the hub holds each node's own changes.
      auto cursor_of = [&](const std::string& id) -> uint64_t {
        auto c = (*st)->origin_cursor(id);
        return c ? *c : 0;
      };
      if (as_json) {
        json arr = json::array();
        for (const auto& n : *nodes) arr.push_back(node_json(n, cursor_of(n.node_id)));
        std::cout << arr.dump(2) << "\n";
        return 0;
      }
      std::printf("%-28s %-30s %-8s %-17s %-8s %11s %11s\n", "NODE", "CENTRE", "STATE", "LAST SEEN", "VERSION",
                  "NODE CURSOR", "HUB CURSOR");
      for (const auto& n : *nodes)
        std::printf("%-28s %-30s %-8s %-17s %-8s %11llu %11llu\n", n.node_id.c_str(), n.centre_id.c_str(),
                    node_state_name(n.state),
                    n.last_seen_at_ms ? format_fr_datetime(n.last_seen_at_ms).c_str() : "never",
                    printable(n.software_version, 64).c_str(), static_cast<unsigned long long>(cursor_of(n.node_id)),
                    static_cast<unsigned long long>(n.hub_cursor));
      return 0;
    }
    if (used == exp) {
      const EntitySpec* es = spec_by_name(entity);
      if (!es) return die("unknown entity '" + entity + "'");
      std::unique_ptr<std::ostream> file;
      std::ostream* out = &std::cout;
      if (!out_path.empty()) {
        auto f = open_export_file(out_path);
        if (!f) return die(f.status().message());
        file = std::move(*f);
        out = file.get();
      }
      Status s = export_records(**st, registry, es->entity, format, ef, "cli", now, *out);
      if (!s) return die(s.message());
      if (file && !file->flush()) return die("cannot write " + out_path);
      return 0;
    }
  } catch (const std::exception& e) {
    spdlog::critical("terril-hub: {}", e.what());
    return 2;
  }
  return 0;
}

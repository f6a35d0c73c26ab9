// terril-node: the centre's daemon and its command line. Thin main: parse
// the command line and config, wire the objects, run one event-loop thread.
//
//   terril-node enrol --hub URL --code CODE   enrol this box with the hub
//   terril-node serve [--config FILE]         local web UI + API, sync with the hub
//   terril-node status                        node id, pending changes, last sync, hub reachable
//   terril-node passwd                        set the staff password (stdin when not a tty)
//   terril-node doctor                        explain what needs a technician's action
#include <spdlog/spdlog.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/cli_util.h"
#include "common/config.h"
#include "common/core/ids.h"
#include "common/credentials.h"
#include "common/log.h"
#include "common/net/auth.h"
#include "common/net/ws_client.h"
#include "common/net/ws_server.h"
#include "common/sd_notify.h"
#include "common/store/store.h"
#include "common/tls.h"
#include "node/api.h"
#include "node/sync_client.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace terril {
namespace {

constexpr const char* kVersion = "0.1.0";

int64_t now_ms() {
  return wall_now_ms();
}

int die(const std::string& msg) {
  std::cerr << "terril-node: " << msg << "\n";
  return 1;
}

std::string store_path(const NodeConfig& c) {
  return (fs::path(c.data_dir) / "node.db").string();
}
std::string password_path(const NodeConfig& c) {
  return (fs::path(c.data_dir) / "staff.password").string();
}

Result<std::unique_ptr<Store>> open_store(const NodeConfig& c, const std::string& origin) {
  std::error_code ec;
  fs::create_directories(c.data_dir, ec);
  if (ec) return Status(Code::io, "cannot create " + c.data_dir + ": " + ec.message());
  ::chmod(c.data_dir.c_str(), 0700);
  StoreOptions o;
  o.origin = origin;
  return Store::open(store_path(c), o);
}

// Both languages: technicians on site read French, logs and docs are English.
// `code_spent`: the hub already accepted the code (the failure is local).
int explain_enrol_error(const Status& s, const std::string& hub, bool code_spent = false) {
  std::string fr, en = s.message();
  switch (s.code()) {
    case Code::unavailable:
      fr = "Le hub " + hub + " est injoignable. Vérifiez le câble ou le Wi-Fi, l'adresse du hub, puis réessayez.";
      break;
    case Code::forbidden:
      if (en.find("fingerprint") != std::string::npos)
        fr = "Le certificat du hub ne correspond pas à l'empreinte attendue : ne poursuivez pas, prévenez "
             "l'administrateur du hub.";
      else if (en.find("expired") != std::string::npos)
        fr = "Ce code d'enrôlement a expiré. Demandez un nouveau code à l'administrateur du hub (terril-hub node "
             "replace).";
      else
        fr = "Code d'enrôlement refusé (inconnu ou déjà utilisé). Vérifiez la saisie ou demandez un nouveau code.";
      break;
    case Code::full:
      fr = "Plus d'espace disque : libérez de la place sur la carte SD puis réessayez.";
      break;
    case Code::invalid:
      fr = "Adresse du hub invalide : elle doit commencer par wss://";
      break;
    case Code::io:
      fr = "Impossible d'écrire dans le dossier de données (carte SD pleine, en lecture seule, ou droits ?).";
      break;
    default:
      fr = "L'enrôlement a échoué.";
      break;
  }
  if (code_spent) {
    fr += " Le hub a déjà accepté ce code : après correction, demandez un nouveau code (terril-hub node replace).";
    en += ". The hub already took this code: once fixed, ask for a new one (terril-hub node replace).";
  }
  std::cerr << "Échec de l'enrôlement : " << fr << "\nEnrolment failed: " << en << "\n";
  return 1;
}

// The packaged service runs as this user (systemd/terril-node.service, User=).
constexpr const char* kServiceUser = "terril-node";

// `sudo terril-node enrol` (root) must not leave root-owned files that the
// service (User=terril-node) cannot open. Run as root, enrol:
//  - hands everything it writes in the data folder to the folder's owner when
//    that is not root (the package makes /var/lib/terril-node owned by
//    terril-node): the usual case, `sudo terril-node enrol` just works;
//  - refuses, before spending the code, when the folder is the service user's
//    own (its home, /var/lib/terril-node) but missing or root's;
//  - otherwise (a folder of root's choosing, a source build, the tests) writes
//    root's files, with a warning when the service user exists.
struct DataDirOwner {
  bool chown_to_owner = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string warning;  // printed on stderr after a successful enrolment
};

bool same_path(const std::string& a, const std::string& b) {
  std::error_code ec1, ec2;
  auto x = fs::weakly_canonical(a, ec1), y = fs::weakly_canonical(b, ec2);
  return !ec1 && !ec2 && x == y;
}

Result<DataDirOwner> decide_data_dir_owner(const std::string& dir) {
  DataDirOwner o;
  if (::geteuid() != 0) return o;
  struct stat sb {};
  bool exists = ::stat(dir.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode);
  if (exists && sb.st_uid != 0) {
    o.chown_to_owner = true;
    o.uid = sb.st_uid;
    o.gid = sb.st_gid;
    return o;
  }
  const struct passwd* svc = ::getpwnam(kServiceUser);
  if (svc == nullptr) return o;
  std::string run_as = std::string("  sudo -u ") + kServiceUser + " terril-node enrol --hub URL --code CODE\n";
  if (svc->pw_dir != nullptr && same_path(dir, svc->pw_dir)) {
    std::string state = exists ? "appartient à root / is owned by root" : "n'existe pas / does not exist";
    return Status(
        Code::forbidden,
        std::string("Échec de l'enrôlement : ne le lancez pas en root, le service tourne sous l'utilisateur ") +
            kServiceUser +
            " et ne pourrait pas lire les fichiers écrits par root. Le code n'a pas été "
            "utilisé. Relancez :\n" +
            run_as + "Enrolment refused: do not run it as root, the service runs as the " + kServiceUser +
            " user and could not read files written by root. The code was not used. Run again:\n" + run_as + "(" + dir +
            " " + state + "; reinstalling the package recreates it owned by " + kServiceUser + ".)");
  }
  o.warning = std::string("Attention : fichiers écrits par root dans ") + dir + " ; le service " + kServiceUser +
              " ne pourra pas les lire (chown -R " + kServiceUser + ": " + dir + ").\n" +
              "Warning: files written by root in " + dir + "; the " + kServiceUser +
              " service will not be able to read them (chown -R " + kServiceUser + ": " + dir + ").\n";
  return o;
}

// Gives `dir` and everything under it to the owner chosen above (no-op unless
// running as root over a user's folder). Runs when enrol returns, success or not.
class ChownOnExit {
 public:
  ChownOnExit(std::string dir, DataDirOwner o) : dir_(std::move(dir)), o_(o) {}
  ~ChownOnExit() { run(); }
  void run() {
    if (!o_.chown_to_owner) return;
    std::error_code ec;
    give(dir_);
    for (fs::recursive_directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
      give(it->path().string());
  }

 private:
  void give(const std::string& path) {
    if (::lchown(path.c_str(), o_.uid, o_.gid) != 0)
      std::cerr << "terril-node: cannot give " << path << " to uid " << o_.uid << ": " << std::strerror(errno) << "\n";
  }
  std::string dir_;
  DataDirOwner o_;
};

int cmd_enrol(NodeConfig cfg, const std::string& hub, const std::string& code, const std::string& fingerprint,
              bool as_json) {
  auto owner = decide_data_dir_owner(cfg.data_dir);
  if (!owner) {
    std::cerr << owner.status().message() << "\n";
    return 1;
  }
  ChownOnExit chown_on_exit(cfg.data_dir, *owner);
  auto existing = load_credentials(cfg.data_dir);
  if (existing && *existing)
    return die("ce boîtier est déjà enrôlé comme " + (*existing)->node_id + " / this box is already enrolled as " +
               (*existing)->node_id + " (" + cfg.data_dir +
               "/credentials.toml). To move it, ask the hub admin for `terril-hub node replace` and remove that file.");
  auto url = parse_ws_url(hub);
  if (!url) return explain_enrol_error(url.status(), hub);
  if (!url->tls && !cfg.insecure)
    return explain_enrol_error(
        Status(Code::invalid, "refusing plain ws:// to " + hub + ": use wss:// (or --insecure for loopback tests)"),
        hub);
  struct statvfs vfs {};
  std::error_code ec;
  fs::create_directories(cfg.data_dir, ec);
  if (statvfs(cfg.data_dir.c_str(), &vfs) == 0 && vfs.f_bavail * vfs.f_frsize < 16ull << 20)
    return explain_enrol_error(Status(Code::full, "less than 16 MiB free in " + cfg.data_dir), hub);
  auto creds = enrol_with_hub(hub, code, fingerprint, kVersion, 15);
  if (!creds) return explain_enrol_error(creds.status(), hub);
  // From here the code is spent at the hub: a failure needs a new code.
  auto local_failure = [&](const Status& s) {
    return explain_enrol_error(Status(s.code() == Code::full ? Code::full : Code::io, s.message()), hub, true);
  };
  auto st = open_store(cfg, creds->node_id);
  if (!st) return local_failure(st.status());
  if (Status s = save_credentials(cfg.data_dir, *creds); !s) return local_failure(s);
  (*st)->set_meta("node_id", creds->node_id);
  (*st)->set_meta("centre_id", creds->centre_id);
  int64_t offset = creds->enrolled_at_ms - now_ms();
  (*st)->set_clock_offset(offset);
  st->reset();  // close the database (and its WAL) before handing the files over
  chown_on_exit.run();
  std::cerr << owner->warning;
  if (as_json) {
    std::cout << json{{"node_id", creds->node_id},
                      {"centre_id", creds->centre_id},
                      {"hub_url", creds->hub_url},
                      {"hub_fingerprint", creds->hub_fingerprint},
                      {"clock_offset_ms", offset}}
                     .dump()
              << "\n";
    return 0;
  }
  std::cout << "Enrôlement réussi / Enrolled: node " << creds->node_id << ", centre " << creds->centre_id << "\n";
  if (!creds->hub_fingerprint.empty()) std::cout << "Hub certificate pinned: " << creds->hub_fingerprint << "\n";
  if (std::llabs(offset) > 5 * 60 * 1000) {
    long long secs = std::llabs(offset) / 1000;
    bool behind = offset > 0;  // the hub's time is ahead of this box's
    // "12 min" / "5 h" / "19000 jours|days": plain words for the technician.
    auto amount = [secs](const char* days) {
      if (secs < 3600) return std::to_string(secs / 60) + " min";
      if (secs < 2 * 86400) return std::to_string(secs / 3600) + " h";
      return std::to_string(secs / 86400) + " " + days;
    };
    std::cout << "Attention : l'horloge de ce boîtier est " << (behind ? "en retard" : "en avance") << " de "
              << amount("jours") << " sur celle du hub (pas de pile d'horloge ?). terril date ses fiches à l'heure "
              << "du hub ; activez NTP (sudo timedatectl set-ntp true).\n"
              << "Note: this box's clock is " << amount("days") << " " << (behind ? "behind" : "ahead of")
              << " the hub's"
              << " (no real-time clock?); terril uses the hub's time for its records. "
                 "Enable NTP (sudo timedatectl set-ntp true).\n";
  }
  std::cout << "Ensuite / Next: set the staff password, start the service, check it:\n"
            << "  sudo -u terril-node terril-node passwd\n"
            << "  sudo systemctl enable --now terril-node\n"
            << "  sudo -u terril-node terril-node doctor\n";
  return 0;
}

int cmd_passwd(const NodeConfig& cfg) {
  std::string pw = read_password("Nouveau mot de passe de l'accueil : ");
  if (Status s = check_password_policy(pw); !s) return die(s.message_fr());
  auto h = hash_password(pw);
  if (!h) return die(h.status().message());
  std::error_code ec;
  fs::create_directories(cfg.data_dir, ec);
  if (Status s = write_password_file(password_path(cfg), *h); !s) return die(s.message());
  std::cout << "Mot de passe enregistré. / Staff password set.\n";
  return 0;
}

// A quick look at the hub: TCP + TLS (pinned) + WebSocket handshake.
Status probe_hub(const Credentials& c) {
  EventLoop loop;
  struct Quiet : Peer {
    void on_open(Link& l) override { l.close(); }
    void on_message(std::string_view) override {}
    void on_closed(std::string_view) override {}
  };
  ClientOptions co;
  co.url = c.hub_url;
  co.pin = c.hub_fingerprint;
  co.connect_timeout_s = 3;
  Status result(Code::unavailable, "no answer within 3 s");
  auto cancel = connect_ws(loop, co, std::make_shared<Quiet>(), [&](Status s, const std::string&) { result = s; });
  loop.run_for(4000);
  cancel();
  return result;
}

int cmd_status(const NodeConfig& cfg, bool as_json) {
  auto creds = load_credentials(cfg.data_dir);
  if (!creds) return die(creds.status().message());
  auto st = open_store(cfg, *creds ? (*creds)->node_id : "");
  if (!st) return die(st.status().message());
  auto stats = (*st)->stats();
  if (!stats) return die(stats.status().message());
  auto last = (*st)->meta("last_sync_ms");
  int64_t last_sync = last && *last ? std::stoll(**last) : 0;
  auto rej = (*st)->rejections(20);
  bool reachable = false;
  std::string reach_error;
  if (*creds) {
    Status p = probe_hub(**creds);
    reachable = p.is_ok();
    reach_error = p.message();
  }
  if (as_json) {
    json r = json::array();
    if (rej)
      for (const auto& x : *rej)
        r.push_back({{"origin_seq", x.origin_seq},
                     {"code", x.code},
                     {"field", x.field},
                     {"message", x.message},
                     {"entity", x.entity},
                     {"record_id", x.record_id}});
    std::cout << json{{"node_id", *creds ? json((*creds)->node_id) : json(nullptr)},
                      {"centre_id", *creds ? json((*creds)->centre_id) : json(nullptr)},
                      {"enrolled", static_cast<bool>(*creds)},
                      {"pending", stats->pending},
                      {"acked_seq", stats->acked_seq},
                      {"hub_cursor", stats->hub_cursor},
                      {"last_sync", last_sync ? json(format_iso8601(last_sync)) : json(nullptr)},
                      {"hub_url", *creds ? json((*creds)->hub_url) : json(nullptr)},
                      {"hub_reachable", reachable},
                      {"rejections", r}}
                     .dump()
              << "\n";
    return 0;
  }
  if (!*creds) {
    std::cout
        << "Ce poste n'est pas encore enrôlé. / Not enrolled yet: run `terril-node enrol --hub URL --code CODE`.\n"
        << "Modifications en attente / pending changes: " << stats->pending << "\n";
    return 0;
  }
  std::cout << "Poste / node:        " << (*creds)->node_id << " (centre " << (*creds)->centre_id << ")\n"
            << "En attente d'envoi:  " << stats->pending << " modification(s) / pending changes\n"
            << "Dernière synchro:    " << (last_sync ? format_fr_datetime(last_sync) : std::string("jamais / never"))
            << "\n"
            << "Hub:                 " << (*creds)->hub_url << " — "
            << (reachable ? "joignable / reachable" : "injoignable / unreachable (" + reach_error + ")") << "\n";
  if (rej && !rej->empty()) {
    std::cout << "Modifications refusées par le hub / rejected by the hub: " << rej->size() << "\n";
    for (const auto& x : *rej)
      std::cout << "  #" << x.origin_seq << " " << x.entity << " " << x.record_id << ": " << x.message << "\n";
  }
  return 0;
}

int cmd_doctor(const NodeConfig& cfg, bool as_json) {
  struct Check {
    std::string name;
    bool ok;
    std::string detail;
  };
  std::vector<Check> checks;
  auto creds = load_credentials(cfg.data_dir);
  bool enrolled = creds && *creds;
  checks.push_back(
      {"credentials", enrolled,
       enrolled ? "enrolled as " + (*creds)->node_id : "not enrolled: run `terril-node enrol --hub URL --code CODE`"});
  if (enrolled && (*creds)->loose_permissions)
    checks.push_back(
        {"credentials permissions", false, cfg.data_dir + "/credentials.toml is readable by others: chmod 600 it"});
  struct stat sb {};
  if (::stat(cfg.data_dir.c_str(), &sb) == 0)
    checks.push_back({"data folder permissions", (sb.st_mode & 077) == 0,
                      (sb.st_mode & 077) == 0 ? cfg.data_dir + " is private"
                                              : cfg.data_dir + " is readable by others: chmod 700 it"});
  struct statvfs vfs {};
  if (statvfs(cfg.data_dir.c_str(), &vfs) == 0) {
    uint64_t free_mb = vfs.f_bavail * vfs.f_frsize >> 20;
    checks.push_back({"disk space", free_mb >= 100,
                      std::to_string(free_mb) + " MiB free" + (free_mb < 100 ? ": free space on the SD card" : "")});
  }
  auto st = open_store(cfg, enrolled ? (*creds)->node_id : "");
  if (!st) {
    checks.push_back({"database", false, st.status().message()});
  } else {
    Status ic = (*st)->integrity_check();
    checks.push_back({"database integrity", ic.is_ok(), ic.is_ok() ? "ok" : ic.message()});
    if (auto s = (*st)->stats()) {
      checks.push_back({"database size", s->wal_bytes < (64ll << 20),
                        std::to_string(s->db_bytes >> 10) + " KiB, WAL " + std::to_string(s->wal_bytes >> 10) + " KiB" +
                            (s->wal_bytes >= (64ll << 20) ? ": WAL is large, is the daemon stuck?" : "")});
      checks.push_back({"pending changes", true, std::to_string(s->pending) + " waiting for the hub"});
    }
    int64_t off = (*st)->clock_offset();
    checks.push_back({"clock", std::llabs(off) < 10 * 60 * 1000,
                      "offset from the hub " + std::to_string(off / 1000) + " s" +
                          (std::llabs(off) >= 10 * 60 * 1000
                               ? ": the box's clock is wrong (no RTC?); terril corrects it, but enable NTP"
                               : "")});
  }
  if (enrolled) {
    Status p = probe_hub(**creds);
    checks.push_back({"hub reachable", p.is_ok(),
                      p.is_ok() ? (*creds)->hub_url + " answers, certificate matches pin" : p.message()});
  }
  if (!fs::exists(password_path(cfg))) checks.push_back({"staff password", false, "not set: run `terril-node passwd`"});
  bool all_ok = true;
  for (const auto& c : checks) all_ok = all_ok && c.ok;
  if (as_json) {
    json arr = json::array();
    for (const auto& c : checks) arr.push_back({{"check", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    std::cout << json{{"ok", all_ok}, {"checks", arr}}.dump(2) << "\n";
  } else {
    for (const auto& c : checks) std::cout << (c.ok ? "[ ok ] " : "[FAIL] ") << c.name << ": " << c.detail << "\n";
    std::cout << (all_ok ? "Everything looks fine.\n" : "Some checks need a technician's action (see [FAIL]).\n");
  }
  return all_ok ? 0 : 1;
}

int cmd_serve(const NodeConfig& cfg) {
  auto hp = parse_host_port(cfg.listen);
  if (!hp) return die(hp.status().message());
  auto creds = load_credentials(cfg.data_dir);
  if (!creds) return die(creds.status().message());
  auto st = open_store(cfg, *creds ? (*creds)->node_id : "");
  if (!st) return die(st.status().message());
  Store& store = **st;

  EventLoop loop;
  SyncState state;
  std::unique_ptr<SyncClient> client;
  if (*creds) {
    Credentials c = **creds;
    if (!cfg.hub_url.empty()) c.hub_url = cfg.hub_url;
    auto url = parse_ws_url(c.hub_url);
    if (!url) return die(url.status().message());
    if (!url->tls && !cfg.insecure) return die("refusing plain ws:// to the hub without --insecure");
    SyncClientOptions so;
    so.software_version = kVersion;
    so.now_ms = now_ms;
    client = std::make_unique<SyncClient>(loop, store, state, c, so);
  } else {
    spdlog::warn("node is not enrolled: serving the local UI only (run `terril-node enrol`)");
  }

  SessionManager sessions;
  LoginLimiter limiter;
  NodeApi::Hooks hooks;
  hooks.now_ms = now_ms;
  hooks.random16 = [] {
    std::array<uint8_t, 16> a{};
    auto b = *random_bytes(16);
    std::memcpy(a.data(), b.data(), 16);
    return a;
  };
  hooks.on_local_write = [&] {
    if (client) client->nudge();
  };
  NodeApi api(store, state, sessions, limiter, password_path(cfg), hooks);

  ServerOptions opts;
  opts.host = hp->host;
  opts.port = hp->port;
  opts.ws_path.clear();
  Server server(
      loop, opts, [&](const HttpRequest& r) { return api.handle(r); }, nullptr);
  if (Status s = server.start(); !s) return die(s.message());
  spdlog::info("node listening on http://{}:{} (store {})", hp->host, server.port(), store_path(cfg));
  if (client) client->start();

  // Housekeeping: systemd watchdog, persist the last sync time for `status`.
  Timer ticker(loop);
  int64_t saved_sync = 0;
  uint64_t wd_us = watchdog_interval_us();
  std::function<void()> tick = [&] {
    ticker.start(1000, [&] {
      if (wd_us) notify_watchdog();
      if (state.last_sync_ms > saved_sync + 5000) {
        saved_sync = state.last_sync_ms;
        store.set_meta("last_sync_ms", std::to_string(saved_sync));
      }
      tick();
    });
  };
  tick();

  loop.on_stop_signal([&](int sig) {
    spdlog::info("node: signal {}, stopping", sig);
    notify_stopping();
    if (client) client->stop();
    server.stop();
    if (state.last_sync_ms) store.set_meta("last_sync_ms", std::to_string(state.last_sync_ms));
    loop.stop();
  });
  notify_ready();
  std::cout << "listening " << hp->host << ":" << server.port() << std::endl;
  loop.run();
  return 0;
}

}  // namespace
}  // namespace terril

int main(int argc, char** argv) {
  using namespace terril;
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout or socket is an error code, not a death
  CLI::App app{"terril-node: the centre's offline-first registrations and prototype notes"};
  app.require_subcommand(1);
  app.set_version_flag("--version", kVersion);
  NodeConfig flags;
  std::string config_path = kDefaultNodeConfigPath;
  bool config_given = false, as_json = false;
  auto add_common = [&](CLI::App* sub) {
    sub->add_option("--config", config_path, "TOML config file")->each([&](const std::string&) {
      config_given = true;
    });
    add_node_flags(*sub, flags);
  };
  auto* enrol = app.add_subcommand("enrol", "Enrol this box with the hub using a one-time code");
  std::string hub, code, fingerprint;
  enrol->add_option("--hub", hub, "Hub URL, wss://HOST:PORT")->required();
  enrol->add_option("--code", code, "One-time enrolment code from `terril-hub node add`")->required();
  enrol->add_option("--fingerprint", fingerprint, "Expected hub certificate fingerprint (optional, recommended)");
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
  if (!cfg) return die(cfg.status().message());
  if (Status s = apply_node_flags(*used, flags, *cfg); !s) return die(s.message());
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

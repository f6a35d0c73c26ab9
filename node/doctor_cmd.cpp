// terril-node status and doctor: what a technician checks on a box (node id,
// pending changes, last sync, rejections, the web UI's certificate
// fingerprint; credentials, permissions, disk, database, clock, hub
// reachable, web UI scheme, staff password). Neither writes records;
// opening the store creates the private data folder and an empty store on a
// box that has none yet, as `serve` would.
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/core/ids.h"
#include "common/net/event_loop.h"
#include "common/net/link.h"
#include "common/net/ws_client.h"
#include "node/commands.h"
#include "node/credentials.h"
#include "node/web_tls.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace terril {
namespace {

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

// The web UI's certificate as `status` shows it: its fingerprint (nullopt
// when there is none or it cannot be read, with why in `problem`).
struct WebCertInfo {
  WebScheme scheme;
  std::optional<std::string> fingerprint;
  std::string problem;
};

WebCertInfo web_cert_info(const NodeConfig& cfg) {
  WebCertInfo w{web_scheme(cfg), std::nullopt, ""};
  auto fp = web_fingerprint(cfg);
  if (!fp)
    w.problem = fp.status().message();
  else
    w.fingerprint = *fp;
  return w;
}

std::string fingerprint_line_fr(const std::string& fp) {
  return "Empreinte du certificat de ce boîtier : " + fp;
}

// One line for the technician: what the reception PCs open, and the fingerprint to check.
std::string web_status_text(const NodeConfig& cfg, const WebCertInfo& w) {
  std::string out = "Page d'accueil:      " + std::string(web_scheme_name(w.scheme)) + "://" + cfg.listen;
  if (w.scheme == WebScheme::plain_loopback) out += " (ce boîtier seulement / this box only)";
  if (w.scheme == WebScheme::plain_off_loopback) out += " (plain_http : sans chiffrement / not encrypted)";
  out += "\n";
  if (w.fingerprint)
    out += fingerprint_line_fr(*w.fingerprint) + "\n  (web UI certificate, SHA-256: compare it on each reception PC)\n";
  else if (!w.problem.empty())
    out += "Certificat de la page d'accueil illisible / web UI certificate unreadable: " + w.problem + "\n";
  else if (w.scheme == WebScheme::https)
    out += "Pas encore de certificat : le service en fait un au démarrage / no certificate yet: serve makes one\n";
  return out;
}

}  // namespace

int cmd_status(const NodeConfig& cfg, bool as_json) {
  auto creds = load_credentials(cfg.data_dir);
  if (!creds) return node_fail(creds.status().message());
  auto st = open_node_store(cfg, *creds ? (*creds)->node_id : "");
  if (!st) return node_fail(st.status().message());
  auto stats = (*st)->stats();
  if (!stats) return node_fail(stats.status().message());
  // Persisted by `serve` before its API shows it, so this agrees with the web banner.
  int64_t last_sync = stored_last_sync_ms(**st);
  const HealInfo heal = stored_heal_info(**st);
  auto rej = (*st)->rejections(20);
  const WebCertInfo web = web_cert_info(cfg);
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
                      {"last_repair", heal.last_repair_ms ? json{{"at", format_iso8601(heal.last_repair_ms)},
                                                                 {"sent", heal.sent},
                                                                 {"received", heal.received},
                                                                 {"purged", heal.purged}}
                                                          : json(nullptr)},
                      {"wiped_at", heal.wiped_at_ms ? json(format_iso8601(heal.wiped_at_ms)) : json(nullptr)},
                      {"rejections", r},
                      {"web_fingerprint", web.fingerprint ? json(*web.fingerprint) : json(nullptr)}}
                     .dump()
              << "\n";
    return 0;
  }
  if (!*creds) {
    std::cout << "Ce poste n'est pas encore enrôlé. / Not enrolled yet: run `terril-node enrol --hub URL --code CODE "
                 "--fingerprint FP`.\n"
              << "Modifications en attente / pending changes: " << stats->pending << "\n"
              << web_status_text(cfg, web);
    return 0;
  }
  std::cout << "Poste / node:        " << (*creds)->node_id << " (centre " << (*creds)->centre_id << ")\n"
            << "En attente d'envoi:  " << stats->pending << " modification(s) / pending changes\n"
            << "Dernière synchro:    " << (last_sync ? format_fr_datetime(last_sync) : std::string("jamais / never"))
            << "\n"
            << "Hub:                 " << (*creds)->hub_url << " — "
            << (reachable ? "joignable / reachable" : "injoignable / unreachable (" + reach_error + ")") << "\n"
            << web_status_text(cfg, web);
  if (heal.last_repair_ms)
    std::cout << "Dernière réparation: " << format_fr_datetime(heal.last_repair_ms) << " — " << heal.sent
              << " fiche(s) envoyée(s), " << heal.received << " reçue(s), " << heal.purged
              << " retirée(s) / last repair: sent, received, purged\n";
  if (heal.wiped_at_ms)
    std::cout << wiped_notice_fr(heal.wiped_count) << " (" << format_fr_datetime(heal.wiped_at_ms)
              << ") / revoked by the hub: personal data wiped\n";
  if (rej && !rej->empty()) {
    std::cout << "Modifications refusées par le hub / rejected by the hub: " << rej->size() << "\n";
    for (const auto& x : *rej)
      std::cout << "  #" << x.origin_seq << " " << x.entity << " " << x.record_id << ": " << x.message << "\n";
  }
  return 0;
}

namespace {

struct Check {
  std::string name;
  bool ok;
  std::string detail;
};

// The web UI's scheme (plain HTTP off loopback needs a technician's look)
// and its certificate's fingerprint, in French and English.
void web_checks(const NodeConfig& cfg, std::vector<Check>& checks) {
  const WebCertInfo w = web_cert_info(cfg);
  const std::string url = std::string(web_scheme_name(w.scheme)) + "://" + cfg.listen;
  switch (w.scheme) {
    case WebScheme::https:
      checks.push_back({"web UI", true, url + " : HTTPS sur le réseau du centre / HTTPS on the centre's network"});
      break;
    case WebScheme::plain_loopback:
      checks.push_back({"web UI", true, url + " : ce boîtier seulement / this box only (plain HTTP on loopback)"});
      break;
    case WebScheme::plain_off_loopback:
      checks.push_back(
          {"web UI", false,
           url + " : plain_http est activé, la page d'accueil est en HTTP sans chiffrement sur le réseau du centre "
                 "(mot de passe et inscriptions en clair) ; retirez plain_http de la configuration pour passer en "
                 "HTTPS / plain_http is on: the web UI is plain HTTP on the centre's network (the staff password "
                 "and personal data cross it in clear); remove plain_http from the config to serve HTTPS"});
      break;
  }
  if (w.fingerprint) {
    checks.push_back(
        {"web certificate", true, fingerprint_line_fr(*w.fingerprint) + " / web UI certificate fingerprint (SHA-256)"});
  } else if (!w.problem.empty()) {
    checks.push_back(
        {"web certificate", w.scheme != WebScheme::https,
         "certificat illisible / unreadable certificate: " + w.problem +
             (w.scheme == WebScheme::https ? ": serve cannot start HTTPS; remove " + node_web_cert_path(cfg) + " and " +
                                                 node_web_key_path(cfg) + " to make a new one"
                                           : "")});
  } else if (w.scheme == WebScheme::https) {
    checks.push_back({"web certificate", true,
                      "pas encore de certificat : le service en fait un au démarrage / none yet: serve makes one"});
  }
}

}  // namespace

int cmd_doctor(const NodeConfig& cfg, bool as_json) {
  std::vector<Check> checks;
  auto creds = load_credentials(cfg.data_dir);
  bool enrolled = creds && *creds;
  checks.push_back({"credentials", enrolled,
                    enrolled ? "enrolled as " + (*creds)->node_id
                             : "not enrolled: run `terril-node enrol --hub URL --code CODE --fingerprint FP`"});
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
  auto st = open_node_store(cfg, enrolled ? (*creds)->node_id : "");
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
    // An erasure whose bytes may still be in the WAL (the serve loop retries the checkpoint).
    if (auto m = (*st)->meta(kErasePendingMeta); m && *m && **m == "1")
      checks.push_back({"erasure", false,
                        "an erasure is committed but its WAL checkpoint has not succeeded yet (a reader holds the "
                        "database?); the daemon retries every few seconds: if this stays, restart terril-node"});
    const HealInfo heal = stored_heal_info(**st);
    if (heal.wiped_at_ms)
      checks.push_back({"revoked", false,
                        "the hub revoked this box; its personal data was wiped (" + std::to_string(heal.wiped_count) +
                            " registrations): re-enrol it or take it out of service"});
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
  web_checks(cfg, checks);
  if (!fs::exists(node_password_path(cfg)))
    checks.push_back({"staff password", false, "not set: run `terril-node passwd`"});
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

}  // namespace terril

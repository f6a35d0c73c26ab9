// terril-node enrol: enrol this box with the hub using a one-time code, save
// the credentials and the hub's clock offset, make the web UI's certificate
// (node/web_tls.h); run as root, leave nothing the service user cannot read
// (DataDirOwner, ChownOnExit). Errors are explained to the technician in
// French and English (explain_enrol_error).
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/net/ws_client.h"
#include "common/ops/tls.h"
#include "common/version.h"
#include "node/commands.h"
#include "node/credentials.h"
#include "node/sync_client.h"
#include "node/web_tls.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace terril {
namespace {

// Both languages: technicians on site read French, logs and docs are English.
// A code is spent only at the box's first proved Hello, so after any
// failure here the same code can be used again.
int explain_enrol_error(const Status& s, const std::string& hub) {
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
  std::string run_as =
      std::string("  sudo -u ") + kServiceUser + " terril-node enrol --hub URL --code CODE --fingerprint FP\n";
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
// running as root over a user's folder). Runs when enrol returns, success or
// not. The service user owns the folder and may swap a subfolder for a
// symbolic link while root walks it: every folder is opened with
// O_DIRECTORY|O_NOFOLLOW and its entries changed relative to that
// descriptor (fchownat with AT_SYMLINK_NOFOLLOW), so a link is given away
// itself, never its target, and never descended into.
class ChownOnExit {
 public:
  ChownOnExit(std::string dir, DataDirOwner o) : dir_(std::move(dir)), o_(o) {}
  ~ChownOnExit() { run(); }
  void run() {
    if (!o_.chown_to_owner) return;
    int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return warn(dir_);
    if (::fchown(fd, o_.uid, o_.gid) != 0) warn(dir_);
    give_entries(fd, dir_, 0);  // closes fd
  }

 private:
  static constexpr int kMaxDepth = 32;

  void warn(const std::string& path) {
    std::cerr << "terril-node: cannot give " << path << " to uid " << o_.uid << ": " << std::strerror(errno) << "\n";
  }
  // Gives every entry of the open folder `fd` (named `path`) away, folders
  // recursively; takes ownership of fd.
  void give_entries(int fd, const std::string& path, int depth) {
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      warn(path);
      ::close(fd);
      return;
    }
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string child = path + "/" + name;
      if (::fchownat(fd, name.c_str(), o_.uid, o_.gid, AT_SYMLINK_NOFOLLOW) != 0) warn(child);
      struct stat sb {};
      if (::fstatat(fd, name.c_str(), &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode)) continue;
      if (depth >= kMaxDepth) continue;
      int sub = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        warn(child);  // swapped for a link since fstatat (ELOOP/ENOTDIR): left alone
        continue;
      }
      give_entries(sub, child, depth + 1);
    }
    ::closedir(d);  // closes fd
  }
  std::string dir_;
  DataDirOwner o_;
};

}  // namespace

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
    return node_fail(
        "ce boîtier est déjà enrôlé comme " + (*existing)->node_id + " / this box is already enrolled as " +
        (*existing)->node_id + " (" + cfg.data_dir +
        "/credentials.toml). To move it, ask the hub admin for `terril-hub node replace` and remove that file.");
  auto url = parse_ws_url(hub);
  if (!url) return explain_enrol_error(url.status(), hub);
  if (!url->tls && !cfg.insecure)
    return explain_enrol_error(
        Status(Code::invalid, "refusing plain ws:// to " + hub + ": use wss:// (or --insecure for loopback tests)"),
        hub);
  // Never trust on first use: the command the hub prints carries its
  // certificate's fingerprint, and a different certificate is refused.
  std::string pin = normalise_fingerprint(fingerprint);
  if (url->tls && pin.empty())
    return node_fail(
        "il manque l'empreinte du certificat du hub : recopiez la commande complète donnée par le hub "
        "(terril-hub node add, ou « Ajouter un boîtier » sur le tableau de bord), avec --fingerprint / "
        "the hub's certificate fingerprint is missing: run the whole command the hub printed, with --fingerprint");
  if (!pin.empty() && !valid_fingerprint(pin))
    return node_fail("empreinte illisible : " + fingerprint +
                     " (64 chiffres hexadécimaux, deux par deux séparés par « : ») / "
                     "unreadable fingerprint: expected 32 hex pairs separated by colons");
  struct statvfs vfs {};
  std::error_code ec;
  fs::create_directories(cfg.data_dir, ec);
  if (statvfs(cfg.data_dir.c_str(), &vfs) == 0 && vfs.f_bavail * vfs.f_frsize < 16ull << 20)
    return explain_enrol_error(Status(Code::full, "less than 16 MiB free in " + cfg.data_dir), hub);
  auto creds = enrol_with_hub(hub, code, pin, std::string(kVersion), 15);
  if (!creds) return explain_enrol_error(creds.status(), hub);
  // The hub keeps the code valid until this box's first Hello proved with
  // the new secret: a local failure before that leaves it usable.
  auto local_failure = [&](const Status& s) {
    return explain_enrol_error(Status(s.code() == Code::full ? Code::full : Code::io, s.message()), hub);
  };
  auto st = open_node_store(cfg, creds->node_id);
  if (!st) return local_failure(st.status());
  if (Status s = save_credentials(cfg.data_dir, *creds); !s) return local_failure(s);
  if (Status s = (*st)->set_meta("node_id", creds->node_id); !s) return local_failure(s);
  if (Status s = (*st)->set_meta("centre_id", creds->centre_id); !s) return local_failure(s);
  int64_t offset = creds->enrolled_at_ms - wall_now_ms();
  if (Status s = (*st)->set_clock_offset(offset); !s) return local_failure(s);
  st->reset();  // close the database (and its WAL) before handing the files over
  // The web UI's certificate, naming this node id and dated by the hub's
  // clock (a new one at each enrolment). Not fatal: the box is enrolled, and
  // the first `serve` that needs a certificate makes it.
  auto web_fp = make_web_certificate(cfg, creds->node_id, creds->enrolled_at_ms);
  if (!web_fp)
    std::cerr << "Attention : certificat de la page d'accueil non créé, le service en fera un au démarrage.\n"
              << "Warning: web UI certificate not made (" << web_fp.status().message()
              << "); `terril-node serve` makes one at start.\n";
  chown_on_exit.run();
  // The first Hello spends the code at the hub. If the link drops here,
  // `serve`'s first connection does it.
  if (Status s = confirm_enrolment(*creds, std::string(kVersion), 15); !s)
    std::cerr << "Attention : identifiants enregistrés, mais le hub n'a pas encore confirmé ce boîtier ; il le fera "
                 "à la première connexion du service ("
              << s.message() << ").\n"
              << "Note: credentials saved, but the hub has not confirmed this box yet; the service's first "
                 "connection will.\n";
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
  if (web_fp)
    std::cout << "Empreinte du certificat de ce boîtier : " << *web_fp << "\n"
              << "  (à noter sur l'étiquette du boîtier / write it on the box's label: reception PCs check it once)\n";
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

}  // namespace terril

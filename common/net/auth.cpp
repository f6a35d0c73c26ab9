// Staff passwords (argon2id), sessions, the CSRF rule and the login limiter (see auth.h).
#include "common/net/auth.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace terril {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// "host:port" lowercased, default ports removed.
std::string normalise_authority(std::string_view a) {
  std::string s = lowercase(a);
  for (std::string_view port : {":80", ":443"}) {
    if (s.size() > port.size() && s.compare(s.size() - port.size(), port.size(), port) == 0) {
      s.resize(s.size() - port.size());
      break;
    }
  }
  return s;
}

std::string errno_text(int e) {
  return std::strerror(e);
}

}  // namespace

// --- Passwords -----------------------------------------------------------

PwhashLimits fast_pwhash_limits() {
  return PwhashLimits{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

bool sodium_ready() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

Status check_password_policy(std::string_view password) {
  if (password.size() < 8)
    return Status(Code::invalid, "password_too_short: password shorter than 8 bytes", "password",
                  "Le mot de passe doit comporter au moins 8 caractères.");
  if (password.size() > 1024)
    return Status(Code::invalid, "password_too_long: password longer than 1024 bytes", "password",
                  "Le mot de passe est trop long (1024 caractères au plus).");
  if (password.find('\0') != std::string_view::npos)
    return Status(Code::invalid, "bad_format: password holds a NUL byte", "password",
                  "Le mot de passe contient un caractère invalide.");
  return Status::ok();
}

Result<std::string> hash_password(std::string_view password, PwhashLimits limits) {
  if (!sodium_ready()) return Status(Code::internal, "libsodium could not be initialised");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), limits.opslimit, limits.memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Status(Code::internal, "argon2id hashing failed (out of memory?)");
  return std::string(out);
}

bool verify_password(std::string_view hash, std::string_view password) {
  if (!sodium_ready()) return false;
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string h(hash);  // NUL-terminated copy
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

Status write_password_file(const std::string& path, std::string_view hash) {
  // Run as root over a folder the service user owns (`sudo terril-node
  // passwd`): never follow a planted name. A stale temp (a crash, or a
  // symlink) is removed, not opened (unlink does not follow); O_EXCL then
  // creates a new file, mode 0600 from the start, and fails on anything that
  // reappears in between. rename() replaces a symlink at `path`, not its target.
  std::string tmp = path + ".tmp";
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    return Status(Code::io, "cannot remove stale " + tmp + ": " + errno_text(errno));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::io, "cannot create " + tmp + ": " + errno_text(errno));
  ::fchmod(fd, 0600);  // a umask cannot widen it, but be explicit
  std::string line(hash);
  line += '\n';
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(fd, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status(e == ENOSPC ? Code::full : Code::io, "cannot write " + tmp + ": " + errno_text(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status(Code::io, "cannot sync " + tmp + ": " + errno_text(e));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status(Code::io, "cannot rename " + tmp + " to " + path + ": " + errno_text(e));
  }
  return Status::ok();
}

Result<std::string> read_password_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT)
      return Status(Code::not_found, "no password file at " + path, "",
                    "Aucun mot de passe n'est défini : lancez « terril-node passwd » sur le poste.");
    return Status(Code::io, "cannot open " + path + ": " + errno_text(e));
  }
  char buf[512];
  std::string content;
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status(Code::io, "cannot read " + path + ": " + errno_text(e));
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > 4096) break;
  }
  ::close(fd);
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r' || content.back() == ' '))
    content.pop_back();
  if (content.rfind("$argon2", 0) != 0 || content.size() >= crypto_pwhash_STRBYTES)
    return Status(Code::invalid, "password file " + path + " does not hold an argon2 hash");
  return content;
}

// --- Sessions ------------------------------------------------------------

SessionManager::SessionManager(SessionOptions opts) : opts_(opts) {
  if (opts_.max_sessions == 0) opts_.max_sessions = 1;
}

std::string SessionManager::key(std::string_view token) const {
  unsigned char h[crypto_generichash_BYTES];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr, 0);
  return std::string(reinterpret_cast<const char*>(h), sizeof h);
}

std::string password_file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

void SessionManager::bind_password_file(const std::string& path) {
  std::lock_guard lock(mu_);
  password_file_ = path;
}

std::string SessionManager::current_file_identity() const {
  std::string path;
  {
    std::lock_guard lock(mu_);
    path = password_file_;
  }
  return path.empty() ? std::string() : password_file_identity(path);
}

bool SessionManager::live(const Entry& e, int64_t now_ms, const std::string& current_file) const {
  if (now_ms - e.last_used_ms >= opts_.idle_ttl_ms) return false;
  if (now_ms - e.created_ms >= opts_.absolute_ttl_ms) return false;
  return password_file_.empty() || e.file_identity == current_file;
}

void SessionManager::evict_expired(int64_t now_ms) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    // The file is not compared here: touch() does, with a fresh stat().
    bool timed_out = now_ms - it->second.last_used_ms >= opts_.idle_ttl_ms ||
                     it->second.last_used_ms > now_ms + opts_.idle_ttl_ms ||
                     now_ms - it->second.created_ms >= opts_.absolute_ttl_ms;
    it = timed_out ? sessions_.erase(it) : std::next(it);
  }
}

std::string SessionManager::create(int64_t now_ms, std::string file_identity) {
  sodium_ready();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char hex[sizeof raw * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  std::string token(hex);
  std::lock_guard lock(mu_);
  evict_expired(now_ms);
  while (sessions_.size() >= opts_.max_sessions) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.last_used_ms < b.second.last_used_ms;
    });
    sessions_.erase(oldest);
  }
  sessions_[key(token)] = Entry{now_ms, now_ms, std::move(file_identity)};
  return token;
}

bool SessionManager::touch(std::string_view token, int64_t now_ms) {
  if (token.size() != 64) return false;
  std::string current = current_file_identity();
  std::lock_guard lock(mu_);
  auto it = sessions_.find(key(token));
  if (it == sessions_.end()) return false;
  if (!live(it->second, now_ms, current)) {
    sessions_.erase(it);
    return false;
  }
  it->second.last_used_ms = std::max(it->second.last_used_ms, now_ms);
  return true;
}

bool SessionManager::valid(std::string_view token, int64_t now_ms) const {
  if (token.size() != 64) return false;
  std::string current = current_file_identity();
  std::lock_guard lock(mu_);
  auto it = sessions_.find(key(token));
  return it != sessions_.end() && live(it->second, now_ms, current);
}

void SessionManager::revoke(std::string_view token) {
  std::lock_guard lock(mu_);
  sessions_.erase(key(token));
}

void SessionManager::revoke_all() {
  std::lock_guard lock(mu_);
  sessions_.clear();
}

size_t SessionManager::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

std::string session_cookie(std::string_view token, bool secure) {
  std::string c(kSessionCookie);
  c += '=';
  c += token;
  c += "; HttpOnly; SameSite=Strict; Path=/";
  if (secure) c += "; Secure";
  return c;
}

std::string clear_session_cookie(bool secure) {
  std::string c(kSessionCookie);
  c += "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0";
  if (secure) c += "; Secure";
  return c;
}

// --- CSRF ----------------------------------------------------------------

bool origin_matches_host(std::string_view origin, std::string_view host) {
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos || host.empty()) return false;
  std::string_view authority = origin.substr(scheme_end + 3);
  if (authority.empty() || authority.find_first_of("/?#@ ") != std::string_view::npos) return false;
  return normalise_authority(authority) == normalise_authority(host);
}

std::optional<HttpResponse> check_csrf(const HttpRequest& req) {
  if (!is_mutating(req.method)) return std::nullopt;
  auto origin = req.headers.find("origin");
  if (origin != req.headers.end() && !origin_matches_host(origin->second, header(req, "host")))
    return error_response(403, "csrf", "", "Requête refusée : elle vient d'un autre site que ce poste.");
  if (!req.body.empty() && !is_json_content_type(header(req, "content-type")))
    return error_response(415, "unsupported_media_type", "",
                          "Le corps de la requête doit être en JSON (Content-Type: application/json).");
  return std::nullopt;
}

// --- Login rate limit ----------------------------------------------------

LoginLimiter::LoginLimiter(LoginLimiterOptions opts) : opts_(opts) {
  if (opts_.max_failures == 0) opts_.max_failures = 1;
}

std::string LoginLimiter::address_key(std::string_view remote) {
  if (!remote.empty() && remote.front() == '[') {  // "[v6]:port"
    auto close = remote.find(']');
    if (close != std::string_view::npos) return lowercase(remote.substr(1, close - 1));
  }
  auto colon = remote.find(':');
  if (colon != std::string_view::npos && remote.find(':', colon + 1) == std::string_view::npos)
    return std::string(remote.substr(0, colon));  // "v4:port"
  return lowercase(remote);
}

void LoginLimiter::prune(std::deque<int64_t>& q, int64_t now_ms) const {
  while (!q.empty() && (now_ms - q.front() >= opts_.window_ms || q.front() > now_ms + opts_.window_ms)) q.pop_front();
}

int64_t LoginLimiter::retry_after_ms(std::string_view remote, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(address_key(remote));
  if (it == failures_.end()) return 0;
  prune(it->second, now_ms);
  if (it->second.size() < opts_.max_failures) {
    if (it->second.empty()) failures_.erase(it);
    return 0;
  }
  // Allowed again when enough failures have left the window.
  int64_t release = it->second[it->second.size() - opts_.max_failures] + opts_.window_ms;
  return std::max<int64_t>(1, release - now_ms);
}

void LoginLimiter::record_failure(std::string_view remote, int64_t now_ms) {
  std::lock_guard lock(mu_);
  std::string k = address_key(remote);
  auto it = failures_.find(k);
  if (it == failures_.end()) {
    if (failures_.size() >= opts_.max_addresses) {
      // Drop the address whose last failure is oldest.
      auto oldest = failures_.begin();
      for (auto i = failures_.begin(); i != failures_.end(); ++i) {
        int64_t a = i->second.empty() ? INT64_MIN : i->second.back();
        int64_t b = oldest->second.empty() ? INT64_MIN : oldest->second.back();
        if (a < b) oldest = i;
      }
      failures_.erase(oldest);
    }
    it = failures_.emplace(k, std::deque<int64_t>{}).first;
  }
  prune(it->second, now_ms);
  it->second.push_back(now_ms);
  while (it->second.size() > opts_.max_failures * 2) it->second.pop_front();
}

void LoginLimiter::record_success(std::string_view remote) {
  std::lock_guard lock(mu_);
  failures_.erase(address_key(remote));
}

HttpResponse LoginLimiter::too_many(int64_t retry_after_ms) {
  int64_t seconds = std::max<int64_t>(1, (retry_after_ms + 999) / 1000);
  HttpResponse res = error_response(429, "too_many_attempts", "password",
                                    "Trop de tentatives de connexion. Réessayez dans " + std::to_string(seconds) +
                                        (seconds > 1 ? " secondes." : " seconde."));
  res.headers.emplace_back("Retry-After", std::to_string(seconds));
  return res;
}

}  // namespace terril

// Staff authentication for the node's web UI and the hub's dashboard:
// password hashing (libsodium argon2id), the password file, sessions in
// memory, the CSRF rule and a login rate limiter.
//
// Time is passed in (now_ms, wall clock ms): every class here is pure but
// for its random tokens, and thread-safe (one mutex each) so the server may
// call it from any thread.
//
// CSRF defence, in three parts:
//   1. the session cookie is SameSite=Strict (browsers do not send it on
//      cross-site requests) and HttpOnly;
//   2. a mutating request (POST/PUT/PATCH/DELETE) whose Origin header is
//      present and names another host:port than Host is refused (403 "csrf");
//   3. a mutating /api request with a body must be Content-Type
//      application/json (415), which a cross-site HTML form cannot send.
// Scripts that log in and reuse the cookie (no Origin header) just work.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/core/status.h"
#include "common/net/http.h"

namespace terril {

// --- Passwords -----------------------------------------------------------

// argon2id cost: OWASP's minimum for argon2id (m = 19 MiB, t = 2). Memory-
// hard enough against GPU guessing, while a login does not push the node's
// peak RSS (budget 24 MiB besides) far past its working set on a 1 GiB Pi.
// A stored hash carries its own cost, so raising this later keeps old
// passwords valid. Tests use fast_pwhash_limits().
struct PwhashLimits {
  unsigned long long opslimit = 2;
  size_t memlimit = size_t{19} << 20;  // bytes
};
// libsodium's minimum: for tests only.
PwhashLimits fast_pwhash_limits();

// Initialises libsodium once (safe to call repeatedly). false if it cannot
// (no entropy source): the daemon must refuse to start.
bool sodium_ready();

// Minimum policy for a staff password: 8 bytes or more, at most 1024, no NUL.
// The French message says what is missing.
Status check_password_policy(std::string_view password);

// A self-describing argon2id string "$argon2id$v=19$m=...". Errors: internal
// (out of memory).
Result<std::string> hash_password(std::string_view password, PwhashLimits limits = {});
// Constant-time check of `password` against a hash_password string. false
// for a malformed hash.
bool verify_password(std::string_view hash, std::string_view password);

// The password file holds one hash_password string and a newline. Written
// atomically (temporary file, fsync, rename) with mode 0600. Errors: io.
Status write_password_file(const std::string& path, std::string_view hash);
// Errors: not_found (no file: no password set yet), io, invalid (not a hash).
Result<std::string> read_password_file(const std::string& path);

// --- Sessions ------------------------------------------------------------

constexpr std::string_view kSessionCookie = "terril_session";

struct SessionOptions {
  int64_t idle_ttl_ms = 12LL * 3600 * 1000;      // sliding: each use extends it
  size_t max_sessions = 64;                      // oldest-used evicted beyond this
  int64_t absolute_ttl_ms = 24LL * 3600 * 1000;  // from login, whatever the activity
};

// The identity of the password file as it is now (device, inode, size,
// modification time), "" when it cannot be stat()ed. write_password_file
// renames a new file into place, so a password change always changes it.
std::string password_file_identity(const std::string& path);

// Sessions live in memory: a restart logs everyone out, which is fine for a
// reception desk and means no token ever touches the disk. Tokens are 32
// random bytes in hex; the map is keyed by a hash of the token so that the
// lookup's timing says nothing about valid tokens.
//
// A session ends after idle_ttl_ms without use, absolute_ttl_ms after its
// creation, or when the bound password file changes (a password set by
// `terril-node passwd` / `terril-hub passwd`, another process): each session
// remembers the file's identity at login and is checked against it at
// every use.
class SessionManager {
 public:
  explicit SessionManager(SessionOptions opts = {});

  // Sessions are checked against this password file from now on (staff_login
  // binds the file it reads; idempotent).
  void bind_password_file(const std::string& path);
  // A new session's token (64 hex chars). `file_identity`: the bound file's
  // password_file_identity() when its hash was read for this login. Evicts
  // expired sessions, then the least recently used when max_sessions is
  // reached.
  std::string create(int64_t now_ms, std::string file_identity = {});
  // true if `token` names a live session; extends it (sliding expiry).
  bool touch(std::string_view token, int64_t now_ms);
  // true if live, without extending it.
  bool valid(std::string_view token, int64_t now_ms) const;
  void revoke(std::string_view token);
  void revoke_all();
  size_t size() const;
  const SessionOptions& options() const { return opts_; }

 private:
  struct Entry {
    int64_t created_ms = 0, last_used_ms = 0;
    std::string file_identity;
  };
  std::string key(std::string_view token) const;
  // Live now; `current_file` is the bound file's identity (unbound: unused).
  bool live(const Entry& e, int64_t now_ms, const std::string& current_file) const;
  void evict_expired(int64_t now_ms);
  std::string current_file_identity() const;

  SessionOptions opts_;
  mutable std::mutex mu_;
  std::string password_file_;              // "" until bound
  std::map<std::string, Entry> sessions_;  // key(token) -> entry
};

// Set-Cookie value for a session: HttpOnly; SameSite=Strict; Path=/, plus
// Secure when the listener is TLS. A browser-session cookie (no Max-Age):
// the server enforces the expiry.
std::string session_cookie(std::string_view token, bool secure);
// Set-Cookie value that deletes the session cookie.
std::string clear_session_cookie(bool secure);

// --- CSRF ----------------------------------------------------------------

// Compares the host:port of an Origin ("https://box.local:8443") with a Host
// header ("box.local:8443"), case-insensitively, ignoring the scheme and a
// default port (:80 or :443) on either side. "null" and malformed origins
// never match.
bool origin_matches_host(std::string_view origin, std::string_view host);

// nullopt when the request passes the CSRF rules above, else the refusal:
// 403 {"code":"csrf"} or 415 {"code":"unsupported_media_type"}. The content
// type rule applies to mutating requests with a non-empty body.
std::optional<HttpResponse> check_csrf(const HttpRequest& req);

// --- Login rate limit ----------------------------------------------------

struct LoginLimiterOptions {
  size_t max_failures = 5;  // per address, within window_ms
  int64_t window_ms = 60 * 1000;
  size_t max_addresses = 4096;  // bounds memory under a scan; oldest dropped
};

// Counts failed attempts per remote address (the port, if any, is ignored)
// and refuses an address with max_failures in the last window_ms. Used for
// staff logins (staff_login) and reusable for any attempt worth bounding,
// e.g. the hub's enrolment codes: call retry_after_ms() before the attempt
// (> 0: refuse without trying), record_failure() after each failed one (or
// after every attempt, to bound attempts rather than failures) and
// record_success() after a good one.
//
// Memory is bounded: at most max_addresses are tracked; a new address beyond
// drops the one whose last failure is oldest. An attacker with more
// addresses than that can thus reset its own oldest counts; each guess still
// costs it an argon2 check on the server's worker (see staff_login).
// Thread-safe (one mutex); time is passed in (ms, any monotonic-enough clock).
class LoginLimiter {
 public:
  explicit LoginLimiter(LoginLimiterOptions opts = {});
  // 0 when an attempt from `remote` is allowed now, else the ms to wait (the
  // oldest failure in the window leaves it then).
  int64_t retry_after_ms(std::string_view remote, int64_t now_ms);
  void record_failure(std::string_view remote, int64_t now_ms);
  // A success clears the address's failures.
  void record_success(std::string_view remote);
  // The 429 response of a login: French message, Retry-After in whole
  // seconds (>= 1).
  static HttpResponse too_many(int64_t retry_after_ms);

 private:
  static std::string address_key(std::string_view remote);
  void prune(std::deque<int64_t>& q, int64_t now_ms) const;

  LoginLimiterOptions opts_;
  std::mutex mu_;
  std::map<std::string, std::deque<int64_t>> failures_;
};

}  // namespace terril

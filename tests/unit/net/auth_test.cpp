#include "common/net/auth.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace terril {
namespace {

constexpr int64_t kNow = 1796000000000;
constexpr int64_t kHour = 3600 * 1000;

HttpRequest mutating(std::string method, std::string origin, std::string host, std::string content_type = "",
                     std::string body = "") {
  HttpRequest r;
  r.method = std::move(method);
  if (!origin.empty()) r.headers["origin"] = std::move(origin);
  if (!host.empty()) r.headers["host"] = std::move(host);
  if (!content_type.empty()) r.headers["content-type"] = std::move(content_type);
  r.body = std::move(body);
  return r;
}

std::string code_of(const HttpResponse& res) {
  return nlohmann::json::parse(res.body).at("code");
}

TEST_CASE("argon2id hashes verify the right password only", "[auth]") {
  REQUIRE(sodium_ready());
  auto h = hash_password("correct horse", fast_pwhash_limits());
  REQUIRE(h);
  CHECK(h->rfind("$argon2id$", 0) == 0);
  CHECK(verify_password(*h, "correct horse"));
  CHECK_FALSE(verify_password(*h, "correct hors"));
  CHECK_FALSE(verify_password(*h, ""));
  CHECK_FALSE(verify_password("", "correct horse"));
  CHECK_FALSE(verify_password("$argon2id$garbage", "correct horse"));
  auto h2 = hash_password("correct horse", fast_pwhash_limits());
  REQUIRE(h2);
  CHECK(*h != *h2);  // salted
}

TEST_CASE("password policy asks for 8 characters", "[auth]") {
  CHECK_FALSE(check_password_policy("court"));
  CHECK(check_password_policy("court").message_fr().find("8 caractères") != std::string::npos);
  CHECK(check_password_policy("assez long"));
  CHECK_FALSE(check_password_policy(std::string("abcdefgh\0i", 10)));
}

TEST_CASE("the password file is written 0600 and read back", "[auth]") {
  char tmpl[] = "/tmp/terril-auth-XXXXXX";
  REQUIRE(::mkdtemp(tmpl));
  std::string path = std::string(tmpl) + "/password";

  auto missing = read_password_file(path);
  REQUIRE_FALSE(missing);
  CHECK(missing.status().code() == Code::not_found);

  auto h = hash_password("mot de passe", fast_pwhash_limits());
  REQUIRE(h);
  REQUIRE(write_password_file(path, *h));
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto back = read_password_file(path);
  REQUIRE(back);
  CHECK(*back == *h);
  CHECK(verify_password(*back, "mot de passe"));

  std::ofstream(path) << "not a hash\n";
  auto bad = read_password_file(path);
  REQUIRE_FALSE(bad);
  CHECK(bad.status().code() == Code::invalid);

  CHECK_FALSE(write_password_file(std::string(tmpl) + "/no/such/dir/password", *h));
  std::remove(path.c_str());
  ::rmdir(tmpl);
}

TEST_CASE("sessions are random, expire after 12 h idle and slide on use", "[auth]") {
  SessionManager sm;
  std::string a = sm.create(kNow);
  std::string b = sm.create(kNow);
  CHECK(a.size() == 64);
  CHECK(a != b);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);

  CHECK(sm.touch(a, kNow + 11 * kHour));        // extends a
  CHECK(sm.valid(a, kNow + 22 * kHour));        // 11 h after the last use
  CHECK_FALSE(sm.valid(b, kNow + 12 * kHour));  // b idle for 12 h
  CHECK_FALSE(sm.touch(b, kNow + 12 * kHour));
  CHECK_FALSE(sm.touch(a, kNow + 23 * kHour));  // 12 h after the last use
  CHECK_FALSE(sm.touch("", kNow));
  CHECK_FALSE(sm.touch(std::string(64, '0'), kNow));
}

TEST_CASE("sessions can be revoked one by one or all", "[auth]") {
  SessionManager sm;
  std::string a = sm.create(kNow), b = sm.create(kNow);
  sm.revoke(a);
  CHECK_FALSE(sm.touch(a, kNow));
  CHECK(sm.touch(b, kNow));
  sm.revoke_all();
  CHECK_FALSE(sm.touch(b, kNow));
  CHECK(sm.size() == 0);
}

TEST_CASE("the session count is bounded, least recently used evicted", "[auth]") {
  SessionManager sm(SessionOptions{12 * kHour, 3});
  std::string a = sm.create(kNow), b = sm.create(kNow + 1), c = sm.create(kNow + 2);
  CHECK(sm.touch(a, kNow + 3));  // b is now the least recently used
  std::string d = sm.create(kNow + 4);
  CHECK(sm.size() == 3);
  CHECK_FALSE(sm.valid(b, kNow + 5));
  CHECK(sm.valid(a, kNow + 5));
  CHECK(sm.valid(c, kNow + 5));
  CHECK(sm.valid(d, kNow + 5));
}

TEST_CASE("session cookies are HttpOnly, SameSite=Strict, Secure on TLS", "[auth]") {
  CHECK(session_cookie("abc", false) == "terril_session=abc; HttpOnly; SameSite=Strict; Path=/");
  CHECK(session_cookie("abc", true) == "terril_session=abc; HttpOnly; SameSite=Strict; Path=/; Secure");
  CHECK(clear_session_cookie(false).find("Max-Age=0") != std::string::npos);
}

TEST_CASE("origin_matches_host compares host:port without scheme", "[auth]") {
  CHECK(origin_matches_host("http://127.0.0.1:8080", "127.0.0.1:8080"));
  CHECK(origin_matches_host("https://Box.Local:8443", "box.local:8443"));
  CHECK(origin_matches_host("https://box.local", "box.local:443"));
  CHECK(origin_matches_host("http://box.local:80", "box.local"));
  CHECK(origin_matches_host("http://[::1]:8080", "[::1]:8080"));
  CHECK_FALSE(origin_matches_host("http://evil.example", "box.local"));
  CHECK_FALSE(origin_matches_host("http://box.local:8081", "box.local:8080"));
  CHECK_FALSE(origin_matches_host("null", "box.local"));
  CHECK_FALSE(origin_matches_host("http://box.local@evil", "box.local"));
  CHECK_FALSE(origin_matches_host("http://box.local", ""));
}

TEST_CASE("CSRF: foreign Origin refused, same origin and no Origin accepted", "[auth]") {
  const std::string json_ct = "application/json";
  auto foreign = check_csrf(mutating("POST", "http://evil.example", "box:8080", json_ct, "{}"));
  REQUIRE(foreign);
  CHECK(foreign->status == 403);
  CHECK(code_of(*foreign) == "csrf");
  for (const char* m : {"PUT", "PATCH", "DELETE"}) CHECK(check_csrf(mutating(m, "null", "box:8080")));

  CHECK_FALSE(check_csrf(mutating("POST", "http://box:8080", "box:8080", json_ct, "{}")));
  CHECK_FALSE(check_csrf(mutating("POST", "", "box:8080", json_ct, "{}")));  // scripts send no Origin
  CHECK_FALSE(check_csrf(mutating("GET", "http://evil.example", "box:8080")));
}

TEST_CASE("CSRF: a mutating body must be JSON", "[auth]") {
  auto form = check_csrf(mutating("POST", "", "box", "application/x-www-form-urlencoded", "password=x"));
  REQUIRE(form);
  CHECK(form->status == 415);
  CHECK(code_of(*form) == "unsupported_media_type");
  auto text = check_csrf(mutating("POST", "", "box", "text/plain", "{\"password\":\"x\"}"));
  REQUIRE(text);
  CHECK(text->status == 415);
  CHECK(check_csrf(mutating("PATCH", "", "box", "", "{}")));
  CHECK_FALSE(check_csrf(mutating("POST", "", "box", "application/json; charset=utf-8", "{}")));
  CHECK_FALSE(check_csrf(mutating("DELETE", "", "box")));  // no body, no type needed
}

TEST_CASE("login limiter: 5 failures per minute per address", "[auth]") {
  LoginLimiter lim;
  for (int i = 0; i < 5; ++i) {
    CHECK(lim.retry_after_ms("10.0.0.5", kNow + i * 1000) == 0);
    lim.record_failure("10.0.0.5", kNow + i * 1000);
  }
  CHECK(lim.retry_after_ms("10.0.0.5", kNow + 5000) == 55000);   // the first failure leaves at +60 s
  CHECK(lim.retry_after_ms("10.0.0.5:40000", kNow + 5000) > 0);  // the port does not matter
  CHECK(lim.retry_after_ms("10.0.0.6", kNow + 5000) == 0);       // other addresses unaffected
  CHECK(lim.retry_after_ms("10.0.0.5", kNow + 59999) == 1);
  CHECK(lim.retry_after_ms("10.0.0.5", kNow + 60000) == 0);
  lim.record_failure("10.0.0.5", kNow + 60000);
  CHECK(lim.retry_after_ms("10.0.0.5", kNow + 60000) > 0);  // 5 failures again in the window
  lim.record_success("10.0.0.5");
  CHECK(lim.retry_after_ms("10.0.0.5", kNow + 60000) == 0);
}

TEST_CASE("login limiter: IPv6 with port, bounded memory", "[auth]") {
  LoginLimiter lim(LoginLimiterOptions{2, 60000, 3});
  lim.record_failure("[::1]:5000", kNow);
  lim.record_failure("::1", kNow);
  CHECK(lim.retry_after_ms("[::1]:6000", kNow) > 0);
  for (int i = 0; i < 10; ++i) lim.record_failure("10.0.0." + std::to_string(i), kNow + 1 + i);
  CHECK(lim.retry_after_ms("::1", kNow + 100) == 0);  // dropped as the oldest
}

TEST_CASE("too_many answers 429 with Retry-After in seconds", "[auth]") {
  auto res = LoginLimiter::too_many(55000);
  CHECK(res.status == 429);
  REQUIRE(res.header("Retry-After"));
  CHECK(*res.header("Retry-After") == "55");
  auto j = nlohmann::json::parse(res.body);
  CHECK(j["code"] == "too_many_attempts");
  CHECK(j["message"].get<std::string>().find("55 secondes") != std::string::npos);
  CHECK(*LoginLimiter::too_many(1).header("Retry-After") == "1");
}

}  // namespace
}  // namespace terril

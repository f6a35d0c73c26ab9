// Staff sessions and login hardening (issue 13, security review L8): the
// absolute lifetime, a password file change ending every session, and the
// deferred login (staff_login's argon2 check off the loop) giving the same
// answers as the synchronous one. Pure: no sockets.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "common/net/api_support.h"
#include "common/net/auth.h"
#include "tests/support/temp_dir.h"

namespace terril {
namespace {

constexpr int64_t kNow = 1796000000000;
constexpr int64_t kHour = 3600 * 1000;

HttpRequest login_request(const std::string& password, const std::string& cookie_header = "") {
  HttpRequest r;
  r.method = "POST";
  r.path = "/api/v1/login";
  r.remote_addr = "10.0.0.9";
  r.headers["content-type"] = "application/json";
  if (!cookie_header.empty()) r.headers["cookie"] = cookie_header;
  r.body = nlohmann::json{{"password", password}}.dump();
  return r;
}

// The token in a Set-Cookie value "terril_session=TOKEN; ...".
std::string token_of(const HttpResponse& res) {
  const std::string* c = res.header("Set-Cookie");
  REQUIRE(c);
  auto eq = c->find('='), semi = c->find(';');
  return c->substr(eq + 1, semi - eq - 1);
}

struct LoginFixture {
  test::TempDir dir{"terril-session-limits"};
  std::string file = dir.file("staff.password");
  SessionManager sessions;
  LoginLimiter limiter;
  StaffLogin login{sessions, limiter, file, false, "pas de mot de passe", "illisible"};

  void set_password(const std::string& pw) {
    auto h = hash_password(pw, fast_pwhash_limits());
    REQUIRE(h);
    REQUIRE(write_password_file(file, *h).is_ok());
  }
};

}  // namespace

TEST_CASE("L8: a session ends 24 h after login, whatever the activity", "[auth]") {
  SessionManager sm;
  std::string a = sm.create(kNow);
  for (int h = 6; h < 24; h += 6) CHECK(sm.touch(a, kNow + h * kHour));  // never idle
  CHECK(sm.valid(a, kNow + 24 * kHour - 1));
  CHECK_FALSE(sm.valid(a, kNow + 24 * kHour));
  CHECK_FALSE(sm.touch(a, kNow + 24 * kHour));
  CHECK(sm.size() == 0);
}

TEST_CASE("L8: a password change ends every session made before it", "[auth]") {
  LoginFixture fx;
  fx.set_password("premier mot de passe");
  HttpResponse first = staff_login(login_request("premier mot de passe"), fx.login, kNow);
  REQUIRE(first.status == 200);
  HttpResponse second = staff_login(login_request("premier mot de passe"), fx.login, kNow + 1);
  REQUIRE(second.status == 200);
  std::string a = token_of(first), b = token_of(second);
  CHECK(fx.sessions.touch(a, kNow + 2));
  CHECK(fx.sessions.valid(b, kNow + 2));

  fx.set_password("second mot de passe");  // as `terril-node passwd` does, from another process
  CHECK_FALSE(fx.sessions.valid(b, kNow + 3));
  CHECK_FALSE(fx.sessions.touch(a, kNow + 3));
  CHECK_FALSE(fx.sessions.touch(b, kNow + 3));

  HttpResponse again = staff_login(login_request("second mot de passe"), fx.login, kNow + 4);
  REQUIRE(again.status == 200);
  CHECK(fx.sessions.touch(token_of(again), kNow + 5));
}

TEST_CASE("L8: inside a server the login's password check is deferred, with the same answers", "[auth]") {
  LoginFixture fx;
  fx.set_password("le bon mot de passe");
  DeferralScope scope;
  REQUIRE(deferral_available());

  HttpResponse bad = staff_login(login_request("un mauvais"), fx.login, kNow);
  REQUIRE(bad.deferred);
  CHECK(fx.limiter.retry_after_ms("10.0.0.9", kNow) == 0);
  auto build_bad = bad.deferred();  // on the worker: no state touched
  HttpResponse bad_done = build_bad();
  CHECK(bad_done.status == 401);

  HttpResponse good = staff_login(login_request("le bon mot de passe"), fx.login, kNow + 1);
  REQUIRE(good.deferred);
  good.headers.emplace_back("X-Test", "kept");
  std::string audited;
  good = then(std::move(good), [&](HttpResponse& r) { audited = std::to_string(r.status); });
  auto build_good = good.deferred();
  CHECK(audited.empty());
  HttpResponse done = merge_deferred(good, build_good());
  CHECK(done.status == 200);
  CHECK(audited == "200");
  CHECK(*done.header("X-Test") == "kept");
  CHECK(fx.sessions.touch(token_of(done), kNow + 2));

  // Answers that need no check are not deferred.
  HttpResponse empty =
      staff_login(HttpRequest{"POST", "/api/v1/login", "/api/v1/login", {}, {}, "{}", ""}, fx.login, kNow + 3);
  CHECK_FALSE(empty.deferred);
  CHECK(empty.status == 400);
}

TEST_CASE("L8: outside a server the login answers at once", "[auth]") {
  LoginFixture fx;
  fx.set_password("le bon mot de passe");
  REQUIRE_FALSE(deferral_available());
  HttpResponse bad = staff_login(login_request("un mauvais"), fx.login, kNow);
  CHECK_FALSE(bad.deferred);
  CHECK(bad.status == 401);
  HttpResponse good = staff_login(login_request("le bon mot de passe"), fx.login, kNow + 1);
  CHECK_FALSE(good.deferred);
  CHECK(good.status == 200);
}

}  // namespace terril

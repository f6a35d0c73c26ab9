#include "common/net/http.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace terril {
namespace {

HttpRequest with_cookie(std::string value) {
  HttpRequest r;
  r.headers["cookie"] = std::move(value);
  return r;
}

TEST_CASE("parse_target decodes the path and the query", "[http]") {
  auto t = parse_target("/api/v1/registrations?q=Marie+Dupont&event_id=a%2Fb&flag&empty=&x=%C3%A9");
  REQUIRE(t);
  CHECK(t->path == "/api/v1/registrations");
  using Q = std::vector<std::pair<std::string, std::string>>;
  CHECK(t->query == Q{{"q", "Marie Dupont"}, {"event_id", "a/b"}, {"flag", ""}, {"empty", ""}, {"x", "é"}});
}

TEST_CASE("parse_target keeps '+' in the path and decodes %20", "[http]") {
  auto t = parse_target("/assets/a+b%20c.js");
  REQUIRE(t);
  CHECK(t->path == "/assets/a+b c.js");
  CHECK(t->query.empty());
}

TEST_CASE("parse_target refuses malformed targets", "[http]") {
  const char* bad[] = {"", "api/v1", "/a%2", "/a%zz", "/a%00b", "/?q=%", "/?q=%C3", "/%FF"};
  for (const char* t : bad) {
    INFO(t);
    CHECK_FALSE(parse_target(t));
  }
}

TEST_CASE("parse_target drops a fragment and empty query pairs", "[http]") {
  auto t = parse_target("/x?a=1&&b=2#frag");
  REQUIRE(t);
  CHECK(t->path == "/x");
  REQUIRE(t->query.size() == 2);
  CHECK(t->query[1] == std::pair<std::string, std::string>{"b", "2"});
}

TEST_CASE("fill_path_and_query fills a request from its target", "[http]") {
  HttpRequest r;
  r.target = "/api/v1/events?limit=5";
  REQUIRE(fill_path_and_query(r));
  CHECK(r.path == "/api/v1/events");
  CHECK(query_param(r, "limit") == "5");
  CHECK_FALSE(query_param(r, "after"));
}

TEST_CASE("percent_encode round-trips through percent_decode", "[http]") {
  std::string s = "Zoé & Louis/=?+ 100%";
  CHECK(percent_encode("a-b_c.d~") == "a-b_c.d~");
  CHECK(percent_decode(percent_encode(s), true) == s);
}

TEST_CASE("cookie finds a cookie among several", "[http]") {
  CHECK(cookie(with_cookie("a=1; terril_session=abc; b=2"), "terril_session") == "abc");
  CHECK(cookie(with_cookie("terril_session=\"q\""), "terril_session") == "q");
  CHECK(cookie(with_cookie("xterril_session=1;terril_session = z "), "terril_session") == "z");
  CHECK_FALSE(cookie(with_cookie("a=1; b"), "terril_session"));
  CHECK_FALSE(cookie(HttpRequest{}, "terril_session"));
}

TEST_CASE("is_mutating and is_json_content_type", "[http]") {
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE"}) CHECK(is_mutating(m));
  for (const char* m : {"GET", "HEAD", "OPTIONS"}) CHECK_FALSE(is_mutating(m));
  CHECK(is_json_content_type("application/json"));
  CHECK(is_json_content_type("Application/JSON; charset=utf-8"));
  CHECK_FALSE(is_json_content_type("text/plain"));
  CHECK_FALSE(is_json_content_type("application/jsonp"));
  CHECK_FALSE(is_json_content_type(""));
}

TEST_CASE("error_response has code, field and French message", "[http]") {
  auto res = error_response(400, "required", "first_name", "Le champ « prénom » est obligatoire.");
  CHECK(res.status == 400);
  CHECK(res.content_type == "application/json; charset=utf-8");
  auto j = nlohmann::json::parse(res.body);
  CHECK(j == nlohmann::json{
                 {"code", "required"}, {"field", "first_name"}, {"message", "Le champ « prénom » est obligatoire."}});
  CHECK(nlohmann::json::parse(error_response(403, "csrf", "", "x").body)["field"].is_null());
}

TEST_CASE("json_response never throws on invalid UTF-8", "[http]") {
  auto res = json_response(200, nlohmann::json{{"s", std::string("a\xff")}});
  CHECK(res.status == 200);
  CHECK(res.body.find("\"s\"") != std::string::npos);
}

TEST_CASE("security headers are added once", "[http]") {
  HttpResponse res;
  res.headers.emplace_back("Referrer-Policy", "same-origin");
  add_security_headers(res);
  add_security_headers(res);
  REQUIRE(res.header("content-security-policy"));
  CHECK(res.header("Content-Security-Policy")->find("default-src 'self'") != std::string::npos);
  CHECK(res.header("Content-Security-Policy")->find("frame-ancestors 'none'") != std::string::npos);
  CHECK(*res.header("X-Content-Type-Options") == "nosniff");
  CHECK(*res.header("Referrer-Policy") == "same-origin");
  size_t csp = 0;
  for (const auto& [k, v] : res.headers) csp += k == "Content-Security-Policy";
  CHECK(csp == 1);
}

TEST_CASE("safe_relative_path refuses traversal", "[http]") {
  for (const char* ok : {"index.html", "assets/app.js", "a/b/c.css", "a..b"}) {
    INFO(ok);
    CHECK(safe_relative_path(ok));
  }
  for (const char* bad : {"", "/etc/passwd", "..", "../x", "assets/../../x", "assets/..", "a//b", "./a", "a/./b",
                          "a\\..\\b", "assets/"}) {
    INFO(bad);
    CHECK_FALSE(safe_relative_path(bad));
  }
}

TEST_CASE("serve_embedded serves known files with their type", "[http]") {
  const StaticFile files[] = {{"index.html", "<p>bonjour</p>"}, {"assets/app.js", "1;"}};
  auto res = serve_embedded(files, "index.html");
  CHECK(res.status == 200);
  CHECK(res.content_type == "text/html; charset=utf-8");
  CHECK(res.body == "<p>bonjour</p>");
  CHECK(serve_embedded(files, "assets/app.js").content_type == "text/javascript; charset=utf-8");
  CHECK(serve_embedded(files, "assets/none.js").status == 404);
  CHECK(serve_embedded(files, "assets/../index.html").status == 404);
}

TEST_CASE("serve_directory refuses .. and serves regular files", "[http]") {
  char tmpl[] = "/tmp/terril-http-XXXXXX";
  REQUIRE(::mkdtemp(tmpl));
  std::string root = tmpl;
  {
    FILE* f = std::fopen((root + "/a.css").c_str(), "w");
    REQUIRE(f);
    std::fputs("body{}", f);
    std::fclose(f);
  }
  auto res = serve_directory(root, "a.css");
  CHECK(res.status == 200);
  CHECK(res.body == "body{}");
  CHECK(res.content_type == "text/css; charset=utf-8");
  CHECK(serve_directory(root, "../etc/passwd").status == 404);
  CHECK(serve_directory(root + "/sub", "../a.css").status == 404);
  CHECK(serve_directory(root, "missing.css").status == 404);
  CHECK(serve_directory("/", "tmp").status == 404);  // a directory, not a file
  std::remove((root + "/a.css").c_str());
  ::rmdir(root.c_str());
}

TEST_CASE("content_type_for knows the UI's file types", "[http]") {
  CHECK(content_type_for("x.svg") == "image/svg+xml");
  CHECK(content_type_for("X.HTML") == "text/html; charset=utf-8");
  CHECK(content_type_for("x.bin") == "application/octet-stream");
}

}  // namespace
}  // namespace terril

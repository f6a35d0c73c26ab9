// NodeApi against a real Store in a temporary folder. Requests are plain
// values; time is a variable the tests move.
#include "node/api.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "common/core/hlc.h"
#include "common/core/ids.h"
#include "common/core/validate.h"
#include "common/store/testing.h"
#include "tests/support/http.h"
#include "tests/support/temp_dir.h"

#include "tests/unit/node/api_fixture.h"

namespace terril {
namespace {

using namespace test_node;
using nlohmann::json;
using test::Reply;

std::string denain_event_id() {
  return "0d000000-0000-4000-8000-000000000001";
}
std::string lens_hosted_foreign_reg_id() {
  return "0d000000-0000-4000-8000-000000000002";
}

TEST_CASE("healthz, metrics and the UI need no session", "[api]") {
  Fixture f;
  Reply h = f.call("GET", "/healthz");
  CHECK(h.status == 200);
  CHECK(h.raw.body == "ok\n");

  Reply m = f.call("GET", "/metrics");
  CHECK(m.status == 200);
  CHECK(m.raw.content_type.rfind("text/plain; version=0.0.4", 0) == 0);
  for (const char* name :
       {"terril_node_pending_changes ", "terril_node_last_sync_timestamp_seconds ", "terril_node_reconnects_total ",
        "terril_node_bytes_sent_total ", "terril_node_bytes_received_total ", "terril_node_rejected_changes_total ",
        "terril_node_connected "}) {
    INFO(name);
    CHECK(m.raw.body.find(std::string("\n") + name) != std::string::npos);
  }

  Reply index = f.call("GET", "/");
  CHECK(index.status == 200);
  CHECK(index.raw.content_type == "text/html; charset=utf-8");
  CHECK(index.raw.body.find(kFeder) != std::string::npos);
  CHECK(index.raw.body.find("Centres sociaux connectés du bassin minier") != std::string::npos);
  CHECK(index.raw.body.find("data-testid=\"sync-banner\"") != std::string::npos);
  for (const char* asset : {"/assets/app.js", "/assets/app.css", "/assets/markdown.js", "/assets/ue.svg"}) {
    INFO(asset);
    CHECK(f.call("GET", asset).status == 200);
  }
  CHECK(f.call("GET", "/assets/../index.html").status == 404);
  CHECK(f.call("GET", "/assets/nope.js").status == 404);
  CHECK(f.call("GET", "/etc/passwd").status == 404);
  CHECK(f.call("POST", "/", json::object()).status == 405);
}

TEST_CASE("every response carries the security headers", "[api]") {
  Fixture f;
  for (const char* target : {"/", "/healthz", "/api/v1/events", "/assets/app.js"}) {
    Reply r = f.call("GET", target);
    INFO(target);
    CHECK(r.header("Content-Security-Policy").find("default-src 'self'") != std::string::npos);
    CHECK(r.header("Content-Security-Policy").find("frame-ancestors 'none'") != std::string::npos);
    CHECK(r.header("X-Content-Type-Options") == "nosniff");
    CHECK(r.header("Referrer-Policy") == "no-referrer");
  }
  CHECK(f.call("GET", "/api/v1/events").header("Cache-Control") == "no-store");
}

TEST_CASE("every API route but login and logout needs a session", "[api]") {
  Fixture f;
  const std::pair<const char*, const char*> routes[] = {
      {"GET", "/api/v1/status"},
      {"GET", "/api/v1/registrations"},
      {"POST", "/api/v1/registrations"},
      {"GET", "/api/v1/registrations/0d000000-0000-4000-8000-000000000009"},
      {"PATCH", "/api/v1/registrations/0d000000-0000-4000-8000-000000000009"},
      {"PUT", "/api/v1/registrations/0d000000-0000-4000-8000-000000000009"},
      {"DELETE", "/api/v1/registrations/0d000000-0000-4000-8000-000000000009"},
      {"POST", "/api/v1/registrations/0d000000-0000-4000-8000-000000000009/erase"},
      {"GET", "/api/v1/events"},
      {"POST", "/api/v1/events"},
      {"GET", "/api/v1/prototype-notes"},
      {"POST", "/api/v1/prototype-notes"},
      {"GET", "/api/v1/centres"},
      {"GET", "/api/v1/centres/lens"},
      {"GET", "/api/v1/nowhere"},
  };
  for (const auto& [method, target] : routes) {
    INFO(method << " " << target);
    std::optional<json> body;
    if (std::string(method) != "GET" && std::string(method) != "DELETE") body = json{{"confirm", true}};
    Reply none = f.call(method, target, body, "");
    CHECK(none.status == 401);
    CHECK(none.body["code"] == "unauthenticated");
    CHECK(f.call(method, target, body, "terril_session=" + std::string(64, 'a')).status == 401);
  }
}

TEST_CASE("login sets a strict cookie; a session expires after 12 h idle", "[api]") {
  Fixture f;
  Reply r = f.call("POST", "/api/v1/login", json{{"password", kPassword}}, "");
  REQUIRE(r.status == 200);
  std::string set = r.header("Set-Cookie");
  CHECK(set.rfind("terril_session=", 0) == 0);
  CHECK(set.find("HttpOnly") != std::string::npos);
  CHECK(set.find("SameSite=Strict") != std::string::npos);
  CHECK(set.find("Path=/") != std::string::npos);
  CHECK(set.find("Secure") == std::string::npos);
  f.cookie = set.substr(0, set.find(';'));
  CHECK(f.call("GET", "/api/v1/status").status == 200);

  f.now += 11 * 3600 * 1000;
  CHECK(f.call("GET", "/api/v1/status").status == 200);  // slides
  f.now += 12 * 3600 * 1000;
  CHECK(f.call("GET", "/api/v1/status").status == 401);
}

TEST_CASE("M3: over TLS the cookie is Secure and the login page's 401 carries the fingerprint", "[api]") {
  const std::string fp =
      "00:25:4A:6F:94:B9:DE:03:28:4D:72:97:BC:E1:06:2B:"
      "50:75:9A:BF:E4:09:2E:53:78:9D:C2:E7:0C:31:56:7B";
  Fixture f(fp);
  Reply unauth = f.call("GET", "/api/v1/status", std::nullopt, "");
  CHECK(unauth.status == 401);
  CHECK(unauth.body["code"] == "unauthenticated");
  CHECK(unauth.body["message"] == "Veuillez vous connecter.");
  CHECK(unauth.body["web_fingerprint"] == fp);
  // Only that call: other paths answer the plain 401.
  CHECK_FALSE(f.call("GET", "/api/v1/events", std::nullopt, "").body.contains("web_fingerprint"));

  Reply r = f.call("POST", "/api/v1/login", json{{"password", kPassword}}, "");
  REQUIRE(r.status == 200);
  CHECK(r.header("Set-Cookie").find("; Secure") != std::string::npos);
  f.cookie = test::session_cookie_of(r);
  CHECK(f.call("GET", "/api/v1/status").body["web_fingerprint"] == fp);
  CHECK(f.call("POST", "/api/v1/logout").header("Set-Cookie").find("; Secure") != std::string::npos);

  Fixture plain;  // plain HTTP: null, no Secure
  CHECK(plain.call("GET", "/api/v1/status", std::nullopt, "").body["web_fingerprint"].is_null());
  plain.login();
  CHECK(plain.call("GET", "/api/v1/status").body["web_fingerprint"].is_null());
}

TEST_CASE("logout revokes the session and clears the cookie", "[api]") {
  Fixture f;
  f.login();
  Reply out = f.call("POST", "/api/v1/logout");
  CHECK(out.status == 200);
  CHECK(out.header("Set-Cookie").find("Max-Age=0") != std::string::npos);
  CHECK(f.call("GET", "/api/v1/status").status == 401);
  CHECK(f.call("POST", "/api/v1/logout", std::nullopt, "").status == 200);
}

TEST_CASE("a wrong password is refused, then rate limited", "[api]") {
  Fixture f;
  for (int i = 0; i < 5; ++i) {
    Reply r = f.call("POST", "/api/v1/login", json{{"password", "mauvais"}}, "");
    CHECK(r.status == 401);
    CHECK(r.body["code"] == "bad_password");
    CHECK(r.body["field"] == "password");
    CHECK(r.body["message"] == "Mot de passe incorrect.");
    f.now += 1000;
  }
  Reply limited = f.call("POST", "/api/v1/login", json{{"password", kPassword}}, "");
  CHECK(limited.status == 429);
  CHECK(limited.header("Retry-After") == "55");
  CHECK(limited.body["message"].get<std::string>().find("Réessayez") != std::string::npos);
  f.now += 55000;
  CHECK(f.call("POST", "/api/v1/login", json{{"password", kPassword}}, "").status == 200);
}

TEST_CASE("login without a password file or with a bad body", "[api]") {
  Fixture f;
  CHECK(f.call("POST", "/api/v1/login", json{{"pass", kPassword}}, "").status == 400);
  CHECK(f.call("POST", "/api/v1/login", json{{"password", 12}}, "").status == 400);
  CHECK(f.call("GET", "/api/v1/login").status == 405);
  std::filesystem::remove(f.dir.file("password"));
  Reply r = f.call("POST", "/api/v1/login", json{{"password", kPassword}}, "");
  CHECK(r.status == 503);
  CHECK(r.body["code"] == "no_password");
}

TEST_CASE("CSRF: foreign origin 403, non-JSON body 415", "[api]") {
  Fixture f;
  f.login();
  HttpRequest req;
  req.method = "POST";
  req.target = "/api/v1/events";
  req.headers = {{"host", "127.0.0.1:8080"},
                 {"origin", "http://evil.example"},
                 {"cookie", f.cookie},
                 {"content-type", "application/json"}};
  req.body = f.event_body().dump();
  Reply foreign = f.send(req);
  CHECK(foreign.status == 403);
  CHECK(foreign.body["code"] == "csrf");

  req.headers["origin"] = "http://127.0.0.1:8080";
  req.headers["content-type"] = "text/plain";
  Reply text = f.send(req);
  CHECK(text.status == 415);

  req.headers["content-type"] = "application/json; charset=utf-8";
  CHECK(f.send(req).status == 201);

  HttpRequest login;
  login.method = "POST";
  login.target = "/api/v1/login";
  login.headers = {{"host", "127.0.0.1:8080"}, {"content-type", "application/x-www-form-urlencoded"}};
  login.body = "password=x";
  CHECK(f.send(login).status == 415);
}

TEST_CASE("a body over 1 MiB is refused with 413", "[api]") {
  Fixture f;
  f.login();
  json big = f.event_body();
  big["description"] = std::string(kMaxBodyBytes, 'x');
  Reply r = f.call("POST", "/api/v1/events", big);
  CHECK(r.status == 413);
  CHECK(r.body["code"] == "too_large");
}

TEST_CASE("create a registration: 201, own centre, consent time, receipt", "[api]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body("Atelier tablette", 2));
  CHECK(ev["centre_id"] == "lens");
  CHECK(ev["registered"] == 0);
  CHECK(ev["places_left"] == 2);
  CHECK(f.writes == 1);

  json reg = f.create("registrations", f.registration_body(ev["id"]));
  CHECK(valid_uuid(reg["id"].get<std::string>()));
  CHECK(reg["centre_id"] == "lens");
  CHECK(reg["first_name"] == "Zoé");
  CHECK(reg["consent_at"] == format_iso8601(kNow));
  CHECK(reg["created_at"].is_string());
  CHECK(reg["attended"] == false);
  CHECK(reg["email"].is_null());
  CHECK(reg["synced"] == false);
  CHECK(reg["deleted"] == false);
  CHECK_FALSE(reg.contains("consent"));
  CHECK(f.writes == 2);

  Reply got = f.call("GET", "/api/v1/registrations/" + reg["id"].get<std::string>());
  CHECK(got.status == 200);
  CHECK(got.body == reg);

  Reply event = f.call("GET", "/api/v1/events/" + ev["id"].get<std::string>());
  CHECK(event.body["registered"] == 1);
  CHECK(event.body["places_left"] == 1);

  // The hub acknowledges: the receipt turns to "received".
  REQUIRE(f.store->set_acked(f.store->stats()->own_seq));
  CHECK(f.call("GET", "/api/v1/registrations/" + reg["id"].get<std::string>()).body["synced"] == true);
  Reply list = f.call("GET", "/api/v1/registrations");
  REQUIRE(list.body["items"].size() == 1);
  CHECK(list.body["items"][0]["synced"] == true);
  CHECK(list.body["next"].is_null());
}

TEST_CASE("create: a client-chosen id is kept, a taken one is a conflict", "[api]") {
  Fixture f;
  f.login();
  json body = f.event_body();
  body["id"] = "0e000000-0000-4000-8000-0000000000aa";
  json ev = f.create("events", body);
  CHECK(ev["id"] == "0e000000-0000-4000-8000-0000000000aa");
  Reply again = f.call("POST", "/api/v1/events", body);
  CHECK(again.status == 409);
  CHECK(again.body["code"] == "exists");
  body["id"] = "NOT-A-UUID";
  Reply bad = f.call("POST", "/api/v1/events", body);
  CHECK(bad.status == 400);
  CHECK(bad.body["field"] == "id");
}

TEST_CASE("create: centre_id is this node's centre", "[api]") {
  Fixture f;
  f.login();
  json body = f.event_body();
  body["centre_id"] = "lens";
  CHECK(f.call("POST", "/api/v1/events", body).status == 201);
  body["centre_id"] = "denain";
  Reply r = f.call("POST", "/api/v1/events", body);
  CHECK(r.status == 403);
  CHECK(r.body["code"] == "forbidden");
  CHECK(r.body["field"] == "centre_id");
  Reply centre = f.call("POST", "/api/v1/centres", json{{"name", "Nouveau"}, {"agglomeration", "lens-lievin"}});
  CHECK(centre.status == 403);
}

TEST_CASE("create: every missing field is reported, consent included", "[api]") {
  Fixture f;
  f.login();
  Reply r = f.call("POST", "/api/v1/registrations", json{{"email", "zoe@example.org"}});
  REQUIRE(r.status == 400);
  std::set<std::string> fields;
  for (const auto& e : r.body["errors"]) {
    CHECK(e["code"] == "required");
    fields.insert(e["field"]);
  }
  CHECK(fields == std::set<std::string>{"consent", "event_id", "first_name", "last_name", "phone", "role"});
  CHECK(r.body["code"] == r.body["errors"][0]["code"]);  // the first error is also the top-level one
  CHECK(r.body.contains("message"));
}

TEST_CASE("create: validation errors name the field in French", "[api]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body());
  struct Case {
    std::string key;
    json value;
    int status;
    std::string code, field;
  };
  const Case cases[] = {
      {"email", "pas-une-adresse", 400, "bad_format", "email"},
      {"phone", "12", 400, "bad_format", "phone"},
      {"role", "chef", 400, "not_allowed", "role"},
      {"first_name", 42, 400, "wrong_type", "first_name"},
      {"prenom", "Zoé", 400, "unknown_field", "prenom"},
      {"consent", false, 400, "required", "consent"},
      {"consent", "oui", 400, "wrong_type", "consent"},
      {"event_id", "0e000000-0000-4000-8000-00000000ffff", 400, "unknown_event", "event_id"},
      {"created_at", "2026-01-01T00:00:00Z", 400, "read_only", "created_at"},
  };
  for (const auto& c : cases) {
    json body = f.registration_body(ev["id"]);
    body[c.key] = c.value;
    Reply r = f.call("POST", "/api/v1/registrations", body);
    INFO(c.key << " " << r.body.dump());
    CHECK(r.status == c.status);
    CHECK(r.body["code"] == c.code);
    CHECK(r.body["field"] == c.field);
    CHECK(r.body["message"].is_string());
    CHECK_FALSE(r.body["message"].get<std::string>().empty());
  }
  Reply ends = f.call("POST", "/api/v1/events",
                      json{{"title", "x"},
                           {"kind", "atelier"},
                           {"starts_at", "2026-12-01T10:00:00Z"},
                           {"ends_at", "2026-12-01T09:00:00Z"}});
  CHECK(ends.status == 400);
  CHECK(ends.body["field"] == "ends_at");
  CHECK(f.call("POST", "/api/v1/events", json::array()).status == 400);
  HttpRequest bad;
  bad.method = "POST";
  bad.target = "/api/v1/events";
  bad.headers = {{"cookie", f.cookie}, {"content-type", "application/json"}};
  bad.body = "{not json";
  Reply broken = f.send(bad);
  CHECK(broken.status == 400);
  CHECK(broken.body["code"] == "bad_json");
}

TEST_CASE("a node that is not enrolled cannot write", "[api]") {
  Fixture f;
  f.login();
  f.sync.centre_id.clear();
  f.sync.node_id.clear();
  Reply r = f.call("POST", "/api/v1/events", f.event_body());
  CHECK(r.status == 503);
  CHECK(r.body["code"] == "not_enrolled");
}

TEST_CASE("update: PATCH and PUT are partial; unchanged bodies write nothing", "[api]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body("Atelier", 10));
  std::string path = "/api/v1/events/" + ev["id"].get<std::string>();
  Reply p = f.call("PATCH", path, json{{"place", "Salle 2"}});
  REQUIRE(p.status == 200);
  CHECK(p.body["place"] == "Salle 2");
  CHECK(p.body["title"] == "Atelier");
  Reply u = f.call("PUT", path, json{{"capacity", 12}});
  REQUIRE(u.status == 200);
  CHECK(u.body["capacity"] == 12);
  CHECK(u.body["place"] == "Salle 2");

  uint64_t seq = f.store->stats()->own_seq;
  int writes = f.writes;
  Reply same = f.call("PUT", path, u.body);  // the whole record as read: nothing changes
  INFO(same.body.dump());
  CHECK(same.status == 200);
  CHECK(f.store->stats()->own_seq == seq);
  CHECK(f.writes == writes);

  Reply cleared = f.call("PATCH", path, json{{"place", nullptr}});
  CHECK(cleared.body["place"].is_null());
  Reply required = f.call("PATCH", path, json{{"title", nullptr}});
  CHECK(required.status == 400);
  CHECK(required.body["code"] == "required");
  Reply ends = f.call("PATCH", path, json{{"ends_at", format_iso8601(kNow)}});
  CHECK(ends.status == 400);
  CHECK(ends.body["field"] == "ends_at");
}

TEST_CASE("update: read-only keys must be unchanged", "[api]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body());
  std::string path = "/api/v1/events/" + ev["id"].get<std::string>();
  Reply id = f.call("PATCH", path, json{{"id", "0e000000-0000-4000-8000-000000000001"}});
  CHECK(id.status == 400);
  CHECK(id.body["code"] == "read_only");
  CHECK(id.body["field"] == "id");
  Reply centre = f.call("PATCH", path, json{{"centre_id", "denain"}});
  CHECK(centre.status == 400);
  CHECK(centre.body["field"] == "centre_id");
  Reply created = f.call("PATCH", path, json{{"created_at", "2026-01-01T00:00:00.000Z"}});
  CHECK(created.status == 400);
  CHECK(created.body["field"] == "created_at");
  Reply ok = f.call("PATCH", path,
                    json{{"id", ev["id"]},
                         {"centre_id", "lens"},
                         {"created_at", ev["created_at"]},
                         {"updated_at", "whatever"},
                         {"registered", 99},
                         {"title", "Nouveau titre"}});
  CHECK(ok.status == 200);
  CHECK(ok.body["title"] == "Nouveau titre");
  CHECK(ok.body["registered"] == 0);
  CHECK(f.call("PATCH", "/api/v1/events/0e000000-0000-4000-8000-00000000ffff", json{{"title", "x"}}).status == 404);
}

TEST_CASE("another centre's records are read-only here", "[api]") {
  Fixture f;
  f.login();
  f.from_hub(Entity::event, denain_event_id(), "denain",
             {{Field::title, Value{std::string("Temps fort de Denain")}},
              {Field::kind, Value{std::string("temps-fort")}},
              {Field::starts_at, Value{kNow + 3 * kDay}}},
             "node-denain");
  std::string path = "/api/v1/events/" + denain_event_id();
  Reply got = f.call("GET", path);
  REQUIRE(got.status == 200);
  CHECK(got.body["centre_id"] == "denain");

  Reply patch = f.call("PATCH", path, json{{"title", "Piraté"}});
  CHECK(patch.status == 403);
  CHECK(patch.body["code"] == "forbidden");
  CHECK(patch.body["message"].get<std::string>().find("autre centre") != std::string::npos);
  CHECK(f.call("DELETE", path).status == 403);
  CHECK(f.call("GET", path).body["title"] == "Temps fort de Denain");

  // But this centre may register its people to Denain's event.
  json reg = f.create("registrations", f.registration_body(denain_event_id()));
  CHECK(reg["centre_id"] == "lens");

  CHECK(f.call("PATCH", "/api/v1/centres/denain", json{{"town", "Ailleurs"}}).status == 403);
  Reply own = f.call("PATCH", "/api/v1/centres/lens", json{{"town", "Lens"}});
  CHECK(own.status == 200);
  CHECK(own.body["town"] == "Lens");
  CHECK(f.call("DELETE", "/api/v1/centres/lens").status == 403);
}

TEST_CASE("the host centre may check in another centre's registration, nothing more", "[api]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body("Temps fort de Lens", 100, "temps-fort"));
  f.from_hub(Entity::registration, lens_hosted_foreign_reg_id(), "denain",
             {{Field::created_at, Value{kNow - kDay}},
              {Field::event_id, Value{ev["id"].get<std::string>()}},
              {Field::first_name, Value{std::string("Jean")}},
              {Field::last_name, Value{std::string("Martin")}},
              {Field::phone, Value{std::string("0612345678")}},
              {Field::role, Value{std::string("benevole")}},
              {Field::consent_at, Value{kNow - kDay}}},
             "node-denain");
  std::string path = "/api/v1/registrations/" + lens_hosted_foreign_reg_id();
  Reply att = f.call("PATCH", path, json{{"attended", true}});
  INFO(att.body.dump());
  REQUIRE(att.status == 200);
  CHECK(att.body["attended"] == true);
  CHECK(att.body["centre_id"] == "denain");
  CHECK(att.body["synced"] == false);

  Reply name = f.call("PATCH", path, json{{"first_name", "Paul"}});
  CHECK(name.status == 403);
  CHECK(name.body["message"].get<std::string>().find("présence") != std::string::npos);
  CHECK(f.call("PATCH", path, json{{"attended", false}, {"notes", "x"}}).status == 403);
  CHECK(f.call("DELETE", path).status == 403);
  CHECK(f.call("POST", path + "/erase", json{{"confirm", true}}).status == 403);

  Reply ev_after = f.call("GET", "/api/v1/events/" + ev["id"].get<std::string>());
  CHECK(ev_after.body["registered"] == 1);
  CHECK(ev_after.body["places_left"] == 99);
}

TEST_CASE("delete makes a tombstone that lists hide", "[api]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body());
  json reg = f.create("registrations", f.registration_body(ev["id"]));
  std::string path = "/api/v1/registrations/" + reg["id"].get<std::string>();
  Reply del = f.call("DELETE", path);
  REQUIRE(del.status == 200);
  CHECK(del.body["deleted"] == true);
  CHECK(f.call("DELETE", path).status == 200);  // idempotent
  CHECK(f.call("GET", "/api/v1/registrations").body["items"].empty());
  CHECK(f.call("GET", "/api/v1/registrations?include_deleted=true").body["items"].size() == 1);
  CHECK(f.call("GET", path).body["deleted"] == true);
  CHECK(f.call("GET", "/api/v1/events/" + ev["id"].get<std::string>()).body["registered"] == 0);
  Reply undo = f.call("PATCH", path, json{{"deleted", false}});
  CHECK(undo.status == 200);
  CHECK(undo.body["deleted"] == false);
  CHECK(f.call("DELETE", "/api/v1/registrations/0e000000-0000-4000-8000-00000000ffff").status == 404);
}

TEST_CASE("erase needs confirmation and removes the personal data", "[api]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body());
  json reg = f.create("registrations", f.registration_body(ev["id"], "Zoé", "Effacement"));
  std::string id = reg["id"];
  Reply no = f.call("POST", "/api/v1/registrations/" + id + "/erase", json::object());
  CHECK(no.status == 400);
  CHECK(no.body["code"] == "confirm_required");
  CHECK(no.body["field"] == "confirm");
  CHECK(f.call("POST", "/api/v1/registrations/" + id + "/erase", json{{"confirm", "yes"}}).status == 400);
  CHECK(f.call("GET", "/api/v1/registrations/" + id + "/erase").status == 405);

  Reply yes = f.call("POST", "/api/v1/registrations/" + id + "/erase", json{{"confirm", true}});
  REQUIRE(yes.status == 200);
  CHECK(yes.body == json{{"id", id}, {"erased", true}});
  CHECK(f.call("GET", "/api/v1/registrations/" + id).status == 404);
  CHECK(f.call("POST", "/api/v1/registrations/" + id + "/erase", json{{"confirm", true}}).status == 200);
  Reply patch = f.call("PATCH", "/api/v1/registrations/" + id, json{{"first_name", "Zoé"}});
  CHECK(patch.status == 409);
  CHECK(f.call("GET", "/api/v1/registrations?q=Effacement&include_deleted=true").body["items"].empty());
  auto rec = f.store->get(Entity::registration, id);
  REQUIRE(rec);
  REQUIRE(rec->has_value());
  CHECK((*rec)->erased);
  CHECK_FALSE((*rec)->text(Field::first_name));
  CHECK(f.call("POST", "/api/v1/registrations/0e000000-0000-4000-8000-00000000ffff/erase", json{{"confirm", true}})
            .status == 404);
}

TEST_CASE("lists page with a cursor until next is null", "[api]") {
  Fixture f;
  f.login();
  std::set<std::string> made;
  for (int i = 0; i < 5; ++i)
    made.insert(f.create("prototype-notes",
                         json{{"title", "Note " + std::to_string(i)}, {"status", "idee"}, {"tags", {"tablette"}}})["id"]
                    .get<std::string>());
  std::set<std::string> seen;
  std::string target = "/api/v1/prototype-notes?limit=2";
  int pages = 0;
  for (;;) {
    Reply r = f.call("GET", target);
    REQUIRE(r.status == 200);
    ++pages;
    for (const auto& it : r.body["items"]) CHECK(seen.insert(it["id"].get<std::string>()).second);
    if (r.body["next"].is_null()) break;
    target = "/api/v1/prototype-notes?limit=2&after=" + percent_encode(r.body["next"].get<std::string>());
    REQUIRE(pages < 10);
  }
  CHECK(pages == 3);
  CHECK(seen == made);
  CHECK(f.call("GET", "/api/v1/prototype-notes?limit=5").body["items"][0]["tags"] == json::array({"tablette"}));
}

TEST_CASE("list filters and their errors", "[api]") {
  Fixture f;
  f.login();
  json a = f.create("events", f.event_body("Atelier A"));
  json b = f.create("events", f.event_body("Réunion B", std::nullopt, "reunion"));
  f.create("registrations", f.registration_body(a["id"], "Zoé", "Lefebvre"));
  json other = f.create("registrations", f.registration_body(b["id"], "Karim", "Benali"));
  CHECK(f.call("PATCH", "/api/v1/registrations/" + other["id"].get<std::string>(), json{{"attended", true}}).status ==
        200);

  auto count = [&](const std::string& target) {
    Reply r = f.call("GET", target);
    INFO(target << " " << r.body.dump());
    REQUIRE(r.status == 200);
    return r.body["items"].size();
  };
  CHECK(count("/api/v1/registrations") == 2);
  CHECK(count("/api/v1/registrations?q=lefeb") == 1);
  CHECK(count("/api/v1/registrations?event_id=" + b["id"].get<std::string>()) == 1);
  CHECK(count("/api/v1/registrations?attended=true") == 1);
  CHECK(count("/api/v1/registrations?attended=false") == 1);
  CHECK(count("/api/v1/registrations?role=habitant&centre_id=lens") == 2);
  CHECK(count("/api/v1/registrations?role=benevole") == 0);
  CHECK(count("/api/v1/events?kind=reunion") == 1);
  CHECK(count("/api/v1/events?from=" + percent_encode(format_iso8601(kNow + 8 * kDay))) == 0);
  CHECK(count("/api/v1/events?to=" + percent_encode(format_iso8601(kNow + 8 * kDay))) == 2);
  CHECK(count("/api/v1/centres?agglomeration=lens-lievin") == 1);
  CHECK(count("/api/v1/centres") == 2);

  Reply unknown = f.call("GET", "/api/v1/registrations?colour=red");
  CHECK(unknown.status == 400);
  CHECK(unknown.body["code"] == "unknown_filter");
  CHECK(unknown.body["field"] == "colour");
  CHECK(f.call("GET", "/api/v1/events?role=habitant").status == 400);
  CHECK(f.call("GET", "/api/v1/events?limit=0").status == 400);
  CHECK(f.call("GET", "/api/v1/events?limit=1001").status == 400);
  CHECK(f.call("GET", "/api/v1/events?limit=abc").status == 400);
  CHECK(f.call("GET", "/api/v1/events?from=demain").status == 400);
  CHECK(f.call("GET", "/api/v1/registrations?attended=peut-etre").status == 400);
}

TEST_CASE("list: a YYYY-MM-DD date is that day in Paris time, and to= includes the whole day", "[api]") {
  // The hub's rule (common/net/api_support.h); the node used UTC midnight.
  Fixture f;
  f.login();
  json morning = f.event_body("Matin");
  morning["starts_at"] = "2026-12-06T02:13:20Z";  // 03:13 in Paris
  f.create("events", morning);
  json late = f.event_body("Tard");
  late["starts_at"] = "2026-12-06T23:30:00Z";  // 00:30 on 7 December in Paris
  f.create("events", late);
  auto titles = [&](const std::string& query) {
    Reply r = f.call("GET", "/api/v1/events?" + query);
    INFO(query << " " << r.body.dump());
    REQUIRE(r.status == 200);
    std::set<std::string> out;
    for (const auto& e : r.body["items"]) out.insert(e["title"].get<std::string>());
    return out;
  };
  CHECK(titles("to=2026-12-06") == std::set<std::string>{"Matin"});
  CHECK(titles("from=2026-12-06&to=2026-12-06") == std::set<std::string>{"Matin"});
  CHECK(titles("from=2026-12-07") == std::set<std::string>{"Tard"});
  CHECK(titles("to=2026-12-05").empty());
  CHECK(titles("from=&to=").size() == 2);  // an empty date means "any"
}

TEST_CASE("status describes the link, the store and the rejections", "[api]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body());
  f.sync.connected = false;
  f.sync.last_sync_ms = kNow - 3600 * 1000;
  f.sync.offline_since_ms = kNow - 2 * 3600 * 1000;
  f.sync.clock_offset_ms = 1500;
  Rejection rej;
  rej.origin = "node-lens";
  rej.origin_seq = 1;
  rej.code = "forbidden";
  rej.message = "Modification refusée : cette fiche appartient à un autre centre.";
  rej.at_ms = kNow;
  rej.entity = "event";
  rej.record_id = ev["id"];
  REQUIRE(f.store->add_rejections({rej}));

  Reply r = f.call("GET", "/api/v1/status");
  REQUIRE(r.status == 200);
  const json& s = r.body;
  CHECK(s["node_id"] == "node-lens");
  CHECK(s["centre_id"] == "lens");
  CHECK(s["centre_name"] == "Centre social de Lens");
  CHECK(s["connected"] == false);
  CHECK(s["hub_url"] == "wss://hub.example:8443/v1/sync");
  CHECK(s["last_sync"] == format_iso8601(kNow - 3600 * 1000));
  CHECK(s["offline_since"] == format_iso8601(kNow - 2 * 3600 * 1000));
  CHECK(s["pending"] == 1);
  CHECK(s["acked_seq"] == 0);
  CHECK(s["hub_cursor"] == f.hub_seq);
  CHECK(s["clock_offset_ms"] == 1500);
  CHECK(s["db_bytes"].get<int64_t>() > 0);
  CHECK(s["wal_bytes"].is_number());
  CHECK(s["version"] == "9.9.9");
  REQUIRE(s["rejections"].size() == 1);
  CHECK(s["rejections"][0]["code"] == "forbidden");
  CHECK(s["rejections"][0]["message"] == rej.message);
  CHECK(s["rejections"][0]["record_id"] == ev["id"]);

  Reply m = f.call("GET", "/metrics");
  CHECK(m.raw.body.find("\nterril_node_pending_changes 1\n") != std::string::npos);
  CHECK(m.raw.body.find("\nterril_node_rejected_changes_total 1\n") != std::string::npos);
  CHECK(m.raw.body.find("\nterril_node_connected 0\n") != std::string::npos);
}

TEST_CASE("metrics carry no personal data", "[api]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body());
  f.create("registrations", f.registration_body(ev["id"], "Zoé", "Confidentielle"));
  Reply m = f.call("GET", "/metrics");
  CHECK(m.raw.body.find("Confidentielle") == std::string::npos);
  CHECK(m.raw.body.find("03 21") == std::string::npos);
}

TEST_CASE("unknown routes and methods", "[api]") {
  Fixture f;
  f.login();
  CHECK(f.call("GET", "/api/v1/widgets").status == 404);
  CHECK(f.call("GET", "/api/v2/events").status == 404);
  CHECK(f.call("GET", "/api/v1/events/x/y").status == 404);
  Reply del = f.call("DELETE", "/api/v1/events");
  CHECK(del.status == 405);
  CHECK(del.header("Allow") == "GET, POST");
  CHECK(f.call("POST", "/api/v1/status", json::object()).status == 405);
  CHECK(f.call("POST", "/healthz", json::object()).status == 405);
  CHECK(f.call("GET", "/api/v1/events/0e000000-0000-4000-8000-00000000ffff").status == 404);
  HttpRequest raw;
  raw.method = "GET";
  raw.target = "/api/v1/events%zz";
  CHECK(f.send(raw).status == 400);
}

// --- Hostile inputs (issue 6) -------------------------------------------------

int64_t sql_count(Store& s, const std::string& sql) {
  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(store::testing::raw_handle(s), sql.c_str(), -1, &q, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(q) == SQLITE_ROW);
  int64_t n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return n;
}

TEST_CASE("hostile: SQL-looking strings in every text field are stored verbatim and change nothing else",
          "[api][hostile]") {
  Fixture f;
  f.login();
  const std::vector<std::string> evil = {"Robert'); DROP TABLE registrations;--", "' OR '1'='1",
                                         "\"; DELETE FROM meta; --", "1; ATTACH DATABASE '/tmp/x' AS x; --",
                                         "%' UNION SELECT * FROM sqlite_master --"};
  const int64_t tables = sql_count(*f.store, "SELECT count(*) FROM sqlite_master");
  for (size_t i = 0; i < evil.size(); ++i) {
    const std::string& s = evil[i];
    json ev = f.create("events", json{{"title", s},
                                      {"kind", "atelier"},
                                      {"starts_at", format_iso8601(kNow + kDay)},
                                      {"place", s},
                                      {"description", s}});
    CHECK(ev["title"] == s);
    json body = f.registration_body(ev["id"], s, s);
    body["notes"] = s;
    body["email"] = "a" + std::to_string(i) + "@example.org";
    json reg = f.create("registrations", body);
    Reply got = f.call("GET", "/api/v1/registrations/" + reg["id"].get<std::string>());
    CHECK(got.body["first_name"] == s);
    CHECK(got.body["last_name"] == s);
    CHECK(got.body["notes"] == s);
    json note = f.create("prototype-notes", json{{"title", s}, {"summary", s}, {"body", s}, {"status", "idee"}});
    CHECK(f.call("GET", "/api/v1/prototype-notes/" + note["id"].get<std::string>()).body["body"] == s);
    // As a search term: matches only what contains it literally.
    Reply found = f.call("GET", "/api/v1/registrations?q=" + percent_encode(s));
    REQUIRE(found.status == 200);
    CHECK(found.body["items"].size() == 1);
  }
  CHECK(f.call("GET", "/api/v1/registrations?limit=100").body["items"].size() == evil.size());
  CHECK(sql_count(*f.store, "SELECT count(*) FROM sqlite_master") == tables);
  CHECK(f.store->integrity_check());
}

TEST_CASE("hostile: invalid UTF-8 or broken JSON in a body is a clear 400 and stores nothing", "[api][hostile]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body());
  const uint64_t seq = f.store->stats()->own_seq;
  const std::string id = ev["id"].get<std::string>();
  for (const std::string& raw :
       {std::string("{\"event_id\":\"") + id +
            "\",\"first_name\":\"Zo\xff\xfe\",\"last_name\":\"L\",\"phone\":\"0321000000\","
            "\"role\":\"habitant\",\"consent\":true}",
        std::string("{\"event_id\":\"") + id + "\",\"first_name\":\"\xc3\",\"last_name\":\"L\"}",
        std::string("{\"first_name\":\"Zoé\""), std::string("\xef\xbb\xbf{}\x00", 6), std::string(100, '[')}) {
    HttpRequest req;
    req.method = "POST";
    req.target = "/api/v1/registrations";
    req.headers["host"] = "127.0.0.1:8080";
    req.headers["content-type"] = "application/json";
    req.headers["cookie"] = f.cookie;
    req.remote_addr = "127.0.0.1";
    req.body = raw;
    Reply r = f.send(req);
    INFO(r.raw.body);
    CHECK(r.status == 400);
    REQUIRE(r.body.is_object());
    CHECK(r.body["message"].get<std::string>().size() > 10);  // a sentence for staff, in French
  }
  CHECK(f.store->stats()->own_seq == seq);  // nothing written
  CHECK(f.call("GET", "/api/v1/registrations").body["items"].empty());
}

TEST_CASE("hostile: a full disk answers 507 in French, corrupts nothing, and writing resumes with space",
          "[api][hostile][full]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body());
  const int64_t pages = sql_count(*f.store, "PRAGMA page_count");
  REQUIRE(sqlite3_exec(store::testing::raw_handle(*f.store),
                       ("PRAGMA max_page_count = " + std::to_string(pages + 2)).c_str(), nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  std::vector<std::string> accepted;
  Reply refused;
  for (int i = 0; i < 500 && refused.status == 0; ++i) {
    json body = f.registration_body(ev["id"], "Zoé", "Lefebvre " + std::to_string(i));
    body["notes"] = std::string(1500, 'n');  // a page fills fast
    Reply r = f.call("POST", "/api/v1/registrations", body);
    if (r.status == 201)
      accepted.push_back(r.body["id"].get<std::string>());
    else
      refused = r;
  }
  INFO(refused.raw.body);
  REQUIRE(refused.status == 507);
  CHECK(refused.body["code"] == "disk_full");
  CHECK(refused.body["message"].get<std::string>().find("disque du poste est plein") != std::string::npos);
  CHECK(f.store->integrity_check());
  // Every acknowledged registration is there, and only those.
  Reply list = f.call("GET", "/api/v1/registrations?limit=1000");
  CHECK(list.body["items"].size() == accepted.size());
  CHECK(f.store->stats()->own_seq == 1 + accepted.size());
  // Space comes back: the same request goes through.
  REQUIRE(sqlite3_exec(store::testing::raw_handle(*f.store), "PRAGMA max_page_count = 1073741823", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  CHECK(f.call("POST", "/api/v1/registrations", f.registration_body(ev["id"])).status == 201);
  CHECK(f.store->integrity_check());
}

TEST_CASE("the attendance sheet: the host's printable page; another centre's event 403, unknown 404", "[api][sheet]") {
  Fixture f;
  CHECK(f.call("GET", "/api/v1/events/" + denain_event_id() + "/attendance-sheet").status == 401);
  f.login();
  json ev = f.create("events", f.event_body("Atelier <numérique> & co"));
  const std::string sheet = "/api/v1/events/" + ev["id"].get<std::string>() + "/attendance-sheet";
  f.create("registrations", f.registration_body(ev["id"], "Zoé", "Lefèvre"));
  f.create("registrations", f.registration_body(ev["id"], "Adam", "lefevre"));
  json gone = f.create("registrations", f.registration_body(ev["id"], "Supprimé", "Dupont"));
  REQUIRE(f.call("DELETE", "/api/v1/registrations/" + gone["id"].get<std::string>()).status == 200);

  Reply r = f.call("GET", sheet);
  REQUIRE(r.status == 200);
  CHECK(r.raw.content_type == "text/html; charset=utf-8");
  CHECK(r.header("Cache-Control") == "no-store");
  const std::string csp = r.header("Content-Security-Policy");
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(csp.find("style-src 'sha256-") != std::string::npos);
  CHECK(csp.find("script-src 'self'") != std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(r.header("X-Content-Type-Options") == "nosniff");
  CHECK(r.header("Referrer-Policy") == "no-referrer");
  const std::string& html = r.raw.body;
  CHECK(html.find("Atelier &lt;numérique&gt; &amp; co") != std::string::npos);
  CHECK(html.find("Centre social de Lens") != std::string::npos);
  CHECK(html.find("<svg") != std::string::npos);  // the emblem inlined
  CHECK(html.find("Drapeau de l&#39;Union européenne") == std::string::npos);
  CHECK(html.find("Drapeau de l'Union européenne") != std::string::npos);
  CHECK(html.find("lefevre") < html.find("Lefèvre"));
  CHECK(html.find("Dupont") == std::string::npos);
  CHECK(html.find("total-registered\">2<") != std::string::npos);
  CHECK(f.call("GET", "/assets/sheet.js").status == 200);

  f.from_hub(Entity::event, denain_event_id(), "denain",
             {{Field::title, Value{std::string("Temps fort de Denain")}},
              {Field::kind, Value{std::string("temps-fort")}},
              {Field::starts_at, Value{kNow + 3 * kDay}}},
             "node-denain");
  Reply other = f.call("GET", "/api/v1/events/" + denain_event_id() + "/attendance-sheet");
  CHECK(other.status == 403);
  CHECK(other.body["code"] == "not_host");
  CHECK(other.body["message"].get<std::string>().find("Seul le centre organisateur") != std::string::npos);
  CHECK(f.call("GET", "/api/v1/events/0e000000-0000-4000-8000-00000000dead/attendance-sheet").status == 404);
  CHECK(f.call("POST", sheet, json::object()).status == 405);
  CHECK(f.call("GET", "/api/v1/registrations/x/attendance-sheet").status == 404);
}

}  // namespace
}  // namespace terril

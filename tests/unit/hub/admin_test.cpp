// AdminApi against a real hub Store + Registry in a temporary folder, with a
// SyncHub and no sockets: node sessions are joined through an in-memory Link.
// Requests are plain values; time is a variable the tests move. Data "from
// the nodes" goes in through Store::apply_from_node, as the sync does.
#include "tests/unit/hub/admin_fixture.h"

namespace terril {
namespace {

using namespace test_hub;
using nlohmann::json;
using test::Reply;

}  // namespace

// --- Authentication ------------------------------------------------------------

TEST_CASE("admin: healthz, metrics and the dashboard files need no session", "[admin]") {
  Fixture f;
  Reply h = f.call("GET", "/healthz");
  CHECK(h.status == 200);
  CHECK(h.raw.body == "ok\n");

  Reply m = f.call("GET", "/metrics");
  CHECK(m.status == 200);
  CHECK(m.raw.content_type.rfind("text/plain; version=0.0.4", 0) == 0);
  for (const char* name :
       {"terril_hub_connected_nodes ", "terril_hub_changes_applied_total ", "terril_hub_rejected_changes_total ",
        "terril_hub_bytes_received_total ", "terril_hub_apply_latency_ms_bucket{le=\"+Inf\"} ", "terril_hub_seq "}) {
    INFO(name);
    CHECK(m.raw.body.find(std::string("\n") + name) != std::string::npos);
  }

  Reply index = f.call("GET", "/");
  CHECK(index.status == 200);
  CHECK(index.raw.content_type.rfind("text/html", 0) == 0);
  CHECK(index.raw.body.find(kFeder) != std::string::npos);
  CHECK(index.raw.body.find("Centres sociaux connectés du bassin minier") != std::string::npos);
  CHECK(index.header("Content-Security-Policy").find("default-src 'self'") != std::string::npos);
  for (const char* asset : {"/assets/app.js", "/assets/app.css", "/assets/charts.js", "/assets/ue.svg"}) {
    INFO(asset);
    CHECK(f.call("GET", asset).status == 200);
  }
  CHECK(f.call("GET", "/assets/nope.js").status == 404);
  CHECK(f.call("GET", "/assets/../admin.password").status == 404);
  CHECK(f.call("GET", "/etc/passwd").status == 404);
}

TEST_CASE("admin: every API route needs the admin session", "[admin]") {
  Fixture f;
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/api/v1/status"},
      {"GET", "/api/v1/registrations"},
      {"GET", "/api/v1/registrations/0d000000-0000-4000-8000-000000000001"},
      {"POST", "/api/v1/registrations"},
      {"PATCH", "/api/v1/registrations/0d000000-0000-4000-8000-000000000001"},
      {"DELETE", "/api/v1/registrations/0d000000-0000-4000-8000-000000000001"},
      {"POST", "/api/v1/registrations/0d000000-0000-4000-8000-000000000001/erase"},
      {"GET", "/api/v1/events"},
      {"POST", "/api/v1/events"},
      {"GET", "/api/v1/prototype-notes"},
      {"GET", "/api/v1/centres"},
      {"POST", "/api/v1/centres"},
      {"GET", "/api/v1/nodes"},
      {"POST", "/api/v1/nodes"},
      {"POST", "/api/v1/nodes/x/revoke"},
      {"POST", "/api/v1/nodes/x/replace"},
      {"GET", "/api/v1/reports/roles"},
      {"GET", "/api/v1/reports/attendance"},
      {"GET", "/api/v1/reports/prototypes"},
      {"GET", "/api/v1/export?entity=registrations&format=csv"},
      {"GET", "/api/v1/admin-log"},
      {"GET", "/api/v1/nope"},
  };
  for (const auto& [method, path] : routes) {
    INFO(method << " " << path);
    std::optional<json> body;
    if (method != "GET" && method != "DELETE") body = json::object();
    Reply r = f.call(method, path, body);
    CHECK(r.status == 401);
    CHECK(r.body["code"] == "unauthenticated");
    // A made-up cookie is no better; neither is a node's HMAC proof header.
    Reply forged = f.call(method, path, body, std::string("terril_session=") + std::string(64, 'a'),
                          {{"authorization", "Bearer node-secret"}});
    CHECK(forged.status == 401);
  }
  Reply none = f.call("GET", "/api/v1/registrations");
  CHECK(none.body["message"] == "Veuillez vous connecter.");
}

TEST_CASE("admin: login, cookie flags, logout", "[admin]") {
  Fixture f;
  Reply bad = f.call("POST", "/api/v1/login", json{{"password", "nope-nope"}});
  CHECK(bad.status == 401);
  CHECK(bad.body["code"] == "bad_password");
  CHECK(bad.body["field"] == "password");
  CHECK(bad.header("Set-Cookie").empty());

  Reply missing = f.call("POST", "/api/v1/login", json::object());
  CHECK(missing.status == 400);

  Reply ok = f.call("POST", "/api/v1/login", json{{"password", kPassword}});
  REQUIRE(ok.status == 200);
  std::string set = ok.header("Set-Cookie");
  CHECK(set.rfind("terril_session=", 0) == 0);
  CHECK(set.find("HttpOnly") != std::string::npos);
  CHECK(set.find("SameSite=Strict") != std::string::npos);
  CHECK(set.find("Secure") != std::string::npos);  // the hub listens with TLS
  f.cookie = set.substr(0, set.find(';'));
  CHECK(f.call("GET", "/api/v1/status").status == 200);

  auto log = f.registry->admin_log(10);
  REQUIRE(log);
  REQUIRE(!log->empty());
  CHECK((*log)[0].action == "login");

  Reply out = f.call("POST", "/api/v1/logout");
  CHECK(out.status == 200);
  CHECK(f.call("GET", "/api/v1/status").status == 401);
}

TEST_CASE("admin: login is rate limited per address", "[admin]") {
  Fixture f;
  for (int i = 0; i < 5; ++i) CHECK(f.call("POST", "/api/v1/login", json{{"password", "wrong-wrong"}}).status == 401);
  Reply limited = f.call("POST", "/api/v1/login", json{{"password", kPassword}});
  CHECK(limited.status == 429);
  CHECK(limited.body["code"] == "too_many_attempts");
  CHECK(!limited.header("Retry-After").empty());
  f.now += 61 * 1000;
  CHECK(f.call("POST", "/api/v1/login", json{{"password", kPassword}}).status == 200);
}

TEST_CASE("admin: no password file means 503, not an open door", "[admin]") {
  Fixture f;
  std::filesystem::remove(f.dir.file("admin.password"));
  Reply r = f.call("POST", "/api/v1/login", json{{"password", kPassword}});
  CHECK(r.status == 503);
  CHECK(r.body["code"] == "no_password");
}

TEST_CASE("admin: CSRF, a foreign Origin is refused, the dashboard's own is not", "[admin]") {
  Fixture f;
  f.login();
  json ev = {{"centre_id", kDenain},
             {"title", "Temps fort"},
             {"kind", "temps-fort"},
             {"starts_at", format_iso8601(kNow + 10 * kDay)}};
  Reply foreign = f.call("POST", "/api/v1/events", ev, std::nullopt, {{"origin", "https://evil.example"}});
  CHECK(foreign.status == 403);
  CHECK(foreign.body["code"] == "csrf");
  Reply login_foreign =
      f.call("POST", "/api/v1/login", json{{"password", kPassword}}, "", {{"origin", "https://evil.example"}});
  CHECK(login_foreign.status == 403);
  Reply revoke_foreign = f.call("POST", "/api/v1/nodes/x/revoke", json::object(), std::nullopt,
                                {{"origin", "http://hub.example.evil:8443"}});
  CHECK(revoke_foreign.status == 403);

  Reply form = f.call("POST", "/api/v1/events", std::nullopt, std::nullopt,
                      {{"content-type", "application/x-www-form-urlencoded"}});
  CHECK((form.status == 415 || form.status == 400));

  Reply same = f.call("POST", "/api/v1/events", ev, std::nullopt, {{"origin", "https://hub.example:8443"}});
  CHECK(same.status == 201);
}

// --- Records ---------------------------------------------------------------------

TEST_CASE("admin: creates the temps fort for any centre, it enters the change log as origin hub", "[admin]") {
  Fixture f;
  f.login();
  json body = {{"centre_id", kDenain},
               {"title", "Temps fort du bassin minier"},
               {"kind", "temps-fort"},
               {"starts_at", "2026-12-05T09:00:00Z"},
               {"ends_at", "2026-12-05T17:00:00Z"},
               {"place", "Salle des fêtes de Denain"},
               {"capacity", 300}};
  json ev = f.create("events", body);
  CHECK(ev["centre_id"] == kDenain);
  CHECK(ev["title"] == "Temps fort du bassin minier");
  CHECK(ev["kind"] == "temps-fort");
  CHECK(ev["capacity"] == 300);
  CHECK(ev["registered"] == 0);
  CHECK(ev["attended"] == 0);
  CHECK(ev["places_left"] == 300);
  CHECK(ev["created_at"] == format_iso8601(kNow));
  const std::string id = ev["id"];

  // Every node gets it (events go to every centre), stamped by the hub.
  for (const char* centre : {kMazingarbe, kBeaujardin}) {
    auto out = f.store->changes_for_centre(centre, "some-node", 0, 1000);
    REQUIRE(out);
    auto it =
        std::find_if(out->changes.begin(), out->changes.end(), [&](const Change& c) { return c.record_id == id; });
    REQUIRE(it != out->changes.end());
    CHECK(it->origin == "hub");
    CHECK(it->entity == Entity::event);
    CHECK(it->centre_id == kDenain);
  }
  auto log = f.registry->admin_log(5);
  REQUIRE(log);
  CHECK((*log)[0].action == "record.create");
  CHECK((*log)[0].detail.find(id) != std::string::npos);

  Reply got = f.call("GET", "/api/v1/events/" + id);
  CHECK(got.status == 200);
  CHECK(got.body == ev);

  // The owner is required and must exist.
  body.erase("centre_id");
  Reply no_centre = f.call("POST", "/api/v1/events", body);
  CHECK(no_centre.status == 400);
  CHECK(no_centre.body["field"] == "centre_id");
  body["centre_id"] = "atlantis";
  Reply unknown = f.call("POST", "/api/v1/events", body);
  CHECK(unknown.status == 400);
  CHECK(unknown.body["code"] == "unknown_centre");

  // Every missing field at once.
  Reply empty = f.call("POST", "/api/v1/events", json{{"centre_id", kDenain}});
  CHECK(empty.status == 400);
  std::set<std::string> fields;
  for (const auto& e : empty.body["errors"]) fields.insert(e["field"].get<std::string>());
  CHECK(fields == std::set<std::string>{"title", "kind", "starts_at"});
}

TEST_CASE("admin: creates a neighbour centre, corrects any record, deletes and erases", "[admin]") {
  Fixture f;
  f.login();
  json c = f.create("centres", {{"id", "douai-gayant"},
                                {"name", "Centre social Gayant"},
                                {"agglomeration", "porte-du-hainaut"},
                                {"town", "Douai"}});
  CHECK(c["id"] == "douai-gayant");
  CHECK(c["centre_id"] == "douai-gayant");
  CHECK(f.call("POST", "/api/v1/centres", json{{"id", "Douai Gayant"}, {"name", "x"}, {"agglomeration", "lens-lievin"}})
            .body["field"] == "id");
  CHECK(f.call("POST", "/api/v1/centres", json{{"id", "douai-gayant"}, {"name", "x"}, {"agglomeration", "lens-lievin"}})
            .status == 409);
  Reply centres = f.call("GET", "/api/v1/centres?limit=1000");
  CHECK(centres.body["items"].size() == 20);

  std::string ev = f.node_event("node-denain", kDenain, "Atelier tablette", kNow + 3 * kDay, 12);
  std::string reg = f.node_registration("node-denain", kDenain, ev, "Zoé", "Lefebvre", "habitant", false, kNow - kDay);

  // The admin may change any record, whoever wrote it; the owner stays.
  Reply fix = f.call("PATCH", "/api/v1/registrations/" + reg, json{{"attended", true}, {"role", "benevole"}});
  INFO(fix.body.dump());
  REQUIRE(fix.status == 200);
  CHECK(fix.body["attended"] == true);
  CHECK(fix.body["role"] == "benevole");
  Reply move = f.call("PATCH", "/api/v1/registrations/" + reg, json{{"centre_id", kMazingarbe}});
  CHECK(move.status == 400);
  CHECK(move.body["code"] == "read_only");
  Reply ev_fix = f.call("PUT", "/api/v1/events/" + ev, json{{"capacity", 20}, {"registered", 99}, {"attended", 5}});
  REQUIRE(ev_fix.status == 200);
  CHECK(ev_fix.body["capacity"] == 20);
  CHECK(ev_fix.body["registered"] == 1);
  CHECK(ev_fix.body["attended"] == 1);

  CHECK(f.call("POST", "/api/v1/registrations/" + reg + "/erase", json::object()).status == 400);
  Reply erased = f.call("POST", "/api/v1/registrations/" + reg + "/erase", json{{"confirm", true}});
  CHECK(erased.status == 200);
  CHECK(erased.body == json{{"id", reg}, {"erased", true}});
  CHECK(f.call("GET", "/api/v1/registrations/" + reg).status == 404);

  Reply del = f.call("DELETE", "/api/v1/events/" + ev);
  CHECK(del.status == 200);
  CHECK(del.body["deleted"] == true);
  CHECK(f.call("GET", "/api/v1/events").body["items"].empty());

  // A centre with a box cannot be deleted until the box is revoked.
  REQUIRE(f.call("POST", "/api/v1/nodes", json{{"node_id", "douai-1"}, {"centre_id", "douai-gayant"}}).status == 201);
  CHECK(f.call("DELETE", "/api/v1/centres/douai-gayant").status == 409);
  REQUIRE(f.call("POST", "/api/v1/nodes/douai-1/revoke", json::object()).status == 200);
  CHECK(f.call("DELETE", "/api/v1/centres/douai-gayant").status == 200);
}

TEST_CASE("admin: registrations filters by centre, agglomeration, event, role, attended, dates, search", "[admin]") {
  Fixture f;
  f.login();
  std::string ev_a = f.node_event("node-denain", kDenain, "Atelier A", kNow + kDay, 30);
  std::string ev_b = f.node_event("node-maz", kMazingarbe, "Atelier B", kNow + 2 * kDay, std::nullopt);
  const int64_t d1 = kNow - 20 * kDay, d2 = kNow - 10 * kDay, d3 = kNow - 2 * kDay;
  std::string r1 = f.node_registration("node-denain", kDenain, ev_a, "Zoé", "Lefebvre", "habitant", true, d1);
  std::string r2 = f.node_registration("node-denain", kDenain, ev_b, "Paul", "Martin", "benevole", false, d2);
  std::string r3 = f.node_registration("node-douchy", kDouchy, ev_a, "Inès", "Benali", "habitant", false, d3);
  std::string r4 = f.node_registration("node-maz", kMazingarbe, ev_b, "Louis", "Leroy", "partenaire", true, d3);
  auto ids = [&](const std::string& q) {
    Reply r = f.call("GET", "/api/v1/registrations" + q);
    INFO(q << " " << r.body.dump());
    REQUIRE(r.status == 200);
    return ids_of(r.body);
  };
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  CHECK(ids("") == sorted({r1, r2, r3, r4}));
  CHECK(ids(std::string("?centre_id=") + kDenain) == sorted({r1, r2}));
  CHECK(ids("?agglomeration=porte-du-hainaut") == sorted({r1, r2, r3}));
  CHECK(ids("?agglomeration=lens-lievin") == sorted({r4}));
  CHECK(ids("?agglomeration=valenciennes-metropole").empty());
  CHECK(ids("?event_id=" + ev_a) == sorted({r1, r3}));
  CHECK(ids("?role=habitant") == sorted({r1, r3}));
  CHECK(ids("?attended=true") == sorted({r1, r4}));
  CHECK(ids("?attended=false") == sorted({r2, r3}));
  CHECK(ids("?attended=true&agglomeration=porte-du-hainaut") == sorted({r1}));
  CHECK(ids("?from=" + format_iso8601(d2)) == sorted({r2, r3, r4}));
  CHECK(ids("?to=" + format_iso8601(d2)) == sorted({r1}));
  // Dates alone are Paris days; `to` includes its day.
  CHECK(ids("?from=" + format_iso8601(d2).substr(0, 10) + "&to=" + format_iso8601(d2).substr(0, 10)) == sorted({r2}));
  CHECK(ids("?q=lefeb") == sorted({r1}));
  CHECK(ids("?q=LEROY&role=partenaire") == sorted({r4}));
  CHECK(ids("?centre_id=&role=") == sorted({r1, r2, r3, r4}));  // empty filter = any

  Reply page1 = f.call("GET", "/api/v1/registrations?limit=3");
  CHECK(page1.body["items"].size() == 3);
  REQUIRE(page1.body["next"].is_string());
  Reply page2 = f.call("GET", "/api/v1/registrations?limit=3&after=" + page1.body["next"].get<std::string>());
  CHECK(page2.body["items"].size() == 1);
  CHECK(page2.body["next"].is_null());

  CHECK(f.call("GET", "/api/v1/registrations?colour=blue").body["code"] == "unknown_filter");
  CHECK(f.call("GET", "/api/v1/registrations?from=demain").body["field"] == "from");
  CHECK(f.call("GET", "/api/v1/registrations?attended=peut-etre").status == 400);
  CHECK(f.call("GET", "/api/v1/registrations?limit=0").status == 400);

  // Events carry registered / attended; notes filter by status.
  Reply events = f.call("GET", "/api/v1/events?centre_id=" + std::string(kDenain));
  REQUIRE(events.body["items"].size() == 1);
  CHECK(events.body["items"][0]["registered"] == 2);
  CHECK(events.body["items"][0]["attended"] == 1);
  // These registrations carry no seat yet (their centre's node gives it, the
  // seat rules): no seat is taken, as the hub knows.
  CHECK(events.body["items"][0]["places_left"] == 30);
}

// --- Reports ---------------------------------------------------------------------

TEST_CASE("admin: reports count what the nodes wrote, per centre and per agglomeration", "[admin]") {
  Fixture f;
  f.login();
  std::string ev_a = f.node_event("node-denain", kDenain, "Temps fort", kNow + kDay, 100);
  std::string ev_b = f.node_event("node-maz", kMazingarbe, "Atelier", kNow + 2 * kDay, std::nullopt);
  struct Row {
    const char* node;
    const char* centre;
    const char* role;
    bool attended;
    const std::string* event;
  };
  const std::vector<Row> rows = {
      {"node-denain", kDenain, "habitant", true, &ev_a},        {"node-denain", kDenain, "habitant", false, &ev_a},
      {"node-denain", kDenain, "benevole", true, &ev_b},        {"node-douchy", kDouchy, "habitant", true, &ev_a},
      {"node-douchy", kDouchy, "institutionnel", false, &ev_a}, {"node-maz", kMazingarbe, "salarie", true, &ev_b},
      {"node-maz", kMazingarbe, "habitant", false, &ev_b},      {"node-beau", kBeaujardin, "partenaire", false, &ev_a},
  };
  std::map<std::string, std::map<std::string, int>> expected_centre, expected_agglo;
  const std::map<std::string, std::string> agglo_of = {{kDenain, "porte-du-hainaut"},
                                                       {kDouchy, "porte-du-hainaut"},
                                                       {kMazingarbe, "lens-lievin"},
                                                       {kBeaujardin, "valenciennes-metropole"}};
  int i = 0;
  std::string deleted_id;
  for (const auto& r : rows) {
    std::string id = f.node_registration(r.node, r.centre, *r.event, "P" + std::to_string(i), "N" + std::to_string(i),
                                         r.role, r.attended, kNow - kDay);
    ++i;
    expected_centre[r.centre][r.role]++;
    expected_agglo[agglo_of.at(r.centre)][r.role]++;
    deleted_id = id;
  }
  // A deleted registration counts nowhere.
  REQUIRE(f.call("DELETE", "/api/v1/registrations/" + deleted_id).status == 200);
  expected_centre[kBeaujardin]["partenaire"]--;
  expected_agglo["valenciennes-metropole"]["partenaire"]--;

  Reply roles = f.call("GET", "/api/v1/reports/roles");
  REQUIRE(roles.status == 200);
  CHECK(roles.body["roles"] ==
        json({"habitant", "benevole", "partenaire", "salarie", "administrateur", "institutionnel"}));
  CHECK(roles.body["centres"].size() == 19);
  for (const auto& c : roles.body["centres"]) {
    std::string id = c["centre_id"];
    INFO(id);
    int total = 0;
    for (auto role : kRoles) {
      int want = expected_centre.count(id) ? expected_centre[id][std::string(role)] : 0;
      CHECK(c["counts"][std::string(role)] == want);
      total += want;
    }
    CHECK(c["total"] == total);
  }
  REQUIRE(roles.body["agglomerations"].size() == 3);
  CHECK(roles.body["agglomerations"][0]["id"] == "valenciennes-metropole");
  CHECK(roles.body["agglomerations"][0]["name"] == "Valenciennes Métropole");
  for (const auto& a : roles.body["agglomerations"]) {
    std::string id = a["id"];
    INFO(id);
    for (auto role : kRoles) CHECK(a["counts"][std::string(role)] == expected_agglo[id][std::string(role)]);
  }
  CHECK(roles.body["agglomerations"][1]["total"] == 5);  // porte-du-hainaut
  CHECK(roles.body["agglomerations"][2]["total"] == 2);  // lens-lievin
  CHECK(roles.body["total"]["total"] == 7);
  CHECK(roles.body["total"]["counts"]["habitant"] == 4);

  Reply only_b = f.call("GET", "/api/v1/reports/roles?event_id=" + ev_b);
  CHECK(only_b.body["total"]["total"] == 3);

  Reply att = f.call("GET", "/api/v1/reports/attendance");
  REQUIRE(att.status == 200);
  REQUIRE(att.body["items"].size() == 2);
  const json& a0 = att.body["items"][0];  // ordered by start
  CHECK(a0["event_id"] == ev_a);
  CHECK(a0["centre_name"] == "Maison de quartier Solange Tonini");
  CHECK(a0["registered"] == 4);  // one of the five deleted
  CHECK(a0["attended"] == 2);
  CHECK(a0["capacity"] == 100);
  const json& a1 = att.body["items"][1];
  CHECK(a1["registered"] == 3);
  CHECK(a1["attended"] == 2);
  CHECK(a1["capacity"].is_null());
  CHECK(att.body["total"] == json({{"registered", 7}, {"attended", 4}}));
  CHECK(f.call("GET", "/api/v1/reports/attendance?centre_id=" + std::string(kMazingarbe)).body["items"].size() == 1);

  auto note = [&](const char* node, const char* centre, const char* title, const char* status) {
    f.from_node(node, centre, Entity::prototype_note, f.next_id(),
                {{Field::created_at, kNow - kDay},
                 {Field::title, std::string(title)},
                 {Field::status, std::string(status)},
                 {Field::tags, std::string("seniors,tablette")}});
  };
  note("node-denain", kDenain, "Borne d'accueil", "deploye");
  note("node-denain", kDenain, "Appli covoiturage", "en-test");
  note("node-maz", kMazingarbe, "Bot de rappel", "deploye");
  Reply protos = f.call("GET", "/api/v1/reports/prototypes");
  REQUIRE(protos.status == 200);
  CHECK(protos.body["total"]["total"] == 3);
  CHECK(protos.body["total"]["counts"]["deploye"] == 2);
  for (const auto& c : protos.body["centres"]) {
    if (c["centre_id"] == kDenain) {
      CHECK(c["counts"]["deploye"] == 1);
      CHECK(c["counts"]["en-test"] == 1);
      CHECK(c["total"] == 2);
    } else if (c["centre_id"] == kMazingarbe) {
      CHECK(c["total"] == 1);
    } else {
      CHECK(c["total"] == 0);
    }
  }
  Reply catalogue = f.call("GET", "/api/v1/prototype-notes?status=deploye");
  CHECK(catalogue.body["items"].size() == 2);
  CHECK(catalogue.body["items"][0]["tags"] == json({"seniors", "tablette"}));
}

// --- Exports ---------------------------------------------------------------------

TEST_CASE("admin: CSV export parses back, with BOM, ';', quoting and neutralised formulas", "[admin]") {
  Fixture f;
  f.login();
  std::string ev = f.node_event("node-denain", kDenain, "Atelier", kNow + kDay, 10);
  const std::string tricky_last = "Dupont; \"Le Grand\"";
  const std::string formula_first = "=HYPERLINK(\"http://x\")";
  std::string r1 =
      f.node_registration("node-denain", kDenain, ev, formula_first, tricky_last, "habitant", true, kNow - kDay);
  std::string r2 = f.node_registration("node-maz", kMazingarbe, ev, "Élodie", "Leroy", "benevole", false, kNow - kDay);

  Reply r = f.call("GET", "/api/v1/export?entity=registrations&format=csv");
  REQUIRE(r.status == 200);
  CHECK(r.raw.content_type == "text/csv; charset=utf-8");
  CHECK(r.header("Content-Disposition") == "attachment; filename=\"terril-registrations-2026-11-20.csv\"");
  CHECK(r.header("Cache-Control") == "no-store");
  const std::string& body = r.raw.body;
  REQUIRE(body.rfind("\xEF\xBB\xBF", 0) == 0);
  auto rows = parse_csv(std::string_view(body).substr(3), ';');
  REQUIRE(rows);
  REQUIRE(rows->size() == 4);  // header, two rows, FEDER sentence
  const auto& head = (*rows)[0];
  auto col = [&](const std::string& name) {
    auto it = std::find(head.begin(), head.end(), name);
    REQUIRE(it != head.end());
    return static_cast<size_t>(it - head.begin());
  };
  std::map<std::string, std::vector<std::string>> by_id;
  for (size_t i = 1; i < 3; ++i) {
    REQUIRE((*rows)[i].size() == head.size());
    by_id[(*rows)[i][col("id")]] = (*rows)[i];
  }
  REQUIRE(by_id.count(r1));
  CHECK(by_id[r1][col("last_name")] == tricky_last);
  CHECK(by_id[r1][col("first_name")] == "'" + formula_first);  // never evaluated by a spreadsheet
  CHECK(by_id[r1][col("attended")] == "oui");
  CHECK(by_id[r1][col("role")] == "habitant");
  CHECK(by_id[r1][col("centre_id")] == kDenain);
  CHECK(by_id[r1][col("created_at")] == format_fr_datetime(kNow - kDay));
  CHECK(by_id[r1][col("created_at")] == "19/11/2026 11:00");
  CHECK(by_id[r2][col("first_name")] == "Élodie");
  CHECK(by_id[r2][col("attended")] == "non");
  CHECK((*rows)[3] == std::vector<std::string>{kFeder});
  // The quoting itself, as Excel reads it.
  CHECK(body.find("\"Dupont; \"\"Le Grand\"\"\"") != std::string::npos);
  CHECK(body.find("\r\n") != std::string::npos);

  // Filters apply; the export is audited without its content.
  Reply filtered =
      f.call("GET", "/api/v1/export?entity=registrations&format=csv&agglomeration=lens-lievin&q=Leroy&from=2026-11-01");
  REQUIRE(filtered.status == 200);
  auto frows = parse_csv(std::string_view(filtered.raw.body).substr(3), ';');
  REQUIRE(frows);
  CHECK(frows->size() == 3);
  auto log = f.registry->admin_log(10);
  REQUIRE(log);
  REQUIRE((*log)[0].action == "export");
  const std::string& detail = (*log)[0].detail;
  CHECK((*log)[0].who == "admin@192.0.2.10");
  CHECK(detail.find("agglomeration=lens-lievin") != std::string::npos);
  CHECK(detail.find("from=2026-11-01") != std::string::npos);
  CHECK(detail.find("search=(set)") != std::string::npos);
  CHECK(detail.find("Leroy") == std::string::npos);
  for (const auto& e : *log) {
    CHECK(e.detail.find("Dupont") == std::string::npos);
    CHECK(e.detail.find("Élodie") == std::string::npos);
  }

  CHECK(f.call("GET", "/api/v1/export?entity=nope").status == 400);
  CHECK(f.call("GET", "/api/v1/export?entity=registrations&format=xls").status == 400);
  CHECK(f.call("GET", "/api/v1/export?entity=registrations&from=hier").body["field"] == "from");
  CHECK(f.call("GET", "/api/v1/export?entity=events&role=habitant").status == 400);
  CHECK(f.call("GET", "/api/v1/export?entity=registrations&password=x").body["code"] == "unknown_filter");
}

TEST_CASE("admin: JSON export carries the operation, the FEDER sentence and the records", "[admin]") {
  Fixture f;
  f.login();
  std::string ev = f.node_event("node-denain", kDenain, "Atelier", kNow + kDay, 10);
  f.node_registration("node-denain", kDenain, ev, "Zoé", "Lefebvre", "habitant", true, kNow - kDay);
  Reply r = f.call("GET", "/api/v1/export?entity=events&format=json");
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Disposition") == "attachment; filename=\"terril-events-2026-11-20.json\"");
  CHECK(r.body["operation"] == "Centres sociaux connectés du bassin minier");
  CHECK(r.body["feder"] == kFeder);
  CHECK(r.body["entity"] == "events");
  REQUIRE(r.body["items"].size() == 1);
  CHECK(r.body["items"][0]["id"] == ev);
  // Not personal data: events exports leave no audit row.
  auto log = f.registry->admin_log(10);
  REQUIRE(log);
  for (const auto& e : *log) CHECK(e.action != "export");

  Reply regs = f.call("GET", "/api/v1/export?entity=registrations&format=json");
  REQUIRE(regs.status == 200);
  CHECK(regs.body["items"][0]["first_name"] == "Zoé");
}

// --- Nodes -----------------------------------------------------------------------

TEST_CASE("admin: add a node, the code is shown once with the technician's command", "[admin]") {
  Fixture f;
  f.login();
  Reply r = f.call("POST", "/api/v1/nodes", json{{"node_id", "denain-1"}, {"centre_id", kDenain}});
  INFO(r.body.dump());
  REQUIRE(r.status == 201);
  const std::string code = r.body["code"];
  CHECK(code.size() == 14);
  CHECK(r.body["node_id"] == "denain-1");
  CHECK(r.body["centre_id"] == kDenain);
  CHECK(r.body["expires_at"] == format_iso8601(kNow + kCodeLifetimeMs));
  CHECK(r.body["hub_url"] == "wss://hub.example:8443");
  CHECK(r.body["hub_fingerprint"] == "AB:CD");
  CHECK(r.body["command"] ==
        "sudo -u terril-node terril-node enrol --hub wss://hub.example:8443 --code " + code + " --fingerprint AB:CD");
  CHECK(r.body["command_qr_svg"].get<std::string>().starts_with("<svg "));
  CHECK(r.header("Cache-Control") == "no-store");

  // Listed as pending, without the code.
  Reply list = f.call("GET", "/api/v1/nodes");
  REQUIRE(list.status == 200);
  REQUIRE(list.body["items"].size() == 1);
  const json& n = list.body["items"][0];
  CHECK(n["state"] == "pending");
  CHECK(n["connected"] == false);
  CHECK(n["centre_name"] == "Maison de quartier Solange Tonini");
  CHECK(n["agglomeration"] == "porte-du-hainaut");
  CHECK(list.raw.body.find(code) == std::string::npos);
  auto log = f.registry->admin_log(20);
  REQUIRE(log);
  for (const auto& e : *log) CHECK(e.detail.find(code) == std::string::npos);

  CHECK(f.call("POST", "/api/v1/nodes", json{{"node_id", "denain-1"}, {"centre_id", kDenain}}).status == 409);
  CHECK(f.call("POST", "/api/v1/nodes", json{{"node_id", "hub"}, {"centre_id", kDenain}}).body["field"] == "node_id");
  CHECK(f.call("POST", "/api/v1/nodes", json{{"node_id", "x-1"}, {"centre_id", "atlantis"}}).body["code"] ==
        "unknown_centre");
  Reply missing = f.call("POST", "/api/v1/nodes", json::object());
  CHECK(missing.status == 400);
  CHECK(missing.body["errors"].size() == 2);
}

TEST_CASE("admin: nodes list connected state, lag, changes received, rejections; revoke cuts at once", "[admin]") {
  Fixture f;
  f.login();
  Reply add_a = f.call("POST", "/api/v1/nodes", json{{"node_id", "denain-1"}, {"centre_id", kDenain}});
  Reply add_b = f.call("POST", "/api/v1/nodes", json{{"node_id", "maz-1"}, {"centre_id", kMazingarbe}});
  REQUIRE(add_a.status == 201);
  REQUIRE(add_b.status == 201);

  MemoryLink link_a, link_b;
  auto peer_a = f.connect("denain-1", add_a.body["code"], link_a);
  auto peer_b = f.connect("maz-1", add_b.body["code"], link_b);
  // maz-1 goes offline an hour later.
  f.now += 3600 * 1000;
  link_b.closed = true;
  peer_b->on_closed("test: cable pulled");

  // Three changes from denain-1, one of them refused.
  std::string ev = f.node_event("denain-1", kDenain, "Atelier", kNow + kDay, 10);
  f.node_registration("denain-1", kDenain, ev, "Zoé", "Lefebvre", "habitant", false, kNow);
  Judge refuse = [](const Change&, const Record*, const std::string&) {
    return Status(Code::forbidden, "not yours", "", "Ce boîtier ne peut pas modifier cette fiche.");
  };
  f.from_node("denain-1", kDenain, Entity::event, ev, {{Field::title, std::string("Autre")}}, refuse);

  Reply list = f.call("GET", "/api/v1/nodes");
  REQUIRE(list.status == 200);
  json a, b;
  for (const auto& n : list.body["items"]) (n["node_id"] == "denain-1" ? a : b) = n;
  const uint64_t hub_seq = list.body["hub_seq"];
  CHECK(hub_seq >= 21);  // 19 centres + event + registration
  CHECK(a["state"] == "active");
  CHECK(a["connected"] == true);
  CHECK(a["connected_since"] == format_iso8601(kNow));
  CHECK(a["software_version"] == "0.1.0-test");
  CHECK(a["changes_received"] == 3);
  CHECK(a["rejected"] == 1);
  CHECK(b["state"] == "active");
  CHECK(b["connected"] == false);
  CHECK(b["last_seen"] == format_iso8601(kNow));
  CHECK(b["changes_received"] == 0);
  CHECK(b["rejected"] == 0);
  CHECK(b["lag"] == hub_seq - b["hub_cursor"].get<uint64_t>());
  CHECK(b["lag"].get<uint64_t>() > 0);

  Reply status = f.call("GET", "/api/v1/status");
  CHECK(status.body["connected_nodes"] == 1);
  CHECK(status.body["hub_id"] == "hub-test");
  CHECK(status.body["version"] == "9.9.9");
  CHECK(status.body["hub_seq"] == hub_seq);
  CHECK(status.body["nodes"]["active"] == 2);
  CHECK(status.body["db_bytes"].get<int64_t>() > 0);
  CHECK(status.body["feder"] == kFeder);

  Reply metrics = f.call("GET", "/metrics");
  CHECK(metrics.raw.body.find("terril_hub_node_rejected_changes{node=\"denain-1\"} 1") != std::string::npos);
  CHECK(metrics.raw.body.find("terril_hub_connected_nodes 1") != std::string::npos);

  // Revoke: the live link is cut now, not at the next tick.
  Reply revoke = f.call("POST", "/api/v1/nodes/denain-1/revoke", json::object());
  REQUIRE(revoke.status == 200);
  CHECK(revoke.body["state"] == "revoked");
  CHECK(link_a.closed);
  v1::Frame last;
  REQUIRE(wire::decode_frame(link_a.sent.back(), last));
  CHECK(last.msg_case() == v1::Frame::kError);
  peer_a->on_closed("revoked");
  CHECK(f.call("GET", "/api/v1/status").body["connected_nodes"] == 0);
  CHECK(f.call("POST", "/api/v1/nodes/nope/revoke", json::object()).status == 404);
  auto log = f.registry->admin_log(1);
  REQUIRE(log);
  CHECK((*log)[0].action == "node.revoke");
}

TEST_CASE("admin: replace a box gives a code for the new one and revokes the old", "[admin]") {
  Fixture f;
  f.login();
  Reply add = f.call("POST", "/api/v1/nodes", json{{"node_id", "denain-1"}, {"centre_id", kDenain}});
  REQUIRE(add.status == 201);
  MemoryLink link;
  auto peer = f.connect("denain-1", add.body["code"], link);

  Reply rep = f.call("POST", "/api/v1/nodes/denain-1/replace", json::object());
  INFO(rep.body.dump());
  REQUIRE(rep.status == 200);
  CHECK(rep.body["node_id"] == "denain-1-r2");
  CHECK(rep.body["replaced"] == "denain-1");
  CHECK(rep.body["centre_id"] == kDenain);
  CHECK(rep.body["command"] == "sudo -u terril-node terril-node enrol --hub wss://hub.example:8443 --code " +
                                   rep.body["code"].get<std::string>() + " --fingerprint AB:CD");
  CHECK(link.closed);  // the old box is cut off
  peer->on_closed("replaced");

  Reply list = f.call("GET", "/api/v1/nodes");
  std::map<std::string, json> by_id;
  for (const auto& n : list.body["items"]) by_id[n["node_id"]] = n;
  CHECK(by_id["denain-1"]["state"] == "revoked");
  CHECK(by_id["denain-1"]["replaced_by"] == "denain-1-r2");
  CHECK(by_id["denain-1-r2"]["state"] == "pending");

  CHECK(f.call("POST", "/api/v1/nodes/denain-1/replace", json::object()).status == 409);

  // A pending box (code lost) keeps its id and gets a new code.
  Reply again = f.call("POST", "/api/v1/nodes/denain-1-r2/replace", json::object());
  REQUIRE(again.status == 200);
  CHECK(again.body["node_id"] == "denain-1-r2");
  CHECK(again.body["code"] != rep.body["code"]);
  CHECK(f.call("POST", "/api/v1/nodes/nope/replace", json::object()).status == 404);
  CHECK(f.call("GET", "/api/v1/nodes/denain-1/revoke").status == 405);
}

TEST_CASE("admin: the audit log is readable and never holds personal data", "[admin]") {
  Fixture f;
  f.login();
  std::string ev = f.node_event("node-denain", kDenain, "Atelier", kNow + kDay, 10);
  json reg = f.create("registrations", {{"centre_id", kDenain},
                                        {"event_id", ev},
                                        {"first_name", "Zoé"},
                                        {"last_name", "Lefebvre"},
                                        {"phone", "03 27 00 00 00"},
                                        {"role", "habitant"},
                                        {"consent", true}});
  CHECK(reg["consent_at"] == format_iso8601(kNow));
  Reply log = f.call("GET", "/api/v1/admin-log?limit=5");
  REQUIRE(log.status == 200);
  REQUIRE(!log.body["items"].empty());
  CHECK(log.body["items"][0]["action"] == "record.create");
  CHECK(log.body["items"][0]["who"] == "admin@192.0.2.10");
  CHECK(log.raw.body.find("Lefebvre") == std::string::npos);
  CHECK(log.raw.body.find("03 27") == std::string::npos);
  CHECK(log.body["items"][0]["detail"].get<std::string>().find("last_name") != std::string::npos);
}

TEST_CASE("admin: the attendance sheet of any centre's event, sorted, audited without names", "[admin][sheet]") {
  Fixture f;
  std::string ev = f.node_event("node-denain", kDenain, "Atelier tablette", kNow + kDay, 10);
  CHECK(f.call("GET", "/api/v1/events/" + ev + "/attendance-sheet").status == 401);
  f.login();
  f.node_registration("node-denain", kDenain, ev, "Zoé", "Lefèvre", "habitant", true, kNow - kDay);
  f.node_registration("node-douchy", kDouchy, ev, "Adam", "ÉCOLE", "benevole", false, kNow - kDay);
  Reply r = f.call("GET", "/api/v1/events/" + ev + "/attendance-sheet");
  REQUIRE(r.status == 200);
  CHECK(r.raw.content_type == "text/html; charset=utf-8");
  CHECK(r.header("Cache-Control") == "no-store");
  CHECK(r.header("Content-Security-Policy").find("style-src 'sha256-") != std::string::npos);
  const std::string& html = r.raw.body;
  CHECK(html.find("ÉCOLE") < html.find("Lefèvre"));
  CHECK(html.find("Bénévole") != std::string::npos);
  CHECK(html.find("total-registered\">2<") != std::string::npos);
  CHECK(html.find("total-present\">1<") != std::string::npos);
  CHECK(f.call("GET", "/api/v1/events/0e000000-0000-4000-8000-00000000dead/attendance-sheet").status == 404);

  Reply log = f.call("GET", "/api/v1/admin-log?limit=1");
  REQUIRE(log.status == 200);
  CHECK(log.body["items"][0]["action"] == "attendance-sheet");
  CHECK(log.body["items"][0]["detail"] == "event " + ev);
  CHECK(log.raw.body.find("Lefèvre") == std::string::npos);
}

}  // namespace terril

// The NodeApi test fixture: a node of centre "lens" over a real Store in a
// temporary folder, requests as values, time a variable the tests move.
// Shared by api_test.cpp and people_api_test.cpp.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "common/core/hlc.h"
#include "common/core/ids.h"
#include "common/core/validate.h"
#include "common/store/testing.h"
#include "node/api.h"
#include "tests/support/http.h"
#include "tests/support/temp_dir.h"

namespace terril::test_node {

using nlohmann::json;

inline constexpr int64_t kNow = 1796000000000;  // 2026-11-30T00:53:20Z
inline constexpr int64_t kDay = 86400000;
inline constexpr const char* kPassword = "accueil-lens-2026";
inline constexpr const char* kFeder =
    "L'opération « Centres sociaux connectés du bassin minier » est cofinancée par le FEDER dans le cadre du "
    "programme opérationnel FEDER 2014-2020 pour la Région Hauts-de-France.";

using test::Reply;
using test::TempDir;

// A node of centre "lens" (node id "node-lens"); centre "denain" is another
// centre whose records arrive from the hub.
struct Fixture {
  TempDir dir;
  std::unique_ptr<Store> store;
  SyncState sync;
  SessionManager sessions;
  LoginLimiter limiter;
  int64_t now = kNow;
  uint64_t random_counter = 0;
  int writes = 0;
  uint64_t hub_seq = 0;
  std::unique_ptr<NodeApi> api;
  std::string cookie;

  // `web_fingerprint`: the listener is TLS with this certificate (empty: plain HTTP).
  explicit Fixture(const std::string& web_fingerprint = "") {
    StoreOptions opts;
    opts.origin = "node-lens";
    opts.centre = "lens";  // the seat rules act for this centre (sync.centre_id below)
    auto s = Store::open(dir.file("node.db"), opts);
    INFO(s.status().to_string());
    REQUIRE(s);
    store = std::move(s.value());
    sync.enrolled = true;
    sync.node_id = "node-lens";
    sync.centre_id = "lens";
    sync.hub_url = "wss://hub.example:8443/v1/sync";
    auto h = hash_password(kPassword, fast_pwhash_limits());
    REQUIRE(h);
    REQUIRE(write_password_file(dir.file("password"), *h));
    NodeApi::Hooks hooks;
    hooks.now_ms = [this] { return now; };
    hooks.random16 = [this] {
      std::array<uint8_t, 16> r{};
      uint64_t n = ++random_counter;
      for (int i = 0; i < 8; ++i) r[15 - i] = static_cast<uint8_t>(n >> (8 * i));
      return r;
    };
    hooks.on_local_write = [this] { ++writes; };
    hooks.version = "9.9.9";
    hooks.secure_cookie = !web_fingerprint.empty();
    hooks.web_fingerprint = web_fingerprint;
    api = std::make_unique<NodeApi>(*store, sync, sessions, limiter, dir.file("password"), std::move(hooks));
    from_hub(Entity::centre, "lens", "lens",
             {{Field::name, Value{std::string("Centre social de Lens")}},
              {Field::agglomeration, Value{std::string("lens-lievin")}}});
    from_hub(Entity::centre, "denain", "denain",
             {{Field::name, Value{std::string("Centre social de Denain")}},
              {Field::agglomeration, Value{std::string("porte-du-hainaut")}}});
  }

  // A change made elsewhere, received from the hub.
  void from_hub(Entity e, const std::string& id, const std::string& centre, std::vector<FieldValue> fields,
                const std::string& origin = "hub", Op op = Op::upsert) {
    Change c;
    c.origin = origin;
    c.origin_seq = ++hub_seq;
    c.hlc = hlc_make(static_cast<uint64_t>(kNow - kDay), hub_seq);
    c.entity = e;
    c.record_id = id;
    c.centre_id = centre;
    c.op = op;
    c.fields = std::move(fields);
    std::sort(c.fields.begin(), c.fields.end(), [](auto& a, auto& b) { return a.field < b.field; });
    auto rep = store->apply_from_hub({c}, hub_seq, now);
    INFO(rep.status().to_string());
    REQUIRE(rep);
    REQUIRE(rep->rejections.empty());
  }

  Reply call(std::string method, std::string target, std::optional<json> body = std::nullopt,
             std::optional<std::string> with_cookie = std::nullopt) {
    std::optional<HttpRequest> req = test::make_request(
        std::move(method), std::move(target), body, with_cookie ? *with_cookie : cookie, "127.0.0.1:8080", "127.0.0.1");
    REQUIRE(req);
    return test::to_reply(api->handle(*req));
  }

  // A hand-made request: NodeApi fills path and query from the target.
  Reply send(const HttpRequest& req) { return test::to_reply(api->handle(req)); }

  void login() {
    Reply r = call("POST", "/api/v1/login", json{{"password", kPassword}}, "");
    REQUIRE(r.status == 200);
    cookie = test::session_cookie_of(r);
  }

  json create(const std::string& path, const json& body) {
    Reply r = call("POST", "/api/v1/" + path, body);
    INFO(r.body.dump());
    REQUIRE(r.status == 201);
    return r.body;
  }

  json event_body(const std::string& title = "Atelier numérique", std::optional<int> capacity = std::nullopt,
                  const std::string& kind = "atelier") {
    json b = {{"title", title}, {"kind", kind}, {"starts_at", format_iso8601(kNow + 7 * kDay)}};
    if (capacity) b["capacity"] = *capacity;
    return b;
  }

  json registration_body(const std::string& event_id, const std::string& first = "Zoé",
                         const std::string& last = "Lefebvre") {
    return json{{"event_id", event_id},      {"first_name", first}, {"last_name", last},
                {"phone", "03 21 00 00 00"}, {"role", "habitant"},  {"consent", true}};
  }
};

}  // namespace terril::test_node

// The AdminApi test fixture: a real hub Store + Registry in a temporary
// folder, with a SyncHub and no sockets (node sessions are joined through an
// in-memory Link). Requests are plain values; time is a variable the tests
// move. Data "from the nodes" goes in through Store::apply_from_node, as the
// sync does. Shared by admin_test.cpp and people_test.cpp.
#pragma once

#include "hub/admin.h"
#include "hub/admin.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/core/csv.h"
#include "common/core/hlc.h"
#include "common/core/ids.h"
#include "common/store/store.h"
#include "common/ops/tls.h"
#include "common/wire/wire.h"
#include "hub/centres_seed.h"
#include "common/store/hub_registry.h"
#include "hub/sync_hub.h"
#include "terril/v1/sync.pb.h"
#include "tests/support/http.h"
#include "tests/support/temp_dir.h"

namespace terril::test_hub {

using nlohmann::json;
using test::Reply;
using test::TempDir;

inline constexpr int64_t kNow = 1795168800000;  // 2026-11-20T10:00:00Z
inline constexpr int64_t kDay = 24LL * 3600 * 1000;
inline constexpr const char* kPassword = "admin-hub-2026-secret";
inline constexpr const char* kFeder =
    "L'opération « Centres sociaux connectés du bassin minier » est cofinancée par le FEDER dans le cadre du "
    "programme opérationnel FEDER 2014-2020 pour la Région Hauts-de-France.";

// Centres of data/centres.csv used below.
inline constexpr const char* kDenain = "denain-tonini";                // porte-du-hainaut
inline constexpr const char* kDouchy = "douchy-agora";                 // porte-du-hainaut
inline constexpr const char* kMazingarbe = "mazingarbe-3-cites";       // lens-lievin
inline constexpr const char* kBeaujardin = "valenciennes-beaujardin";  // valenciennes-metropole

// One side of an in-memory link: records what the hub sends.
class MemoryLink : public Link {
 public:
  void send(std::string frame) override { sent.push_back(std::move(frame)); }
  void close() override { closed = true; }
  size_t queued() const override { return 0; }
  const std::string& remote() const override { return remote_; }
  uint64_t bytes_sent() const override { return 0; }
  uint64_t bytes_received() const override { return 0; }
  std::vector<std::string> sent;
  bool closed = false;

 private:
  std::string remote_ = "127.0.0.1:40000";
};

struct Fixture {
  TempDir dir;  // first: removed after the store is closed
  std::unique_ptr<Store> store;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<SyncHub> hub;
  std::unique_ptr<AdminApi> api;
  int64_t now = kNow;
  uint64_t random_counter = 0;
  std::map<std::string, uint64_t> node_seq;  // origin_seq per simulated node
  std::string cookie;

  Fixture() {
    StoreOptions o;
    o.origin = "hub";
    o.hub = true;
    auto s = Store::open(dir.file("hub.db"), o);
    INFO(s.status().to_string());
    REQUIRE(s);
    store = std::move(s.value());
    REQUIRE(store->set_meta("hub_id", "hub-test"));
    auto centres = parse_centres(centres_csv());
    REQUIRE(centres);
    REQUIRE(store->seed_centres(*centres, kNow - 30 * kDay));
    registry = std::make_unique<Registry>(*store);
    SyncHubOptions so;
    so.hub_id = "hub-test";
    so.software_version = "9.9.9";
    so.now_ms = [this] { return now; };
    so.random_bytes = [](size_t n) { return std::string(n, '\x42'); };
    hub = std::make_unique<SyncHub>(*store, *registry, so);
    auto h = hash_password(kPassword, fast_pwhash_limits());
    REQUIRE(h);
    REQUIRE(write_password_file(dir.file("admin.password"), *h));
    AdminApi::Options ao{dir.file("admin.password"), true, "9.9.9", [this] { return now; }};
    ao.random16 = [this] {
      std::array<uint8_t, 16> r{};
      uint64_t n = ++random_counter;
      for (int i = 0; i < 8; ++i) r[15 - i] = static_cast<uint8_t>(n >> (8 * i));
      return r;
    };
    ao.hub_fingerprint = "AB:CD";
    api = std::make_unique<AdminApi>(*store, *registry, *hub, ao);
  }

  Reply call(std::string method, std::string target, std::optional<json> body = std::nullopt,
             std::optional<std::string> with_cookie = std::nullopt, std::map<std::string, std::string> headers = {}) {
    std::optional<HttpRequest> req =
        test::make_request(std::move(method), std::move(target), body, with_cookie ? *with_cookie : cookie,
                           "hub.example:8443", "192.0.2.10", headers);
    REQUIRE(req);
    return test::to_reply(api->handle(*req));
  }

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

  std::string next_id() {
    std::array<uint8_t, 16> r{};
    uint64_t n = ++random_counter;
    r[0] = 0xee;
    for (int i = 0; i < 8; ++i) r[15 - i] = static_cast<uint8_t>(n >> (8 * i));
    return uuid_v4(r);
  }

  // A change written at node `node_id` (serving `centre`) and synced to the
  // hub, as the sync session applies it.
  void from_node(const std::string& node_id, const std::string& centre, Entity e, const std::string& id,
                 std::vector<FieldValue> fields, const Judge& judge = nullptr) {
    Change c;
    c.origin = node_id;
    c.origin_seq = ++node_seq[node_id];
    c.hlc = hlc_make(static_cast<uint64_t>(now - kDay), c.origin_seq);
    c.entity = e;
    c.record_id = id;
    c.centre_id = centre;
    c.fields = std::move(fields);
    std::sort(c.fields.begin(), c.fields.end(), [](auto& a, auto& b) { return a.field < b.field; });
    Judge allow = [](const Change&, const Record*, const std::string&) { return Status::ok(); };
    auto rep = store->apply_from_node(node_id, {c}, judge ? judge : allow, now);
    INFO(rep.status().to_string());
    REQUIRE(rep);
  }

  std::string node_registration(const std::string& node_id, const std::string& centre, const std::string& event_id,
                                const std::string& first, const std::string& last, const std::string& role,
                                bool attended, int64_t created_at) {
    std::string id = next_id();
    std::vector<FieldValue> f = {{Field::created_at, created_at},
                                 {Field::event_id, event_id},
                                 {Field::first_name, first},
                                 {Field::last_name, last},
                                 {Field::phone, std::string("03 27 00 00 00")},
                                 {Field::role, role},
                                 {Field::consent_at, created_at}};
    if (attended) f.push_back({Field::attended, true});
    from_node(node_id, centre, Entity::registration, id, std::move(f));
    return id;
  }

  std::string node_event(const std::string& node_id, const std::string& centre, const std::string& title,
                         int64_t starts_at, std::optional<int64_t> capacity) {
    std::string id = next_id();
    std::vector<FieldValue> f = {{Field::created_at, now - 10 * kDay},
                                 {Field::title, title},
                                 {Field::kind, std::string("atelier")},
                                 {Field::starts_at, starts_at}};
    if (capacity) f.push_back({Field::capacity, *capacity});
    from_node(node_id, centre, Entity::event, id, std::move(f));
    return id;
  }

  // Enrols a node through its code and opens a streaming session for it.
  std::shared_ptr<Peer> connect(const std::string& node_id, const std::string& code, MemoryLink& link) {
    auto enrolment = registry->enrol(code, now);
    INFO(enrolment.status().to_string());
    REQUIRE(enrolment);
    HttpRequest upgrade;
    upgrade.method = "GET";
    upgrade.target = upgrade.path = "/v1/sync";
    auto peer = hub->make_session(upgrade);
    peer->on_open(link);
    REQUIRE(link.sent.size() == 1);
    v1::Frame challenge;
    REQUIRE(wire::decode_frame(link.sent[0], challenge));
    REQUIRE(challenge.msg_case() == v1::Frame::kChallenge);
    v1::Frame hello;
    auto* h = hello.mutable_hello();
    h->set_node_id(node_id);
    h->set_proof(hmac_sha256(enrolment->secret, challenge.challenge().nonce()));
    h->set_protocol_version(wire::kProtocolVersion);
    h->set_software_version("0.1.0-test");
    h->set_hub_cursor(0);
    peer->on_message(wire::encode_frame(hello));
    REQUIRE(!link.closed);
    return peer;
  }
};

inline std::vector<std::string> ids_of(const json& list) {
  std::vector<std::string> out;
  for (const auto& r : list["items"]) out.push_back(r["id"].get<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace terril::test_hub

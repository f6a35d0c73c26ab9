// The hub's node registry (common/store/hub_registry.h) over a real hub
// Store: codes, enrolment, proofs, revocation, replacement, the admin log.
#include "common/store/hub_registry.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <memory>
#include <set>

#include "common/store/store.h"
#include "common/store/testing.h"
#include "common/ops/tls.h"
#include "tests/support/temp_dir.h"

using namespace terril;
using terril::test::TempDir;

namespace {

constexpr int64_t kNow = 1714564800000;  // 2024-05-01T12:00:00Z
constexpr int64_t kDay = 24LL * 3600 * 1000;

// A hub store in a temp folder: Store::open applies every migration,
// 002_hub_registry included, and the registry shares its connection (`db`,
// for the raw checks of the tables).
struct HubDb {
  HubDb() {
    StoreOptions opts;
    opts.origin = "hub";
    opts.hub = true;
    auto s = Store::open(dir.file("hub.db"), opts);
    REQUIRE(s.is_ok());
    store = std::move(s).value();
    db = store::testing::raw_handle(*store);
  }
  TempDir dir;  // declared first: removed after the store is closed
  std::unique_ptr<Store> store;
  sqlite3* db = nullptr;
};

std::string proof(const std::string& secret, const std::string& nonce) {
  return hmac_sha256(secret, nonce);
}

std::string lower_with_aliases(std::string code) {
  for (char& c : code) {
    if (c == '0')
      c = 'o';
    else if (c == '1')
      c = 'l';
    else if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  }
  return code;
}

}  // namespace

TEST_CASE("registry: add gives a one-time code of 12 Crockford characters", "[registry]") {
  HubDb h;
  Registry reg(*h.store);
  auto nc = reg.add("cs-denain-1", "cs-denain", kNow);
  REQUIRE(nc.is_ok());
  CHECK(nc->node_id == "cs-denain-1");
  CHECK(nc->centre_id == "cs-denain");
  CHECK(nc->expires_at_ms == kNow + 7 * kDay);
  REQUIRE(nc->code.size() == 14);
  CHECK(nc->code[4] == '-');
  CHECK(nc->code[9] == '-');
  CHECK(Registry::normalise_code(nc->code).has_value());

  auto n = reg.get("cs-denain-1");
  REQUIRE(n.is_ok());
  REQUIRE(n->has_value());
  CHECK((*n)->state == NodeState::pending);
  CHECK((*n)->code_expires_at_ms == kNow + 7 * kDay);

  // Only the hash is stored.
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(h.db, "SELECT code_hash FROM nodes", -1, &s, nullptr);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  std::string stored(static_cast<const char*>(sqlite3_column_blob(s, 0)), sqlite3_column_bytes(s, 0));
  sqlite3_finalize(s);
  CHECK(stored == sha256(*Registry::normalise_code(nc->code)));
}

TEST_CASE("registry: the hub store carries the registry schema", "[registry]") {
  HubDb h;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(h.db, "PRAGMA user_version", -1, &s, nullptr);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  CHECK(sqlite3_column_int(s, 0) >= 2);
  sqlite3_finalize(s);
  // STRICT and CHECKed: an active node without a secret is refused by SQLite itself.
  int rc = sqlite3_exec(h.db, "INSERT INTO nodes(node_id, centre_id, state, created_at) VALUES ('x', 'c', 'active', 0)",
                        nullptr, nullptr, nullptr);
  CHECK((rc & 0xff) == SQLITE_CONSTRAINT);
}

TEST_CASE("registry: codes differ", "[registry]") {
  HubDb h;
  Registry reg(*h.store);
  std::set<std::string> codes;
  for (int i = 0; i < 20; ++i) codes.insert(reg.add("n-" + std::to_string(i), "c", kNow)->code);
  CHECK(codes.size() == 20);
}

TEST_CASE("registry: add refuses bad ids and existing nodes", "[registry]") {
  HubDb h;
  Registry reg(*h.store);
  CHECK(reg.add("Bad Id", "c", kNow).status().code() == Code::invalid);
  CHECK(reg.add("hub", "c", kNow).status().code() == Code::invalid);
  CHECK(reg.add("n1", "", kNow).status().code() == Code::invalid);
  REQUIRE(reg.add("n1", "c", kNow).is_ok());
  CHECK(reg.add("n1", "c", kNow).status().code() == Code::conflict);
  REQUIRE(reg.revoke("n1", kNow).is_ok());
  CHECK(reg.add("n1", "c", kNow).status().code() == Code::conflict);  // ids are never reused
}

TEST_CASE("registry: L2: a code is spent at the first Hello proved with its secret, not when it is presented",
          "[registry]") {
  HubDb h;
  Registry reg(*h.store);
  auto nc = reg.add("cs-denain-1", "cs-denain", kNow);
  REQUIRE(nc.is_ok());

  auto e = reg.enrol(lower_with_aliases(nc->code), kNow + kDay);  // typed sloppily
  REQUIRE(e.is_ok());
  CHECK(e->node_id == "cs-denain-1");
  CHECK(e->centre_id == "cs-denain");
  CHECK(e->secret.size() == 32);
  // The link is cut before the box saved its credentials: the node is still
  // pending and the code still works, with a new secret; the first one is void.
  CHECK((*reg.get("cs-denain-1"))->state == NodeState::pending);
  auto retry = reg.enrol(nc->code, kNow + kDay + 1);
  REQUIRE(retry.is_ok());
  CHECK(retry->secret != e->secret);
  const std::string nonce = *random_bytes(32);
  CHECK(reg.verify("cs-denain-1", nonce, proof(e->secret, nonce), kNow + kDay + 2).code() == Code::invalid);
  CHECK((*reg.get("cs-denain-1"))->state == NodeState::pending);

  // The box's first Hello with the secret it kept: active, code spent.
  REQUIRE(reg.verify("cs-denain-1", nonce, proof(retry->secret, nonce), kNow + kDay + 3).is_ok());
  auto n = *reg.get("cs-denain-1");
  CHECK(n->state == NodeState::active);
  CHECK(n->enrolled_at_ms == kNow + kDay + 3);
  CHECK(n->code_expires_at_ms == 0);
  CHECK(*reg.centre_of("cs-denain-1") == "cs-denain");
  CHECK(reg.verify("cs-denain-1", nonce, proof(retry->secret, nonce), kNow + kDay + 4).is_ok());

  // A replayed code is refused.
  auto again = reg.enrol(nc->code, kNow + kDay + 5);
  REQUIRE_FALSE(again.is_ok());
  CHECK(again.status().code() == Code::forbidden);
  CHECK(again.status().message() == "unknown or already used enrolment code");
  CHECK(again.status().message_fr().starts_with("Code d'inscription inconnu ou déjà utilisé"));

  auto log = reg.admin_log(10);
  REQUIRE(log->size() == 4);
  CHECK((*log)[0].action == "node.enrol");
  CHECK((*log)[0].who == "cs-denain-1");
  CHECK((*log)[1].action == "node.enrol.offer");
  CHECK((*log)[2].action == "node.enrol.offer");
  CHECK((*log)[3].action == "node.add");
}

TEST_CASE("registry: an expired code is refused as expired", "[registry]") {
  HubDb h;
  Registry reg(*h.store);
  auto nc = reg.add("n1", "c", kNow);
  auto e = reg.enrol(nc->code, kNow + 7 * kDay);
  REQUIRE_FALSE(e.is_ok());
  CHECK(e.status().code() == Code::forbidden);
  CHECK(e.status().message() == "enrolment code expired for node n1");
  CHECK(e.status().message_fr().starts_with("Code d'inscription expiré"));
  CHECK((*reg.get("n1"))->state == NodeState::pending);
  // One millisecond earlier it was still good.
  CHECK(reg.enrol(nc->code, kNow + 7 * kDay - 1).is_ok());
}

TEST_CASE("registry: bad codes are refused", "[registry]") {
  HubDb h;
  Registry reg(*h.store);
  REQUIRE(reg.add("n1", "c", kNow).is_ok());
  for (const char* code :
       {"", "ABCD-EFGH-JKMN", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKMU", "ABCD+EFGH+JKMN"}) {
    INFO(code);
    auto e = reg.enrol(code, kNow);
    REQUIRE_FALSE(e.is_ok());
    CHECK(e.status().code() == Code::forbidden);
    CHECK(e.status().message() == "unknown or already used enrolment code");
  }
}

TEST_CASE("registry: code normalisation", "[registry]") {
  CHECK(*Registry::normalise_code("abcd-efgh-jkmn") == "ABCDEFGHJKMN");
  CHECK_FALSE(Registry::normalise_code(" O0Il L1  2345-6789").has_value());  // 14 characters
  CHECK(*Registry::normalise_code("oOiI lL23 4567") == "001111234567");
  CHECK_FALSE(Registry::normalise_code("UUUU-UUUU-UUUU").has_value());
  CHECK_FALSE(Registry::normalise_code("ABCDEFGHJKM").has_value());
}

TEST_CASE("registry: L7: verify checks the HMAC proof and the node's state, with one answer for strangers",
          "[registry]") {
  HubDb h;
  Registry reg(*h.store);
  auto nc = reg.add("n1", "c", kNow);
  std::string nonce = *random_bytes(32);
  // Pending with no offer, unknown, wrong proof: the same answer (invalid).
  CHECK(reg.verify("n1", "nonce", std::string(32, 'x'), kNow).code() == Code::invalid);
  auto e = reg.enrol(nc->code, kNow);
  REQUIRE(e.is_ok());
  CHECK(reg.verify("nobody", nonce, proof(e->secret, nonce), kNow).code() == Code::invalid);
  CHECK(reg.verify("n1", nonce, proof(e->secret, nonce), kNow).is_ok());
  Status bad = reg.verify("n1", nonce, proof(e->secret, "other nonce"), kNow);
  CHECK(bad.code() == Code::invalid);
  CHECK(reg.verify("n1", nonce, "", kNow).code() == Code::invalid);
  CHECK(reg.verify("nobody", nonce, "", kNow).message_fr() ==
        bad.message_fr().substr(0, 0) + "Boîtier inconnu ou preuve d'identité refusée : nobody");

  CHECK(reg.inactive_ids()->empty());
  REQUIRE(reg.revoke("n1", kNow).is_ok());
  CHECK(*reg.inactive_ids() == std::vector<std::string>{"n1"});  // what the hub's tick closes
  // The revoked box, proved with its old secret, is told (it wipes itself);
  // anyone else asking about n1 hears what an unknown id hears.
  CHECK(reg.verify("n1", nonce, proof(e->secret, nonce), kNow).code() == Code::forbidden);
  CHECK(reg.verify("n1", nonce, std::string(32, 'x'), kNow).code() == Code::invalid);
  CHECK(reg.centre_of("n1").status().code() == Code::forbidden);
  CHECK(reg.revoke("n1", kNow).is_ok());  // idempotent
  CHECK(reg.revoke("nobody", kNow).code() == Code::not_found);
}

TEST_CASE("registry: replace revokes the old box and enrols a new node id", "[registry]") {
  HubDb h;
  Registry reg(*h.store);
  auto nc = reg.add("cs-lens-1", "cs-lens", kNow);
  auto old = reg.enrol(nc->code, kNow);
  REQUIRE(old.is_ok());
  std::string nonce = "n";
  REQUIRE(reg.verify("cs-lens-1", nonce, proof(old->secret, nonce), kNow).is_ok());

  auto rc = reg.replace("cs-lens-1", kNow + kDay);
  REQUIRE(rc.is_ok());
  CHECK(rc->node_id == "cs-lens-1-r2");
  CHECK(rc->centre_id == "cs-lens");
  CHECK(rc->expires_at_ms == kNow + 8 * kDay);
  // The old box is refused at once.
  CHECK(reg.verify("cs-lens-1", nonce, proof(old->secret, nonce), kNow + kDay).code() == Code::forbidden);
  auto o = *reg.get("cs-lens-1");
  CHECK(o->state == NodeState::revoked);
  CHECK(o->replaced_by == "cs-lens-1-r2");

  auto fresh = reg.enrol(rc->code, kNow + kDay);
  REQUIRE(fresh.is_ok());
  CHECK(fresh->node_id == "cs-lens-1-r2");
  CHECK(fresh->centre_id == "cs-lens");
  CHECK(fresh->secret != old->secret);
  CHECK(reg.verify("cs-lens-1-r2", nonce, proof(fresh->secret, nonce), kNow + kDay).is_ok());
  CHECK(reg.verify("cs-lens-1-r2", nonce, proof(old->secret, nonce), kNow + kDay).code() == Code::invalid);

  // Replacing again: from the replaced one is a conflict, from the new one gives -r3.
  CHECK(reg.replace("cs-lens-1", kNow).status().code() == Code::conflict);
  auto third = reg.replace("cs-lens-1-r2", kNow);
  REQUIRE(third.is_ok());
  CHECK(third->node_id == "cs-lens-1-r3");
  CHECK(reg.replace("nobody", kNow).status().code() == Code::not_found);
}

TEST_CASE("registry: replacing a pending node gives it a new code, same id", "[registry]") {
  HubDb h;
  Registry reg(*h.store);
  auto first = reg.add("n1", "c", kNow);
  auto second = reg.replace("n1", kNow + 8 * kDay);  // the first code expired unused
  REQUIRE(second.is_ok());
  CHECK(second->node_id == "n1");
  CHECK(second->code != first->code);
  CHECK(reg.enrol(first->code, kNow + 8 * kDay).status().code() == Code::forbidden);
  CHECK(reg.enrol(second->code, kNow + 8 * kDay).is_ok());
  // A secret offered for a code that is then replaced never activates the node.
  auto offered = reg.enrol(second->code, kNow + 8 * kDay);
  REQUIRE(offered.is_ok());
  auto third = reg.replace("n1", kNow + 8 * kDay);
  REQUIRE(third.is_ok());
  const std::string nonce = "n";
  CHECK(reg.verify("n1", nonce, proof(offered->secret, nonce), kNow + 8 * kDay).code() == Code::invalid);
  CHECK((*reg.get("n1"))->state == NodeState::pending);
}

TEST_CASE("registry: a revoked node can be replaced; long ids stay valid", "[registry]") {
  HubDb h;
  Registry reg(*h.store);
  std::string long_id(64, 'a');
  REQUIRE(reg.add(long_id, "c", kNow).is_ok());
  REQUIRE(reg.revoke(long_id, kNow).is_ok());
  auto r = reg.replace(long_id, kNow);
  REQUIRE(r.is_ok());
  CHECK(r->node_id == std::string(61, 'a') + "-r2");
}

TEST_CASE("registry: list, touch, hub cursor, admin log", "[registry]") {
  HubDb h;
  Registry reg(*h.store);
  REQUIRE(reg.add("z-node", "a-centre", kNow).is_ok());
  REQUIRE(reg.add("a-node", "b-centre", kNow).is_ok());
  REQUIRE(reg.add("b-node", "a-centre", kNow).is_ok());
  auto all = reg.list();
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].node_id == "b-node");
  CHECK((*all)[1].node_id == "z-node");
  CHECK((*all)[2].node_id == "a-node");

  REQUIRE(reg.touch("a-node", kNow + 5, "terril-node 0.1.0").is_ok());
  REQUIRE(reg.set_hub_cursor("a-node", 42).is_ok());
  auto n = *reg.get("a-node");
  CHECK(n->last_seen_at_ms == kNow + 5);
  CHECK(n->software_version == "terril-node 0.1.0");
  CHECK(n->hub_cursor == 42);
  CHECK(reg.touch("nobody", kNow, "x").code() == Code::not_found);
  CHECK(reg.set_hub_cursor("nobody", 1).code() == Code::not_found);
  // Many at once, one transaction; an unknown node is skipped.
  REQUIRE(reg.set_hub_cursors({{"a-node", 77}, {"nobody", 5}, {"b-node", 9}}).is_ok());
  CHECK((*reg.get("a-node"))->hub_cursor == 77);
  CHECK((*reg.get("b-node"))->hub_cursor == 9);
  CHECK_FALSE(reg.get("nobody")->has_value());

  REQUIRE(reg.log_admin("alice", "export", "entity=registration rows=12", kNow + 9).is_ok());
  auto log = reg.admin_log(1);
  REQUIRE(log->size() == 1);
  CHECK((*log)[0].at_ms == kNow + 9);
  CHECK((*log)[0].who == "alice");
  CHECK((*log)[0].action == "export");
  CHECK((*log)[0].detail == "entity=registration rows=12");
}

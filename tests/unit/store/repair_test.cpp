// Healing over real SQLite files (docs/design.md "Replicas that heal"):
// anti-entropy rounds between a node store and a hub store, driven frame by
// frame through common/store/anti_entropy.h as the daemons drive them; hub
// epochs and fork points; a node's renumbering after an SD-image restore and
// its wipe when revoked.
#include "common/store/anti_entropy.h"

#include <deque>
#include <filesystem>
#include <iostream>

#include "tests/unit/store/store_fixture.h"

using namespace terril;
using namespace terril::test;

namespace {

const std::string kEvA = uuid(1, 0xe);  // hosted by centre-a
const std::string kEvC = uuid(3, 0xe);  // hosted by centre-c

struct Healed {
  ReconcileStats stats;
  size_t frames = 0;
  size_t bytes = 0;
};

// One anti-entropy round between `node` (of `centre`, node id `node_id`) and
// `hub`, every frame encoded and decoded as on the wire.
Healed heal(Store& node, Store& hub, const std::string& centre, const std::string& node_id, bool witness = false) {
  Reconciler rc(node, centre);
  Healed h;
  std::deque<wire::Frame> up;
  up.emplace_back(ok(rc.start()));
  auto wire_trip = [&](const wire::Frame& f) {
    std::string bytes = wire::encode_frame(f);
    ++h.frames;
    h.bytes += bytes.size();
    return ok(wire::decode_frame(bytes));
  };
  while (!up.empty()) {
    wire::Frame f = wire_trip(up.front());
    up.pop_front();
    if (auto* c = std::get_if<wire::DigestCheck>(&f)) {
      wire::Frame reply = wire_trip(ok(answer_digest_check(hub, centre, *c)));
      auto step = ok(rc.on_reply(std::get<wire::DigestReply>(reply)));
      for (auto& x : step.checks) up.emplace_back(std::move(x));
      for (auto& x : step.repairs) up.emplace_back(std::move(x));
    } else if (auto* r = std::get_if<wire::Repair>(&f)) {
      NodeBatch b;
      b.node_id = node_id;
      b.records = r->records;
      b.node_centre = centre;
      b.witness = witness;
      auto applied = hub.apply_from_nodes({b}, kNow);
      ApplyReport rep = ok(std::move(applied.front()));
      for (auto& back : ok(answer_repair(hub, *r, rep))) {
        wire::Frame g = wire_trip(back);
        ok(rc.on_repair(std::get<wire::Repair>(g), kNow));
      }
    }
  }
  CHECK_FALSE(rc.busy());
  h.stats = rc.stats();
  return h;
}

std::vector<RangeDigest> level0(Store& s, const std::string& scope) {
  std::vector<RangeKey> keys;
  for (const auto& es : entities()) keys.push_back({es.entity, "", ""});
  return ok(s.digests(scope, keys));
}

// A node of centre-a with `n` registrations, pushed to the hub.
void fill(Store& node, Store& hub, size_t from, size_t n) {
  for (size_t i = from; i < from + n; ++i)
    ok(node.write(registration_write(uuid(i + 1), "centre-a", kEvA, "Marie", "Dupont" + std::to_string(i)), kNow));
  push(node, hub, "node-a");
}

void copy_db(Store& s, const std::string& from, const std::string& to) {
  ok(s.checkpoint());
  std::filesystem::copy_file(from, to);
}

}  // namespace

TEST_CASE("a check with nothing to repair is one small exchange", "[store][heal]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  auto node = open_store(dir.file("a.db"), node_opts("node-a"));
  ok(node->write(event_write(kEvA, "centre-a"), kNow));
  fill(*node, *hub, 0, 500);
  pull(*hub, *node, "centre-a", "node-a");
  CHECK(level0(*node, "") == level0(*hub, "centre-a"));
  Healed h = heal(*node, *hub, "centre-a", "node-a");
  CHECK(h.frames == 2);
  CHECK(h.bytes < 400);
  CHECK(h.stats.pushed + h.stats.pulled + h.stats.purged == 0);
  std::cout << "heal: nothing to repair over 501 records: " << h.frames << " frames, " << h.bytes << " bytes"
            << std::endl;
}

TEST_CASE("a node restored from an older copy gets back only what it lost", "[store][heal]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  {
    auto node = open_store(dir.file("a.db"), node_opts("node-a"));
    ok(node->write(event_write(kEvA, "centre-a"), kNow));
    fill(*node, *hub, 0, 200);
    copy_db(*node, dir.file("a.db"), dir.file("a-old.db"));
    fill(*node, *hub, 200, 100);
  }
  auto old = open_store(dir.file("a-old.db"), node_opts("node-a"));
  CHECK(ok(old->stats()).records == 201);
  Healed h = heal(*old, *hub, "centre-a", "node-a");
  CHECK(h.stats.pulled == 100);
  CHECK(h.stats.pushed == 0);
  CHECK(level0(*old, "") == level0(*hub, "centre-a"));
  CHECK(ok(old->get(Entity::registration, uuid(300)))->text(Field::last_name) == "Dupont299");
  std::cout << "heal: node lost 100 of 300: " << h.frames << " frames, " << h.bytes << " bytes" << std::endl;
  // A second round finds nothing.
  CHECK(heal(*old, *hub, "centre-a", "node-a").frames == 2);
}

TEST_CASE("a hub restored from an older copy gets the node's records back, newer values win", "[store][heal]") {
  TempDir dir;
  auto node = open_store(dir.file("a.db"), node_opts("node-a"));
  {
    auto hub = open_store(dir.file("hub.db"), hub_opts());
    ok(node->write(event_write(kEvA, "centre-a"), kNow));
    fill(*node, *hub, 0, 100);
    copy_db(*hub, dir.file("hub.db"), dir.file("hub-old.db"));
    fill(*node, *hub, 100, 50);
    ok(node->write(update_write(Entity::registration, uuid(1), {{Field::notes, Value{std::string("vu")}}}), kNow));
    push(*node, *hub, "node-a");
  }
  auto hub = open_store(dir.file("hub-old.db"), hub_opts());
  Healed h = heal(*node, *hub, "centre-a", "node-a");
  CHECK(h.stats.pushed == 51);
  CHECK(h.stats.pulled == 0);
  CHECK(level0(*node, "") == level0(*hub, "centre-a"));
  CHECK(ok(hub->get(Entity::registration, uuid(1)))->text(Field::notes) == "vu");
}

TEST_CASE("records of other centres are taken only from a witness of the hub's lost history", "[store][heal]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  auto node = open_store(dir.file("a.db"), node_opts("node-a"));
  // centre-a hosts kEvA; centre-b's registration for it reaches node-a.
  Change ev;
  ev.origin = "node-a";
  ev.origin_seq = 1;
  ev.hlc = (uint64_t(kNow) << 16);
  ev.entity = Entity::event;
  ev.record_id = kEvA;
  ev.centre_id = "centre-a";
  ev.fields = {{Field::title, Value{std::string("Atelier")}},
               {Field::kind, Value{std::string("atelier")}},
               {Field::starts_at, Value{kNow}}};
  ok(node->apply_from_hub({ev, registration_change("node-b", 1, (uint64_t(kNow) << 16) + 1, uuid(9), "centre-b", kEvA)},
                          5, kNow));
  ok(hub->apply_from_node("node-x", {}, allow_all, kNow));
  // The hub knows none of it: a stranger's record is not taken from anyone...
  Healed h = heal(*node, *hub, "centre-a", "node-a");
  CHECK(h.stats.pushed == 2);
  CHECK_FALSE(ok(hub->get(Entity::registration, uuid(9))));
  // ...but from a witness it is.
  heal(*node, *hub, "centre-a", "node-a", /*witness=*/true);
  CHECK(ok(hub->get(Entity::registration, uuid(9))));
  CHECK(level0(*node, "") == level0(*hub, "centre-a"));
}

TEST_CASE("a registration that moved away is purged from the old host, name and all", "[store][heal]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  auto host = open_store(dir.file("a.db"), node_opts("node-a"));
  auto owner = open_store(dir.file("b.db"), node_opts("node-b"));
  ok(hub->write(event_write(kEvA, "centre-a"), kNow));
  ok(hub->write(event_write(kEvC, "centre-c"), kNow));
  pull(*hub, *owner, "centre-b", "node-b");
  ok(owner->write(registration_write(uuid(5), "centre-b", kEvA, "Zoé", "Kowalczyk"), kNow));
  push(*owner, *hub, "node-b");
  pull(*hub, *host, "centre-a", "node-a");
  REQUIRE(ok(host->get(Entity::registration, uuid(5))));
  // The person picks centre-c's event instead.
  ok(owner->write(update_write(Entity::registration, uuid(5), {{Field::event_id, Value{kEvC}}}), kNow + 1));
  auto st = ok(owner->stats());
  auto out = ok(owner->own_changes_after(st.acked_seq, 100));
  auto rep = ok(hub->apply_from_node("node-b", out.changes, allow_all, kNow + 1));
  REQUIRE(rep.moves.size() == 1);
  CHECK(rep.moves[0].old_host == "centre-a");
  CHECK(rep.moves[0].new_host == "centre-c");
  Healed h = heal(*host, *hub, "centre-a", "node-a");
  CHECK(h.stats.purged == 1);
  CHECK_FALSE(ok(host->get(Entity::registration, uuid(5))));
  CHECK(level0(*host, "") == level0(*hub, "centre-a"));
  host.reset();
  CHECK(read_file(dir.file("a.db")).find("Kowalczyk") == std::string::npos);
}

TEST_CASE("hub epochs: sequences jump at each start and a lost cursor finds its fork point", "[store][heal]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  auto node = open_store(dir.file("a.db"), node_opts("node-a"));
  const uint64_t base = ok(hub->begin_epoch(kNow));
  CHECK(base == (uint64_t(kNow / 1000) << 20));
  ok(node->write(event_write(kEvA, "centre-a"), kNow));
  push(*node, *hub, "node-a");
  const uint64_t seq = ok(hub->stats()).hub_cursor;
  CHECK(seq == base + 1);
  CHECK(ok(hub->hub_fork_point(seq)) == seq);
  CHECK(ok(hub->hub_fork_point(seq + 7)) == seq);  // the hub lost what came after
  CHECK(ok(hub->hub_fork_point(0)) == 0);
  // A restart within the same second still moves on.
  CHECK(ok(hub->begin_epoch(kNow)) == seq + 1);
  CHECK(ok(hub->origin_cursor_hlc("node-a")) != 0);
  ok(hub->raise_origin_cursor("node-a", 40));
  CHECK(ok(hub->origin_cursor("node-a")) == 40);
}

TEST_CASE("a node restored from an older image renumbers its unsent changes above the hub's cursor", "[store][heal]") {
  TempDir dir;
  auto node = open_store(dir.file("a.db"), node_opts("node-a"));
  for (int i = 0; i < 3; ++i) ok(node->write(registration_write(uuid(20 + i), "centre-a", kEvA), kNow));
  // The hub holds 5 changes of node-a from the lost timeline; these 3 are new ones.
  CHECK(ok(node->own_change_hlc(2)) != 0);
  CHECK(ok(node->renumber_unsent(5)) == 3);
  auto st = ok(node->stats());
  CHECK(st.own_seq == 8);
  ok(node->set_acked(5));
  auto out = ok(node->own_changes_after(5, 10));
  REQUIRE(out.changes.size() == 3);
  CHECK(out.changes[0].origin_seq == 6);
  CHECK(out.changes[2].origin_seq == 8);
  CHECK(ok(node->local_seq(Entity::registration, uuid(22))) == 8);
}

TEST_CASE("a revoked node wipes what the hub holds and keeps what never reached it", "[store][heal]") {
  TempDir dir;
  auto hub = open_store(dir.file("hub.db"), hub_opts());
  auto node = open_store(dir.file("a.db"), node_opts("node-a"));
  ok(node->write(registration_write(uuid(1), "centre-a", kEvA, "Anne", "Synced"), kNow));
  push(*node, *hub, "node-a");
  ok(node->write(registration_write(uuid(2), "centre-a", kEvA, "Paul", "Pending"), kNow));
  auto rep = ok(node->wipe_personal("centre-a", kNow));
  CHECK(rep.removed == 1);
  CHECK(rep.kept == 1);
  CHECK_FALSE(ok(node->get(Entity::registration, uuid(1))));
  CHECK(ok(node->get(Entity::registration, uuid(2))));
  CHECK(ok(node->meta("wiped_at")) == std::to_string(kNow));
  node.reset();
  const std::string bytes = read_file(dir.file("a.db")) + read_file(dir.file("a.db-wal"));
  CHECK(bytes.find("Synced") == std::string::npos);
}

TEST_CASE("an erasure's failed WAL checkpoint is pending until a retry succeeds", "[store][heal]") {
  TempDir dir;
  const std::string path = dir.file("a.db");
  auto node = open_store(path, node_opts("node-a"));
  ok(node->write(registration_write(uuid(1), "centre-a", kEvA, "Anne", "Qzxwvutsr"), kNow));
  // A reader in the middle of a read transaction holds the WAL: TRUNCATE cannot finish.
  sqlite3* reader = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM registrations;", nullptr, nullptr, nullptr) == SQLITE_OK);
  ok(node->write(op_write(Entity::registration, uuid(1), Op::erase), kNow));
  CHECK(ok(node->stats()).erase_checkpoint_pending);
  CHECK(ok(node->stats()).erase_checkpoint_failures == 1);
  CHECK_FALSE(node->retry_erase_checkpoint().is_ok());
  CHECK(ok(node->stats()).erase_checkpoint_pending);
  REQUIRE(sqlite3_exec(reader, "COMMIT;", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(reader);
  ok(node->retry_erase_checkpoint());
  CHECK_FALSE(ok(node->stats()).erase_checkpoint_pending);
  CHECK(read_file(path + "-wal").find("Qzxwvutsr") == std::string::npos);
  CHECK(read_file(path).find("Qzxwvutsr") == std::string::npos);
}

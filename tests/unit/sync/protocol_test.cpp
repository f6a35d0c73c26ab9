// The sync protocol with both peers joined in memory: the hub's NodeSession
// (via SyncHub) and the node's HubLink exchange frames through a Wire,
// over real SQLite stores in a temp folder. No sockets, no threads, fixed
// clocks. "Fail every step": the link is cut after frame k for k = 0, 1, 2...
// and the next connection must resume with nothing lost and nothing doubled.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "common/core/ids.h"
#include "common/store/store.h"
#include "common/store/testing.h"
#include "common/ops/tls.h"
#include "common/store/hub_registry.h"
#include "hub/sync_hub.h"
#include "node/hub_link.h"

using namespace terril;

namespace {

constexpr int64_t kNow = 1795000000000;  // 2026-11-18

struct TempDir {
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "terril-sync-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

// Frames in flight between two peers. deliver() moves one frame; a cut
// closes both sides at once, dropping what was still in flight.
class Wire {
 public:
  class End : public Link {
   public:
    End(Wire& w, int side) : w_(w), side_(side) {}
    void send(std::string frame) override {
      if (w_.open_) w_.queue_.push_back({side_, std::move(frame)});
    }
    void close() override { w_.closing_ = true; }
    size_t queued() const override { return 0; }
    const std::string& remote() const override { return name_; }
    uint64_t bytes_sent() const override { return 0; }
    uint64_t bytes_received() const override { return 0; }

   private:
    Wire& w_;
    int side_;
    std::string name_ = "memory";
  };

  Wire(std::shared_ptr<Peer> hub_side, std::shared_ptr<Peer> node_side)
      : peers_{std::move(hub_side), std::move(node_side)}, ends_{End(*this, 0), End(*this, 1)} {
    peers_[0]->on_open(ends_[0]);
    peers_[1]->on_open(ends_[1]);
  }

  // Deliver frames until quiet, or until `budget` frames were delivered
  // (then cut). Returns the frames delivered.
  size_t run(size_t budget = SIZE_MAX) {
    size_t n = 0;
    while (open_ && !queue_.empty()) {
      if (n == budget) {
        cut("cut by test");
        break;
      }
      auto [from, frame] = std::move(queue_.front());
      queue_.pop_front();
      peers_[1 - from]->on_message(frame);
      ++n;
      if (closing_ && queue_.empty()) cut("closed");
    }
    if (closing_ && open_) cut("closed");
    return n;
  }

  void cut(const char* why) {
    if (!open_) return;
    open_ = false;
    queue_.clear();
    peers_[0]->on_closed(why);
    peers_[1]->on_closed(why);
  }
  bool open() const { return open_; }

 private:
  std::array<std::shared_ptr<Peer>, 2> peers_;
  std::array<End, 2> ends_;
  std::deque<std::pair<int, std::string>> queue_;
  bool open_ = true;
  bool closing_ = false;
};

struct Cluster {
  TempDir dir;
  std::unique_ptr<Store> hub_store;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<SyncHub> hub;
  int64_t now = kNow;
  uint64_t nonce_counter = 0;
  // Group commit modes (SyncHubOptions): none, posted on the loop, on a
  // store thread. `deferred` is the loop's queue; `workers` the store threads.
  enum class Group { none, posted, threaded };
  std::mutex m;
  std::vector<std::function<void()>> deferred;
  std::vector<std::thread> workers;
  std::unique_ptr<Store> apply_store;

  explicit Cluster(Group mode = Group::none) {
    StoreOptions ho;
    ho.origin = "hub";
    ho.hub = true;
    auto s = Store::open(dir.path + "/hub.db", ho);
    REQUIRE(s);
    hub_store = std::move(s).value();
    registry = std::make_unique<Registry>(*hub_store);
    SyncHubOptions so;
    so.hub_id = "hub-test";
    so.now_ms = [this] { return now; };
    so.random_bytes = [this](size_t n) {
      std::string b(n, '\0');
      uint64_t c = ++nonce_counter;
      std::memcpy(b.data(), &c, sizeof c);
      return b;
    };
    if (mode != Group::none)
      so.post = [this](std::function<void()> fn) {
        std::lock_guard lk(m);
        deferred.push_back(std::move(fn));
      };
    if (mode == Group::threaded) {
      auto a = Store::open(dir.path + "/hub.db", ho);
      REQUIRE(a);
      apply_store = std::move(a).value();
      so.apply_store = apply_store.get();
      so.apply_on = [this](std::function<void()> fn) { workers.emplace_back(std::move(fn)); };
    }
    hub = std::make_unique<SyncHub>(*hub_store, *registry, so);
    for (const char* c : {"denain-tonini", "marly-florales", "valenciennes-beaujardin"}) {
      LocalWrite w{Entity::centre,
                   c,
                   c,
                   Op::upsert,
                   {{Field::name, std::string(c)}, {Field::agglomeration, std::string("porte-du-hainaut")}}};
      REQUIRE(hub_store->write(w, now));
    }
  }

  ~Cluster() { join_workers(); }
  void join_workers() {
    for (auto& w : workers) w.join();
    workers.clear();
  }
  // Lets the store threads finish, then runs what they and the hub posted to
  // the loop. Returns how many posted functions ran.
  size_t drain() {
    join_workers();
    std::vector<std::function<void()>> todo;
    {
      std::lock_guard lk(m);
      todo.swap(deferred);
    }
    for (auto& f : todo) f();
    return todo.size();
  }

  struct NodeBox {
    std::unique_ptr<Store> store;
    SyncState state;
    Credentials creds;
  };

  NodeBox enrol(const std::string& id, const std::string& centre) {
    auto code = registry->add(id, centre, now);
    REQUIRE(code);
    auto e = registry->enrol(code->code, now);
    REQUIRE(e);
    NodeBox b;
    StoreOptions no;
    no.origin = id;
    auto s = Store::open(dir.path + "/" + id + ".db", no);
    REQUIRE(s);
    b.store = std::move(s).value();
    b.creds.node_id = id;
    b.creds.node_secret = e->secret;
    b.creds.centre_id = centre;
    b.creds.hub_id = "hub-test";
    return b;
  }

  std::unique_ptr<Wire> connect(NodeBox& b) {
    HttpRequest upgrade;
    upgrade.path = "/v1/sync";
    auto hub_peer = hub->make_session(upgrade);
    HubLinkOptions o;
    o.software_version = "test";
    o.now_ms = [this] { return now; };
    auto node_peer = std::make_shared<HubLink>(*b.store, b.state, b.creds, o);
    return std::make_unique<Wire>(hub_peer, node_peer);
  }
};

std::string random_uuid(std::mt19937_64& rng) {
  std::array<uint8_t, 16> r{};
  for (auto& x : r) x = static_cast<uint8_t>(rng());
  return uuid_v4(r);
}

Change must(Result<Change> r) {
  REQUIRE(r);
  return *r;
}

uint64_t count(Store& s, Entity e) {
  uint64_t n = 0;
  ListQuery q;
  q.include_deleted = true;
  REQUIRE(s.for_each(e, q, [&](const Record&) {
    ++n;
    return true;
  }));
  return n;
}

}  // namespace

TEST_CASE("sync: a node's writes reach the hub and the hub's routed writes reach the node", "[sync]") {
  Cluster c;
  auto a = c.enrol("node-a", "denain-tonini");
  std::mt19937_64 rng(1);
  std::string ev = random_uuid(rng);
  must(a.store->write({Entity::event,
                       ev,
                       "denain-tonini",
                       Op::upsert,
                       {{Field::title, std::string("Atelier")},
                        {Field::kind, std::string("atelier")},
                        {Field::starts_at, kNow + 86400000}}},
                      c.now));
  for (int i = 0; i < 30; ++i)
    must(a.store->write({Entity::registration,
                         random_uuid(rng),
                         "denain-tonini",
                         Op::upsert,
                         {{Field::event_id, ev},
                          {Field::first_name, std::string("Léa")},
                          {Field::last_name, "N" + std::to_string(i)},
                          {Field::phone, std::string("0612345678")},
                          {Field::role, std::string("habitant")},
                          {Field::consent_at, kNow}}},
                        c.now));
  auto wire = c.connect(a);
  wire->run();
  CHECK(wire->open());
  CHECK(a.state.connected);
  CHECK(count(*c.hub_store, Entity::registration) == 30);
  CHECK(count(*a.store, Entity::centre) == 3);  // the hub's centres came down
  auto st = a.store->stats();
  REQUIRE(st);
  CHECK(st->pending == 0);
  CHECK(st->acked_seq == 31);
  CHECK(a.state.last_sync_ms == c.now);
}

TEST_CASE("sync: cut after every frame, then resume: nothing lost, nothing doubled", "[sync]") {
  // For k = 0, 1, 2...: a fresh cluster, the link cut after k frames, then a
  // second connection run to quiet. Both stores must end equal to a run with
  // no cut.
  for (size_t k = 0;; ++k) {
    Cluster c;
    auto a = c.enrol("node-a", "denain-tonini");
    std::mt19937_64 rng(7);
    std::string ev = random_uuid(rng);
    must(a.store->write({Entity::event,
                         ev,
                         "denain-tonini",
                         Op::upsert,
                         {{Field::title, std::string("Temps fort")},
                          {Field::kind, std::string("temps-fort")},
                          {Field::starts_at, kNow + 86400000}}},
                        c.now));
    // The hub writes too: a note that must come down.
    must(c.hub_store->write({Entity::prototype_note,
                             random_uuid(rng),
                             "marly-florales",
                             Op::upsert,
                             {{Field::title, std::string("Borne")}, {Field::status, std::string("idee")}}},
                            c.now));
    for (int i = 0; i < 5; ++i)
      must(a.store->write({Entity::prototype_note,
                           random_uuid(rng),
                           "denain-tonini",
                           Op::upsert,
                           {{Field::title, "Note " + std::to_string(i)}, {Field::status, std::string("prototype")}}},
                          c.now));
    auto first = c.connect(a);
    size_t delivered = first->run(k);
    bool finished = delivered < k || (first->open());
    first->cut("test");
    c.now += 1000;
    auto second = c.connect(a);
    second->run();
    INFO("cut after " << k << " frames");
    CHECK(count(*c.hub_store, Entity::prototype_note) == 6);
    CHECK(count(*a.store, Entity::prototype_note) == 6);
    auto seqs = c.hub_store->origin_cursor("node-a");
    REQUIRE(seqs);
    CHECK(*seqs == 6);
    auto st = a.store->stats();
    REQUIRE(st);
    CHECK(st->pending == 0);
    // The two replicas hold byte-identical notes.
    ListQuery q;
    std::map<std::string, std::string> hub_notes, node_notes;
    REQUIRE(c.hub_store->for_each(Entity::prototype_note, q, [&](const Record& r) {
      hub_notes[r.id] = canonical(r);
      return true;
    }));
    REQUIRE(a.store->for_each(Entity::prototype_note, q, [&](const Record& r) {
      node_notes[r.id] = canonical(r);
      return true;
    }));
    CHECK(hub_notes == node_notes);
    if (finished) break;  // the first link reached quiet before the cut: every step was covered
    REQUIRE(k < 100);
  }
}

TEST_CASE("sync: a change for another centre is rejected per change, kept by the node, and does not block", "[sync]") {
  Cluster c;
  auto a = c.enrol("node-a", "denain-tonini");
  std::mt19937_64 rng(3);
  // The centre record of another centre: the node may not change it.
  must(
      a.store->write({Entity::centre,
                      "marly-florales",
                      "marly-florales",
                      Op::upsert,
                      {{Field::name, std::string("Renommé")}, {Field::agglomeration, std::string("porte-du-hainaut")}}},
                     c.now));
  std::string note = random_uuid(rng);
  must(a.store->write({Entity::prototype_note,
                       note,
                       "denain-tonini",
                       Op::upsert,
                       {{Field::title, std::string("Ok")}, {Field::status, std::string("idee")}}},
                      c.now));
  auto wire = c.connect(a);
  wire->run();
  auto rej = a.store->rejections(10);
  REQUIRE(rej);
  REQUIRE(rej->size() == 1);
  CHECK(rej->front().origin_seq == 1);
  CHECK(rej->front().code == "forbidden");
  auto hub_centre = c.hub_store->get(Entity::centre, "marly-florales");
  REQUIRE(hub_centre);
  REQUIRE(*hub_centre);
  CHECK((*hub_centre)->text(Field::name) == "marly-florales");  // unchanged
  auto hub_note = c.hub_store->get(Entity::prototype_note, note);
  REQUIRE(hub_note);
  CHECK(hub_note->has_value());  // the change behind it went through
  auto st = a.store->stats();
  REQUIRE(st);
  CHECK(st->pending == 0);
}

TEST_CASE("sync: a node whose clock ran in 2040 has its unsent changes re-stamped at the handshake", "[sync]") {
  Cluster c;
  auto a = c.enrol("node-a", "denain-tonini");
  std::mt19937_64 rng(5);
  std::string note = random_uuid(rng);
  const int64_t y2040 = 2208988800000;  // 2040-01-01
  must(a.store->write({Entity::prototype_note,
                       note,
                       "denain-tonini",
                       Op::upsert,
                       {{Field::title, std::string("Écrit en 2040")}, {Field::status, std::string("idee")}}},
                      y2040));
  // Later, a real edit at the hub (the admin) of the same field.
  auto wire = c.connect(a);
  c.now = kNow;
  wire->run();
  auto at_hub = c.hub_store->get(Entity::prototype_note, note);
  REQUIRE(at_hub);
  REQUIRE(*at_hub);
  CHECK(hlc_ms((*at_hub)->max_hlc()) < static_cast<uint64_t>(kNow + 60000));  // not stamped in 2040
  c.now += 5000;
  must(c.hub_store->write(
      {Entity::prototype_note, note, "denain-tonini", Op::upsert, {{Field::title, std::string("Corrigé au hub")}}},
      c.now));
  c.hub->notify_changes();
  wire->run();
  auto at_node = a.store->get(Entity::prototype_note, note);
  REQUIRE(at_node);
  REQUIRE(*at_node);
  CHECK((*at_node)->text(Field::title) == "Corrigé au hub");  // the later real edit wins everywhere
}

TEST_CASE("sync: a bad proof is refused with BAD_PROOF and nothing is stored", "[sync]") {
  Cluster c;
  auto a = c.enrol("node-a", "denain-tonini");
  a.creds.node_secret = std::string(32, 'x');
  std::mt19937_64 rng(9);
  must(a.store->write({Entity::prototype_note,
                       random_uuid(rng),
                       "denain-tonini",
                       Op::upsert,
                       {{Field::title, std::string("x")}, {Field::status, std::string("idee")}}},
                      c.now));
  auto wire = c.connect(a);
  wire->run();
  CHECK_FALSE(wire->open());
  CHECK_FALSE(a.state.connected);
  CHECK(a.state.last_error.find("BAD_PROOF") != std::string::npos);
  CHECK(count(*c.hub_store, Entity::prototype_note) == 0);
}

TEST_CASE("sync: group commit: batches of three nodes share transactions, each is acked, fan-out follows",
          "[sync][group]") {
  const auto mode = GENERATE(Cluster::Group::posted, Cluster::Group::threaded);
  const bool threaded = mode == Cluster::Group::threaded;
  INFO((threaded ? "on a store thread" : "posted on the loop"));
  Cluster c(mode);
  const char* centres[] = {"denain-tonini", "marly-florales", "valenciennes-beaujardin"};
  std::vector<Cluster::NodeBox> boxes;
  for (int i = 0; i < 3; ++i) boxes.push_back(c.enrol("node-" + std::to_string(i), centres[i]));
  std::mt19937_64 rng(7);
  const std::string ev = random_uuid(rng);  // an event: routed to everyone
  must(boxes[0].store->write({Entity::event,
                              ev,
                              centres[0],
                              Op::upsert,
                              {{Field::title, std::string("Temps fort")},
                               {Field::kind, std::string("temps-fort")},
                               {Field::starts_at, kNow + 86400000}}},
                             c.now));
  for (auto& b : boxes)
    for (int i = 0; i < 5; ++i)
      must(b.store->write({Entity::registration,
                           random_uuid(rng),
                           b.creds.centre_id,
                           Op::upsert,
                           {{Field::first_name, std::string("Ana")},
                            {Field::last_name, std::string("Test")},
                            {Field::phone, std::string("0612345678")},
                            {Field::role, std::string("habitant")},
                            {Field::event_id, ev},
                            {Field::consent_at, kNow}}},
                          c.now));
  std::vector<std::unique_ptr<Wire>> wires;
  for (auto& b : boxes) wires.push_back(c.connect(b));
  for (auto& w : wires) w->run();  // handshakes; each node sends its batch; the hub queues them
  int commits = 0;
  if (!threaded) {
    REQUIRE(c.deferred.size() == 1);                        // one flush posted for the three batches
    CHECK(count(*c.hub_store, Entity::registration) == 0);  // nothing applied before it runs
    sqlite3_commit_hook(
        store::testing::raw_handle(*c.hub_store), [](void* n) { return ++*static_cast<int*>(n), 0; }, &commits);
  } else {
    REQUIRE(c.workers.size() == 1);  // the first batch left at once; the two others wait for it
  }
  c.drain();
  if (!threaded) {
    sqlite3_commit_hook(store::testing::raw_handle(*c.hub_store), nullptr, nullptr);
    CHECK(commits == 1);
    CHECK(c.hub->metrics().group_commits == 1);
  } else {
    c.drain();  // the second group: the two batches that arrived during the first
    CHECK(c.hub->metrics().group_commits == 2);
  }
  CHECK(c.hub->metrics().grouped_batches == 3);
  CHECK(count(*c.hub_store, Entity::registration) == 15);
  // Acks, then the event fans out to the two other nodes.
  for (int round = 0; round < 10; ++round) {
    size_t delivered = 0;
    for (auto& w : wires) delivered += w->run();
    if (delivered == 0 && c.drain() == 0) break;
  }
  for (auto& b : boxes) {
    auto st = b.store->stats();
    REQUIRE(st);
    CHECK(st->pending == 0);  // acked
    CHECK(count(*b.store, Entity::event) == 1);
    // Its own; the event's host centre also gets the others' (routing).
    CHECK(count(*b.store, Entity::registration) == (b.creds.centre_id == centres[0] ? 15u : 5u));
  }
  CHECK(c.hub->metrics().grouped_batches == 3);  // the nodes sent nothing more
}

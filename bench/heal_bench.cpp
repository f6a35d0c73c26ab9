// Healing figures over real SQLite files (docs/design.md 6.6), every frame
// encoded and decoded as on the wire, hub and node in one process (no
// sockets: what is measured is the store work and the bytes):
//
//   1. a hub restored from a copy that lost L of N registrations heals with
//      the node that made them: time and bytes each way, against a full
//      resync (the node sends all N records whole) in the same run;
//   2. a digest check with nothing to repair at N records: bytes, ms;
//   3. a box replacement: a new, empty box gets its N routed records by
//      anti-entropy, against streaming the hub's change log to it.
//
// Run: ./heal_bench [N=100000] [L=10000]. Prints one line per figure.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <random>
#include <string>

#include "common/core/ids.h"
#include "common/store/anti_entropy.h"

using namespace terril;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kNow = 1796000000000;
const std::string kCentre = "denain-tonini";
const std::string kNode = "node-denain";

template <typename T>
T must(Result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what, r.status().message().c_str());
    std::exit(1);
  }
  return std::move(*r);
}
void must(const Status& s, const char* what) {
  if (!s) {
    std::fprintf(stderr, "%s: %s\n", what, s.message().c_str());
    std::exit(1);
  }
}

std::unique_ptr<Store> open(const fs::path& p, bool hub, bool durable = true) {
  StoreOptions o;
  o.origin = hub ? "hub" : kNode;
  o.hub = hub;
  o.durable = durable;
  return must(Store::open(p.string(), o), "open");
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::mt19937_64 rng(42);
std::string new_uuid() {
  std::array<uint8_t, 16> b;
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return uuid_v4(b);
}

// Node writes `n` registrations and pushes them to the hub.
void fill(Store& node, Store& hub, const std::string& event, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    LocalWrite w{Entity::registration,
                 new_uuid(),
                 kCentre,
                 Op::upsert,
                 {{Field::event_id, event},
                  {Field::first_name, std::string("Camille")},
                  {Field::last_name, "Dupont" + std::to_string(i)},
                  {Field::phone, std::string("03 27 00 00 00")},
                  {Field::role, std::string("habitant")},
                  {Field::consent_at, kNow}}};
    must(node.write(w, kNow), "write");
  }
  for (;;) {
    auto st = must(node.stats(), "stats");
    auto out = must(node.own_changes_after(st.acked_seq, 2048), "own changes");
    if (out.changes.empty()) break;
    auto rep = must(hub.apply_from_node(kNode, out.changes, nullptr, kNow), "apply");
    must(node.set_acked(rep.cursor), "ack");
  }
}

struct Figures {
  double ms = 0;
  size_t up = 0, down = 0, frames = 0;
  ReconcileStats stats;
};

// One anti-entropy round, as tests/unit/store/repair_test.cpp drives it.
Figures heal(Store& node, Store& hub, bool witness = false) {
  Figures f;
  const auto t0 = std::chrono::steady_clock::now();
  Reconciler rc(node, kCentre);
  std::deque<wire::Frame> up;
  up.emplace_back(must(rc.start(), "start"));
  auto trip = [&](const wire::Frame& fr, size_t& count) {
    std::string bytes = wire::encode_frame(fr);
    count += bytes.size();
    ++f.frames;
    return must(wire::decode_frame(bytes), "decode");
  };
  while (!up.empty()) {
    wire::Frame fr = trip(up.front(), f.up);
    up.pop_front();
    if (auto* c = std::get_if<wire::DigestCheck>(&fr)) {
      wire::Frame reply = trip(must(answer_digest_check(hub, kCentre, *c), "answer"), f.down);
      auto step = must(rc.on_reply(std::get<wire::DigestReply>(reply)), "reply");
      for (auto& x : step.checks) up.emplace_back(std::move(x));
      for (auto& x : step.repairs) up.emplace_back(std::move(x));
    } else if (auto* r = std::get_if<wire::Repair>(&fr)) {
      NodeBatch b;
      b.node_id = kNode;
      b.records = r->records;
      b.node_centre = kCentre;
      b.witness = witness;
      auto rep = must(std::move(hub.apply_from_nodes({b}, kNow).front()), "apply records");
      for (auto& back : must(answer_repair(hub, *r, rep), "answer repair")) {
        wire::Frame g = trip(back, f.down);
        must(rc.on_repair(std::get<wire::Repair>(g), kNow), "on repair");
      }
    }
  }
  f.ms = ms_since(t0);
  f.stats = rc.stats();
  return f;
}

// Full resync baseline: the node sends every record it holds, whole.
Figures full_resync(Store& node, Store& hub) {
  Figures f;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<RecordRef> refs;
  for (const auto& es : entities())
    for (const Leaf& l : must(node.digest_leaves("", {es.entity, "", ""}), "leaves")) refs.push_back({es.entity, l.id});
  for (size_t i = 0; i < refs.size(); i += 512) {
    std::vector<RecordRef> part(refs.begin() + static_cast<std::ptrdiff_t>(i),
                                refs.begin() + static_cast<std::ptrdiff_t>(std::min(refs.size(), i + 512)));
    for (auto& r : repair_frames(0, must(node.records(part), "records"), {}, {}, true)) {
      std::string bytes = wire::encode_frame(r);
      f.up += bytes.size();
      ++f.frames;
      auto back = std::get<wire::Repair>(must(wire::decode_frame(bytes), "decode"));
      NodeBatch b;
      b.node_id = kNode;
      b.records = std::move(back.records);
      b.node_centre = kCentre;
      must(std::move(hub.apply_from_nodes({b}, kNow).front()), "apply");
    }
  }
  f.ms = ms_since(t0);
  return f;
}

// Box replacement baseline: the hub's change log streamed to an empty box.
Figures stream_log(Store& hub, Store& box) {
  Figures f;
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t cursor = 0;
  for (;;) {
    auto out = must(hub.changes_for_centre(kCentre, "node-new", cursor, 2048), "changes");
    if (out.last_seq <= cursor) break;
    std::string bytes = wire::encode_frame(wire::Changes{std::move(out.changes), out.last_seq});
    f.down += bytes.size();
    ++f.frames;
    auto ch = std::get<wire::Changes>(must(wire::decode_frame(bytes), "decode"));
    must(box.apply_from_hub(ch.changes, ch.last_seq, kNow), "apply");
    cursor = out.last_seq;
  }
  f.ms = ms_since(t0);
  return f;
}

void print(const char* name, const Figures& f) {
  std::printf("%-44s %9.1f ms  up %10zu B  down %10zu B  frames %6zu  sent %zu received %zu purged %zu\n", name, f.ms,
              f.up, f.down, f.frames, static_cast<size_t>(f.stats.pushed), static_cast<size_t>(f.stats.pulled),
              static_cast<size_t>(f.stats.purged));
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  const size_t lost = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10000;
  const fs::path dir = fs::temp_directory_path() / ("terril-heal-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string event = new_uuid();
  {
    // Preparing the data: no fsync per write (StoreOptions::durable).
    auto hub = open(dir / "hub.db", true, false);
    auto node = open(dir / "node.db", false, false);
    LocalWrite ev{Entity::event,
                  event,
                  kCentre,
                  Op::upsert,
                  {{Field::title, std::string("Temps fort")},
                   {Field::kind, std::string("temps-fort")},
                   {Field::starts_at, kNow}}};
    must(node.get()->write(ev, kNow), "event");
    fill(*node, *hub, event, n - lost);
    must(hub->checkpoint(), "checkpoint");
    fs::copy_file(dir / "hub.db", dir / "hub-copy.db");
    fill(*node, *hub, event, lost);
    must(hub->checkpoint(), "checkpoint");
  }
  std::printf("heal_bench: %zu registrations, the restored hub lost %zu\n", n, lost);
  {
    fs::copy_file(dir / "hub-copy.db", dir / "hub-restored.db");
    fs::copy_file(dir / "hub-copy.db", dir / "hub-resync.db");
    auto node = open(dir / "node.db", false);
    auto restored = open(dir / "hub-restored.db", true);
    Figures h = heal(*node, *restored);
    print("heal after hub restore (anti-entropy)", h);
    auto resync = open(dir / "hub-resync.db", true);
    Figures full = full_resync(*node, *resync);
    print("full resync of every record (baseline)", full);
    std::printf("ratio heal/full: time %.3f  bytes %.3f\n", h.ms / full.ms,
                static_cast<double>(h.up + h.down) / static_cast<double>(full.up + full.down));
    Figures idle = heal(*node, *restored);
    print("check with nothing to repair", idle);
  }
  {
    auto hub = open(dir / "hub.db", true);
    auto box = open(dir / "box-new.db", false);
    Figures r = heal(*box, *hub);
    print("box replacement by anti-entropy", r);
    auto box2 = open(dir / "box-log.db", false);
    Figures l = stream_log(*hub, *box2);
    print("box replacement by the change log (baseline)", l);
    std::printf("ratio anti-entropy/log: time %.3f  bytes %.3f\n", r.ms / l.ms,
                static_cast<double>(r.up + r.down) / static_cast<double>(l.up + l.down));
  }
  fs::remove_all(dir);
  return 0;
}

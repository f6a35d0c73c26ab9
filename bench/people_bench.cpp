// people_bench: the people paths of issue 14, each against a plain SQL
// baseline measured in the same run.
//
//   people_bench [REGS] [PEOPLE] [HUB_REGS] [DIR]
//     defaults 20000 5000 100000, files in a fresh folder under /tmp (removed);
//     PEOPLE_BENCH_ONLY=search or hub runs one part
//
// 1. Search as reception types, at a node holding REGS registrations of
//    PEOPLE people of its centre: for 300 people picked at random, each
//    prefix of their last name (1 to 6 letters, typed with accents folded
//    away as staff do) is one Store::people call (limit 10): p50 / p99 per
//    keystroke. Baseline: the best plain SQLite does without folding, an
//    indexed range on last_name (registrations_centre_name) for the same
//    prefix, LIMIT 10.
// 2. Duplicate detection at the hub: HUB_REGS registrations of 19 centres
//    arrive in batches of 500 (Store::apply_from_node, the queue kept as they
//    arrive); 4 % of the people are registered by a second centre too (same
//    name, phone spelled otherwise). Printed: ms per batch (mean, p99), pairs
//    found, and the queue built again from scratch (rebuild_duplicates).
//    Baseline: the same batches into a hub where no key matches (every
//    person distinct), so the difference is the matching work.
// 3. The indicators over HUB_REGS registrations (report_indicators, distinct
//    people, aliases applied): median of 7. Baseline: one plain count(*) of
//    live registrations, the least a query over them costs.
//
// Data is loaded with StoreOptions::durable = false (no fsync) except where
// a figure is a write path (2), which runs durable like the daemon.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "common/core/hlc.h"
#include "common/core/people.h"
#include "bench/bench_util.h"
#include "common/store/store.h"
#include "common/store/testing.h"
#include "hub/people.h"

using namespace terril;
using namespace terril::bench;

namespace {

constexpr int64_t kNow = 1796000000000;  // 2026-11-29
constexpr size_t kBatch = 500;

// Names that look like the bassin minier's, with accents and compounds.
const char* kLast[] = {"Lefèvre", "Dupont",       "Kowalski", "Benali",   "Martin",   "Dubois",    "Lemaire",
                       "Wojcik",  "Carpentier",   "Delattre", "Nowak",    "Haddad",   "Leroy",     "Bouchez",
                       "Dufour",  "Vandenberghe", "Caron",    "Gérard",   "Lefebvre", "Mahieu",    "Szymański",
                       "Pruvost", "Boulanger",    "Ducrocq",  "Leclercq", "Bernard",  "Deschamps", "Meziane",
                       "Petit",   "Wattiez",      "Cousin",   "Lambert"};
const char* kFirst[] = {"Martine", "Jean-Pierre", "Zoé",   "Mohamed", "Inès",  "Léa",   "Kevin",  "Nadia",
                        "Hélène",  "Sébastien",   "Yanis", "Chantal", "Émile", "Sarah", "Jordan", "Fatima"};

struct Person {
  std::string id, first, last, phone;
};

std::vector<Person> people(size_t n, std::mt19937_64& rng, uint32_t kind) {
  std::vector<Person> out;
  for (size_t i = 0; i < n; ++i) {
    Person p;
    p.id = uuid(i + 1, kind);
    // A suffix keeps most full names distinct, as in a real town.
    p.last = std::string(kLast[rng() % std::size(kLast)]) + (i % 50 ? "-" + std::to_string(rng() % 9000 + 1000) : "");
    p.first = kFirst[rng() % std::size(kFirst)];
    char phone[32];
    std::snprintf(phone, sizeof phone, "06 %02d %02d %02d %02d", static_cast<int>(i / 1000000 % 100),
                  static_cast<int>(i / 10000 % 100), static_cast<int>(i / 100 % 100), static_cast<int>(i % 100));
    p.phone = phone;
    out.push_back(std::move(p));
  }
  return out;
}

Change registration(const std::string& origin, uint64_t seq, const std::string& id, const std::string& centre,
                    const std::string& event, const Person& p, const std::string& phone) {
  Change c;
  c.origin = origin;
  c.origin_seq = seq;
  c.hlc = hlc_make(static_cast<uint64_t>(kNow), seq);
  c.entity = Entity::registration;
  c.record_id = id;
  c.centre_id = centre;
  c.fields = {{Field::created_at, Value{kNow}},        {Field::phone, Value{phone}},
              {Field::event_id, Value{event}},         {Field::first_name, Value{p.first}},
              {Field::last_name, Value{p.last}},       {Field::role, Value{std::string("habitant")}},
              {Field::consent_at, Value{kNow}},        {Field::person_id, Value{p.id}},
              {Field::qpv, Value{std::string("oui")}}, {Field::genre, Value{std::string("femme")}}};
  std::sort(c.fields.begin(), c.fields.end(), [](auto& a, auto& b) { return a.field < b.field; });
  return c;
}

Status allow(const Change&, const Record*, const std::string&) {
  return Status::ok();
}

std::unique_ptr<Store> open(const std::string& path, bool hub, bool durable) {
  StoreOptions o;
  o.origin = hub ? "hub" : "node-bench";
  o.hub = hub;
  o.durable = durable;
  return ok(Store::open(path, o), "open");
}

void search_bench(const std::string& dir, size_t regs, size_t persons) {
  std::mt19937_64 rng(42);
  auto node = open(dir + "/node.db", false, false);
  auto ps = people(persons, rng, 7);
  // The registrations reach this node as if from its past: apply_from_hub.
  std::vector<Change> batch;
  uint64_t seq = 0;
  for (size_t i = 0; i < regs; ++i) {
    const Person& p = ps[i % persons];
    batch.push_back(registration("node-x", ++seq, uuid(i + 1, 1), "lens", uuid(i % 40, 2), p, p.phone));
    if (batch.size() == kBatch || i + 1 == regs) {
      ok(node->apply_from_hub(batch, seq, kNow), "load node");
      batch.clear();
    }
  }
  sqlite3* db = store::testing::raw_handle(*node);
  sqlite3_stmt* base = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT id FROM registrations INDEXED BY registrations_centre_name WHERE centre_id = ?1 AND "
                         "last_name >= ?2 AND last_name < ?3 AND deleted = 0 ORDER BY last_name LIMIT 10",
                         -1, &base, nullptr) != SQLITE_OK)
    die("prepare baseline", sqlite3_errmsg(db));
  std::vector<double> t_people, t_base;
  size_t found = 0;
  for (int k = 0; k < 300; ++k) {
    const Person& p = ps[rng() % persons];
    const std::string folded = fold_text(p.last);
    for (size_t len = 1; len <= std::min<size_t>(6, folded.size()); ++len) {
      const std::string typed = folded.substr(0, len);
      auto t0 = Clock::now();
      auto got = ok(node->people("lens", typed, 10), "people");
      t_people.push_back(ms_since(t0));
      found += got.size();
      // Baseline: the same prefix as written (accents kept: plain SQL cannot fold).
      const std::string written = p.last.substr(0, std::min(len, p.last.size()));
      t0 = Clock::now();
      sqlite3_bind_text(base, 1, "lens", -1, SQLITE_STATIC);
      sqlite3_bind_text(base, 2, written.c_str(), -1, SQLITE_TRANSIENT);
      std::string hi = written + "\xff";
      sqlite3_bind_text(base, 3, hi.c_str(), -1, SQLITE_TRANSIENT);
      while (sqlite3_step(base) == SQLITE_ROW) {
      }
      sqlite3_reset(base);
      t_base.push_back(ms_since(t0));
    }
  }
  sqlite3_finalize(base);
  std::printf("search as staff type, node with %zu registrations of %zu people, %zu keystrokes:\n", regs, persons,
              t_people.size());
  std::printf("  Store::people   p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms  (%.1f people listed per keystroke)\n",
              percentile(t_people, 0.5), percentile(t_people, 0.99), percentile(t_people, 1.0),
              static_cast<double>(found) / static_cast<double>(t_people.size()));
  std::printf("  baseline range  p50 %6.2f ms  p99 %6.2f ms   ratio p99 %.1fx  (target: p99 <= 20 ms)\n",
              percentile(t_base, 0.5), percentile(t_base, 0.99),
              percentile(t_people, 0.99) / std::max(1e-6, percentile(t_base, 0.99)));
}

// Loads `regs` registrations of 19 centres into a hub, `dup_share` of the
// people also at a second centre; returns ms per batch.
std::vector<double> hub_load(Store& hub, size_t regs, double dup_share, uint32_t kind, size_t& pairs) {
  std::mt19937_64 rng(7 + kind);
  const size_t persons = regs * 2 / 3;
  auto ps = people(persons, rng, kind);
  if (dup_share == 0)  // every person distinct: names and phones made unique
    for (size_t i = 0; i < ps.size(); ++i) ps[i].last += "-" + std::to_string(i);
  std::vector<std::vector<Change>> per_centre(19);
  std::vector<uint64_t> seq(19, 0);
  size_t n = 0;
  for (size_t i = 0; n < regs; ++i) {
    const Person& p = ps[i % persons];
    const int c = static_cast<int>(i % persons % 19);
    const std::string centre = "centre-" + std::to_string(c);
    per_centre[c].push_back(
        registration("node-" + std::to_string(c), ++seq[c], uuid(++n, kind + 1), centre, uuid(i % 40, 2), p, p.phone));
    if (dup_share > 0 && i < persons && static_cast<double>(rng() % 10000) < dup_share * 10000 && n < regs) {
      const int c2 = (c + 1 + static_cast<int>(rng() % 18)) % 19;
      Person other = p;
      other.id = uuid(i + 1, kind + 2);  // the other centre made its own person
      per_centre[c2].push_back(registration("node-" + std::to_string(c2), ++seq[c2], uuid(++n, kind + 1),
                                            "centre-" + std::to_string(c2), uuid(i % 40, 2), other,
                                            "+33 " + p.phone.substr(1)));
    }
  }
  std::vector<double> times;
  for (int c = 0; c < 19; ++c) {
    auto& all = per_centre[c];
    for (size_t at = 0; at < all.size(); at += kBatch) {
      std::vector<Change> b(all.begin() + static_cast<long>(at),
                            all.begin() + static_cast<long>(std::min(all.size(), at + kBatch)));
      auto t0 = Clock::now();
      ok(hub.apply_from_node("node-" + std::to_string(c), b, allow, kNow), "apply");
      times.push_back(ms_since(t0));
    }
  }
  pairs = ok(hub.duplicate_pairs("", 0, 1000000), "pairs").size();
  return times;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

void hub_bench(const std::string& dir, size_t regs) {
  size_t pairs = 0, none = 0;
  auto hub = open(dir + "/hub.db", true, true);
  auto plain = open(dir + "/plain.db", true, true);
  // Alternate the two in halves so machine noise hits both.
  auto t_dup = hub_load(*hub, regs, 0.04, 10, pairs);
  auto t_plain = hub_load(*plain, regs, 0.0, 20, none);
  std::printf("duplicate detection at the hub, %zu registrations of 19 centres in batches of %zu (durable):\n", regs,
              kBatch);
  std::printf("  with 4%% at two centres  %6.1f ms per batch (p99 %6.1f), %zu pairs found\n", mean(t_dup),
              percentile(t_dup, 0.99), pairs);
  std::printf("  baseline, no match      %6.1f ms per batch (p99 %6.1f), %zu pairs   ratio %.2fx\n", mean(t_plain),
              percentile(t_plain, 0.99), none, mean(t_dup) / std::max(1e-6, mean(t_plain)));
  sqlite3_exec(store::testing::raw_handle(*hub), "DELETE FROM duplicate_pairs", nullptr, nullptr, nullptr);
  auto t0 = Clock::now();
  uint64_t rebuilt = ok(hub->rebuild_duplicates(kNow), "rebuild");
  std::printf("  queue built from scratch over %zu registrations: %.0f ms, %llu pairs\n", regs, ms_since(t0),
              static_cast<unsigned long long>(rebuilt));

  // Indicators over the same hub (half of the pairs answered "same").
  auto all = ok(hub->duplicate_pairs("", 0, 1000000), "pairs");
  for (size_t i = 0; i < all.size(); i += 2) ok(hub->decide_duplicate(all[i].id, "same", "bench", kNow), "decide");
  std::vector<double> t_ind, t_count, t_scan;
  uint64_t persons = 0;
  for (int k = 0; k < 7; ++k) {
    ReportQuery q;
    q.now_ms = kNow;
    t0 = Clock::now();
    auto j = ok(report_indicators(*hub, q), "indicators");
    t_ind.push_back(ms_since(t0));
    persons = j["persons"].get<uint64_t>();
    t0 = Clock::now();
    sqlite3_exec(store::testing::raw_handle(*hub), "SELECT count(*) FROM registrations WHERE deleted = 0", nullptr,
                 nullptr, nullptr);
    t_count.push_back(ms_since(t0));
    t0 = Clock::now();
    size_t facts = 0;
    ok(hub->person_facts(0, 0, [&](const PersonFact&) { ++facts; }), "facts");
    t_scan.push_back(ms_since(t0));
  }
  std::printf("indicators over %zu registrations (%llu distinct people, %zu aliases):\n", regs,
              static_cast<unsigned long long>(persons), (all.size() + 1) / 2);
  std::printf("  report_indicators  median %6.1f ms   baseline count(*) %5.1f ms   ratio %.1fx  (target <= 100 ms)\n",
              percentile(t_ind, 0.5), percentile(t_count, 0.5),
              percentile(t_ind, 0.5) / std::max(1e-6, percentile(t_count, 0.5)));
  std::printf("  of which the scan (Store::person_facts alone)  median %6.1f ms\n", percentile(t_scan, 0.5));
}

}  // namespace

int main(int argc, char** argv) {
  const size_t regs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20000;
  const size_t persons = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 5000;
  const size_t hub_regs = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 100000;
  std::string dir = argc > 4 ? argv[4] : "";
  bool own = dir.empty();
  if (own) {
    char tmpl[] = "/tmp/people-bench-XXXXXX";
    if (!mkdtemp(tmpl)) die("mkdtemp", "failed");
    dir = tmpl;
  }
  // PEOPLE_BENCH_ONLY=search|hub runs one part (for profiling).
  const char* only = std::getenv("PEOPLE_BENCH_ONLY");
  if (!only || std::string(only) == "search") search_bench(dir, regs, persons);
  if (!only || std::string(only) == "hub") hub_bench(dir, hub_regs);
  if (own) std::filesystem::remove_all(dir);
  return 0;
}

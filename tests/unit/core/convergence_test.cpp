// THE property test of the merge (docs/design.md "Changes and merging"): replicas that receive the same
// changes, in any order and with any duplicates, hold byte-identical records, and those records are
// what per-field last-writer-wins by (hlc, origin) with an absorbing ERASE says they must be.
//
// Reproduce a failure with TERRIL_SEED=<printed seed>; TERRIL_PROPERTY_CASES sets the case count.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/core/digest.h"
#include "common/core/hlc.h"
#include "common/core/ids.h"
#include "common/core/merge.h"
#include "common/core/validate.h"

#include "tests/support/random.h"

namespace terril {
namespace {

using test::between;
using test::chance;
using test::env_or;
using test::one_of;
using test::pick;
using test::Rng;
using Key = std::pair<Entity, std::string>;
using Replica = std::map<Key, std::optional<Record>>;

constexpr int64_t kNow = 1795946400000;  // 2026-11-29T10:00:00Z
constexpr int64_t kYear = int64_t{365} * 86400000;

std::string random_uuid(Rng& rng) {
  std::array<uint8_t, 16> b;
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return uuid_v4(b);
}

// A valid random value for a field. Small pools so that equal values meet.
Value random_value(Rng& rng, const FieldSpec& fs, const std::vector<std::string>& event_ids) {
  static const std::vector<std::string> words = {"Ana", "Éloïse",           "Martin",         "atelier du lundi", "x",
                                                 "",    "Ligne 1\nLigne 2", "« guillemets »", "a\"b\\c"};
  static const std::vector<std::string> phones = {"06 12 34 56 78", "+33 3 27 00 00 00", "0612345678"};
  static const std::vector<std::string> emails = {"ana@example.fr", "b.martin@centre.fr", ""};
  static const std::vector<std::string> tags = {"numerique", "fablab", "borne", "jeunes"};
  const bool may_clear = !fs.required && fs.field != Field::created_at && fs.field != Field::deleted;
  if (may_clear && chance(rng, 0.15)) return Value{};
  switch (fs.kind) {
    case ValueKind::boolean:
      return Value{chance(rng, 0.5)};
    case ValueKind::integer:
      return Value{between(rng, 0, 3) == 0 ? between(rng, 0, 1000000) : between(rng, 0, 3)};
    case ValueKind::time:
      return Value{chance(rng, 0.5) ? kNow + between(rng, -2, 2) * 3600000 : between(rng, 946684800000, 7258118400000)};
    case ValueKind::text:
      break;
  }
  if (!fs.choices.empty()) return Value{std::string(fs.choices[pick(rng, fs.choices.size())])};
  switch (fs.field) {
    case Field::event_id:
      return Value{one_of(rng, event_ids)};
    case Field::person_id: {
      static const std::vector<std::string> persons = {"0b000000-0000-4000-8000-000000000001",
                                                       "0b000000-0000-4000-8000-000000000002"};
      return Value{one_of(rng, persons)};
    }
    case Field::phone:
      return Value{one_of(rng, phones)};
    case Field::email:
      return Value{one_of(rng, emails)};
    case Field::allotments:
    case Field::seat_grants:
    case Field::seat_reclaims: {
      static const std::vector<std::string> maps = {"", "arc=1", "arc=2,marly=1", "denain=12", "marly=3"};
      return Value{one_of(rng, maps)};
    }
    case Field::seats_returned:  // keyed by event id
      return Value{chance(rng, 0.3) ? std::string()
                                    : one_of(rng, event_ids) + "=" + std::to_string(between(rng, 1, 3))};
    case Field::seat_event:
      return Value{chance(rng, 0.3) ? std::string() : one_of(rng, event_ids) + (chance(rng, 0.5) ? "@" : "@42")};
    case Field::seat_by: {
      static const std::vector<std::string> holders = {"", "arc", "marly", "denain"};
      return Value{one_of(rng, holders)};
    }
    case Field::tags: {
      std::string t;
      for (const auto& tag : tags) {
        if (!chance(rng, 0.4)) continue;
        if (!t.empty()) t += ',';
        t += tag;
      }
      return Value{normalise_tags(t)};
    }
    default:
      break;
  }
  const std::string& w = one_of(rng, words);
  const bool fits = w.size() <= fs.max_len && !(fs.required && w.find_first_not_of(" \t\r\n") == std::string::npos);
  return Value{fits ? w : std::string(1, 'z')};
}

struct Origin {
  std::string id;
  Hlc clock;
  int64_t wall;
  uint64_t seq = 0;
};

struct Target {
  Entity entity;
  std::string id;
  std::string owner;
};

struct Scenario {
  std::vector<Change> changes;  // each one once
};

Scenario generate(Rng& rng) {
  static const std::vector<std::string> names = {"hub",    "node-a",  "node-b", "node-c", "node-z",
                                                 "node-1", "arc-n01", "marly",  "z"};
  Scenario sc;
  // Origins, some with clocks far in the past (RTC-less boot) or far in the future.
  std::vector<std::string> ids = names;
  std::shuffle(ids.begin(), ids.end(), rng);
  std::vector<Origin> origins(1 + pick(rng, 6));
  for (size_t i = 0; i < origins.size(); ++i) {
    auto& o = origins[i];
    o.id = ids[i];
    switch (pick(rng, 4)) {
      case 0:
        o.wall = between(rng, 0, 1000000);
        break;  // 1970
      case 1:
        o.wall = kNow + between(rng, 1, 30) * kYear + between(rng, 0, 9);
        break;  // future
      default:
        o.wall = kNow + between(rng, 0, 3);
        break;  // close together: equal hlcs happen
    }
  }
  // A small pool of records so that changes conflict.
  const std::vector<std::string> centres = {"arc", "marly", "denain"};
  std::vector<Target> targets;
  std::vector<std::string> event_ids;
  for (size_t i = 0, n = 1 + pick(rng, 2); i < n; ++i) {
    targets.push_back({Entity::event, random_uuid(rng), one_of(rng, centres)});
    event_ids.push_back(targets.back().id);
  }
  for (size_t i = 0, n = 1 + pick(rng, 4); i < n; ++i)
    targets.push_back({Entity::registration, random_uuid(rng), one_of(rng, centres)});
  for (size_t i = 0, n = pick(rng, 3); i < n; ++i)
    targets.push_back({Entity::prototype_note, random_uuid(rng), one_of(rng, centres)});
  for (size_t i = 0, n = pick(rng, 2); i < n; ++i) {
    std::string slug = one_of(rng, centres);
    targets.push_back({Entity::centre, slug, slug});
  }

  const size_t count = 1 + pick(rng, 60);
  for (size_t i = 0; i < count; ++i) {
    Origin& o = origins[pick(rng, origins.size())];
    const Target& t = one_of(rng, targets);
    // Sometimes an origin has just synced and observed another's stamps.
    if (!sc.changes.empty() && chance(rng, 0.2)) o.clock.observe(one_of(rng, sc.changes).hlc, o.wall, 60000);
    Change c;
    c.origin = o.id;
    c.origin_seq = ++o.seq;
    const uint64_t prev = o.clock.last();
    c.hlc = o.clock.tick(o.wall);
    REQUIRE(c.hlc > prev);
    o.wall += between(rng, -1, 2);  // wall clocks stall and step back too
    c.entity = t.entity;
    c.record_id = t.id;
    // A broken or hostile peer may claim another owner: centre_id must still converge.
    c.centre_id = t.entity != Entity::centre && chance(rng, 0.05) ? one_of(rng, centres) : t.owner;
    const size_t roll = pick(rng, 100);
    if (roll < 12) {
      c.op = Op::del;
    } else if (roll < 20 && t.entity == Entity::registration) {
      c.op = Op::erase;
    } else {
      c.op = Op::upsert;
      const auto& fields = spec(t.entity).fields;
      const double p = chance(rng, 0.3) ? 1.0 : 0.25;  // full creations and partial updates
      for (const auto& fs : fields)
        if (chance(rng, p)) c.fields.push_back({fs.field, random_value(rng, fs, event_ids)});
      if (c.fields.empty()) {
        const auto& fs = fields[pick(rng, fields.size())];
        c.fields.push_back({fs.field, random_value(rng, fs, event_ids)});
      }
      std::sort(c.fields.begin(), c.fields.end(),
                [](const FieldValue& a, const FieldValue& b) { return a.field < b.field; });
    }
    Status s = validate_change(c);
    INFO(canonical(c) << " -> " << s.to_string());
    REQUIRE(s.is_ok());
    sc.changes.push_back(std::move(c));
  }
  return sc;
}

std::string dump(const Replica& r) {
  std::string out;
  for (const auto& [key, rec] : r) {
    if (rec) out += canonical(*rec);
  }
  return out;
}

void apply(Replica& r, const Change& c) {
  merge(r[{c.entity, c.record_id}], c);
}

// What the rules say, computed directly from the set of changes rather than by merging.
std::string expected_dump(const std::vector<Change>& changes) {
  std::map<Key, Record> out;
  for (const auto& c : changes) {
    auto [it, fresh] = out.try_emplace({c.entity, c.record_id});
    Record& r = it->second;
    if (fresh) {
      r.entity = c.entity;
      r.id = c.record_id;
      r.centre_id = c.centre_id;
    }
    r.centre_id = std::min(r.centre_id, c.centre_id);
    if (c.op == Op::erase) {
      r.erased = true;
      r.erase_stamp = std::max(r.erase_stamp, c.stamp());
    }
  }
  for (const auto& c : changes) {
    Record& r = out[{c.entity, c.record_id}];
    if (r.erased) continue;
    std::vector<FieldValue> set = c.fields;
    if (c.op == Op::del) set = {{Field::deleted, Value{true}}};
    for (const auto& fv : set) {
      auto [it, fresh] = r.fields.try_emplace(fv.field, FieldState{fv.value, c.stamp()});
      if (!fresh && c.stamp() > it->second.stamp) it->second = FieldState{fv.value, c.stamp()};
    }
  }
  std::string s;
  for (const auto& [key, rec] : out) s += canonical(rec);
  return s;
}

// The delivery one replica sees: every change at least once, in a random order, with duplicates
// scattered in and a redelivered slice at the end (a cut connection resuming from an old cursor).
std::vector<const Change*> delivery(Rng& rng, const std::vector<Change>& changes) {
  std::vector<const Change*> order;
  for (const auto& c : changes) order.push_back(&c);
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t i = 0, dups = pick(rng, changes.size() + 1); i < dups; ++i)
    order.insert(order.begin() + static_cast<std::ptrdiff_t>(pick(rng, order.size() + 1)),
                 &changes[pick(rng, changes.size())]);
  if (chance(rng, 0.5)) {
    size_t from = pick(rng, order.size());
    size_t to = from + pick(rng, order.size() - from) + 1;
    std::vector<const Change*> slice(order.begin() + static_cast<std::ptrdiff_t>(from),
                                     order.begin() + static_cast<std::ptrdiff_t>(to));
    order.insert(order.end(), slice.begin(), slice.end());
  }
  return order;
}

TEST_CASE("replicas converge to identical records whatever the delivery order and duplicates",
          "[convergence][property]") {
  const uint64_t seed = env_or("TERRIL_SEED", (uint64_t{std::random_device{}()} << 32) | std::random_device{}());
  const uint64_t cases = env_or("TERRIL_PROPERTY_CASES", 1000);
  std::cout << "convergence seed=" << seed << " cases=" << cases << std::endl;
  Rng rng(seed);

  size_t total_changes = 0, erased_records = 0, tie_breaks = 0;
  for (uint64_t k = 0; k < cases; ++k) {
    INFO("seed=" << seed << " case=" << k);
    const Scenario sc = generate(rng);
    total_changes += sc.changes.size();
    std::map<uint64_t, int> hlcs;
    for (const auto& c : sc.changes) tie_breaks += hlcs[c.hlc]++ > 0;

    const std::string expected = expected_dump(sc.changes);
    const size_t replicas = 3 + pick(rng, 17);
    for (size_t i = 0; i < replicas; ++i) {
      Replica r;
      for (const Change* c : delivery(rng, sc.changes)) apply(r, *c);
      const std::string got = dump(r);
      if (got != expected) {
        INFO("replica " << i << " of " << replicas);
        INFO("changes:\n"
             << [&] {
                  std::string s;
                  for (auto& c : sc.changes) s += canonical(c) + "\n";
                  return s;
                }());
        REQUIRE(got == expected);
      }
      if (i == 0)
        for (const auto& [key, rec] : r) erased_records += rec && rec->erased;
    }
  }
  std::cout << "convergence: " << cases << " cases, " << total_changes << " changes, " << erased_records
            << " erased records, " << tie_breaks << " equal hlcs across origins" << std::endl;
  CHECK(total_changes > 0);
  if (cases >= 100) {
    // The generator exercises what it claims to.
    CHECK(erased_records > 0);
    CHECK(tie_breaks > 0);
  }
}

TEST_CASE("merging a set of changes again, or in other groupings, changes nothing", "[convergence][property]") {
  const uint64_t seed = env_or("TERRIL_SEED", (uint64_t{std::random_device{}()} << 32) | std::random_device{}());
  const uint64_t cases = env_or("TERRIL_PROPERTY_CASES", 1000);
  std::cout << "idempotence seed=" << seed << " cases=" << cases << std::endl;
  Rng rng(seed ^ 0x9e3779b97f4a7c15ULL);
  for (uint64_t k = 0; k < cases; ++k) {
    INFO("seed=" << seed << " case=" << k);
    const Scenario sc = generate(rng);
    std::vector<const Change*> order;
    for (const auto& c : sc.changes) order.push_back(&c);
    std::shuffle(order.begin(), order.end(), rng);

    // Idempotence: a second pass over the whole set wins nothing.
    Replica once;
    for (const Change* c : order) apply(once, *c);
    const std::string first = dump(once);
    std::shuffle(order.begin(), order.end(), rng);
    for (const Change* c : order) {
      MergeResult m = merge(once[{c->entity, c->record_id}], *c);
      CHECK((m == MergeResult::stale || m == MergeResult::ignored));
    }
    REQUIRE(dump(once) == first);

    // Associativity: (X + Y) + Z == X + (Y + Z), each group in its own order.
    const size_t a = pick(rng, order.size() + 1);
    const size_t b = a + pick(rng, order.size() - a + 1);
    auto group = [&](size_t from, size_t to) {
      std::vector<const Change*> g(order.begin() + static_cast<std::ptrdiff_t>(from),
                                   order.begin() + static_cast<std::ptrdiff_t>(to));
      std::shuffle(g.begin(), g.end(), rng);
      return g;
    };
    Replica left, right;
    for (const Change* c : group(0, b)) apply(left, *c);
    for (const Change* c : group(b, order.size())) apply(left, *c);
    for (const Change* c : group(0, a)) apply(right, *c);
    for (const Change* c : group(a, order.size())) apply(right, *c);
    REQUIRE(dump(left) == first);
    REQUIRE(dump(right) == first);
  }
}

// Replicas that heal (docs/design.md "Replicas that heal"): each replica receives a random part of the
// changes, may be rolled back to any earlier state of its own (a restored backup or SD image), then
// replicas repair by exchanging whole records (merge_record) in a random order of pairs, with record
// hashes deciding what travels, as anti-entropy does. After healing every replica holds exactly the
// records that the surviving changes (those still held by at least one replica) make, byte for byte,
// and nothing erased comes back.
TEST_CASE("replicas rolled back to earlier states heal to identical records by exchanging records",
          "[convergence][property][heal]") {
  const uint64_t seed = env_or("TERRIL_SEED", (uint64_t{std::random_device{}()} << 32) | std::random_device{}());
  const uint64_t cases = env_or("TERRIL_PROPERTY_CASES", 1000) / 2 + 1;
  std::cout << "heal seed=" << seed << " cases=" << cases << std::endl;
  Rng rng(seed ^ 0x51ed270b27a1f3c5ULL);
  size_t rollbacks = 0, repaired = 0;
  for (uint64_t k = 0; k < cases; ++k) {
    INFO("seed=" << seed << " case=" << k);
    const Scenario sc = generate(rng);
    const size_t n = 2 + pick(rng, 5);
    std::vector<Replica> reps(n);
    std::vector<std::vector<const Change*>> held(n);  // what each replica merged, in order
    for (size_t i = 0; i < n; ++i) {
      for (const Change* c : delivery(rng, sc.changes))
        if (chance(rng, 0.6)) held[i].push_back(c);
      // A restore: the replica goes back to the state after a prefix of what it merged.
      if (chance(rng, 0.4)) {
        held[i].resize(pick(rng, held[i].size() + 1));
        ++rollbacks;
      }
      for (const Change* c : held[i]) apply(reps[i], *c);
    }
    std::vector<Change> surviving;
    for (const auto& h : held)
      for (const Change* c : h) surviving.push_back(*c);
    const std::string expected = expected_dump(surviving);

    // Anti-entropy rounds between random pairs until a full pass changes nothing.
    for (int pass = 0; pass < 64; ++pass) {
      bool moved = false;
      // Every pair once per pass, in a random order (a hub meets every node).
      std::vector<std::pair<size_t, size_t>> pairs;
      for (size_t i = 0; i < n; ++i)
        for (size_t j = i + 1; j < n; ++j) pairs.emplace_back(i, j);
      std::shuffle(pairs.begin(), pairs.end(), rng);
      for (auto [i, j] : pairs) {
        Replica& a = reps[i];
        Replica& b = reps[j];
        std::vector<Key> keys;
        for (const auto& [key, rec] : a) keys.push_back(key);
        for (const auto& [key, rec] : b) keys.push_back(key);
        std::shuffle(keys.begin(), keys.end(), rng);
        for (const Key& key : keys) {
          auto& ra = a[key];
          auto& rb = b[key];
          if (ra && rb && record_hash(*ra) == record_hash(*rb)) continue;
          if (rb) moved |= merge_record(ra, *rb) != MergeResult::stale;
          if (ra) moved |= merge_record(rb, *ra) != MergeResult::stale;
          ++repaired;
        }
      }
      if (!moved) break;
    }
    for (size_t i = 0; i < n; ++i) {
      INFO("replica " << i << " of " << n);
      REQUIRE(dump(reps[i]) == expected);
    }
  }
  std::cout << "heal: " << cases << " cases, " << rollbacks << " rollbacks, " << repaired << " records repaired"
            << std::endl;
  if (cases >= 100) {
    CHECK(rollbacks > 0);
    CHECK(repaired > 0);
  }
}

}  // namespace
}  // namespace terril

// Per-field last-writer-wins merge (common/core/merge.h).
#include "common/core/merge.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/core/hlc.h"
#include "common/core/validate.h"

namespace terril {
namespace {

using namespace std::string_literals;

constexpr const char* kId = "0f8fad5b-d9cb-469f-a165-70867728950e";
constexpr int64_t kT = 1795946400000;

Change reg(std::string origin, uint64_t ms, Op op, std::vector<FieldValue> fields, std::string centre = "arc") {
  static uint64_t seq = 0;
  Change c;
  c.origin = std::move(origin);
  c.origin_seq = ++seq;
  c.hlc = hlc_make(ms, 0);
  c.entity = Entity::registration;
  c.record_id = kId;
  c.centre_id = std::move(centre);
  c.op = op;
  c.fields = std::move(fields);
  return c;
}

std::optional<Record> apply(const std::vector<Change>& changes) {
  std::optional<Record> r;
  for (const auto& c : changes) {
    REQUIRE(validate_change(c).is_ok());
    merge(r, c);
  }
  return r;
}

// Every order of `changes` gives `expected`.
void check_all_orders(std::vector<Change> changes, const std::string& expected) {
  std::vector<size_t> idx(changes.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  int orders = 0;
  do {
    std::vector<Change> ordered;
    for (size_t i : idx) ordered.push_back(changes[i]);
    auto r = apply(ordered);
    REQUIRE(r);
    CHECK(canonical(*r) == expected);
    ++orders;
  } while (std::next_permutation(idx.begin(), idx.end()));
  CHECK(orders > 0);
}

TEST_CASE("merge results say what happened", "[merge]") {
  std::optional<Record> r;
  const Change a = reg("node-a", kT, Op::upsert, {{Field::first_name, "Ana"s}});
  const Change b = reg("node-a", kT + 1, Op::upsert, {{Field::first_name, "Anna"s}});
  const Change old = reg("node-b", kT - 1, Op::upsert, {{Field::first_name, "Anne"s}});
  CHECK(merge(r, a) == MergeResult::created);
  CHECK(merge(r, a) == MergeResult::stale);  // duplicate
  CHECK(merge(r, b) == MergeResult::changed);
  CHECK(merge(r, old) == MergeResult::stale);
  CHECK(merge(r, reg("hub", kT + 2, Op::erase, {})) == MergeResult::erased);
  CHECK(merge(r, reg("node-a", kT + 3, Op::upsert, {{Field::first_name, "Z"s}})) == MergeResult::ignored);
  REQUIRE(r);
  CHECK(r->id == kId);
  CHECK(r->entity == Entity::registration);
}

TEST_CASE("last writer wins per field, by (hlc, origin)", "[merge]") {
  const std::vector<Change> changes = {
      reg("node-a", kT, Op::upsert, {{Field::first_name, "Ana"s}, {Field::last_name, "Martin"s}}),
      reg("node-b", kT + 5, Op::upsert, {{Field::first_name, "Anaïs"s}}),
      reg("node-a", kT + 3, Op::upsert, {{Field::last_name, "Martine"s}, {Field::notes, "x"s}}),
      reg("node-c", kT + 1, Op::upsert, {{Field::attended, true}, {Field::notes, Value{}}}),
  };
  const std::string expected =
      "registration 0f8fad5b-d9cb-469f-a165-70867728950e centre=arc\n"
      "  first_name=\"Anaïs\"@" +
      std::to_string(hlc_make(kT + 5, 0)) +
      "/node-b\n"
      "  last_name=\"Martine\"@" +
      std::to_string(hlc_make(kT + 3, 0)) +
      "/node-a\n"
      "  attended=true@" +
      std::to_string(hlc_make(kT + 1, 0)) +
      "/node-c\n"
      "  notes=\"x\"@" +
      std::to_string(hlc_make(kT + 3, 0)) + "/node-a\n";
  check_all_orders(changes, expected);
}

TEST_CASE("equal hlc is broken by origin, the greater origin wins", "[merge]") {
  const std::vector<Change> changes = {
      reg("node-b", kT, Op::upsert, {{Field::first_name, "B"s}}),
      reg("node-a", kT, Op::upsert, {{Field::first_name, "A"s}}),
      reg("hub", kT, Op::upsert, {{Field::first_name, "H"s}}),
      reg("node-c", kT - 1, Op::upsert, {{Field::first_name, "C"s}}),
  };
  // "node-b" > "node-a" > "hub".
  check_all_orders(changes,
                   "registration 0f8fad5b-d9cb-469f-a165-70867728950e centre=arc\n"
                   "  first_name=\"B\"@" +
                       std::to_string(hlc_make(kT, 0)) + "/node-b\n");
}

TEST_CASE("the counter part of the hlc orders changes within a millisecond", "[merge]") {
  Change first = reg("node-a", kT, Op::upsert, {{Field::notes, "first"s}});
  Change second = first;
  second.origin_seq += 1;
  second.hlc += 1;
  second.fields = {{Field::notes, "second"s}};
  auto r = apply({second, first});
  CHECK(r->text(Field::notes) == "second");
}

TEST_CASE("delete is a tombstone that a later upsert of deleted=false lifts", "[merge]") {
  const Change create = reg("node-a", kT, Op::upsert, {{Field::first_name, "Ana"s}});
  const Change del = reg("node-a", kT + 1, Op::del, {});
  const Change edit_before = reg("node-b", kT + 0, Op::upsert, {{Field::last_name, "Martin"s}});
  const Change undelete = reg("hub", kT + 2, Op::upsert, {{Field::deleted, false}});

  auto r = apply({create, del, edit_before});
  REQUIRE(r);
  CHECK(r->deleted());
  CHECK(r->text(Field::first_name) == "Ana");  // a tombstone keeps the fields
  CHECK(r->text(Field::last_name) == "Martin");
  check_all_orders({create, del, edit_before}, canonical(*r));

  auto back = apply({undelete, del, create});
  CHECK_FALSE(back->deleted());
  check_all_orders({create, del, undelete, edit_before}, canonical(*apply({create, del, undelete, edit_before})));

  auto late_delete = apply({reg("node-a", kT + 9, Op::del, {}), undelete});
  CHECK(late_delete->deleted());
}

TEST_CASE("erase is absorbing: upserts before or after it leave no field", "[merge]") {
  const Change create =
      reg("node-a", kT, Op::upsert, {{Field::first_name, "Ana"s}, {Field::last_name, "Martin"s}, {Field::notes, "n"s}});
  const Change erase = reg("node-a", kT + 10, Op::erase, {});
  const Change later = reg("node-b", kT + 20, Op::upsert, {{Field::first_name, "Ana"s}, {Field::attended, true}});
  const Change earlier_late = reg("node-c", kT + 5, Op::upsert, {{Field::last_name, "Martin"s}});
  const Change second_erase = reg("hub", kT + 30, Op::erase, {});
  const Change del = reg("node-a", kT + 40, Op::del, {});

  const std::string expected = "registration 0f8fad5b-d9cb-469f-a165-70867728950e centre=arc erased@" +
                               std::to_string(hlc_make(kT + 30, 0)) + "/hub\n";
  check_all_orders({create, erase, later, earlier_late, second_erase, del}, expected);

  auto r = apply({create, erase});
  CHECK(r->erased);
  CHECK(r->deleted());
  CHECK(r->fields.empty());
  CHECK(r->erase_stamp == erase.stamp());
  CHECK(merge(r, later) == MergeResult::ignored);
  CHECK(merge(r, earlier_late) == MergeResult::ignored);
  CHECK(r->fields.empty());
  CHECK(canonical(*r).find("Martin") == std::string::npos);
  CHECK(r->max_hlc() == erase.hlc);
  CHECK(r->updated_at_ms() == kT + 10);

  // An erase that arrives first creates an erased record that nothing fills.
  std::optional<Record> fresh;
  CHECK(merge(fresh, erase) == MergeResult::erased);
  CHECK(merge(fresh, create) == MergeResult::ignored);
  CHECK(fresh->fields.empty());
}

TEST_CASE("centre_id converges to the smallest claimed owner", "[merge]") {
  const std::vector<Change> changes = {
      reg("node-a", kT, Op::upsert, {{Field::first_name, "Ana"s}}, "marly"),
      reg("node-b", kT + 1, Op::upsert, {{Field::notes, "n"s}}, "denain"),
      reg("node-c", kT + 2, Op::upsert, {{Field::attended, true}}, "valenciennes"),
  };
  auto r = apply(changes);
  CHECK(r->centre_id == "denain");
  check_all_orders(changes, canonical(*r));

  auto erased = apply({reg("node-a", kT, Op::erase, {}, "marly"), reg("node-b", kT, Op::del, {}, "arc")});
  CHECK(erased->centre_id == "arc");
}

TEST_CASE("merging the same changes twice changes nothing", "[merge]") {
  const std::vector<Change> changes = {
      reg("node-a", kT, Op::upsert, {{Field::first_name, "Ana"s}, {Field::role, "habitant"s}}),
      reg("node-b", kT + 2, Op::upsert, {{Field::role, "benevole"s}}),
      reg("node-a", kT + 1, Op::del, {}),
  };
  auto r = apply(changes);
  const std::string once = canonical(*r);
  for (const auto& c : changes) CHECK(merge(r, c) == MergeResult::stale);
  CHECK(canonical(*r) == once);
}

TEST_CASE("merge reports stale for a same-stamp duplicate and converges on conflicting copies", "[merge]") {
  // Two different changes under one stamp break the uniqueness the hub relies on (a node restored
  // from a backup); replicas must still agree, whatever order they saw them in.
  const Change a = reg("node-a", kT, Op::upsert, {{Field::first_name, "Ana"s}, {Field::notes, "a"s}});
  Change b = a;
  b.fields = {{Field::first_name, "Bob"s}, {Field::notes, Value{}}};
  auto ab = apply({a, b});
  auto ba = apply({b, a});
  CHECK(canonical(*ab) == canonical(*ba));
}

TEST_CASE("without_personal drops exactly the personal fields", "[merge]") {
  Change c = reg("node-a", kT, Op::upsert,
                 {{Field::created_at, kT},
                  {Field::phone, "0612345678"s},
                  {Field::event_id, "6f1c2a3b-0000-4000-8000-000000000001"s},
                  {Field::first_name, "Ana"s},
                  {Field::last_name, "Martin"s},
                  {Field::email, "ana@example.fr"s},
                  {Field::role, "habitant"s},
                  {Field::consent_at, kT},
                  {Field::attended, true},
                  {Field::notes, "n"s}});
  Change stripped = without_personal(c);
  std::vector<Field> kept;
  for (const auto& fv : stripped.fields) kept.push_back(fv.field);
  CHECK(kept ==
        std::vector<Field>{Field::created_at, Field::event_id, Field::role, Field::consent_at, Field::attended});
  CHECK(stripped.origin == c.origin);
  CHECK(stripped.hlc == c.hlc);
  CHECK(stripped.record_id == c.record_id);
  CHECK(canonical(stripped).find("Ana") == std::string::npos);
  CHECK(canonical(stripped).find("0612345678") == std::string::npos);

  for (const auto& es : entities())
    for (const auto& fs : es.fields)
      CHECK(is_personal(es.entity, fs.field) ==
            (es.entity == Entity::registration &&
             (fs.field == Field::person_id || fs.field == Field::commune || fs.field == Field::qpv ||
              fs.field == Field::genre || fs.field == Field::first_name || fs.field == Field::last_name ||
              fs.field == Field::phone || fs.field == Field::email || fs.field == Field::notes)));
  // Centre phones are public; a note's fields are not personal.
  Change note = c;
  note.entity = Entity::prototype_note;
  note.fields = {{Field::title, "T"s}};
  CHECK(without_personal(note) == note);
}

}  // namespace
}  // namespace terril

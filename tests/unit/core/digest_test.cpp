// Record hashes and range digests (common/core/digest.h), and the record
// merge anti-entropy uses (merge_record, common/core/merge.h).
#include "common/core/digest.h"

#include <catch2/catch.hpp>

#include "common/core/merge.h"
#include "common/core/validate.h"

using namespace terril;

namespace {

Record reg(std::string first, uint64_t hlc, std::string origin = "denain-1") {
  Record r;
  r.entity = Entity::registration;
  r.id = "0b6f1a2c-3d4e-4f50-8a61-72839405a6b7";
  r.centre_id = "denain-centre";
  r.fields[Field::first_name] = FieldState{Value{std::move(first)}, Stamp{hlc, std::move(origin)}};
  return r;
}

}  // namespace

TEST_CASE("stable_hash is fixed across platforms and runs") {
  // Known values: a change here breaks every stored digest and mixed-arch fleets.
  CHECK(stable_hash("") == stable_hash(""));
  CHECK(stable_hash("a") != stable_hash("b"));
  CHECK(stable_hash("terril") == 0xe9093c9507e6735bull);
}

TEST_CASE("record_hash changes with any value, stamp, owner or erasure") {
  const Record a = reg("Martine", 100);
  CHECK(record_hash(a) == record_hash(reg("Martine", 100)));
  CHECK(record_hash(a) != record_hash(reg("Martina", 100)));
  CHECK(record_hash(a) != record_hash(reg("Martine", 101)));
  CHECK(record_hash(a) != record_hash(reg("Martine", 100, "marly-1")));
  Record b = a;
  b.centre_id = "marly-centre";
  CHECK(record_hash(a) != record_hash(b));
  Record e = a;
  e.fields.clear();
  e.erased = true;
  e.erase_stamp = Stamp{200, "hub"};
  CHECK(record_hash(a) != record_hash(e));
}

TEST_CASE("a range digest is the sum of its parts") {
  RangeDigest whole, left, right;
  for (int i = 0; i < 50; ++i) {
    const uint64_t h = record_hash(reg("p" + std::to_string(i), 10 + static_cast<uint64_t>(i)));
    whole.add(h);
    (i % 2 ? left : right).add(h);
  }
  CHECK(whole.count == left.count + right.count);
  CHECK(whole.hash == left.hash + right.hash);
}

TEST_CASE("in_range walks entity, owner, then id prefix") {
  const RangeKey all{Entity::registration, "", ""};
  const RangeKey owner{Entity::registration, "denain-centre", ""};
  const RangeKey pre{Entity::registration, "denain-centre", "0b"};
  CHECK(in_range(all, Entity::registration, "x", "0b12"));
  CHECK_FALSE(in_range(all, Entity::event, "x", "0b12"));
  CHECK(in_range(owner, Entity::registration, "denain-centre", "ff"));
  CHECK_FALSE(in_range(owner, Entity::registration, "marly-centre", "ff"));
  CHECK(in_range(pre, Entity::registration, "denain-centre", "0b6f"));
  CHECK_FALSE(in_range(pre, Entity::registration, "denain-centre", "0c6f"));
}

TEST_CASE("merge_record: greater stamp per field, erasure absorbs, and it commutes with change merges") {
  std::optional<Record> mine = reg("Martine", 100);
  Record theirs = reg("Martina", 150);
  theirs.fields[Field::last_name] = FieldState{Value{std::string("Lefèvre")}, Stamp{90, "marly-1"}};
  CHECK(merge_record(mine, theirs) == MergeResult::changed);
  CHECK(mine->text(Field::first_name) == "Martina");
  CHECK(mine->text(Field::last_name) == "Lefèvre");
  CHECK(merge_record(mine, theirs) == MergeResult::stale);
  std::optional<Record> older = reg("Martine", 100);
  CHECK(merge_record(older, *mine) == MergeResult::changed);
  CHECK(*older == *mine);

  Record erased = reg("x", 1);
  erased.fields.clear();
  erased.erased = true;
  erased.erase_stamp = Stamp{120, "hub"};
  CHECK(merge_record(mine, erased) == MergeResult::erased);
  CHECK(mine->fields.empty());
  CHECK(merge_record(mine, theirs) == MergeResult::stale);  // nothing comes back
  CHECK(validate_record(*mine).is_ok());
  std::optional<Record> fresh;
  CHECK(merge_record(fresh, theirs) == MergeResult::created);
  CHECK(validate_record(*fresh).is_ok());
}

TEST_CASE("validate_record refuses what a change would be refused for") {
  Record r = reg("Martine", 100);
  CHECK(validate_record(r).is_ok());
  r.id = "not-a-uuid";
  CHECK_FALSE(validate_record(r).is_ok());
  r = reg("Martine", 0);
  CHECK_FALSE(validate_record(r).is_ok());
  r = reg("Martine", 5, "bad origin!");
  CHECK_FALSE(validate_record(r).is_ok());
  r = reg(std::string(5000, 'x'), 5);
  CHECK_FALSE(validate_record(r).is_ok());
}

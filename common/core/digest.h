// Anti-entropy digests over records (docs/design.md, "Replicas that heal").
// Pure.
//
// Every record has a 64-bit hash of its whole merged state (entity, id,
// owner, every field with its stamp, the erase stamp): two replicas hold the
// same record iff the hashes agree (up to 2^-64). A range of records is
// summarised by its count and the sum (mod 2^64) of their hashes, so a
// range's digest is the sum of its parts' and a store keeps one hash per row.
//
// Ranges form a tree that both sides walk the same way:
//   level 0  (entity, owner "", prefix "")   every record of the entity
//   level 1  (entity, owner O, prefix "")    those owned by centre O
//   level 2+ (entity, owner O, prefix P)     those whose id starts with P;
//            children append one character of kIdAlphabet to P.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/core/model.h"

namespace terril {

// The characters a record id may hold (UUIDs and centre slugs), in order.
inline constexpr std::string_view kIdAlphabet = "-0123456789abcdefghijklmnopqrstuvwxyz";

// FNV-1a 64 of `bytes`, then a SplitMix64 finaliser so sums stay uniform.
// The same on every platform.
uint64_t stable_hash(std::string_view bytes, uint64_t seed = 0);

// The hash of a record: of its entity, id, owner and state encoding
// (record_codec.h). `state` is encode_state(r) when the caller has it.
uint64_t record_hash(const Record& r);
uint64_t record_hash(Entity e, std::string_view id, std::string_view centre_id, std::string_view state);

struct RangeKey {
  Entity entity = Entity::registration;
  std::string owner;   // "" at level 0
  std::string prefix;  // "" at levels 0 and 1
  auto operator<=>(const RangeKey&) const = default;
};

struct RangeDigest {
  RangeKey key;
  uint64_t count = 0;
  uint64_t hash = 0;  // sum of record_hash mod 2^64
  bool operator==(const RangeDigest&) const = default;
  void add(uint64_t h) {
    ++count;
    hash += h;
  }
};

// One record of a small range: its id and hash.
struct Leaf {
  std::string id;
  uint64_t hash = 0;
  bool operator==(const Leaf&) const = default;
};

// A record named by kind and id.
struct RecordRef {
  Entity entity = Entity::registration;
  std::string id;
  auto operator<=>(const RecordRef&) const = default;
};

// The children of range `k` (level 2+: prefix + one character of
// kIdAlphabet); level 0's children are per owner, which only a store knows.
RangeKey child_key(const RangeKey& k, char c);

// True when `id` (owned by `owner`) falls in range `k` of entity `e`.
bool in_range(const RangeKey& k, Entity e, std::string_view owner, std::string_view id);

}  // namespace terril

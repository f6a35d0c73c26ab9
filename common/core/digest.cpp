// Record hashes and range keys for anti-entropy (see digest.h). Pure.
#include "common/core/digest.h"

#include "common/core/record_codec.h"

namespace terril {

uint64_t stable_hash(std::string_view bytes, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

uint64_t record_hash(Entity e, std::string_view id, std::string_view centre_id, std::string_view state) {
  // Length-prefixed parts, so ("ab", "c") and ("a", "bc") differ.
  std::string buf;
  buf.reserve(id.size() + centre_id.size() + state.size() + 8);
  buf.push_back(static_cast<char>(e));
  buf.push_back(static_cast<char>(id.size()));
  buf.append(id);
  buf.push_back(static_cast<char>(centre_id.size()));
  buf.append(centre_id);
  buf.append(state);
  return stable_hash(buf);
}

uint64_t record_hash(const Record& r) {
  std::string state;
  encode_state(r, state);
  return record_hash(r.entity, r.id, r.centre_id, state);
}

RangeKey child_key(const RangeKey& k, char c) {
  RangeKey out = k;
  out.prefix.push_back(c);
  return out;
}

bool in_range(const RangeKey& k, Entity e, std::string_view owner, std::string_view id) {
  if (k.entity != e) return false;
  if (k.owner.empty()) return true;
  return owner == k.owner && id.substr(0, k.prefix.size()) == k.prefix;
}

}  // namespace terril

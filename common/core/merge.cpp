// Per-field last-writer-wins merge by (hlc, origin), and erasure (see merge.h). Pure.
#include "common/core/merge.h"

#include <algorithm>

namespace terril {

bool is_personal(Entity e, Field f) {
  const FieldSpec* fs = field_spec(e, f);
  return fs && fs->personal;
}

Change without_personal(const Change& c) {
  Change out = c;
  std::erase_if(out.fields, [&](const FieldValue& fv) { return is_personal(c.entity, fv.field); });
  return out;
}

MergeResult merge(std::optional<Record>& r, const Change& c) {
  const Stamp stamp = c.stamp();
  bool created = false;
  if (!r) {
    r.emplace();
    r->entity = c.entity;
    r->id = c.record_id;
    r->centre_id = c.centre_id;
    created = true;
  } else if (c.centre_id < r->centre_id) {
    r->centre_id = c.centre_id;
  }

  if (r->erased) {
    if (c.op == Op::erase && stamp > r->erase_stamp) r->erase_stamp = stamp;
    return created ? MergeResult::created : MergeResult::ignored;
  }

  if (c.op == Op::erase) {
    r->erased = true;
    r->erase_stamp = stamp;
    r->fields.clear();
    return MergeResult::erased;
  }

  bool won = false;
  auto set = [&](Field f, const Value& v) {
    auto it = r->fields.find(f);
    if (it == r->fields.end()) {
      r->fields.emplace(f, FieldState{v, stamp});
      won = true;
    } else if (stamp > it->second.stamp || (stamp == it->second.stamp && it->second.value < v)) {
      // Equal stamps with different values break the one-stamp-per-change invariant (a node
      // restored from a backup reissuing an hlc); the greater value wins so replicas still agree.
      it->second = FieldState{v, stamp};
      won = true;
    }
  };
  if (c.op == Op::del) {
    set(Field::deleted, Value{true});
  } else {
    for (const auto& fv : c.fields) set(fv.field, fv.value);
  }
  if (created) return MergeResult::created;
  return won ? MergeResult::changed : MergeResult::stale;
}

MergeResult merge_record(std::optional<Record>& mine, const Record& theirs) {
  if (!mine) {
    mine = theirs;
    if (mine->erased) mine->fields.clear();
    return MergeResult::created;
  }
  Record& r = *mine;
  bool won = false;
  if (theirs.centre_id < r.centre_id) {
    r.centre_id = theirs.centre_id;
    won = true;
  }
  if (theirs.erased) {
    const bool was = r.erased;
    if (!was || theirs.erase_stamp > r.erase_stamp) {
      r.erase_stamp = was ? std::max(r.erase_stamp, theirs.erase_stamp) : theirs.erase_stamp;
      won = true;
    }
    r.erased = true;
    r.fields.clear();
    if (!was) return MergeResult::erased;
    return won ? MergeResult::changed : MergeResult::stale;
  }
  if (r.erased) return won ? MergeResult::changed : MergeResult::stale;
  for (const auto& [f, st] : theirs.fields) {
    auto it = r.fields.find(f);
    if (it == r.fields.end()) {
      r.fields.emplace(f, st);
      won = true;
    } else if (st.stamp > it->second.stamp || (st.stamp == it->second.stamp && it->second.value < st.value)) {
      it->second = st;
      won = true;
    }
  }
  return won ? MergeResult::changed : MergeResult::stale;
}

}  // namespace terril

// Per-field last-writer-wins merge, ordered by (hlc, origin).
//
// Invariants (proved by tests/unit/core/convergence_test.cpp; see also
// docs/design.md, "Changes and merging"): for any set of
// changes, applying them in any order and with any duplicates gives the same
// Record. This holds because
//   * each field keeps the value of the greatest stamp that set it, and stamps
//     are unique per change (an origin's hlc strictly increases);
//   * DELETE is an UPSERT of `deleted = true`;
//   * ERASE is absorbing: an erased record keeps no field at all, only its id,
//     owner and the greatest erase stamp, whatever came before or after;
//   * two changes under one stamp (a broken peer reissuing an hlc) are ordered
//     by value, so even then replicas agree;
//   * centre_id never changes; if two changes disagree (a hostile or broken
//     peer; the hub rejects these), the smaller id wins so replicas agree.
#pragma once

#include <optional>

#include "common/core/model.h"

namespace terril {

enum class MergeResult {
  created,  // the record did not exist
  changed,  // at least one field won
  stale,    // nothing won: every field already had a newer stamp (or duplicate)
  ignored,  // the record is erased; the change has no effect
  erased,   // this change erased the record
};

// Apply `c` to `r` (or to a new record when `r` is empty). Pure.
// REQUIRES: c passed validate_change.
MergeResult merge(std::optional<Record>& r, const Change& c);

// Join `theirs` (a whole record from another replica, every field with its
// own stamp, as anti-entropy repair carries it) into `mine`: per field the
// greater stamp wins (equal stamps: the greater value), erasure absorbs with
// the greater erase stamp, the smaller centre id wins. The same lattice as
// merge() of changes: a Change is a record whose fields share one stamp, so
// merging records and changes in any mix, order and repetition converges.
// Returns created / changed / stale / erased (ignored never). Pure.
// REQUIRES: mine (if set) and theirs have the same entity and id.
MergeResult merge_record(std::optional<Record>& mine, const Record& theirs);

// The fields of a registration that ERASE purges (personal data), for
// purging past change-log payloads.
bool is_personal(Entity e, Field f);

// A copy of `c` with every personal field removed (for log payloads after an
// ERASE of the record).
Change without_personal(const Change& c);

}  // namespace terril

// Node apply: changes from the hub are merged (an ERASE also purges this
// node's change log), the hub cursor advances; the hub's rejections are
// kept; the clock offset learned from the hub is persisted, and own
// changes stamped in the future are re-stamped.
#include <algorithm>

#include "common/core/merge.h"
#include "common/core/validate.h"
#include "common/store/store_impl.h"
#include "common/wire/change_codec.h"
#include "common/wire/errors.h"

namespace terril {

using store::kMetaHlcOffset;
using store::kMetaHubCursor;

Result<ApplyReport> Store::apply_from_hub(const std::vector<Change>& changes, uint64_t last_seq, int64_t wall_ms) {
  if (opts_.hub) return invalid("apply_from_hub runs on a node", "Opération réservée aux postes.");
  Impl& im = *impl_;
  ApplyReport report;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  if (last_seq <= im.hub_cursor) {
    report.duplicates = changes.size();
    report.cursor = im.hub_cursor;
    return report;  // rolls back an empty transaction
  }
  Impl::Loaded ld;
  bool any_erase = false;
  std::vector<std::string> seat_events;  // whose seats the batch may have moved
  for (const Change& c : changes) {
    if (Status v = validate_change(c); !v) {
      // The hub validated it; keep it visible rather than drop it silently.
      Rejection r{c.origin,
                  c.origin_seq,
                  std::string(wire::kRejectInvalid),
                  v.field(),
                  v.message_fr(),
                  wall_ms,
                  std::string(valid_entity(static_cast<uint32_t>(c.entity)) ? entity_name(c.entity) : "?"),
                  c.record_id};
      if (Status s = im.add_rejection(r); !s) return s;
      report.rejections.push_back(std::move(r));
      continue;
    }
    if (Status s = im.load(c.entity, c.record_id, ld); !s) return s;
    if (!opts_.centre.empty())
      if (Status s = im.events_touched(c, ld.rec, seat_events); !s) return s;
    MergeResult mr = merge(ld.rec, c);
    hlc_.observe(c.hlc, wall_ms, opts_.max_future_ms);
    if (mr == MergeResult::stale) {
      ++report.duplicates;
      continue;
    }
    ++report.applied;
    if (mr == MergeResult::ignored && c.op != Op::erase) continue;
    if (Status s = im.save(*ld.rec, ld, ld.local_seq); !s) return s;
    if (mr == MergeResult::erased) {
      if (Status s = im.purge_personal(*ld.rec); !s) return s;
      any_erase = true;
    }
  }
  // This centre's step as a holder of the seats the batch moved (freed,
  // given, asked back): promotions and returns are made here, now.
  for (const auto& ev : seat_events)
    if (Status s = im.reconcile(ev, wall_ms, report.seat_writes); !s) return s;
  im.hub_cursor = last_seq;
  if (Status s = im.put_meta_u64(kMetaHubCursor, last_seq); !s) return s;
  if (Status s = im.persist_hlc(); !s) return s;
  if (Status s = tx.commit(); !s) return s;
  if (any_erase) im.checkpoint_after_erase();
  report.cursor = last_seq;
  return report;
}

Status Store::rewind_hub_cursor(uint64_t seq) {
  if (opts_.hub) return invalid("rewind_hub_cursor runs on a node", "Opération réservée aux postes.");
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  if (seq >= im.hub_cursor) return Status::ok();
  im.hub_cursor = seq;
  if (Status s = im.put_meta_u64(kMetaHubCursor, seq); !s) return s;
  return tx.commit();
}

Status Store::add_rejections(const std::vector<Rejection>& r) {
  Impl::Tx tx(*impl_);
  if (Status s = tx.begin(); !s) return s;
  Status err;
  for (Rejection x : r) {
    // The hub names a change by its number; staff need the record. Our own
    // change is still in the log (it is acknowledged after this).
    if (x.record_id.empty()) {
      Query q(impl_->cache.get("SELECT entity, record_id FROM change_log WHERE origin = ?1 AND origin_seq = ?2", &err));
      if (!err) return err;
      q.bind(1, std::string_view(x.origin)).bind(2, x.origin_seq);
      if (q.step() == SQLITE_ROW) {
        const auto e = static_cast<uint32_t>(q.i64(0));
        if (valid_entity(e)) x.entity = std::string(entity_name(static_cast<Entity>(e)));
        x.record_id = std::string(q.text(1));
      }
    }
    if (Status s = impl_->add_rejection(x); !s) return s;
  }
  return tx.commit();
}

Status Store::set_clock_offset(int64_t offset_ms) {
  Impl::Tx tx(*impl_);
  if (Status s = tx.begin(); !s) return s;
  hlc_.set_offset(offset_ms);
  if (Status s = impl_->put_meta(kMetaHlcOffset, std::to_string(offset_ms)); !s) return s;
  return tx.commit();
}

Result<uint64_t> Store::restamp_future(int64_t wall_ms, int64_t tolerance_ms) {
  Impl& im = *impl_;
  if (opts_.hub || opts_.origin.empty()) return uint64_t{0};
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  struct Entry {
    int64_t seq;
    uint64_t hlc;
    std::string payload;
  };
  std::vector<Entry> unsent;
  {
    Query q(im.unsent);
    q.bind(1, std::string_view(opts_.origin)).bind(2, im.acked_seq);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) unsent.push_back({q.i64(0), q.u64(1), std::string(q.blob(2))});
    if (rc != SQLITE_DONE) return sql_error(im.db, rc, "read change log");
  }
  const uint64_t now = hlc_.corrected(wall_ms);
  const uint64_t limit_ms = now + static_cast<uint64_t>(std::max<int64_t>(0, tolerance_ms));
  size_t first = 0;
  while (first < unsent.size() && hlc_ms(unsent[first].hlc) <= limit_ms) ++first;
  if (first == unsent.size()) return uint64_t{0};

  // Rewind, but stay above the unsent changes kept as they are; then re-stamp
  // every change from the first future one, in origin_seq order.
  hlc_.rewind(wall_ms);
  if (first > 0 && hlc_.last() < unsent[first - 1].hlc) hlc_ = Hlc(unsent[first - 1].hlc, hlc_.offset_ms());
  Impl::Loaded ld;
  for (size_t i = first; i < unsent.size(); ++i) {
    auto c = wire::decode_change(unsent[i].payload);
    if (!c) return corrupt_payload();
    const Stamp old{c->hlc, c->origin};
    c->hlc = hlc_.tick(wall_ms);
    const Stamp now_stamp{c->hlc, c->origin};
    // A created_at taken from the future clock moves with the stamp.
    for (auto& fv : c->fields)
      if (fv.field == Field::created_at && fv.value == Value{static_cast<int64_t>(hlc_ms(old.hlc))})
        fv.value = Value{static_cast<int64_t>(hlc_ms(c->hlc))};
    const std::string payload = wire::encode_change(*c);
    Query u(im.log_restamp);
    u.bind(1, unsent[i].seq).bind(2, c->hlc).bind_blob(3, payload);
    if (Status s = im.run(u, "restamp change log"); !s) return s;

    if (Status s = im.load(c->entity, c->record_id, ld); !s) return s;
    if (!ld.rec) continue;
    Record& r = *ld.rec;
    for (auto& [f, st] : r.fields) {
      if (st.stamp != old) continue;
      st.stamp = now_stamp;
      if (f == Field::created_at)
        if (const Value* v = c->get(Field::created_at)) st.value = *v;
    }
    if (r.erased && r.erase_stamp == old) r.erase_stamp = now_stamp;
    if (Status s = im.save(r, ld, ld.local_seq); !s) return s;
  }
  if (Status s = im.persist_hlc(); !s) return s;
  if (Status s = tx.commit(); !s) return s;
  return static_cast<uint64_t>(unsent.size() - first);
}

}  // namespace terril

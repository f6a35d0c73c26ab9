// Healing (docs/design.md, "Replicas that heal"): range digests and leaves
// for anti-entropy, whole records to and from the other side, a node's
// repair apply and purge, its renumbering after an SD-image restore and its
// wipe when revoked; the hub's epochs and fork point after a restore of its
// own data. The hub's merge of repaired records runs with its batches
// (store_hub.cpp).
#include <algorithm>
#include <map>

#include "common/core/merge.h"
#include "common/store/store_impl.h"
#include "common/wire/change_codec.h"

namespace terril {

namespace {

constexpr std::string_view kEpochOrigin = "~epoch";

// ids are ASCII in kIdAlphabet: every id with prefix p sorts in [p, p + DEL).
std::string prefix_end(const std::string& p) {
  return p + '\x7f';
}

}  // namespace

Status Store::Impl::scan_range(const std::string& scope, const RangeKey& k,
                               const std::function<void(std::string_view, std::string_view, uint64_t)>& fn) {
  if (!valid_entity(static_cast<uint32_t>(k.entity))) return invalid("unknown entity", "Type de fiche inconnu.");
  std::string sql = "SELECT centre_id, id, digest FROM " + of(k.entity).table + " WHERE 1";
  // The hub's view of one centre's replica: registrations routed to it.
  if (!scope.empty() && k.entity == Entity::registration)
    sql += k.prefix.empty() ? " AND (centre_id = ?1 OR event_id IN (SELECT id FROM events WHERE centre_id = ?1))"
                            : " AND (+centre_id = ?1 OR +event_id IN (SELECT id FROM events WHERE centre_id = ?1))";
  // With a prefix, walk the id index over the prefix's range (the unary +
  // keeps the planner off the centre index, which would scan the owner's
  // every row for each range).
  if (!k.owner.empty()) sql += k.prefix.empty() ? " AND centre_id = ?2" : " AND +centre_id = ?2";
  if (!k.prefix.empty()) sql += " AND id >= ?3 AND id < ?4";
  // No ORDER BY: callers aggregate or key by id, and the order would cost a
  // lookup per row through the id index (or a sort).
  Status err;
  sqlite3_stmt* st = cache.get(sql, &err);
  if (!err) return err;
  Query q(st);
  if (!scope.empty() && k.entity == Entity::registration) q.bind(1, std::string_view(scope));
  if (!k.owner.empty()) q.bind(2, std::string_view(k.owner));
  const std::string end = prefix_end(k.prefix);
  if (!k.prefix.empty()) q.bind(3, std::string_view(k.prefix)).bind(4, std::string_view(end));
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) fn(q.text(0), q.text(1), q.u64(2));
  if (rc != SQLITE_DONE) return sql_error(db, rc, "read digests");
  return Status::ok();
}

Status Store::Impl::backfill_digests() {
  for (const auto& es : entities()) {
    const std::string& table = of(es.entity).table;
    std::vector<std::pair<int64_t, uint64_t>> rows;
    {
      Status err;
      Query q(cache.get("SELECT rowid, id, centre_id, state FROM " + table + " WHERE digest = 0", &err));
      if (!err) return err;
      int rc;
      while ((rc = q.step()) == SQLITE_ROW)
        rows.emplace_back(q.i64(0), record_hash(es.entity, q.text(1), q.text(2), q.blob(3)));
      if (rc != SQLITE_DONE) return sql_error(db, rc, "read records");
    }
    Status err;
    sqlite3_stmt* up = cache.get("UPDATE " + table + " SET digest = ?2 WHERE rowid = ?1", &err);
    if (!err) return err;
    for (auto [rowid, h] : rows) {
      Query u(up);
      u.bind(1, rowid).bind(2, h);
      if (Status s = run(u, "write digest"); !s) return s;
    }
  }
  return Status::ok();
}

Status Store::Impl::delete_row(const RecordRef& ref) {
  Status err;
  Query q(cache.get("DELETE FROM " + of(ref.entity).table + " WHERE id = ?1", &err));
  if (!err) return err;
  q.bind(1, std::string_view(ref.id));
  return run(q, "purge record");
}

// --- Digests -----------------------------------------------------------------

Result<std::vector<RangeDigest>> Store::digests(const std::string& scope, const std::vector<RangeKey>& keys) {
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(false); !s) return s;
  std::vector<RangeDigest> out;
  out.reserve(keys.size());
  for (const RangeKey& k : keys) {
    RangeDigest d{k, 0, 0};
    if (Status s = im.scan_range(scope, k, [&](std::string_view, std::string_view, uint64_t h) { d.add(h); }); !s)
      return s;
    out.push_back(std::move(d));
  }
  if (Status s = tx.commit(); !s) return s;
  return out;
}

Result<std::vector<RangeDigest>> Store::digest_children(const std::string& scope, const RangeKey& parent) {
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(false); !s) return s;
  std::map<RangeKey, RangeDigest> kids;
  Status s = im.scan_range(scope, parent, [&](std::string_view centre, std::string_view id, uint64_t h) {
    RangeKey k = parent;
    if (parent.owner.empty()) {
      k.owner = std::string(centre);
    } else {
      if (id.size() <= parent.prefix.size()) return;  // the id is the prefix itself: a leaf only
      k.prefix.push_back(id[parent.prefix.size()]);
    }
    auto [it, fresh] = kids.try_emplace(k, RangeDigest{k, 0, 0});
    it->second.add(h);
  });
  if (!s) return s;
  if (Status c = tx.commit(); !c) return c;
  std::vector<RangeDigest> out;
  out.reserve(kids.size());
  for (auto& [k, d] : kids) out.push_back(std::move(d));
  return out;
}

Result<std::vector<Leaf>> Store::digest_leaves(const std::string& scope, const RangeKey& k) {
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(false); !s) return s;
  std::vector<Leaf> out;
  Status s = im.scan_range(scope, k, [&](std::string_view centre, std::string_view id, uint64_t h) {
    if (in_range(k, k.entity, centre, id)) out.push_back({std::string(id), h});
  });
  if (!s) return s;
  if (Status c = tx.commit(); !c) return c;
  return out;
}

Result<std::vector<Record>> Store::records(const std::vector<RecordRef>& refs) {
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(false); !s) return s;
  std::vector<Record> out;
  Impl::Loaded ld;
  for (const RecordRef& r : refs) {
    if (!valid_entity(static_cast<uint32_t>(r.entity))) continue;
    if (Status s = im.load(r.entity, r.id, ld); !s) return s;
    if (ld.rec) out.push_back(std::move(*ld.rec));
  }
  if (Status s = tx.commit(); !s) return s;
  return out;
}

Result<bool> Store::routed_to(const RecordRef& ref, const std::string& centre) {
  Impl& im = *impl_;
  Impl::Loaded ld;
  if (Status s = im.load(ref.entity, ref.id, ld); !s) return s;
  if (!ld.rec) return false;
  if (ref.entity != Entity::registration || ld.rec->centre_id == centre) return true;
  Impl::HostCache hosts;
  std::string host;
  if (Status s = im.host_of(Impl::event_of(ld.rec), hosts, host); !s) return s;
  return host == centre;
}

// --- Node --------------------------------------------------------------------

Result<RepairReport> Store::apply_repair(const std::vector<Record>& records, const std::vector<RecordRef>& purge,
                                         const std::string& own_centre, int64_t wall_ms) {
  if (opts_.hub) return invalid("apply_repair runs on a node", "Opération réservée aux postes.");
  Impl& im = *impl_;
  RepairReport rep;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  Impl::Loaded ld;
  bool checkpoint = false;
  // Whose seats the repair may have moved (a registration back, one purged
  // because it moved to another centre's event): the holder's step runs
  // after, as after a batch (store_seats.cpp).
  std::vector<std::string> seat_events;
  auto touched = [&](Entity e, const std::string& id, const Record* now) -> Status {
    if (opts_.centre.empty()) return Status::ok();
    Change probe;
    probe.entity = e;
    probe.record_id = id;
    if (now)
      for (Field f : {Field::seats_returned, Field::event_id})
        if (const Value* v = now->get(f)) probe.fields.push_back({f, *v});
    return im.events_touched(probe, ld.rec, seat_events);
  };
  for (const Record& r : records) {
    if (Status s = im.load(r.entity, r.id, ld); !s) return s;
    if (Status s = touched(r.entity, r.id, &r); !s) return s;
    const bool was_erased = ld.rec && ld.rec->erased;
    MergeResult mr = merge_record(ld.rec, r);
    hlc_.observe(r.max_hlc(), wall_ms, opts_.max_future_ms);
    if (mr == MergeResult::stale) {
      ++rep.stale;
      continue;
    }
    ++rep.merged;
    if (Status s = im.save(*ld.rec, ld, ld.local_seq); !s) return s;
    if (ld.rec->erased && !was_erased) {
      if (Status s = im.purge_personal(*ld.rec); !s) return s;
      checkpoint = true;
    }
  }
  for (const RecordRef& ref : purge) {
    if (!valid_entity(static_cast<uint32_t>(ref.entity))) continue;
    if (Status s = im.load(ref.entity, ref.id, ld); !s) return s;
    if (!ld.rec || ld.rec->centre_id == own_centre) continue;  // never our own records
    if (Status s = touched(ref.entity, ref.id, nullptr); !s) return s;
    if (Status s = im.delete_row(ref); !s) return s;
    ++rep.purged;
    checkpoint = true;
  }
  for (const auto& ev : seat_events)
    if (Status s = im.reconcile(ev, wall_ms, rep.seat_writes); !s) return s;
  if (Status s = im.persist_hlc(); !s) return s;
  if (Status s = tx.commit(); !s) return s;
  if (checkpoint) im.checkpoint_after_erase();
  return rep;
}

Result<std::vector<RecordRef>> Store::refs_changed_after(uint64_t seq) {
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(false); !s) return s;
  std::vector<RecordRef> out;
  for (const auto& es : entities()) {
    Status err;
    Query q(im.cache.get("SELECT id FROM " + im.of(es.entity).table + " WHERE local_seq > ?1 ORDER BY id", &err));
    if (!err) return err;
    q.bind(1, seq);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back({es.entity, std::string(q.text(0))});
    if (rc != SQLITE_DONE) return sql_error(db_, rc, "read records");
  }
  if (Status s = tx.commit(); !s) return s;
  return out;
}

Result<uint64_t> Store::own_change_hlc(uint64_t seq) {
  Impl& im = *impl_;
  Status err;
  Query q(im.cache.get("SELECT hlc FROM change_log WHERE origin = ?1 AND origin_seq = ?2", &err));
  if (!err) return err;
  q.bind(1, std::string_view(opts_.origin)).bind(2, seq);
  int rc = q.step();
  if (rc == SQLITE_ROW) return q.u64(0);
  if (rc == SQLITE_DONE) return uint64_t{0};
  return sql_error(db_, rc, "read change log");
}

Result<uint64_t> Store::renumber_unsent(uint64_t hub_cursor) {
  if (opts_.hub) return invalid("renumber_unsent runs on a node", "Opération réservée aux postes.");
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  struct Entry {
    int64_t seq;
    uint64_t origin_seq;
    std::string payload;
  };
  std::vector<Entry> moved;
  {
    Query q(im.unsent);
    q.bind(1, std::string_view(opts_.origin)).bind(2, im.acked_seq);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      auto c = wire::decode_change(q.blob(2));
      if (!c) return corrupt_payload();
      if (c->origin_seq <= hub_cursor) moved.push_back({q.i64(0), c->origin_seq, std::string(q.blob(2))});
    }
    if (rc != SQLITE_DONE) return sql_error(im.db, rc, "read change log");
  }
  if (moved.empty()) return uint64_t{0};
  uint64_t next = std::max(hub_cursor, im.own_seq);
  Status err;
  sqlite3_stmt* up = im.cache.get("UPDATE change_log SET origin_seq = ?2, payload = ?3 WHERE seq = ?1", &err);
  if (!err) return err;
  Impl::Loaded ld;
  // Highest first, so a new number never meets an old one still in place.
  std::vector<std::pair<uint64_t, uint64_t>> renames;  // old -> new
  for (const Entry& e : moved) renames.emplace_back(e.origin_seq, ++next);
  for (size_t i = moved.size(); i-- > 0;) {
    auto c = wire::decode_change(moved[i].payload);
    if (!c) return corrupt_payload();
    c->origin_seq = renames[i].second;
    Query u(up);
    const std::string payload = wire::encode_change(*c);
    u.bind(1, moved[i].seq).bind(2, c->origin_seq).bind_blob(3, payload);
    if (Status s = im.run(u, "renumber change log"); !s) return s;
    if (Status s = im.load(c->entity, c->record_id, ld); !s) return s;
    if (ld.rec && ld.local_seq == renames[i].first)
      if (Status s = im.save(*ld.rec, ld, renames[i].second); !s) return s;
  }
  im.own_seq = next;
  if (Status s = im.put_meta_u64(store::kMetaOwnSeq, next); !s) return s;
  if (Status s = tx.commit(); !s) return s;
  return static_cast<uint64_t>(moved.size());
}

Result<WipeReport> Store::wipe_personal(const std::string& own_centre, int64_t wall_ms) {
  if (opts_.hub) return invalid("wipe_personal runs on a node", "Opération réservée aux postes.");
  Impl& im = *impl_;
  WipeReport rep;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  Status err;
  {
    Query q(im.cache.get("SELECT count(*) FROM registrations WHERE centre_id = ?1 AND local_seq > ?2", &err));
    if (!err) return err;
    q.bind(1, std::string_view(own_centre)).bind(2, im.acked_seq);
    if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(im.db, rc, "count registrations");
    rep.kept = q.u64(0);
  }
  Query d(im.cache.get("DELETE FROM registrations WHERE NOT (centre_id = ?1 AND local_seq > ?2)", &err));
  if (!err) return err;
  d.bind(1, std::string_view(own_centre)).bind(2, im.acked_seq);
  if (Status s = im.run(d, "wipe registrations"); !s) return s;
  rep.removed = static_cast<uint64_t>(sqlite3_changes(im.db));
  if (Status s = im.put_meta("wiped_at", std::to_string(wall_ms)); !s) return s;
  if (Status s = im.put_meta("wiped_count", std::to_string(rep.removed)); !s) return s;
  if (Status s = tx.commit(); !s) return s;
  im.checkpoint_after_erase();
  return rep;
}

// --- Hub ---------------------------------------------------------------------

Result<uint64_t> Store::begin_epoch(int64_t wall_ms) {
  if (!opts_.hub) return invalid("begin_epoch runs on the hub", "Opération réservée au serveur central.");
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  uint64_t last = 0;
  {
    Query q(im.log_max);
    if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(im.db, rc, "read change log");
    last = q.u64(0);
  }
  const uint64_t floor = static_cast<uint64_t>(std::max<int64_t>(0, wall_ms / 1000)) << 20;
  const uint64_t base = std::max(last + 1, floor);
  Status err;
  Query q(
      im.cache.get("INSERT INTO change_log(seq, origin, origin_seq, hlc, entity, record_id, audience_all, payload) "
                   "VALUES (?1, ?2, ?1, 0, 0, '', 0, x'')",
                   &err));
  if (!err) return err;
  q.bind(1, base).bind(2, kEpochOrigin);
  if (Status s = im.run(q, "begin epoch"); !s) return s;
  if (im.own_seq < base) {
    im.own_seq = base;
    if (Status s = im.put_meta_u64(store::kMetaOwnSeq, base); !s) return s;
  }
  if (Status s = tx.commit(); !s) return s;
  return base;
}

Result<uint64_t> Store::hub_fork_point(uint64_t cursor) {
  if (cursor == 0) return uint64_t{0};
  Impl& im = *impl_;
  Status err;
  Query q(im.cache.get("SELECT coalesce(max(seq), 0) FROM change_log WHERE seq <= ?1", &err));
  if (!err) return err;
  q.bind(1, cursor);
  if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(im.db, rc, "read change log");
  return q.u64(0);
}

Result<uint64_t> Store::changes_after(uint64_t seq) {
  Impl& im = *impl_;
  Status err;
  Query q(im.cache.get("SELECT count(*) FROM change_log WHERE seq > ?1 AND origin <> ?2", &err));
  if (!err) return err;
  q.bind(1, seq).bind(2, kEpochOrigin);
  if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(im.db, rc, "read change log");
  return q.u64(0);
}

Result<uint64_t> Store::origin_cursor_hlc(const std::string& origin) {
  return impl_->cursor_hlc_of(origin);
}

Status Store::raise_origin_cursor(const std::string& origin, uint64_t seq) {
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  auto cur = im.cursor_of(origin);
  if (!cur) return cur.status();
  if (seq <= *cur) return Status::ok();
  if (Status s = im.set_cursor(origin, seq, 0); !s) return s;
  return tx.commit();
}

bool Store::erase_checkpoint_pending() const {
  return impl_->erase_checkpoint_pending;
}

Status Store::retry_erase_checkpoint() {
  Impl& im = *impl_;
  if (!im.erase_checkpoint_pending) return Status::ok();
  if (Status s = im.checkpoint_truncate(); !s) return s;
  im.erase_checkpoint_pending = false;
  return Status::ok();
}

}  // namespace terril

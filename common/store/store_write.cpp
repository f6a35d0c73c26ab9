// Local writes: a change made here (staff through the node API, the hub
// admin, `terril-hub init` seeding the centres) is validated, merged,
// stamped with the next origin_seq and appended to the change log, in one
// transaction.
#include <algorithm>

#include "common/core/merge.h"
#include "common/core/validate.h"
#include "common/store/store_impl.h"
#include "common/wire/change_codec.h"

namespace terril {

using store::kMetaOwnSeq;

Result<Change> Store::Impl::do_write(const LocalWrite& w, int64_t wall_ms, bool& erased) {
  const std::string& origin = self.opts_.origin;
  if (origin.empty())
    return Status(Code::forbidden, "no origin: the node is not enrolled", {},
                  "Ce poste n'est pas encore enrôlé : impossible d'enregistrer.");
  if (!valid_entity(static_cast<uint32_t>(w.entity))) return invalid("unknown entity", "Type de fiche inconnu.");
  Change c;
  c.origin = origin;
  c.entity = w.entity;
  c.record_id = w.record_id;
  c.op = w.op;
  c.fields = w.fields;
  std::stable_sort(c.fields.begin(), c.fields.end(),
                   [](const FieldValue& a, const FieldValue& b) { return a.field < b.field; });
  for (auto& fv : c.fields)
    if (fv.field == Field::tags)
      if (auto* s = std::get_if<std::string>(&fv.value)) *s = normalise_tags(*s);

  Loaded ld;
  if (w.record_id.empty()) return invalid("record id is empty", "Identifiant de fiche manquant.", "id");
  if (Status s = load(w.entity, w.record_id, ld); !s) return s;
  bool creation = false;
  if (ld.rec) {
    const Record& r = *ld.rec;
    if (r.erased)
      return Status(Code::conflict, "record is erased", {}, "Cette fiche a été effacée : elle ne peut plus changer.");
    if (!w.centre_id.empty() && w.centre_id != r.centre_id)
      return invalid("centre_id cannot change", "Le centre d'une fiche ne peut pas changer.", "centre_id");
    c.centre_id = r.centre_id;
    if (c.op == Op::upsert) {
      // Only what differs is logged; clearing an absent field changes nothing.
      std::erase_if(c.fields, [&](const FieldValue& fv) {
        const Value* cur = r.get(fv.field);
        return cur ? *cur == fv.value : fv.value.index() == 0;
      });
      if (c.fields.empty() && !w.fields.empty()) {
        c.fields.clear();
        return c;  // nothing to change: origin_seq 0, nothing logged
      }
    } else if (c.op == Op::del && r.flag(Field::deleted)) {
      return c;  // already deleted
    }
  } else {
    if (c.op != Op::upsert) return Status(Code::not_found, "no such record", {}, "Cette fiche n'existe pas.");
    creation = true;
    c.centre_id = w.centre_id;
    if (Status s = validate_new_record(w.entity, c.fields); !s) return s;
  }

  c.hlc = self.hlc_.tick(wall_ms);
  c.origin_seq = own_seq + 1;
  if (creation && (c.fields.empty() || c.fields.front().field != Field::created_at)) {
    // created_at is the first field number. A clock far off (1970 on a Pi
    // with no RTC and no hub time yet) gives no plausible date: leave it unset.
    FieldValue created{Field::created_at, Value{static_cast<int64_t>(hlc_ms(c.hlc))}};
    if (validate_value(w.entity, *field_spec(w.entity, Field::created_at), created.value))
      c.fields.insert(c.fields.begin(), created);
  }
  if (Status s = validate_change(c); !s) return s;

  std::string event_before = event_of(ld.rec);
  std::optional<Record>& rec = ld.rec;
  MergeResult mr = merge(rec, c);
  if (Status s = save(*rec, ld, c.origin_seq); !s) return s;
  HostCache hosts;
  std::string host;
  if (c.entity == Entity::registration) {
    std::string ev = event_of(rec);
    if (Status s = host_of(ev.empty() ? event_before : ev, hosts, host); !s) return s;
  }
  if (mr == MergeResult::erased) {
    if (Status s = purge_personal(*rec); !s) return s;
    erased = true;
  }
  if (Status s = append_log(c, route(c.entity, rec->centre_id, host), wire::encode_change(c)); !s) return s;
  own_seq = c.origin_seq;
  if (Status s = put_meta_u64(kMetaOwnSeq, own_seq); !s) return s;
  if (Status s = persist_hlc(); !s) return s;
  return c;
}

Result<Change> Store::write(const LocalWrite& w0, int64_t wall_ms) {
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  // The seat rules (store_seats.cpp): a new or moved registration gets its
  // seat, an event edit is checked, and what the write frees or brings is
  // used by this centre's seats in the same transaction.
  LocalWrite w = w0;
  if (Status s = im.seat_for_write(w); !s) return s;
  if (Status s = im.check_event_write(w, opts_.hub); !s) return s;
  std::vector<std::string> seat_events;
  if (!opts_.hub && !opts_.centre.empty() && w.entity != Entity::prototype_note) {
    Impl::Loaded ld;
    if (Status s = im.load(w.entity, w.record_id, ld); !s) return s;
    Change probe;
    probe.entity = w.entity;
    probe.record_id = w.record_id;
    probe.op = w.op;
    probe.fields = w.fields;
    // A registration created, or edited in place, frees no seat (the hot
    // path: no step); a deletion, an erasure or a move to another event may.
    const std::string moved_to = Impl::event_of(probe);
    const bool frees = w.entity != Entity::registration ||
                       (ld.rec && (w.op != Op::upsert || (!moved_to.empty() && moved_to != Impl::event_of(ld.rec))));
    if (frees)
      if (Status s = im.events_touched(probe, ld.rec, seat_events); !s) return s;
  }
  bool erased = false;
  auto c = im.do_write(w, wall_ms, erased);
  if (!c) return c;
  if (c->origin_seq == 0) return c;  // nothing changed; the transaction rolls back, empty
  uint64_t writes = 0;
  for (const auto& ev : seat_events)
    if (Status s = im.reconcile(ev, wall_ms, writes); !s) return s;
  if (Status s = tx.commit(); !s) return s;
  if (erased) impl_->checkpoint_after_erase();
  return c;
}

Status Store::seed_centres(const std::vector<LocalWrite>& centres, int64_t wall_ms) {
  Impl::Tx tx(*impl_);
  if (Status s = tx.begin(); !s) return s;
  for (const auto& w : centres) {
    if (w.entity != Entity::centre) return invalid("seed_centres takes centres only", "Centre attendu.");
    Impl::Loaded ld;
    if (Status s = impl_->load(Entity::centre, w.record_id, ld); !s) return s;
    if (ld.rec) continue;
    bool erased = false;
    if (auto c = impl_->do_write(w, wall_ms, erased); !c) return c.status();
  }
  return tx.commit();
}

}  // namespace terril

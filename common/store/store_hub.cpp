// Hub apply: batches of changes from the nodes are checked (sequence,
// origin, clock, the admin's judge), merged and appended to the hub's change
// log with their audience. Group commit: several batches in one
// transaction, each under its own savepoint.
#include <algorithm>

#include "common/core/merge.h"
#include "common/core/validate.h"
#include "common/store/store_impl.h"
#include "common/wire/change_codec.h"
#include "common/wire/errors.h"

namespace terril {

Result<ApplyReport> Store::apply_from_node(const std::string& node_id, const std::vector<Change>& changes,
                                           const Judge& judge, int64_t hub_now_ms) {
  std::vector<NodeBatch> one(1);
  one[0].node_id = node_id;
  one[0].changes = changes;
  one[0].judge = judge;
  return std::move(apply_from_nodes(one, hub_now_ms).front());
}

std::vector<Result<ApplyReport>> Store::apply_from_nodes(const std::vector<NodeBatch>& batches, int64_t hub_now_ms) {
  std::vector<Result<ApplyReport>> out;
  out.reserve(batches.size());
  auto fail_all = [&](const Status& s) {
    out.clear();
    for (size_t i = 0; i < batches.size(); ++i) out.emplace_back(s);
    return std::move(out);
  };
  if (!opts_.hub) return fail_all(invalid("apply_from_node runs on the hub", "Opération réservée au serveur central."));
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return fail_all(s);
  bool any_erase = false, any_write = false;
  for (const NodeBatch& b : batches) {
    if (!valid_node_id(b.node_id)) {
      out.emplace_back(invalid("bad node id", "Identifiant de poste invalide."));
      continue;
    }
    // Each batch under its own savepoint: one that fails is undone alone.
    if (Status s = im.exec(im.savepoint_stmt, "savepoint"); !s) return fail_all(s);
    const Hlc hlc_before = hlc_;
    ApplyReport report;
    bool erased = false, wrote = false;
    Status s = apply_node_batch(b, hub_now_ms, report, erased, wrote);
    if (!s) {
      hlc_ = hlc_before;
      if (sqlite3_get_autocommit(db_)) return fail_all(s);  // SQLite undid the whole transaction (full disk...)
      if (Status r = im.exec(im.rollback_to_stmt, "rollback to savepoint"); !r) return fail_all(r);
      if (Status r = im.exec(im.release_stmt, "release savepoint"); !r) return fail_all(r);
      out.emplace_back(s);
      continue;
    }
    if (Status r = im.exec(im.release_stmt, "release savepoint"); !r) return fail_all(r);
    any_erase |= erased;
    any_write |= wrote;
    out.emplace_back(std::move(report));
  }
  if (any_write)
    if (Status s = im.persist_hlc(); !s) return fail_all(s);
  if (Status s = tx.commit(); !s) return fail_all(s);
  if (any_erase) im.checkpoint_after_erase();
  return out;
}

Status Store::apply_node_batch(const NodeBatch& b, int64_t hub_now_ms, ApplyReport& report, bool& any_erase,
                               bool& wrote) {
  const std::string& node_id = b.node_id;
  const Judge& judge = b.judge;
  Impl& im = *impl_;
  auto cur = im.cursor_of(node_id);
  if (!cur) return cur.status();
  uint64_t cursor = *cur;
  uint64_t cursor_hlc = 0;
  Impl::HostCache hosts;
  Impl::Loaded ld;
  std::string host, payload;
  const uint64_t max_ms = static_cast<uint64_t>(std::max<int64_t>(0, hub_now_ms + opts_.max_future_ms));

  for (const Change& c : b.changes) {
    if (c.origin_seq <= cursor) {
      ++report.duplicates;
      continue;
    }
    if (c.origin_seq != cursor + 1)
      return Status(Code::conflict,
                    "sequence gap from " + node_id + ": expected " + std::to_string(cursor + 1) + ", got " +
                        std::to_string(c.origin_seq),
                    {}, "Synchronisation interrompue : des modifications manquent. Elle reprendra seule.");
    cursor = c.origin_seq;
    cursor_hlc = c.hlc;

    auto reject = [&](const Status& why, std::string_view code) -> Status {
      Rejection r{node_id,
                  c.origin_seq,
                  std::string(code),
                  why.field(),
                  why.message_fr(),
                  hub_now_ms,
                  std::string(valid_entity(static_cast<uint32_t>(c.entity)) ? entity_name(c.entity) : "?"),
                  c.record_id};
      Status s = im.add_rejection(r);
      report.rejections.push_back(std::move(r));
      return s;
    };
    if (Status v = validate_change(c); !v) {
      if (Status s = reject(v, wire::kRejectInvalid); !s) return s;
      continue;
    }
    if (c.origin != node_id) {
      if (Status s = reject(Status(Code::forbidden, "origin is not the sending node", {},
                                   "Modification refusée : elle ne vient pas de ce poste."),
                            wire::kRejectForbidden);
          !s)
        return s;
      continue;
    }
    if (hlc_ms(c.hlc) > max_ms) {
      if (Status s = reject(Status(Code::invalid, "stamped in the future", {},
                                   "Modification refusée : elle est datée dans le futur (horloge du poste "
                                   "déréglée). Vérifiez la date du poste."),
                            wire::kRejectClockSkew);
          !s)
        return s;
      continue;
    }
    if (Status s = im.load(c.entity, c.record_id, ld); !s) return s;
    const std::string event_before = c.entity == Entity::registration ? Impl::event_of(ld.rec) : std::string();
    // A change to a record erased here has no effect (merge ignores it), and
    // the erasure took the event that names its host: a host's check-in or
    // confirmation made before it saw the erasure is not judged, so staff
    // see no refusal for it.
    const bool moot = ld.rec && ld.rec->erased && c.op != Op::erase;
    if (judge && !moot) {
      if (c.entity == Entity::registration) {
        const std::string ev = ld.rec ? event_before : Impl::event_of(c);
        if (Status s = im.host_of(ev, hosts, host); !s) return s;
      } else {
        host.clear();
      }
      // A host confirmed a registration in its event while the owner moved
      // it to another centre's event: the seat is of the old event and
      // counts for nobody, and the old host purges the record. Not a fault
      // of the old host's: ignored, not refused.
      if (c.entity == Entity::registration && ld.rec && !b.node_centre.empty() && host != b.node_centre &&
          ld.rec->centre_id != b.node_centre && !c.get(Field::event_id))
        if (const Value* se = c.get(Field::seat_event);
            se && std::holds_alternative<std::string>(*se) &&
            seats::seat_event_id(std::get<std::string>(*se)) != event_before) {
          ++report.duplicates;
          continue;
        }
      if (Status verdict = judge(c, ld.rec ? &*ld.rec : nullptr, host); !verdict) {
        if (Status s = reject(verdict, code_name(verdict.code())); !s) return s;
        continue;
      }
      // The counts behind a confirmation, a host's edit or a return.
      if (Status verdict = im.judge_seats(c, ld.rec); !verdict) {
        if (verdict.code() == Code::io) return verdict;
        if (Status s = reject(verdict, code_name(verdict.code())); !s) return s;
        continue;
      }
    }
    if (!ld.rec && c.op == Op::upsert) {
      const int64_t limit = c.entity == Entity::event            ? opts_.daily_event_quota
                            : c.entity == Entity::prototype_note ? opts_.daily_note_quota
                                                                 : 0;
      auto room = im.take_quota(c.entity, c.centre_id, limit, hub_now_ms);
      if (!room) return room.status();
      if (!*room) {
        const bool event = c.entity == Entity::event;
        if (Status s = reject(Status(Code::forbidden, "daily quota of new records reached", {},
                                     std::string("Modification refusée : ce centre a déjà créé aujourd'hui le "
                                                 "nombre maximal ") +
                                         (event ? "d'événements" : "de fiches prototypes") +
                                         " permis par jour. Réessayez demain, ou demandez à l'administrateur du hub "
                                         "de relever la limite."),
                              wire::kRejectForbidden);
            !s)
          return s;
        continue;
      }
    }
    MergeResult mr = merge(ld.rec, c);
    ++report.applied;
    hlc_.observe(c.hlc, hub_now_ms, opts_.max_future_ms);
    // An UPSERT or DELETE of an erased record has no effect anywhere: it is
    // not logged (it may carry personal data). A later ERASE is (its stamp).
    if (mr == MergeResult::ignored && c.op != Op::erase) continue;
    if (Status s = im.save(*ld.rec, ld, ld.local_seq); !s) return s;
    if (c.entity == Entity::event) hosts.clear();
    host.clear();
    if (c.entity == Entity::registration) {
      std::string ev = Impl::event_of(ld.rec);
      if (Status s = im.host_of(ev.empty() ? event_before : ev, hosts, host); !s) return s;
      if (!event_before.empty() && !ev.empty() && ev != event_before) {
        std::string old_host;
        if (Status s = im.host_of(event_before, hosts, old_host); !s) return s;
        if (old_host != host) report.moves.push_back({ld.rec->id, ld.rec->centre_id, old_host, host});
      }
    }
    if (mr == MergeResult::erased) {
      if (Status s = im.purge_personal(*ld.rec); !s) return s;
      any_erase = true;
    }
    payload = wire::encode_change(c);
    const Audience audience = route(c.entity, ld.rec->centre_id, host);
    if (Status s = im.append_log(c, audience, payload); !s) return s;
    if (audience.everyone) {
      report.to_everyone = true;
    } else {
      for (const std::string* centre : {&audience.owner_centre, &audience.host_centre})
        if (!centre->empty() &&
            std::find(report.to_centres.begin(), report.to_centres.end(), *centre) == report.to_centres.end())
          report.to_centres.push_back(*centre);
    }
  }
  if (cursor != *cur) {
    if (Status s = im.set_cursor(node_id, cursor, cursor_hlc); !s) return s;
    wrote = true;
  }
  report.cursor = cursor;
  if (!b.records.empty()) {
    if (Status s = apply_node_records(b, hub_now_ms, report, any_erase); !s) return s;
    wrote = true;
  }
  return Status::ok();
}

// Whole records from a node's anti-entropy repair (NodeBatch::records).
// Not logged: every replica compares with the hub at its next check, and
// fetches what differs then.
Status Store::apply_node_records(const NodeBatch& b, int64_t hub_now_ms, ApplyReport& report, bool& any_erase) {
  Impl& im = *impl_;
  const uint64_t max_ms = static_cast<uint64_t>(std::max<int64_t>(0, hub_now_ms + opts_.max_future_ms));
  Impl::HostCache hosts;
  Impl::Loaded ld;
  std::string host;
  auto routed = [&](const Record& r) -> Result<bool> {
    if (r.entity != Entity::registration || r.centre_id == b.node_centre) return true;
    if (Status s = im.host_of(Impl::event_of(std::optional<Record>(r)), hosts, host); !s) return s;
    return host == b.node_centre;
  };
  for (const Record& r : b.records) {
    if (hlc_ms(r.max_hlc()) > max_ms) {
      ++report.repair_refused;
      continue;
    }
    if (Status s = im.load(r.entity, r.id, ld); !s) return s;
    // The hub's copy decides who may hold it; a record it lacks, the sender's.
    auto may_hold = routed(ld.rec ? *ld.rec : r);
    if (!may_hold) return may_hold.status();
    const bool own = (ld.rec ? ld.rec->centre_id : r.centre_id) == b.node_centre;
    if (!*may_hold && !b.witness) {
      report.purge.push_back({r.entity, r.id});
      continue;
    }
    if (!own && !b.witness) {
      ++report.repair_refused;
      continue;
    }
    const bool was_erased = ld.rec && ld.rec->erased;
    MergeResult mr = merge_record(ld.rec, r);
    hlc_.observe(r.max_hlc(), hub_now_ms, opts_.max_future_ms);
    if (mr == MergeResult::stale) {
      ++report.repair_stale;
    } else {
      ++report.repaired;
      if (Status s = im.save(*ld.rec, ld, ld.local_seq); !s) return s;
      if (ld.rec->erased && !was_erased) {
        if (Status s = im.purge_personal(*ld.rec); !s) return s;
        any_erase = true;
      }
    }
    if (!*may_hold) report.purge.push_back({r.entity, r.id});
  }
  return Status::ok();
}

}  // namespace terril

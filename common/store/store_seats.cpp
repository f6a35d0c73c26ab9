// The seat rules at the store's edge (common/core/seats.h, docs/design.md
// 9.3): the seat a registration gets when it is written, the holder's step
// after every change (returns, grants asked of the host, promotions), the
// checks on the host's edits, the hub's judge of the counts, and the seat
// moves staff and the hub admin make. Every step runs inside the
// transaction of the write or batch that caused it.
#include <algorithm>
#include <set>

#include "common/core/merge.h"
#include "common/core/seats.h"
#include "common/core/validate.h"
#include "common/store/store_impl.h"

namespace terril {

namespace {

bool touches(const std::vector<FieldValue>& fields, Field f) {
  return std::any_of(fields.begin(), fields.end(), [f](const FieldValue& fv) { return fv.field == f; });
}

const Value* value_in(const std::vector<FieldValue>& fields, Field f) {
  for (const auto& fv : fields)
    if (fv.field == f) return &fv.value;
  return nullptr;
}

std::string text_in(const Value* v) {
  auto* s = v ? std::get_if<std::string>(v) : nullptr;
  return s ? *s : std::string();
}

// The record as it would be after `fields` (an UPSERT) were written over it.
Record overlaid(const std::optional<Record>& base, Entity e, std::string_view id, std::string_view centre,
                const std::vector<FieldValue>& fields) {
  Record r = base ? *base : Record{};
  if (!base) {
    r.entity = e;
    r.id = std::string(id);
    r.centre_id = std::string(centre);
  }
  for (const auto& fv : fields) r.fields[fv.field].value = fv.value;
  return r;
}

// "1 place libre", "3 places libres".
std::string places(int64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + (n > 1 ? " places " : " place ") + std::string(n > 1 ? many : one);
}

Status not_allowed_at_hub(std::string en, std::string fr, std::string field) {
  return Status(Code::invalid, "not_allowed: " + en, std::move(field), std::move(fr));
}

}  // namespace

Status Store::Impl::event_seats_of(const Record& event, seats::EventSeats& out) {
  out = seats::EventSeats{};
  Status err;
  Query q(cache.get("SELECT id, seats_returned FROM centres WHERE seats_returned IS NOT NULL AND deleted = 0", &err));
  if (!err) return err;
  std::vector<Record> centres;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    Record c;
    c.entity = Entity::centre;
    c.id = std::string(q.text(0));
    c.fields[Field::seats_returned].value = std::string(q.text(1));
    centres.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) return sql_error(db, rc, "read seats returned");
  std::vector<const Record*> ptrs;
  for (const auto& c : centres) ptrs.push_back(&c);
  out = seats::from_records(event, ptrs);
  return Status::ok();
}

Result<std::optional<seats::EventSeats>> Store::Impl::event_seats(std::string_view event_id) {
  Loaded ld;
  if (Status s = load(Entity::event, event_id, ld); !s) return s;
  if (!ld.rec || ld.rec->deleted()) return std::optional<seats::EventSeats>();
  seats::EventSeats e;
  if (Status s = event_seats_of(*ld.rec, e); !s) return s;
  return std::optional<seats::EventSeats>(std::move(e));
}

Result<int64_t> Store::Impl::confirmed_by(std::string_view event_id, std::string_view holder,
                                          std::string_view except_id) {
  // seat_counts (schema/007_seats.sql), less `except_id` if it is one of them.
  Status err;
  Query q(
      cache.get("SELECT COALESCE((SELECT confirmed FROM seat_counts WHERE event_id = ?1 AND holder = ?2), 0) - "
                "(SELECT COUNT(*) FROM registrations WHERE id = ?3 AND event_id = ?1 AND seat_holder = ?2)",
                &err));
  if (!err) return err;
  q.bind(1, event_id).bind(2, holder).bind(3, except_id);
  if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(db, rc, "count confirmed");
  return q.i64(0);
}

Result<seats::Tally> Store::Impl::seat_tally(std::string_view event_id) {
  seats::Tally t;
  Status err;
  Query q(
      cache.get("SELECT 1, holder, confirmed FROM seat_counts WHERE event_id = ?1 AND confirmed > 0 UNION ALL "
                "SELECT 0, centre_id, COUNT(*) FROM registrations INDEXED BY registrations_waiting "
                "WHERE event_id = ?1 AND deleted = 0 AND seat_holder IS NULL GROUP BY centre_id",
                &err));
  if (!err) return err;
  q.bind(1, event_id);
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) (q.i64(0) ? t.confirmed : t.waiting)[std::string(q.text(1))] += q.i64(2);
  if (rc != SQLITE_DONE) return sql_error(db, rc, "count seats");
  return t;
}

Result<std::vector<seats::Reg>> Store::Impl::waiting_list(std::string_view event_id, std::string_view owner,
                                                          int64_t limit) {
  std::vector<seats::Reg> out;
  Status err;
  Query q(cache.get(
      "SELECT id, centre_id, COALESCE(created_at, 0), seat FROM registrations INDEXED BY registrations_waiting "
      "WHERE event_id = ?1 AND deleted = 0 AND seat_holder IS NULL AND (?2 = '' OR centre_id = ?2) "
      "ORDER BY created_at, id LIMIT ?3",
      &err));
  if (!err) return err;
  q.bind(1, event_id).bind(2, owner).bind(3, limit);
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    seats::Reg r;
    r.id = std::string(q.text(0));
    r.owner = std::string(q.text(1));
    r.created_at = q.i64(2);
    r.seat = std::string(q.text(3));
    r.seat_here = false;  // listed because it holds no seat here
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return sql_error(db, rc, "read waiting list");
  return out;
}

Status Store::Impl::seat_for_write(LocalWrite& w) {
  const std::string& self_centre = self.opts_.centre;
  if (self.opts_.hub || self_centre.empty() || w.entity != Entity::registration || w.op != Op::upsert) return {};
  if (touches(w.fields, Field::seat) || touches(w.fields, Field::seat_by) || touches(w.fields, Field::seat_event))
    return {};  // the rules' own write
  Loaded ld;
  if (Status s = load(Entity::registration, w.record_id, ld); !s) return s;
  if (ld.rec && ld.rec->deleted()) return {};
  const std::string before = event_of(ld.rec);
  std::string after = text_in(value_in(w.fields, Field::event_id));
  if (after.empty()) after = before;
  if (ld.rec && after == before) return {};  // an edit that does not move the registration
  const std::string owner = ld.rec ? ld.rec->centre_id : w.centre_id;
  if (owner != self_centre) return {};
  auto e = event_seats(after);
  if (!e) return e.status();
  if (!*e || !(*e)->limited()) {
    if (ld.rec && ld.rec->text(Field::seat)) {
      w.fields.push_back({Field::seat, Value{}});
      w.fields.push_back({Field::seat_by, Value{}});
      w.fields.push_back({Field::seat_event, Value{}});
    }
    return {};
  }
  auto n = confirmed_by(after, owner, w.record_id);
  if (!n) return n.status();
  const std::string_view seat = seats::decide(**e, owner, *n);
  w.fields.push_back({Field::seat, Value{std::string(seat)}});
  w.fields.push_back({Field::seat_by, seat == seats::kConfirmed ? Value{owner} : Value{}});
  w.fields.push_back({Field::seat_event, Value{seats::seat_event_here(after)}});
  return {};
}

Status Store::Impl::check_event_write(const LocalWrite& w, bool admin) {
  if (w.entity != Entity::event || w.op != Op::upsert) return {};
  const bool cap = touches(w.fields, Field::capacity), given = touches(w.fields, Field::allotments);
  if (!cap && !given) return {};
  Loaded ld;
  if (Status s = load(Entity::event, w.record_id, ld); !s) return s;
  if (admin && ld.rec) {
    // The hub holds no seat and never sees what a host confirmed offline:
    // it asks (seat_grants, seat_reclaims); the host's node changes these.
    if (given)
      return not_allowed_at_hub("allotments are the host's",
                                "Au hub, les places se déplacent par une demande "
                                "(« Donner » ou « Reprendre des places ») : le centre qui les tient l'exécute.",
                                "allotments");
    // Raising the capacity only adds seats (to the host); lowering or
    // removing it would take seats the host may have confirmed offline.
    const Value* v = value_in(w.fields, Field::capacity);
    const auto cur = ld.rec->integer(Field::capacity);
    const int64_t* next = std::get_if<int64_t>(v);
    if (cur && (!next || *next < *cur))
      return not_allowed_at_hub("capacity is lowered at the host's node only",
                                "Au hub, la capacité d'un événement ne peut que monter : pour la baisser, "
                                "le centre organisateur la change sur son poste, qui connaît les places qu'il a "
                                "confirmées hors ligne.",
                                "capacity");
    if (!cur && next)
      return not_allowed_at_hub("a limit is set at the host's node only",
                                "Au hub, on ne fixe pas de limite à un événement qui n'en a pas : le centre "
                                "organisateur la fixe sur son poste.",
                                "capacity");
    return {};
  }
  seats::EventSeats before, after;
  if (ld.rec) {
    if (Status s = event_seats_of(*ld.rec, before); !s) return s;
  } else {
    before.host = w.centre_id;
  }
  Record next = overlaid(ld.rec, Entity::event, w.record_id, w.centre_id, w.fields);
  if (Status s = event_seats_of(next, after); !s) return s;
  int64_t confirmed = 0;
  if (ld.rec) {
    auto n = confirmed_by(w.record_id, after.host, "");
    if (!n) return n.status();
    confirmed = *n;
  }
  return seats::check_host_edit(before, after, confirmed);
}

Status Store::Impl::reconcile(std::string_view event_id, int64_t wall_ms, uint64_t& writes) {
  const std::string& me = self.opts_.centre;
  if (self.opts_.hub || me.empty() || event_id.empty()) return {};
  for (int round = 0; round < 8; ++round) {
    auto e = event_seats(event_id);
    if (!e) return e.status();
    if (!*e || !(*e)->limited()) return {};
    const seats::EventSeats& es = **e;
    const int64_t seats = seats::seats_of(es, me);
    if (seats <= 0) return {};
    auto n = confirmed_by(event_id, me, "");
    if (!n) return n.status();
    const int64_t free = seats - *n;
    if (free <= 0) return {};
    // (A non-null "": SQLite binds an empty view with no data as NULL.)
    auto waiting = waiting_list(event_id, me == es.host ? std::string_view("") : std::string_view(me), free);
    if (!waiting) return waiting.status();
    seats::Plan p = seats::plan(es, me, *n, *waiting);
    if (p.empty()) return {};
    bool erased = false;
    if (p.give_back > 0) {
      Loaded ld;
      if (Status s = load(Entity::centre, me, ld); !s) return s;
      if (!ld.rec) return {};  // our centre record has not arrived yet: nothing to return through
      auto m = seats::parse_map(ld.rec->text(Field::seats_returned).value_or("")).value_or(seats::SeatMap{});
      m[std::string(event_id)] = seats::get(m, event_id) + p.give_back;
      LocalWrite w{Entity::centre, me, me, Op::upsert, {{Field::seats_returned, Value{seats::format_map(m)}}}};
      if (auto c = do_write(w, wall_ms, erased); !c) return c.status();
      ++writes;
    }
    if (!p.give.empty()) {
      seats::SeatMap given = es.given;
      for (const auto& [c, k] : p.give) given[c] += k;
      LocalWrite w{Entity::event,
                   std::string(event_id),
                   es.host,
                   Op::upsert,
                   {{Field::allotments, Value{seats::format_map(given)}}}};
      if (auto c = do_write(w, wall_ms, erased); !c) return c.status();
      ++writes;
    }
    for (const std::string& id : p.confirm) {
      Loaded reg;
      if (Status s = load(Entity::registration, id, reg); !s) return s;
      if (!reg.rec) continue;
      LocalWrite w{Entity::registration,
                   id,
                   {},
                   Op::upsert,
                   {{Field::seat, Value{std::string(seats::kConfirmed)}},
                    {Field::seat_by, Value{me}},
                    {Field::seat_event, Value{seats::seat_event_of(*reg.rec)}}}};
      if (auto c = do_write(w, wall_ms, erased); !c) return c.status();
      ++writes;
    }
  }
  return {};
}

Status Store::Impl::events_touched(const Change& c, const std::optional<Record>& before_rec,
                                   std::vector<std::string>& out) {
  auto add = [&](std::string ev) {
    if (!ev.empty() && std::find(out.begin(), out.end(), ev) == out.end()) out.push_back(std::move(ev));
  };
  switch (c.entity) {
    case Entity::registration:
      add(event_of(before_rec));
      add(event_of(c));
      break;
    case Entity::event:
      add(c.record_id);
      break;
    case Entity::centre:
      if (const Value* v = c.get(Field::seats_returned))
        if (auto m = seats::parse_map(text_in(v)))
          for (const auto& [ev, n] : *m) add(ev);
      if (before_rec)
        if (auto m = seats::parse_map(before_rec->text(Field::seats_returned).value_or("")))
          for (const auto& [ev, n] : *m) add(ev);
      break;
    default:
      break;
  }
  return {};
}

Status Store::Impl::judge_seats(const Change& c, const std::optional<Record>& existing) {
  if (c.op != Op::upsert) return {};
  if (c.entity == Entity::registration) {
    const Value* seat = c.get(Field::seat);
    if (!seat || text_in(seat) != seats::kConfirmed) return {};
    const std::string holder = text_in(c.get(Field::seat_by));
    std::string ev = event_of(c);
    if (ev.empty()) ev = event_of(existing);
    // A seat given for another event (the registration moved meanwhile)
    // counts for nobody (seats.h Reg::seat_here): nothing to check.
    if (const Value* se = c.get(Field::seat_event); se && seats::seat_event_id(text_in(se)) != ev) return {};
    if (existing && !existing->deleted() && event_of(existing) == ev && seats::reg_of(*existing).confirmed() &&
        existing->text(Field::seat_by).value_or(existing->centre_id) == holder)
      return {};  // already counted for this holder
    auto e = event_seats(ev);
    if (!e) return e.status();
    if (!*e) return {};  // the event has not reached the hub: nothing to count against
    auto n = confirmed_by(ev, holder, c.record_id);
    if (!n) return n.status();
    return seats::check_confirm(**e, holder, *n + 1);
  }
  if (c.entity == Entity::event && (c.get(Field::capacity) || c.get(Field::allotments))) {
    LocalWrite w{Entity::event, c.record_id, c.centre_id, Op::upsert, c.fields};
    return check_event_write(w, false);
  }
  if (c.entity == Entity::centre && c.get(Field::seats_returned)) {
    auto before = seats::parse_map(existing ? existing->text(Field::seats_returned).value_or("") : "");
    auto after = seats::parse_map(text_in(c.get(Field::seats_returned)));
    if (!before || !after) return {};
    std::set<std::string> evs;
    for (const auto& [ev, n] : *before) evs.insert(ev);
    for (const auto& [ev, n] : *after) evs.insert(ev);
    for (const std::string& ev : evs) {
      if (seats::get(*before, ev) == seats::get(*after, ev)) continue;
      auto e = event_seats(ev);
      if (!e) return e.status();
      if (!*e) continue;
      seats::EventSeats b = **e, a = **e;
      b.returned[c.record_id] = seats::get(*before, ev);
      a.returned[c.record_id] = seats::get(*after, ev);
      auto n = confirmed_by(ev, c.record_id, "");
      if (!n) return n.status();
      if (Status s = seats::check_return(b, a, c.record_id, *n); !s)
        return Status(Code::forbidden, s.message(), s.field(), s.message_fr());
    }
  }
  return {};
}

// --- Public -----------------------------------------------------------------

Result<std::optional<SeatSummary>> Store::seat_summary(const std::string& event_id) {
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(false); !s) return s;
  auto e = im.event_seats(event_id);
  if (!e) return e.status();
  if (!*e) return std::optional<SeatSummary>();
  SeatSummary out;
  out.event = std::move(**e);
  auto t = im.seat_tally(event_id);
  if (!t) return t.status();
  for (const auto& [c, n] : t->confirmed) out.confirmed += n;
  for (const auto& [c, n] : t->waiting) out.waiting += n;
  if (out.event.limited()) out.holders = seats::ledger(out.event, *t);
  return std::optional<SeatSummary>(std::move(out));
}

Result<Change> Store::move_seats(const std::string& event_id, const std::string& centre, int64_t give,
                                 int64_t take_back, bool cancel, int64_t wall_ms) {
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  auto e = im.event_seats(event_id);
  if (!e) return e.status();
  if (!*e) return Status(Code::not_found, "no such event", {}, "Cet événement n'existe pas.");
  seats::EventSeats es = **e;
  if (!es.limited())
    return invalid("event has no limit", "Cet événement n'a pas de limite de places : rien à déplacer.", "capacity");
  if (!valid_slug(centre) || centre == es.host)
    return invalid("not another centre", "Choisissez un autre centre que le centre organisateur.", "centre_id");
  Impl::Loaded ld;
  if (Status s = im.load(Entity::centre, centre, ld); !s) return s;
  if (!ld.rec || ld.rec->deleted()) return invalid("unknown centre", "Ce centre n'existe pas.", "centre_id");
  if (give < 0 || take_back < 0 || give > seats::kMaxSeats || take_back > seats::kMaxSeats || (give && take_back) ||
      (!give && !take_back && !cancel))
    return invalid("one move at a time", "Indiquez un nombre de places à donner ou à reprendre.", "seats");
  if (!opts_.hub && opts_.centre != es.host)
    return Status(Code::forbidden, "only the host moves seats", {},
                  "Seul le centre organisateur déplace les places de son événement.");
  std::vector<FieldValue> fields;
  const std::string name = ld.rec->text(Field::name).value_or(centre);
  if (cancel) {
    seats::SeatMap asked = es.asked, reclaims = es.reclaims;
    asked[centre] = std::min(seats::get(asked, centre), seats::get(es.given, centre));
    reclaims[centre] = std::min(seats::get(reclaims, centre), seats::get(es.returned, centre));
    fields = {{Field::seat_grants, Value{seats::format_map(asked)}},
              {Field::seat_reclaims, Value{seats::format_map(reclaims)}}};
  } else if (give && !opts_.hub) {
    auto n = im.confirmed_by(event_id, es.host, "");
    if (!n) return n.status();
    int64_t free = seats::seats_of(es, es.host) - *n;
    for (const auto& [c, k] : es.asked) free -= seats::pending_grant(es, c);
    if (give > free)
      return invalid("not enough free seats",
                     free <= 0 ? std::string("Plus aucune place libre ici : impossible d'en donner.")
                               : "Il ne reste que " + places(free, "libre", "libres") +
                                     " ici : impossible d'en donner " + std::to_string(give) + ".",
                     "seats");
    seats::SeatMap given = es.given;
    given[centre] += give;
    fields = {{Field::allotments, Value{seats::format_map(given)}}};
  } else if (give) {
    seats::SeatMap asked = es.asked;
    asked[centre] = std::max(seats::get(asked, centre), seats::get(es.given, centre)) + give;
    fields = {{Field::seat_grants, Value{seats::format_map(asked)}}};
  } else {
    const int64_t held = seats::seats_of(es, centre) - seats::pending_reclaim(es, centre);
    if (take_back > held)
      return invalid("more than the centre holds",
                     held <= 0 ? name + " ne tient aucune place à reprendre."
                               : name + " ne tient que " + places(held, "à reprendre", "à reprendre") + ".",
                     "seats");
    seats::SeatMap reclaims = es.reclaims;
    reclaims[centre] = std::max(seats::get(reclaims, centre), seats::get(es.returned, centre)) + take_back;
    fields = {{Field::seat_reclaims, Value{seats::format_map(reclaims)}}};
  }
  bool erased = false;
  auto c = im.do_write(LocalWrite{Entity::event, event_id, es.host, Op::upsert, fields}, wall_ms, erased);
  if (!c) return c;
  if (c->origin_seq == 0) return c;
  uint64_t writes = 0;
  if (Status s = im.reconcile(event_id, wall_ms, writes); !s) return s;
  if (Status s = tx.commit(); !s) return s;
  return c;
}

Result<uint64_t> Store::reconcile_seats(int64_t wall_ms) {
  Impl& im = *impl_;
  if (opts_.hub || opts_.centre.empty()) return uint64_t{0};
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  std::vector<std::string> events;
  {
    Status err;
    Query q(im.cache.get("SELECT id FROM events WHERE deleted = 0 AND capacity IS NOT NULL", &err));
    if (!err) return err;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) events.emplace_back(q.text(0));
    if (rc != SQLITE_DONE) return sql_error(im.db, rc, "list events");
  }
  uint64_t writes = 0;
  for (const auto& ev : events)
    if (Status s = im.reconcile(ev, wall_ms, writes); !s) return s;
  if (writes == 0) return uint64_t{0};
  if (Status s = tx.commit(); !s) return s;
  return writes;
}

}  // namespace terril

// People in the store (schema/006_people.sql): the derived person columns
// filled for old rows, search at reception, the hub's queue of possible
// duplicates across centres (found as registrations are written, decided by
// the hub admin), and the facts the indicators count.
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "common/core/record_codec.h"
#include "common/store/store_impl.h"

namespace terril {

namespace {

constexpr size_t kMaxCandidates = 64;  // persons looked at per key and write
// A phone or email more persons than this share (the centre's own number,
// given for people who have none; a family's address) identifies nobody.
constexpr int kSharedKeyPersons = 5;
constexpr size_t kMaxSearchRows = 2000;
constexpr size_t kMaxSearchWords = 5;

std::vector<DuplicateRule> merged_rules(std::vector<DuplicateRule> a, const std::vector<DuplicateRule>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  return a;
}

}  // namespace

// --- Kept as registrations are written (hub) ---------------------------------

Status Store::Impl::upsert_pair(const std::string& p, const std::string& pc, const std::string& q,
                                const std::string& qc, const std::vector<DuplicateRule>& rules, int64_t at_ms) {
  const bool swap = q < p;
  const std::string &a = swap ? q : p, &ac = swap ? qc : pc, &b = swap ? p : q, &bc = swap ? pc : qc;
  Status err;
  Query get(cache.get("SELECT id, rules, status FROM duplicate_pairs WHERE person_a = ?1 AND person_b = ?2", &err));
  if (!err) return err;
  get.bind(1, std::string_view(a)).bind(2, std::string_view(b));
  int rc = get.step();
  if (rc == SQLITE_ROW) {
    if (get.text(2) != "open") return Status::ok();  // decided: never proposed again
    const std::string old(get.text(1));
    const std::string now = rules_text(merged_rules(parse_rules(old), rules));
    if (now == old) return Status::ok();
    const int64_t id = get.i64(0);
    Query up(cache.get("UPDATE duplicate_pairs SET rules = ?2 WHERE id = ?1", &err));
    if (!err) return err;
    up.bind(1, id).bind(2, std::string_view(now));
    return run(up, "widen duplicate pair");
  }
  if (rc != SQLITE_DONE) return sql_error(db, rc, "read duplicate pair");
  Query ins(
      cache.get("INSERT INTO duplicate_pairs(person_a, centre_a, person_b, centre_b, rules, found_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &err));
  if (!err) return err;
  const std::string text = rules_text(rules);
  ins.bind(1, std::string_view(a)).bind(2, std::string_view(ac)).bind(3, std::string_view(b));
  ins.bind(4, std::string_view(bc)).bind(5, std::string_view(text)).bind(6, at_ms);
  return run(ins, "add duplicate pair");
}

Status Store::Impl::drop_pairs_if_gone(const std::string& person) {
  Status err;
  Query live(cache.get("SELECT 1 FROM registrations WHERE person = ?1 AND deleted = 0 LIMIT 1", &err));
  if (!err) return err;
  live.bind(1, std::string_view(person));
  int rc = live.step();
  if (rc == SQLITE_ROW) return Status::ok();
  if (rc != SQLITE_DONE) return sql_error(db, rc, "read person");
  Query del(cache.get("DELETE FROM duplicate_pairs WHERE person_a = ?1 OR person_b = ?1", &err));
  if (!err) return err;
  del.bind(1, std::string_view(person));
  return run(del, "drop duplicate pairs");
}

Status Store::Impl::people_saved(const Record& r, const Loaded& before, const PersonKeys& keys,
                                 const std::string& person) {
  if (r.deleted()) {
    if (r.erased && !before.person.empty()) return drop_pairs_if_gone(before.person);
    return Status::ok();
  }
  if (!before.person.empty() && before.person == person && before.match_key == keys.match &&
      before.phone_key == keys.phone && before.email_key == keys.email)
    return Status::ok();  // nothing the rules read changed (a check-in, a note)
  struct Candidate {
    std::string centre;
    std::vector<DuplicateRule> rules;
  };
  std::map<std::string, Candidate> found;
  // A shared phone or email identifies nobody (kSharedKeyPersons).
  PersonKeys mine = keys;
  auto shared = [&](const char* column, std::string& key) -> Status {
    if (key.empty()) return Status::ok();
    Status err;
    Query q(cache.get(std::string("SELECT count(*) FROM (SELECT DISTINCT person FROM registrations WHERE ") + column +
                          " = ?1 AND deleted = 0 LIMIT " + std::to_string(kSharedKeyPersons + 1) + ")",
                      &err));
    if (!err) return err;
    q.bind(1, std::string_view(key));
    if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(db, rc, "count shared key");
    if (q.i64(0) <= kSharedKeyPersons) return Status::ok();
    // Shared now: the open pairs that rested on this key alone, made
    // while few people had it, go too.
    Query drop(cache.get(std::string("DELETE FROM duplicate_pairs WHERE status = 'open' AND rules = ?2 AND person_a IN "
                                     "(SELECT person FROM registrations WHERE ") +
                             column + " = ?1) AND person_b IN (SELECT person FROM registrations WHERE " + column +
                             " = ?1)",
                         &err));
    if (!err) return err;
    const std::string_view rule =
        rule_name(std::string_view(column) == "phone_key" ? DuplicateRule::phone : DuplicateRule::email);
    drop.bind(1, std::string_view(key)).bind(2, rule);
    Status dropped = run(drop, "drop pairs of a shared key");
    key.clear();  // after the run: the statement reads the bound bytes
    return dropped;
  };
  if (!phone_identifies(mine.phone)) mine.phone.clear();
  if (Status s = shared("phone_key", mine.phone); !s) return s;
  if (Status s = shared("email_key", mine.email); !s) return s;
  auto look = [&](const char* column, const std::string& key) -> Status {
    if (key.empty()) return Status::ok();
    Status err;
    // `column` is one of the three literals below, never input.
    Query q(cache.get(std::string("SELECT person, centre_id, match_key, phone_key, email_key FROM registrations "
                                  "WHERE ") +
                          column + " = ?1 AND centre_id <> ?2 AND deleted = 0 LIMIT " + std::to_string(kMaxCandidates),
                      &err));
    if (!err) return err;
    q.bind(1, std::string_view(key)).bind(2, std::string_view(r.centre_id));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      std::string other(q.text(0));
      if (other == person) continue;
      PersonKeys ok{"", std::string(q.text(2)), std::string(q.text(3)), std::string(q.text(4))};
      auto rules = duplicate_rules(mine, ok);
      if (rules.empty()) continue;
      auto& c = found[other];
      c.centre = std::string(q.text(1));
      c.rules = merged_rules(std::move(c.rules), rules);
    }
    return rc == SQLITE_DONE ? Status::ok() : sql_error(db, rc, "find duplicates");
  };
  if (Status s = look("match_key", mine.match); !s) return s;
  if (Status s = look("phone_key", mine.phone); !s) return s;
  if (Status s = look("email_key", mine.email); !s) return s;
  for (const auto& [other, c] : found)
    if (Status s = upsert_pair(person, r.centre_id, other, c.centre, c.rules, r.updated_at_ms()); !s) return s;
  return Status::ok();
}

Status Store::Impl::backfill_people() {
  std::vector<Record> rows;
  {
    Status err;
    Query q(cache.get("SELECT id, centre_id, state FROM registrations", &err));
    if (!err) return err;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      Record r;
      r.entity = Entity::registration;
      r.id = std::string(q.text(0));
      r.centre_id = std::string(q.text(1));
      if (Status s = decode_state(q.blob(2), r); !s) return s;
      rows.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return sql_error(db, rc, "read registrations");
  }
  Status err;
  sqlite3_stmt* st = cache.get(
      "UPDATE registrations SET person = ?2, name_key = ?3, match_key = ?4, phone_key = ?5, email_key = ?6 "
      "WHERE id = ?1",
      &err);
  if (!err) return err;
  for (const Record& r : rows) {
    PersonKeys k;
    if (!r.erased) k = person_keys(r);
    const std::string person = person_of(r);
    Query up(st);
    up.bind(1, std::string_view(r.id)).bind(2, std::string_view(person)).bind(3, std::string_view(k.name));
    for (auto [at, v] : {std::pair{4, &k.match}, std::pair{5, &k.phone}, std::pair{6, &k.email}}) {
      if (v->empty())
        up.bind_null(at);
      else
        up.bind(at, std::string_view(*v));
    }
    if (Status s = run(up, "backfill people"); !s) return s;
  }
  return Status::ok();
}

// --- Reception ---------------------------------------------------------------

Result<std::vector<PersonSummary>> Store::people(const std::string& centre, std::string_view query, size_t limit) {
  PeopleQuery pq = parse_people_query(query);
  if (pq.words.size() > kMaxSearchWords) pq.words.resize(kMaxSearchWords);
  std::vector<PersonSummary> out;
  if (pq.words.empty() && pq.digits.empty()) return out;
  std::string where;
  std::vector<std::string> binds = {centre};
  if (!pq.digits.empty()) {
    where = "instr(phone_key, ?2) > 0";
    binds.push_back(pq.digits);
  } else {
    for (const auto& w : pq.words) {
      if (!where.empty()) where += " AND ";
      binds.push_back(w);
      where += "instr(name_key, ?" + std::to_string(binds.size()) + ") > 0";
    }
  }
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(false); !s) return s;
  Status err;
  // Over the covering index alone: the persons in name order and the id of
  // each one's latest registration; then only those records are read.
  Query q(
      im.cache.get("SELECT person, coalesce(created_at, 0), id FROM registrations INDEXED BY "
                   "registrations_name_key WHERE centre_id = ?1 AND deleted = 0 AND " +
                       where + " ORDER BY name_key LIMIT " + std::to_string(kMaxSearchRows),
                   &err));
  if (!err) return err;
  for (size_t i = 0; i < binds.size(); ++i) q.bind(static_cast<int>(i + 1), std::string_view(binds[i]));
  std::unordered_map<std::string, size_t> index;        // person -> position in out
  std::vector<std::pair<int64_t, std::string>> latest;  // per position: created_at, id
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    const std::string_view person = q.text(0);
    const int64_t at = q.i64(1);
    auto it = index.find(std::string(person));
    if (it == index.end()) {
      if (out.size() == limit) continue;  // later rows may still be the people already listed
      it = index.emplace(std::string(person), out.size()).first;
      out.push_back(PersonSummary{std::string(person), {}, 0});
      latest.emplace_back(INT64_MIN, std::string());
    }
    if (at > latest[it->second].first) latest[it->second] = {at, std::string(q.text(2))};
  }
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "search people");
  for (size_t i = 0; i < out.size(); ++i) {
    Impl::Loaded ld;
    if (Status s = im.load(Entity::registration, latest[i].second, ld); !s) return s;
    if (ld.rec) out[i].latest = std::move(*ld.rec);
  }
  sqlite3_stmt* st =
      im.cache.get("SELECT count(*) FROM registrations WHERE person = ?1 AND centre_id = ?2 AND deleted = 0", &err);
  if (!err) return err;
  for (auto& p : out) {
    Query count(st);
    count.bind(1, std::string_view(p.person_id)).bind(2, std::string_view(centre));
    if (int c = count.step(); c != SQLITE_ROW) return sql_error(db_, c, "count person");
    p.registrations = count.u64(0);
  }
  if (Status s = tx.commit(); !s) return s;
  return out;
}

// --- The hub's review queue --------------------------------------------------

namespace {
constexpr std::string_view kPairColumns =
    "id, person_a, centre_a, person_b, centre_b, rules, status, found_at, coalesce(decided_at, 0), "
    "coalesce(decided_by, '')";
DuplicatePair read_pair(const Query& q) {
  return DuplicatePair{q.i64(0),
                       std::string(q.text(1)),
                       std::string(q.text(2)),
                       std::string(q.text(3)),
                       std::string(q.text(4)),
                       parse_rules(q.text(5)),
                       std::string(q.text(6)),
                       q.i64(7),
                       q.i64(8),
                       std::string(q.text(9))};
}
}  // namespace

Result<std::vector<DuplicatePair>> Store::duplicate_pairs(std::string_view status, int64_t after_id, size_t limit) {
  Status err;
  Query q(impl_->cache.get("SELECT " + std::string(kPairColumns) + " FROM duplicate_pairs WHERE id > ?1" +
                               (status.empty() ? std::string(" AND ?2 = ''") : std::string(" AND status = ?2")) +
                               " ORDER BY id LIMIT ?3",
                           &err));
  if (!err) return err;
  q.bind(1, after_id).bind(2, status).bind(3, static_cast<int64_t>(std::min<size_t>(limit, 100000)));
  std::vector<DuplicatePair> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) out.push_back(read_pair(q));
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "list duplicate pairs");
  return out;
}

Result<std::optional<DuplicatePair>> Store::duplicate_pair(int64_t id) {
  Status err;
  Query q(impl_->cache.get("SELECT " + std::string(kPairColumns) + " FROM duplicate_pairs WHERE id = ?1", &err));
  if (!err) return err;
  q.bind(1, id);
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<DuplicatePair>{};
  if (rc != SQLITE_ROW) return sql_error(db_, rc, "read duplicate pair");
  return std::optional<DuplicatePair>{read_pair(q)};
}

Status Store::decide_duplicate(int64_t id, std::string_view status, std::string_view by, int64_t now_ms) {
  if (status != "same" && status != "different" && status != "open")
    return invalid("decision must be same or different", "La décision doit être « same » ou « different ».",
                   "decision");
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  Status err;
  Query q(im.cache.get("UPDATE duplicate_pairs SET status = ?2, decided_at = ?3, decided_by = ?4 WHERE id = ?1", &err));
  if (!err) return err;
  q.bind(1, id).bind(2, status);
  if (status == "open")
    q.bind_null(3).bind_null(4);
  else
    q.bind(3, now_ms).bind(4, by);
  if (Status s = im.run(q, "decide duplicate"); !s) return s;
  if (sqlite3_changes(db_) == 0)
    return Status(Code::not_found, "no duplicate pair " + std::to_string(id), {},
                  "Cette paire de doublons possibles n'existe plus.");
  return tx.commit();
}

Result<std::vector<std::pair<std::string, std::string>>> Store::same_person_links() {
  Status err;
  Query q(impl_->cache.get("SELECT person_a, person_b FROM duplicate_pairs WHERE status = 'same'", &err));
  if (!err) return err;
  std::vector<std::pair<std::string, std::string>> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) out.emplace_back(std::string(q.text(0)), std::string(q.text(1)));
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "read aliases");
  return out;
}

Result<uint64_t> Store::rebuild_duplicates(int64_t now_ms) {
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  struct Found {
    std::string centre_a, centre_b;
    std::vector<DuplicateRule> rules;
  };
  std::map<std::pair<std::string, std::string>, Found> found;
  for (const char* column : {"match_key", "phone_key", "email_key"}) {
    Status err;
    const std::string c(column);
    std::set<std::string, std::less<>> shared;
    if (c != "match_key") {
      Query q(im.cache.get("SELECT " + c + " FROM registrations WHERE " + c + " IS NOT NULL AND deleted = 0 GROUP BY " +
                               c + " HAVING count(DISTINCT person) > " + std::to_string(kSharedKeyPersons),
                           &err));
      if (!err) return err;
      int rc;
      while ((rc = q.step()) == SQLITE_ROW) shared.emplace(q.text(0));
      if (rc != SQLITE_DONE) return sql_error(db_, rc, "find shared keys");
    }
    // One self-join per rule over its partial index; the rules are then
    // checked in full on the keys (a phone too short never matches).
    Query q(im.cache.get(
        "SELECT a.person, a.centre_id, b.person, b.centre_id, a.match_key, a.phone_key, a.email_key, b.match_key, "
        "b.phone_key, b.email_key FROM registrations a JOIN registrations b ON b." +
            c + " = a." + c + " AND b." + c + " IS NOT NULL AND b.centre_id <> a.centre_id AND b.person > a.person " +
            "WHERE a." + c + " IS NOT NULL AND a.deleted = 0 AND b.deleted = 0",
        &err));
    if (!err) return err;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      PersonKeys ka{"", std::string(q.text(4)), std::string(q.text(5)), std::string(q.text(6))};
      PersonKeys kb{"", std::string(q.text(7)), std::string(q.text(8)), std::string(q.text(9))};
      if (c == "phone_key" && shared.count(ka.phone)) ka.phone.clear();
      if (c == "email_key" && shared.count(ka.email)) ka.email.clear();
      // This join reports its own rule only: the others have their own join.
      if (c != "match_key") ka.match.clear();
      if (c != "phone_key") ka.phone.clear();
      if (c != "email_key") ka.email.clear();
      auto rules = duplicate_rules(ka, kb);
      if (rules.empty()) continue;
      auto& f = found[{std::string(q.text(0)), std::string(q.text(2))}];
      f.centre_a = std::string(q.text(1));
      f.centre_b = std::string(q.text(3));
      f.rules = merged_rules(std::move(f.rules), rules);
    }
    if (rc != SQLITE_DONE) return sql_error(db_, rc, "find duplicates");
  }
  for (const auto& [persons, f] : found)
    if (Status s = im.upsert_pair(persons.first, f.centre_a, persons.second, f.centre_b, f.rules, now_ms); !s) return s;
  uint64_t n = 0;
  {
    Status err;
    Query q(im.cache.get("SELECT count(*) FROM duplicate_pairs", &err));
    if (!err) return err;
    if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(db_, rc, "count duplicate pairs");
    n = q.u64(0);
  }
  if (Status s = tx.commit(); !s) return s;
  return n;
}

// --- Indicators --------------------------------------------------------------

Status Store::person_facts(int64_t from_ms, int64_t to_ms, const std::function<void(const PersonFact&)>& fn) {
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(false); !s) return s;
  struct EventInfo {
    std::string kind;
    int64_t starts_at = 0;
  };
  std::map<std::string, EventInfo, std::less<>> events;
  std::map<std::string, std::string, std::less<>> agglo;
  Status err;
  {
    Query q(im.cache.get("SELECT id, coalesce(kind, ''), coalesce(starts_at, 0) FROM events", &err));
    if (!err) return err;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) events[std::string(q.text(0))] = {std::string(q.text(1)), q.i64(2)};
    if (rc != SQLITE_DONE) return sql_error(db_, rc, "read events");
  }
  {
    Query q(im.cache.get("SELECT id, coalesce(agglomeration, '') FROM centres", &err));
    if (!err) return err;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) agglo[std::string(q.text(0))] = std::string(q.text(1));
    if (rc != SQLITE_DONE) return sql_error(db_, rc, "read centres");
  }
  Query q(im.cache.get(
      "SELECT person, centre_id, coalesce(event_id, ''), coalesce(role, ''), coalesce(qpv, ''), coalesce(genre, ''), "
      "coalesce(attended, 0), coalesce(created_at, 0), updated_at FROM registrations INDEXED BY registrations_person "
      "WHERE deleted = 0",
      &err));
  if (!err) return err;
  PersonFact f;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    const std::string_view event_id = q.text(2);
    auto ev = events.find(event_id);
    f.when_ms = ev != events.end() && ev->second.starts_at ? ev->second.starts_at : q.i64(7);
    if ((from_ms && f.when_ms < from_ms) || (to_ms && f.when_ms >= to_ms)) continue;
    f.person.assign(q.text(0));
    f.centre_id.assign(q.text(1));
    f.event_id.assign(event_id);
    f.role.assign(q.text(3));
    f.qpv.assign(q.text(4));
    f.genre.assign(q.text(5));
    f.attended = q.i64(6) != 0;
    f.created_at = q.i64(7);
    f.updated_at = q.i64(8);
    f.kind = ev != events.end() ? ev->second.kind : std::string();
    auto a = agglo.find(f.centre_id);
    f.agglomeration = a != agglo.end() ? a->second : std::string();
    fn(f);
  }
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "read registrations");
  return tx.commit();
}

}  // namespace terril

// Store::Impl's primitives, shared by the role files: statement
// preparation, transactions, meta and counters, record rows, the change log,
// rejections, origin cursors and the WAL checkpoint. Declared (with the
// transaction rules) in common/store/store_impl.h.
#include "common/store/store_impl.h"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "common/core/digest.h"
#include "common/core/merge.h"
#include "common/core/record_codec.h"
#include "common/wire/change_codec.h"

namespace terril {

using store::kMetaAcked;
using store::kMetaHlcLast;
using store::kMetaHlcOffset;
using store::kMetaHubCursor;
using store::kMetaOwnSeq;

Status Store::Impl::prepare_all() {
  Status err;
  auto p = [&](sqlite3_stmt*& out, const std::string& sql) {
    if (err) out = cache.pin(sql, &err);
  };
  p(begin_write, "BEGIN IMMEDIATE");
  p(begin_read, "BEGIN");
  p(commit_stmt, "COMMIT");
  p(rollback_stmt, "ROLLBACK");
  p(savepoint_stmt, "SAVEPOINT batch");
  p(release_stmt, "RELEASE batch");
  p(rollback_to_stmt, "ROLLBACK TO batch");
  p(meta_get, "SELECT value FROM meta WHERE key = ?1");
  p(counters_get,
    "SELECT key, value FROM meta WHERE key IN ('own_seq', 'acked_seq', 'hub_cursor', 'hlc_last', 'hlc_offset')");
  p(meta_set, "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  p(event_host, "SELECT centre_id FROM events WHERE id = ?1");
  p(log_insert,
    "INSERT INTO change_log(origin, origin_seq, hlc, entity, record_id, audience_all, audience_owner, "
    "audience_host, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  p(log_by_record,
    "SELECT seq, payload FROM change_log INDEXED BY change_log_owner WHERE audience_owner = ?1 AND "
    "record_id = ?2 AND entity = 3");
  p(log_set_payload, "UPDATE change_log SET payload = ?2 WHERE seq = ?1");
  p(log_restamp, "UPDATE change_log SET hlc = ?2, payload = ?3 WHERE seq = ?1");
  p(own_after,
    "SELECT origin_seq, payload FROM change_log WHERE origin = ?1 AND origin_seq > ?2 ORDER BY origin_seq "
    "LIMIT ?3");
  p(unsent, "SELECT seq, hlc, payload FROM change_log WHERE origin = ?1 AND origin_seq > ?2 ORDER BY origin_seq");
  p(log_compact, "DELETE FROM change_log WHERE origin = ?1 AND origin_seq <= ?2");
  p(fan_all,
    "SELECT seq FROM change_log INDEXED BY change_log_all WHERE audience_all = 1 AND seq > ?1 AND origin <> ?2 "
    "ORDER BY seq LIMIT ?3");
  p(fan_owner,
    "SELECT seq FROM change_log INDEXED BY change_log_owner WHERE audience_owner = ?4 AND seq > ?1 AND "
    "origin <> ?2 ORDER BY seq LIMIT ?3");
  p(fan_host,
    "SELECT seq FROM change_log INDEXED BY change_log_host WHERE audience_host = ?4 AND seq > ?1 AND "
    "origin <> ?2 ORDER BY seq LIMIT ?3");
  p(log_payload, "SELECT payload FROM change_log WHERE seq = ?1");
  p(log_max, "SELECT coalesce(max(seq), 0) FROM change_log");
  p(cursor_get, "SELECT seq, hlc FROM origin_cursors WHERE origin = ?1");
  p(cursor_set,
    "INSERT INTO origin_cursors(origin, seq, hlc) VALUES (?1, ?2, ?3) ON CONFLICT(origin) DO UPDATE SET seq = "
    "excluded.seq, hlc = excluded.hlc");
  p(rej_insert,
    "INSERT OR IGNORE INTO rejections(origin, origin_seq, code, field, message, at_ms, entity, record_id) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  p(rej_list,
    "SELECT origin, origin_seq, code, field, message, at_ms, entity, record_id FROM rejections "
    "ORDER BY id DESC LIMIT ?1");
  p(rej_count, "SELECT count(*) FROM rejections");
  for (const auto& es : entities()) {
    auto& st = ent[static_cast<size_t>(es.entity)];
    st.table = std::string(es.table);
    std::string cols = "id, centre_id";
    std::string params = "?1, ?2";
    std::string sets = "centre_id = ?2";
    int i = 3;
    for (const auto& fs : es.fields) {
      cols += ", " + std::string(fs.name);
      params += ", ?" + std::to_string(i);
      sets += ", " + std::string(fs.name) + " = ?" + std::to_string(i);
      ++i;
    }
    std::vector<const char*> extra = {"erased", "updated_at", "local_seq", "state", "digest"};
    std::string get_cols = "rowid, centre_id, local_seq, state";
    if (es.entity == Entity::registration) {
      for (const char* c : {"person", "name_key", "match_key", "phone_key", "email_key", "seat_holder"})
        extra.push_back(c);
      get_cols += ", person, match_key, phone_key, email_key";
    }
    for (const char* c : extra) {
      cols += std::string(", ") + c;
      params += ", ?" + std::to_string(i);
      sets += std::string(", ") + c + " = ?" + std::to_string(i);
      ++i;
    }
    p(st.get, "SELECT " + get_cols + " FROM " + st.table + " WHERE id = ?1");
    p(st.insert, "INSERT INTO " + st.table + "(" + cols + ") VALUES (" + params + ")");
    p(st.update, "UPDATE " + st.table + " SET " + sets + " WHERE id = ?1");
    p(st.count, "SELECT count(*) FROM " + st.table);
  }
  return err;
}

Status Store::Impl::begin(bool write) {
  {
    Query q(write ? begin_write : begin_read);
    if (Status s = run(q, "begin"); !s) return s;
  }
  if (Status s = load_counters(); !s) {
    Query q(rollback_stmt);
    q.step();
    return s;
  }
  saved = Saved{self.hlc_, own_seq, acked_seq, hub_cursor};
  return Status::ok();
}

Status Store::Impl::commit() {
  Query q(commit_stmt);
  if (Status s = run(q, "commit"); !s) return s;
  saved.reset();
  return Status::ok();
}

void Store::Impl::rollback() {
  if (!sqlite3_get_autocommit(db)) {  // SQLite may already have rolled back (SQLITE_FULL...)
    Query q(rollback_stmt);
    q.step();
  }
  if (saved) {
    self.hlc_ = saved->hlc;
    own_seq = saved->own_seq;
    acked_seq = saved->acked_seq;
    hub_cursor = saved->hub_cursor;
    saved.reset();
  }
}

Result<std::optional<std::string>> Store::Impl::get_meta(std::string_view key) {
  Query q(meta_get);
  q.bind(1, key);
  int rc = q.step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(std::string(q.text(0)));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return sql_error(db, rc, "read meta");
}

Status Store::Impl::put_meta(std::string_view key, std::string_view value) {
  Query q(meta_set);
  q.bind(1, key).bind(2, value);
  return run(q, "write meta");
}

Status Store::Impl::load_counters() {
  uint64_t hlc_last = 0;
  int64_t offset = 0;
  own_seq = acked_seq = hub_cursor = 0;
  Query q(counters_get);
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    const std::string_view key = q.text(0), value = q.text(1);
    if (key == kMetaOwnSeq)
      own_seq = parse_number<uint64_t>(value);
    else if (key == kMetaAcked)
      acked_seq = parse_number<uint64_t>(value);
    else if (key == kMetaHubCursor)
      hub_cursor = parse_number<uint64_t>(value);
    else if (key == kMetaHlcLast)
      hlc_last = parse_number<uint64_t>(value);
    else if (key == kMetaHlcOffset)
      offset = parse_number<int64_t>(value);
  }
  if (rc != SQLITE_DONE) return sql_error(db, rc, "read meta");
  self.hlc_ = Hlc(hlc_last, offset);
  return Status::ok();
}

Status Store::Impl::load(Entity e, std::string_view id, Loaded& out) {
  out = Loaded{};
  Query q(of(e).get);
  q.bind(1, id);
  int rc = q.step();
  if (rc == SQLITE_DONE) return Status::ok();
  if (rc != SQLITE_ROW) return sql_error(db, rc, "read record");
  out.rowid = q.i64(0);
  out.local_seq = q.u64(2);
  Record& r = out.rec.emplace();
  r.entity = e;
  r.id = std::string(id);
  r.centre_id = std::string(q.text(1));
  if (e == Entity::registration) {
    out.person = std::string(q.text(4));
    out.match_key = std::string(q.text(5));
    out.phone_key = std::string(q.text(6));
    out.email_key = std::string(q.text(7));
  }
  return decode_state(q.blob(3), r);
}

Status Store::Impl::save(const Record& r, Loaded& ld, uint64_t local_seq) {
  encode_state(r, state_buf);
  auto& st = of(r.entity);
  Query q(ld.rowid ? st.update : st.insert);
  q.bind(1, std::string_view(r.id)).bind(2, std::string_view(r.centre_id));
  int i = 3;
  for (const auto& fs : spec(r.entity).fields) {
    if (fs.field == Field::deleted) {
      q.bind(i++, int64_t{r.deleted()});
      continue;
    }
    const Value* v = r.get(fs.field);
    if (!v || v->index() == 0)
      q.bind_null(i);
    else if (auto* n = std::get_if<int64_t>(v))
      q.bind(i, *n);
    else if (auto* b = std::get_if<bool>(v))
      q.bind(i, int64_t{*b});
    else
      q.bind(i, std::string_view(std::get<std::string>(*v)));
    ++i;
  }
  q.bind(i, int64_t{r.erased}).bind(i + 1, r.updated_at_ms()).bind(i + 2, local_seq).bind_blob(i + 3, state_buf);
  q.bind(i + 4, record_hash(r.entity, r.id, r.centre_id, state_buf));
  PersonKeys keys;
  std::string person, holder;
  if (r.entity == Entity::registration) {
    if (!r.erased) keys = person_keys(r);
    person = person_of(r);
    auto text_or_null = [&q](int at, const std::string& v) {
      if (v.empty())
        q.bind_null(at);
      else
        q.bind(at, std::string_view(v));
    };
    q.bind(i + 5, std::string_view(person)).bind(i + 6, std::string_view(keys.name));
    text_or_null(i + 7, keys.match);
    text_or_null(i + 8, keys.phone);
    text_or_null(i + 9, keys.email);
    // The seat this registration holds now (schema/007_seats.sql). Bound
    // without a copy: `holder` lives until the statement runs.
    const seats::Reg g = seats::reg_of(r);
    if (g.confirmed()) holder = g.seat_by.empty() ? g.owner : g.seat_by;
    text_or_null(i + 10, holder);
  }
  if (Status s = run(q, "write record"); !s) return s;
  if (!ld.rowid) ld.rowid = sqlite3_last_insert_rowid(db);
  ld.local_seq = local_seq;
  if (r.entity == Entity::registration) {
    if (self.opts_.hub)
      if (Status s = people_saved(r, ld, keys, person); !s) return s;
    ld.person = std::move(person);
    ld.match_key = std::move(keys.match);
    ld.phone_key = std::move(keys.phone);
    ld.email_key = std::move(keys.email);
  }
  return Status::ok();
}

Status Store::Impl::host_of(std::string_view event_id, HostCache& cache_, std::string& out) {
  out.clear();
  if (event_id.empty()) return Status::ok();
  std::string key(event_id);
  if (auto it = cache_.find(key); it != cache_.end()) {
    out = it->second;
    return Status::ok();
  }
  Query q(event_host);
  q.bind(1, event_id);
  int rc = q.step();
  if (rc == SQLITE_ROW)
    out = std::string(q.text(0));
  else if (rc != SQLITE_DONE)
    return sql_error(db, rc, "read event");
  cache_.emplace(std::move(key), out);
  return Status::ok();
}

Status Store::Impl::append_log(const Change& c, const Audience& a, std::string_view payload) {
  Query q(log_insert);
  q.bind(1, std::string_view(c.origin)).bind(2, c.origin_seq).bind(3, c.hlc);
  q.bind(4, int64_t{static_cast<int>(c.entity)}).bind(5, std::string_view(c.record_id));
  q.bind(6, int64_t{a.everyone});
  if (a.owner_centre.empty())
    q.bind_null(7);
  else
    q.bind(7, std::string_view(a.owner_centre));
  if (a.host_centre.empty())
    q.bind_null(8);
  else
    q.bind(8, std::string_view(a.host_centre));
  q.bind_blob(9, payload);
  return run(q, "append change log");
}

Status Store::Impl::purge_personal(const Record& r) {
  std::vector<std::pair<int64_t, std::string>> rewrites;
  {
    Query q(log_by_record);
    q.bind(1, std::string_view(r.centre_id)).bind(2, std::string_view(r.id));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      auto c = wire::decode_change(q.blob(1));
      if (!c) return corrupt_payload();
      Change p = without_personal(*c);
      if (p.fields.size() == c->fields.size()) continue;
      if (p.op == Op::upsert && p.fields.empty()) p.op = Op::del;
      rewrites.emplace_back(q.i64(0), wire::encode_change(p));
    }
    if (rc != SQLITE_DONE) return sql_error(db, rc, "read change log");
  }
  for (const auto& [seq, payload] : rewrites) {
    Query u(log_set_payload);
    u.bind(1, seq).bind_blob(2, payload);
    if (Status s = run(u, "purge change log"); !s) return s;
  }
  return Status::ok();
}

Status Store::Impl::add_rejection(const Rejection& r) {
  Query q(rej_insert);
  q.bind(1, std::string_view(r.origin)).bind(2, r.origin_seq).bind(3, std::string_view(r.code));
  q.bind(4, std::string_view(r.field)).bind(5, std::string_view(r.message)).bind(6, r.at_ms);
  q.bind(7, std::string_view(r.entity)).bind(8, std::string_view(r.record_id));
  return run(q, "store rejection");
}

Result<bool> Store::Impl::take_quota(Entity e, const std::string& centre, int64_t limit, int64_t now_ms) {
  if (limit <= 0) return true;
  const int64_t day = now_ms / 86'400'000;
  Status err;
  Query q(cache.get("SELECT created FROM quota_usage WHERE centre_id = ?1 AND day = ?2 AND entity = ?3", &err));
  if (!err) return err;
  q.bind(1, std::string_view(centre)).bind(2, day).bind(3, static_cast<int64_t>(e));
  int rc = q.step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sql_error(db, rc, "read quota");
  if (rc == SQLITE_ROW && q.i64(0) >= limit) return false;
  Query up(
      cache.get("INSERT INTO quota_usage(centre_id, day, entity, created) VALUES (?1, ?2, ?3, 1) "
                "ON CONFLICT(centre_id, day, entity) DO UPDATE SET created = created + 1",
                &err));
  if (!err) return err;
  up.bind(1, std::string_view(centre)).bind(2, day).bind(3, static_cast<int64_t>(e));
  if (Status s = run(up, "count quota"); !s) return s;
  return true;
}

Result<uint64_t> Store::Impl::cursor_of(std::string_view origin) {
  Query q(cursor_get);
  q.bind(1, origin);
  int rc = q.step();
  if (rc == SQLITE_ROW) return q.u64(0);
  if (rc == SQLITE_DONE) return uint64_t{0};
  return sql_error(db, rc, "read origin cursor");
}

Result<uint64_t> Store::Impl::cursor_hlc_of(std::string_view origin) {
  Query q(cursor_get);
  q.bind(1, origin);
  int rc = q.step();
  if (rc == SQLITE_ROW) return q.u64(1);
  if (rc == SQLITE_DONE) return uint64_t{0};
  return sql_error(db, rc, "read origin cursor");
}

Status Store::Impl::set_cursor(std::string_view origin, uint64_t seq, uint64_t hlc) {
  Query q(cursor_set);
  q.bind(1, origin).bind(2, seq).bind(3, hlc);
  return run(q, "write origin cursor");
}

Status Store::Impl::checkpoint_truncate() {
  const int rc = store::injected_failure()
                     ? SQLITE_IOERR
                     : sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  if (rc != SQLITE_OK) return sql_error(db, rc, "checkpoint");
  return Status::ok();
}

void Store::Impl::checkpoint_after_erase() {
  erase_checkpoint_pending = true;
  if (Status s = checkpoint_truncate(); !s) {
    ++erase_checkpoint_failures;
    spdlog::warn(
        "store: WAL checkpoint after an erasure failed ({}); the erasure is committed, the next checkpoint "
        "clears the WAL",
        s.message());
    return;
  }
  erase_checkpoint_pending = false;
}

}  // namespace terril

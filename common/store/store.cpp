// The SQLite store. Schema and column meanings: common/store/schema/*.sql.
// Record state encoding: common/store/record_codec.cpp. Change-log payloads:
// serialized terril.v1.Change (common/wire).
//
// Every public method that writes runs in one BEGIN IMMEDIATE transaction and
// either commits whole or rolls back; the in-memory copies of persisted
// counters (HLC, own_seq, acked_seq, hub_cursor) are restored on rollback, so
// memory and disk never disagree. Every statement is prepared once.
#include "common/store/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <unordered_map>
#include <variant>

#include "common/core/merge.h"
#include "common/core/validate.h"
#include "common/store/migrations.h"
#include "common/store/record_codec.h"
#include "common/store/sqlite_util.h"
#include "common/wire/wire.h"

namespace terril {

using store::Query;
using store::sql_error;

namespace {

// meta keys owned by the store (set_meta refuses them).
constexpr std::string_view kMetaOrigin = "origin";
constexpr std::string_view kMetaOwnSeq = "own_seq";
constexpr std::string_view kMetaAcked = "acked_seq";
constexpr std::string_view kMetaHubCursor = "hub_cursor";
constexpr std::string_view kMetaHlcLast = "hlc_last";
constexpr std::string_view kMetaHlcOffset = "hlc_offset";
constexpr std::array kReservedMeta = {kMetaOrigin,    kMetaOwnSeq,  kMetaAcked,
                                      kMetaHubCursor, kMetaHlcLast, kMetaHlcOffset};

Status invalid(std::string en, std::string fr, std::string field = {}) {
  return Status(Code::invalid, std::move(en), std::move(field), std::move(fr));
}

// The database or its folder cannot be written by this process (a file
// left owned by root after running a command with sudo, a read-only mount).
Status not_writable(const std::string& path, const std::string& what) {
  struct stat st {};
  std::string owner = ::stat(path.c_str(), &st) == 0 ? " (owned by uid " + std::to_string(st.st_uid) + ")" : "";
  return Status(Code::io,
                "open " + path + ": " + what + owner + " is not writable by this user (uid " +
                    std::to_string(::geteuid()) +
                    "); it must belong to the daemon's user: chown -R terril-node: /var/lib/terril-node "
                    "(terril-hub: /var/lib/terril-hub on the hub)",
                {},
                "La base de données n'est pas modifiable par ce service (propriétaire ou droits des fichiers "
                "incorrects). Prévenez le technicien : « terril-node doctor » l'explique.");
}

// Before SQLite opens `path`: the file, if it exists, must be readable and
// writable, and its folder writable (the -wal and -shm files live there).
Status check_writable(const std::string& path) {
  if (::faccessat(AT_FDCWD, path.c_str(), F_OK, AT_EACCESS) == 0 &&
      ::faccessat(AT_FDCWD, path.c_str(), R_OK | W_OK, AT_EACCESS) != 0)
    return not_writable(path, "the database file");
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) return not_writable(dir, "the folder");
  return Status::ok();
}

Status corrupt_payload() {
  return Status(Code::io, "corrupt change-log payload");
}

template <typename T>
T parse_number(std::string_view s) {
  T v{};
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// The search columns and the time column of each entity, for list().
struct QueryColumns {
  std::array<std::string_view, 3> search;
  std::string_view time;
};
QueryColumns query_columns(Entity e) {
  switch (e) {
    case Entity::centre:
      return {{"name", "town", ""}, "created_at"};
    case Entity::event:
      return {{"title", "place", ""}, "starts_at"};
    case Entity::registration:
      return {{"first_name", "last_name", "email"}, "created_at"};
    case Entity::prototype_note:
      return {{"title", "summary", "tags"}, "created_at"};
  }
  return {};
}

// LIKE pattern matching `s` anywhere, with % _ \ escaped (ESCAPE '\').
std::string like_pattern(std::string_view s) {
  std::string p = "%";
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  p += '%';
  return p;
}

using BindValue = std::variant<int64_t, std::string>;

struct Where {
  std::string sql;  // " WHERE ..." or ""
  std::vector<BindValue> binds;
  void add(std::string clause) {
    sql += sql.empty() ? " WHERE " : " AND ";
    sql += clause;
  }
};

void bind_all(Query& q, const std::vector<BindValue>& binds) {
  int i = 1;
  for (const auto& b : binds) {
    if (std::holds_alternative<int64_t>(b))
      q.bind(i++, std::get<int64_t>(b));
    else
      q.bind(i++, std::string_view(std::get<std::string>(b)));
  }
}

// The WHERE clause of list/count_by/for_each on table alias `t`. Column names
// come from the whitelist below, never from the query; values are bound.
Status build_where(Entity e, const ListQuery& q, bool live_only, bool paged, Where& w) {
  for (const auto& [key, value] : q.filters) {
    bool ok = false;
    if (key == "centre_id") {
      w.add("t.centre_id = ?");
      w.binds.emplace_back(value);
      ok = true;
    } else if (key == "agglomeration" && e == Entity::centre) {
      w.add("t.agglomeration = ?");
      w.binds.emplace_back(value);
      ok = true;
    } else if (key == "agglomeration" && e == Entity::registration) {
      w.add("t.centre_id IN (SELECT c.id FROM centres c WHERE c.agglomeration = ?)");
      w.binds.emplace_back(value);
      ok = true;
    } else if (key == "attended" && e == Entity::registration) {
      if (value != "true" && value != "false")
        return invalid("filter attended must be true or false", "Le filtre « présence » doit valoir true ou false.",
                       "attended");
      w.add("coalesce(t.attended, 0) = ?");
      w.binds.emplace_back(int64_t{value == "true"});
      ok = true;
    } else if ((key == "event_id" || key == "role") && e == Entity::registration) {
      ok = true;
    } else if (key == "kind" && e == Entity::event) {
      ok = true;
    } else if (key == "status" && e == Entity::prototype_note) {
      ok = true;
    }
    if (!ok) return invalid("unknown filter for " + std::string(entity_name(e)), "Filtre inconnu : " + key + ".", key);
    if (key == "event_id" || key == "role" || key == "kind" || key == "status") {
      w.add("t." + key + " = ?");  // key is one of the four literals just checked
      w.binds.emplace_back(value);
    }
  }
  const QueryColumns cols = query_columns(e);
  if (!q.search.empty()) {
    std::string clause = "(";
    for (auto c : cols.search) {
      if (c.empty()) continue;
      if (clause.size() > 1) clause += " OR ";
      clause += "t.";
      clause += c;
      clause += " LIKE ? ESCAPE '\\'";
      w.binds.emplace_back(like_pattern(q.search));
    }
    w.add(clause + ")");
  }
  if (q.from_ms != 0) {
    w.add("t." + std::string(cols.time) + " >= ?");
    w.binds.emplace_back(q.from_ms);
  }
  if (q.to_ms != 0) {
    w.add("t." + std::string(cols.time) + " < ?");
    w.binds.emplace_back(q.to_ms);
  }
  if (live_only || !q.include_deleted) w.add("t.deleted = 0");
  if (paged && !q.after.empty()) {
    w.add("t.id > ?");
    w.binds.emplace_back(q.after);
  }
  return Status::ok();
}

std::string render_column(const Query& q, int c, ValueKind kind) {
  if (q.is_null(c)) return {};
  switch (kind) {
    case ValueKind::boolean:
      return q.i64(c) ? "true" : "false";
    case ValueKind::integer:
    case ValueKind::time:
      return std::to_string(q.i64(c));
    case ValueKind::text:
      return std::string(q.text(c));
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------

struct Store::Impl {
  // Statements per entity, by Entity number.
  struct EntityStmts {
    sqlite3_stmt* get = nullptr;     // rowid, centre_id, local_seq, state by id
    sqlite3_stmt* insert = nullptr;  // ?1 id ?2 centre ?3.. fields, erased, updated_at, local_seq, state
    sqlite3_stmt* update = nullptr;  // same parameters, by id
    sqlite3_stmt* count = nullptr;
    std::string table;
  };

  Store& self;
  sqlite3* db;
  std::string path;
  store::StmtCache cache;
  uint64_t own_seq = 0;
  uint64_t acked_seq = 0;
  uint64_t hub_cursor = 0;
  std::string state_buf;  // reused encoding buffer

  std::array<EntityStmts, 5> ent;
  sqlite3_stmt *begin_write = nullptr, *begin_read = nullptr, *commit_stmt = nullptr, *rollback_stmt = nullptr;
  sqlite3_stmt *savepoint_stmt = nullptr, *release_stmt = nullptr, *rollback_to_stmt = nullptr;
  sqlite3_stmt *meta_get = nullptr, *meta_set = nullptr, *counters_get = nullptr;
  sqlite3_stmt* event_host = nullptr;
  sqlite3_stmt *log_insert = nullptr, *log_by_record = nullptr, *log_set_payload = nullptr, *log_restamp = nullptr;
  sqlite3_stmt *own_after = nullptr, *unsent = nullptr, *log_compact = nullptr;
  sqlite3_stmt *fan_all = nullptr, *fan_owner = nullptr, *fan_host = nullptr, *log_payload = nullptr,
               *log_max = nullptr;
  sqlite3_stmt *cursor_get = nullptr, *cursor_set = nullptr;
  sqlite3_stmt *rej_insert = nullptr, *rej_list = nullptr, *rej_count = nullptr;

  // What a rollback restores.
  struct Saved {
    Hlc hlc;
    uint64_t own_seq, acked_seq, hub_cursor;
  };
  std::optional<Saved> saved;

  Impl(Store& s, sqlite3* d) : self(s), db(d), cache(d) {}

  Status prepare_all() {
    Status err;
    auto p = [&](sqlite3_stmt*& out, const std::string& sql) {
      if (err) out = cache.get(sql, &err);
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
    p(cursor_get, "SELECT seq FROM origin_cursors WHERE origin = ?1");
    p(cursor_set,
      "INSERT INTO origin_cursors(origin, seq) VALUES (?1, ?2) ON CONFLICT(origin) DO UPDATE SET seq = "
      "excluded.seq");
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
      for (const char* c : {"erased", "updated_at", "local_seq", "state"}) {
        cols += std::string(", ") + c;
        params += ", ?" + std::to_string(i);
        sets += std::string(", ") + c + " = ?" + std::to_string(i);
        ++i;
      }
      p(st.get, "SELECT rowid, centre_id, local_seq, state FROM " + st.table + " WHERE id = ?1");
      p(st.insert, "INSERT INTO " + st.table + "(" + cols + ") VALUES (" + params + ")");
      p(st.update, "UPDATE " + st.table + " SET " + sets + " WHERE id = ?1");
      p(st.count, "SELECT count(*) FROM " + st.table);
    }
    return err;
  }

  EntityStmts& of(Entity e) { return ent[static_cast<size_t>(e)]; }

  // Steps a statement that returns no row.
  Status run(Query& q, std::string_view what) {
    int rc = q.step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sql_error(db, rc, what);
    return Status::ok();
  }

  Status exec(sqlite3_stmt* st, std::string_view what) {
    Query q(st);
    return run(q, what);
  }

  // --- Transactions -------------------------------------------------------

  // Starts a transaction and reloads the persisted counters inside it: the
  // database is the truth, and another Store on the same file may have
  // written since (under BEGIN IMMEDIATE nobody else can until commit).
  Status begin(bool write) {
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
  Status commit() {
    Query q(commit_stmt);
    if (Status s = run(q, "commit"); !s) return s;
    saved.reset();
    return Status::ok();
  }
  void rollback() {
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

  // Rolls back on scope exit unless committed.
  struct Tx {
    Impl& im;
    bool open = false;
    explicit Tx(Impl& i) : im(i) {}
    ~Tx() {
      if (open) im.rollback();
    }
    Status begin(bool write = true) {
      Status s = im.begin(write);
      open = s.is_ok();
      return s;
    }
    Status commit() {
      Status s = im.commit();
      if (s) open = false;
      return s;
    }
  };

  // --- Meta ---------------------------------------------------------------

  Result<std::optional<std::string>> get_meta(std::string_view key) {
    Query q(meta_get);
    q.bind(1, key);
    int rc = q.step();
    if (rc == SQLITE_ROW) return std::optional<std::string>(std::string(q.text(0)));
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    return sql_error(db, rc, "read meta");
  }
  Status put_meta(std::string_view key, std::string_view value) {
    Query q(meta_set);
    q.bind(1, key).bind(2, value);
    return run(q, "write meta");
  }
  Status put_meta_u64(std::string_view key, uint64_t v) { return put_meta(key, std::to_string(v)); }
  Status persist_hlc() { return put_meta_u64(kMetaHlcLast, self.hlc_.last()); }

  Status load_counters() {
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

  // --- Records ------------------------------------------------------------

  struct Loaded {
    std::optional<Record> rec;
    int64_t rowid = 0;  // 0: no row yet
    uint64_t local_seq = 0;
  };

  Status load(Entity e, std::string_view id, Loaded& out) {
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
    return store::decode_state(q.blob(3), r);
  }

  // Writes r's row (insert when ld.rowid == 0, setting it) with its typed columns.
  Status save(const Record& r, Loaded& ld, uint64_t local_seq) {
    store::encode_state(r, state_buf);
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
    if (Status s = run(q, "write record"); !s) return s;
    if (!ld.rowid) ld.rowid = sqlite3_last_insert_rowid(db);
    ld.local_seq = local_seq;
    return Status::ok();
  }

  // Host centre of an event as this store knows it ("" if unknown).
  using HostCache = std::unordered_map<std::string, std::string>;
  Status host_of(std::string_view event_id, HostCache& cache_, std::string& out) {
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

  static std::string event_of(const std::optional<Record>& r) {
    if (!r) return {};
    auto t = r->text(Field::event_id);
    return t ? *t : std::string();
  }
  static std::string event_of(const Change& c) {
    const Value* v = c.get(Field::event_id);
    return v && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : std::string();
  }

  // --- Change log ---------------------------------------------------------

  Status append_log(const Change& c, const Audience& a, std::string_view payload) {
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

  // Removes personal fields from every logged payload of registration `r`
  // (logged with audience_owner = its owner centre, which never changes). An
  // UPSERT left with no field becomes a DELETE (a change must carry a field;
  // the record is erased anyway, so the tombstone is moot).
  Status purge_personal(const Record& r) {
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

  Status add_rejection(const Rejection& r) {
    Query q(rej_insert);
    q.bind(1, std::string_view(r.origin)).bind(2, r.origin_seq).bind(3, std::string_view(r.code));
    q.bind(4, std::string_view(r.field)).bind(5, std::string_view(r.message)).bind(6, r.at_ms);
    q.bind(7, std::string_view(r.entity)).bind(8, std::string_view(r.record_id));
    return run(q, "store rejection");
  }

  Result<uint64_t> cursor_of(std::string_view origin) {
    Query q(cursor_get);
    q.bind(1, origin);
    int rc = q.step();
    if (rc == SQLITE_ROW) return q.u64(0);
    if (rc == SQLITE_DONE) return uint64_t{0};
    return sql_error(db, rc, "read origin cursor");
  }

  Status checkpoint_truncate() {
    int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (rc != SQLITE_OK) return sql_error(db, rc, "checkpoint");
    return Status::ok();
  }

  // --- Local writes -------------------------------------------------------

  // One local write inside an open transaction. `erased` is set when it
  // erased a record (the caller checkpoints after commit).
  Result<Change> do_write(const LocalWrite& w, int64_t wall_ms, bool& erased);
};

// ---------------------------------------------------------------------------

Store::Store(sqlite3* db, StoreOptions opts)
    : db_(db), opts_(std::move(opts)), impl_(std::make_unique<Impl>(*this, db)) {}

Store::~Store() {
  impl_.reset();  // finalizes the statements first
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path, StoreOptions opts) {
  // New files (db, -wal, -shm) are created readable by this user only; SQLite
  // also gives -wal and -shm the mode of the db file.
  const mode_t old_mask = umask(077);
  struct RestoreMask {
    mode_t m;
    ~RestoreMask() { umask(m); }
  } restore{old_mask};

  if (Status s = check_writable(path); !s) return s;
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = sql_error(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  // SQLite silently falls back to read-only when the file is not writable
  // (owned by another user, e.g. after running a command as root): every
  // write would then fail. Refuse at once, saying what to fix.
  if (sqlite3_db_readonly(db, "main") == 1) {
    sqlite3_close_v2(db);
    return not_writable(path, "the database file");
  }
  std::unique_ptr<Store> store(new Store(db, std::move(opts)));
  sqlite3_extended_result_codes(db, 1);
  ::chmod(path.c_str(), 0600);

  auto exec = [&](const std::string& sql, std::string_view what) -> Status {
    int r = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    return r == SQLITE_OK ? Status::ok() : sql_error(db, r, what);
  };
  auto scalar = [&](const char* sql, std::string& out) -> Status {
    sqlite3_stmt* s = nullptr;
    int r = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    if (r == SQLITE_OK) {
      r = sqlite3_step(s);
      if (r == SQLITE_ROW) {
        auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        out = t ? t : "";
        r = SQLITE_OK;
      }
    }
    Status st = (r == SQLITE_OK || r == SQLITE_DONE) ? Status::ok() : sql_error(db, r, sql);
    sqlite3_finalize(s);
    return st;
  };

  // Every pragma, in one place. busy_timeout first: another connection may
  // be migrating. synchronous=FULL: a method that returned ok is on disk.
  // secure_delete: freed content is zeroed (ERASE must leave no trace).
  sqlite3_busy_timeout(db, 5000);
  std::string mode;
  if (Status s = scalar("PRAGMA journal_mode = WAL", mode); !s) return s;
  if (mode != "wal") return Status(Code::io, "open " + path + ": cannot enable WAL (journal_mode=" + mode + ")");
  if (Status s = exec("PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON; "
                      "PRAGMA trusted_schema = OFF; PRAGMA cache_size = -8192",
                      "pragmas");
      !s)
    return s;
  if (!store->opts_.durable) {
    if (Status s = exec("PRAGMA synchronous = OFF", "pragmas"); !s) return s;
  }
  if (store->opts_.max_page_count > 0) {
    std::string ignored;
    if (Status s = scalar(("PRAGMA max_page_count = " + std::to_string(store->opts_.max_page_count)).c_str(), ignored);
        !s)
      return s;
  }

  // Migrations: each in its own write transaction with its user_version,
  // re-read under the lock (another connection may be migrating). An
  // up-to-date database takes no write lock, so readers open freely.
  auto migrations = schema_migrations();
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  std::string version;
  if (Status s = scalar("PRAGMA user_version", version); !s) return s;
  auto newer = [&](const std::string& v) {
    return Status(Code::io, "open " + path + ": schema version " + v + " is newer than this software (" +
                                std::to_string(latest) + ")");
  };
  if (parse_number<int>(version) > latest) return newer(version);
  for (const Migration& m : migrations) {
    if (m.version <= parse_number<int>(version)) continue;
    if (Status s = exec("BEGIN IMMEDIATE", "migrate"); !s) return s;
    std::string v;
    Status s = scalar("PRAGMA user_version", v);
    const int current = s ? parse_number<int>(v) : 0;
    if (s && current > latest) s = newer(v);
    if (s && m.version > current) {
      s = exec(m.sql, "migration " + std::to_string(m.version));
      if (s) s = exec("PRAGMA user_version = " + std::to_string(m.version), "migrate");
    }
    if (s) s = exec("COMMIT", "migrate");
    if (!s) {
      exec("ROLLBACK", "migrate");
      return s;
    }
  }
  ::chmod((path + "-wal").c_str(), 0600);
  ::chmod((path + "-shm").c_str(), 0600);

  Impl& im = *store->impl_;
  im.path = path;
  if (Status s = im.prepare_all(); !s) return s;
  if (Status s = im.load_counters(); !s) return s;
  auto stored_origin = im.get_meta(kMetaOrigin);
  if (!stored_origin) return stored_origin.status();
  if (store->opts_.hub && store->opts_.origin.empty()) store->opts_.origin = std::string(kHubOrigin);
  if (store->opts_.origin.empty() && stored_origin->has_value()) store->opts_.origin = **stored_origin;
  if (!store->opts_.origin.empty()) {
    if (Status s = store->set_origin(store->opts_.origin); !s) return s;
  }
  return store;
}

Status Store::set_origin(std::string origin) {
  if (origin != kHubOrigin && !valid_node_id(origin))
    return invalid("origin is not a valid node id", "Identifiant de poste invalide.");
  auto stored = impl_->get_meta(kMetaOrigin);
  if (!stored) return stored.status();
  if (stored->has_value() && **stored != origin && impl_->own_seq > 0)
    return Status(Code::conflict, "this database already issued changes as origin " + **stored, {},
                  "Cette base a déjà enregistré des modifications sous un autre identifiant de poste.");
  if (!stored->has_value() || **stored != origin)
    if (Status s = impl_->put_meta(kMetaOrigin, origin); !s) return s;
  opts_.origin = std::move(origin);
  return Status::ok();
}

Result<std::optional<std::string>> Store::meta(std::string_view key) {
  return impl_->get_meta(key);
}

Status Store::set_meta(std::string_view key, std::string_view value) {
  if (std::find(kReservedMeta.begin(), kReservedMeta.end(), key) != kReservedMeta.end())
    return invalid("meta key " + std::string(key) + " belongs to the store", "Réglage réservé.");
  return impl_->put_meta(key, value);
}

// --- Writes ----------------------------------------------------------------

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

Result<Change> Store::write(const LocalWrite& w, int64_t wall_ms) {
  Impl::Tx tx(*impl_);
  if (Status s = tx.begin(); !s) return s;
  bool erased = false;
  auto c = impl_->do_write(w, wall_ms, erased);
  if (!c) return c;
  if (c->origin_seq == 0) return c;  // nothing changed; the transaction rolls back, empty
  if (Status s = tx.commit(); !s) return s;
  if (erased) impl_->checkpoint_truncate();  // best effort: a reader may hold the WAL
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

// --- Sync ------------------------------------------------------------------

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
  if (any_erase) im.checkpoint_truncate();
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

    auto reject = [&](const Status& why, const char* code) -> Status {
      Rejection r{node_id,
                  c.origin_seq,
                  code ? code : code_name(why.code()),
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
      if (Status s = reject(v, "invalid"); !s) return s;
      continue;
    }
    if (c.origin != node_id) {
      if (Status s = reject(Status(Code::forbidden, "origin is not the sending node", {},
                                   "Modification refusée : elle ne vient pas de ce poste."),
                            "forbidden");
          !s)
        return s;
      continue;
    }
    if (hlc_ms(c.hlc) > max_ms) {
      if (Status s = reject(Status(Code::invalid, "stamped in the future", {},
                                   "Modification refusée : elle est datée dans le futur (horloge du poste "
                                   "déréglée). Vérifiez la date du poste."),
                            "clock_skew");
          !s)
        return s;
      continue;
    }
    if (Status s = im.load(c.entity, c.record_id, ld); !s) return s;
    const std::string event_before = c.entity == Entity::registration ? Impl::event_of(ld.rec) : std::string();
    if (judge) {
      if (c.entity == Entity::registration) {
        const std::string ev = ld.rec ? event_before : Impl::event_of(c);
        if (Status s = im.host_of(ev, hosts, host); !s) return s;
      } else {
        host.clear();
      }
      if (Status verdict = judge(c, ld.rec ? &*ld.rec : nullptr, host); !verdict) {
        if (Status s = reject(verdict, nullptr); !s) return s;
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
    Query q(im.cursor_set);
    q.bind(1, std::string_view(node_id)).bind(2, cursor);
    if (Status s = im.run(q, "write origin cursor"); !s) return s;
    wrote = true;
  }
  report.cursor = cursor;
  return Status::ok();
}

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
  for (const Change& c : changes) {
    if (Status v = validate_change(c); !v) {
      // The hub validated it; keep it visible rather than drop it silently.
      Rejection r{c.origin,
                  c.origin_seq,
                  "invalid",
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
  im.hub_cursor = last_seq;
  if (Status s = im.put_meta_u64(kMetaHubCursor, last_seq); !s) return s;
  if (Status s = im.persist_hlc(); !s) return s;
  if (Status s = tx.commit(); !s) return s;
  if (any_erase) im.checkpoint_truncate();
  report.cursor = last_seq;
  return report;
}

Result<Outgoing> Store::own_changes_after(uint64_t after, size_t limit) {
  Outgoing out;
  out.last_seq = after;
  if (opts_.origin.empty() || limit == 0) return out;
  Query q(impl_->own_after);
  q.bind(1, std::string_view(opts_.origin)).bind(2, after).bind(3, static_cast<int64_t>(limit));
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    auto c = wire::decode_change(q.blob(1));
    if (!c) return corrupt_payload();
    out.last_seq = q.u64(0);
    out.changes.push_back(std::move(*c));
  }
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "read change log");
  return out;
}

Result<Outgoing> Store::changes_for_centre(const std::string& centre, const std::string& node_id, uint64_t after,
                                           size_t limit) {
  Impl& im = *impl_;
  Outgoing out;
  out.last_seq = after;
  if (limit == 0) return out;
  Impl::Tx tx(im);  // one snapshot for the streams and the payloads
  if (Status s = tx.begin(false); !s) return s;
  // Three streams, each sorted by seq and cut at `limit`: the `limit`
  // smallest of their union are exactly the first `limit` routed changes.
  std::vector<uint64_t> seqs;
  for (sqlite3_stmt* st : {im.fan_all, im.fan_owner, im.fan_host}) {
    Query q(st);
    q.bind(1, after).bind(2, std::string_view(node_id)).bind(3, static_cast<int64_t>(limit));
    if (st != im.fan_all) q.bind(4, std::string_view(centre));
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) seqs.push_back(q.u64(0));
    if (rc != SQLITE_DONE) return sql_error(im.db, rc, "read change log");
  }
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  if (seqs.size() >= limit) {
    seqs.resize(limit);
    out.last_seq = seqs.back();
  } else {
    Query q(im.log_max);
    if (q.step() != SQLITE_ROW) return sql_error(im.db, SQLITE_ERROR, "read change log");
    out.last_seq = std::max(after, q.u64(0));
  }
  out.changes.reserve(seqs.size());
  for (uint64_t seq : seqs) {
    Query q(im.log_payload);
    q.bind(1, seq);
    int rc = q.step();
    if (rc != SQLITE_ROW) return sql_error(im.db, rc, "read change log");
    auto c = wire::decode_change(q.blob(0));
    if (!c) return corrupt_payload();
    out.changes.push_back(std::move(*c));
  }
  if (Status s = tx.commit(); !s) return s;
  return out;
}

// --- Cursors and clock -------------------------------------------------------

Result<uint64_t> Store::origin_cursor(const std::string& origin) {
  return impl_->cursor_of(origin);
}

Status Store::set_acked(uint64_t seq) {
  if (opts_.hub) return invalid("set_acked runs on a node", "Opération réservée aux postes.");
  Impl& im = *impl_;
  Impl::Tx tx(im);
  if (Status s = tx.begin(); !s) return s;
  if (seq <= im.acked_seq) return Status::ok();
  im.acked_seq = seq;
  if (Status s = im.put_meta_u64(kMetaAcked, seq); !s) return s;
  if (seq > im.own_seq) {
    // The hub holds more of our changes than this database issued (restored
    // from an old copy): never reuse those numbers.
    im.own_seq = seq;
    if (Status s = im.put_meta_u64(kMetaOwnSeq, seq); !s) return s;
  }
  Query q(im.log_compact);
  q.bind(1, std::string_view(opts_.origin)).bind(2, seq);
  if (Status s = im.run(q, "compact change log"); !s) return s;
  return tx.commit();
}

Status Store::add_rejections(const std::vector<Rejection>& r) {
  Impl::Tx tx(*impl_);
  if (Status s = tx.begin(); !s) return s;
  for (const auto& x : r)
    if (Status s = impl_->add_rejection(x); !s) return s;
  return tx.commit();
}

Result<std::vector<Rejection>> Store::rejections(size_t limit) {
  std::vector<Rejection> out;
  Query q(impl_->rej_list);
  q.bind(1, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  int rc;
  while ((rc = q.step()) == SQLITE_ROW)
    out.push_back(Rejection{std::string(q.text(0)), q.u64(1), std::string(q.text(2)), std::string(q.text(3)),
                            std::string(q.text(4)), q.i64(5), std::string(q.text(6)), std::string(q.text(7))});
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "read rejections");
  return out;
}

Result<std::vector<std::pair<std::string, uint64_t>>> Store::rejections_by_origin() {
  Status err;
  sqlite3_stmt* st = impl_->cache.get("SELECT origin, count(*) FROM rejections GROUP BY origin ORDER BY origin", &err);
  if (!st) return err;
  Query q(st);
  std::vector<std::pair<std::string, uint64_t>> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) out.emplace_back(std::string(q.text(0)), q.u64(1));
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "rejections by origin");
  return out;
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

// --- Records -----------------------------------------------------------------

Result<std::optional<Record>> Store::get(Entity e, const std::string& id) {
  if (!valid_entity(static_cast<uint32_t>(e))) return invalid("unknown entity", "Type de fiche inconnu.");
  Impl::Loaded ld;
  if (Status s = impl_->load(e, id, ld); !s) return s;
  return std::move(ld.rec);
}

Result<uint64_t> Store::local_seq(Entity e, const std::string& id) {
  if (!valid_entity(static_cast<uint32_t>(e))) return invalid("unknown entity", "Type de fiche inconnu.");
  Impl::Loaded ld;
  if (Status s = impl_->load(e, id, ld); !s) return s;
  return ld.local_seq;
}

namespace {
Status read_record(Entity e, const Query& q, Record& r) {
  r = Record{};
  r.entity = e;
  r.id = std::string(q.text(0));
  r.centre_id = std::string(q.text(1));
  return store::decode_state(q.blob(2), r);
}
}  // namespace

Result<Page> Store::list(Entity e, const ListQuery& q) {
  if (!valid_entity(static_cast<uint32_t>(e))) return invalid("unknown entity", "Type de fiche inconnu.");
  Where w;
  if (Status s = build_where(e, q, false, true, w); !s) return s;
  const size_t limit = std::clamp<size_t>(q.limit, 1, 1000);
  const std::string sql =
      "SELECT t.id, t.centre_id, t.state FROM " + std::string(spec(e).table) + " t" + w.sql + " ORDER BY t.id LIMIT ?";
  Status err;
  sqlite3_stmt* st = impl_->cache.get(sql, &err);
  if (!st) return err;
  Query query(st);
  bind_all(query, w.binds);
  query.bind(static_cast<int>(w.binds.size()) + 1, static_cast<int64_t>(limit + 1));
  Page page;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) {
    if (page.items.size() == limit) {
      page.next = page.items.back().id;
      break;
    }
    Record r;
    if (Status s = read_record(e, query, r); !s) return s;
    page.items.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sql_error(db_, rc, "list");
  return page;
}

Result<std::vector<std::pair<std::string, uint64_t>>> Store::count_by(Entity e, const std::string& column,
                                                                      const ListQuery& q) {
  if (!valid_entity(static_cast<uint32_t>(e))) return invalid("unknown entity", "Type de fiche inconnu.");
  std::string expr;
  ValueKind kind = ValueKind::text;
  if (column == "centre_id") {
    expr = "t.centre_id";
  } else if (column == "agglomeration" && e == Entity::registration) {
    expr = "(SELECT c.agglomeration FROM centres c WHERE c.id = t.centre_id)";
  } else if (const FieldSpec* fs = field_spec(e, column); fs && !fs->personal) {
    expr = "t." + std::string(fs->name);  // a name from the field table, not the caller's string
    kind = fs->kind;
  } else {
    return invalid("cannot count by " + column, "Regroupement impossible : " + column + ".", column);
  }
  Where w;
  if (Status s = build_where(e, q, true, false, w); !s) return s;
  const std::string sql =
      "SELECT " + expr + " AS k, count(*) FROM " + std::string(spec(e).table) + " t" + w.sql + " GROUP BY k ORDER BY k";
  Status err;
  sqlite3_stmt* st = impl_->cache.get(sql, &err);
  if (!st) return err;
  Query query(st);
  bind_all(query, w.binds);
  std::vector<std::pair<std::string, uint64_t>> out;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) out.emplace_back(render_column(query, 0, kind), query.u64(1));
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "count");
  return out;
}

Status Store::for_each(Entity e, const ListQuery& q, const std::function<bool(const Record&)>& fn) {
  if (!valid_entity(static_cast<uint32_t>(e))) return invalid("unknown entity", "Type de fiche inconnu.");
  Where w;
  if (Status s = build_where(e, q, true, true, w); !s) return s;
  const std::string sql =
      "SELECT t.id, t.centre_id, t.state FROM " + std::string(spec(e).table) + " t" + w.sql + " ORDER BY t.id";
  // A statement of its own (not cached): fn may call back into the store.
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return sql_error(db_, rc, "export");
  }
  struct Finalize {
    sqlite3_stmt* s;
    ~Finalize() { sqlite3_finalize(s); }
  } fin{st};
  Query query(st);
  bind_all(query, w.binds);
  Record r;
  while ((rc = query.step()) == SQLITE_ROW) {
    if (Status s = read_record(e, query, r); !s) return s;
    if (!fn(r)) return Status::ok();
  }
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "export");
  return Status::ok();
}

// --- Maintenance -------------------------------------------------------------

Result<StoreStats> Store::stats() {
  Impl& im = *impl_;
  StoreStats st;
  Impl::Tx tx(im);
  if (Status s = tx.begin(false); !s) return s;
  st.own_seq = im.own_seq;
  st.acked_seq = im.acked_seq;
  st.pending = st.own_seq > st.acked_seq ? st.own_seq - st.acked_seq : 0;
  if (opts_.hub) {
    Query q(im.log_max);
    if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(db_, rc, "stats");
    st.hub_cursor = q.u64(0);
  } else {
    st.hub_cursor = im.hub_cursor;
  }
  for (const auto& es : entities()) {
    Query q(im.of(es.entity).count);
    if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(db_, rc, "stats");
    st.records += q.u64(0);
  }
  {
    Query q(im.rej_count);
    if (int rc = q.step(); rc != SQLITE_ROW) return sql_error(db_, rc, "stats");
    st.rejections = q.u64(0);
  }
  if (Status s = tx.commit(); !s) return s;
  struct stat sb;
  if (::stat(im.path.c_str(), &sb) == 0) st.db_bytes = sb.st_size;
  if (::stat((im.path + "-wal").c_str(), &sb) == 0) st.wal_bytes = sb.st_size;
  return st;
}

Status Store::integrity_check() {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db_, "PRAGMA integrity_check", -1, &st, nullptr);
  std::string result;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      result = t ? t : "";
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW) return sql_error(db_, rc, "integrity_check");
  if (result != "ok") return Status(Code::io, "integrity_check: " + result);
  return Status::ok();
}

Status Store::checkpoint() {
  return impl_->checkpoint_truncate();
}

}  // namespace terril

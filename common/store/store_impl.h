// Store::Impl, the internals shared by the store's role files (store_*.cpp):
// the prepared statements, the transaction discipline, the record and
// change-log primitives, and the meta keys the store owns. Internal to
// common/store; nothing outside it includes this header. Schema and column
// meanings: common/store/schema/*.sql. Record state encoding:
// common/core/record_codec.cpp. Change-log payloads: serialized
// terril.v1.Change (common/wire).
//
// Transactions: every public method that writes runs in one BEGIN IMMEDIATE
// transaction (Impl::Tx) and either commits whole or rolls back; the
// in-memory copies of persisted counters (HLC, own_seq, acked_seq,
// hub_cursor) are restored on rollback, so memory and disk never disagree.
// The fixed statements are prepared once and pinned (store::StmtCache::pin);
// SQL built per request goes through the bounded cache (StmtCache::get).
//
// Thread rules: those of Store (one thread at a time).
#pragma once

#include <sqlite3.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/core/digest.h"
#include "common/core/routing.h"
#include "common/core/people.h"
#include "common/core/seats.h"
#include "common/store/sqlite_util.h"
#include "common/store/store.h"

namespace terril {

namespace store {

// meta keys owned by the store (set_meta refuses them).
inline constexpr std::string_view kMetaOrigin = "origin";
inline constexpr std::string_view kMetaOwnSeq = "own_seq";
inline constexpr std::string_view kMetaAcked = "acked_seq";
inline constexpr std::string_view kMetaHubCursor = "hub_cursor";
inline constexpr std::string_view kMetaHlcLast = "hlc_last";
inline constexpr std::string_view kMetaHlcOffset = "hlc_offset";
inline constexpr std::array kReservedMeta = {kMetaOrigin,    kMetaOwnSeq,  kMetaAcked,
                                             kMetaHubCursor, kMetaHlcLast, kMetaHlcOffset};

inline Status invalid(std::string en, std::string fr, std::string field = {}) {
  return Status(Code::invalid, std::move(en), std::move(field), std::move(fr));
}

inline Status corrupt_payload() {
  return Status(Code::io, "corrupt change-log payload");
}

// The number in `s`, or 0 when it is not one (a missing meta value).
template <typename T>
T parse_number(std::string_view s) {
  T v{};
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace store

using store::corrupt_payload;
using store::invalid;
using store::parse_number;
using store::Query;
using store::sql_error;

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
  // WAL checkpoints after an erasure that failed, since open (StoreStats).
  uint64_t erase_checkpoint_failures = 0;
  // An erasure committed since the last WAL checkpoint that succeeded: the
  // erased bytes may still be in the WAL (Store::retry_erase_checkpoint).
  bool erase_checkpoint_pending = false;
  // StoreOptions::fail_after, armed by Tx::begin(write) on this thread.
  std::optional<store::FailPoint> fail_point;

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

  Impl(Store& s, sqlite3* d) : self(s), db(d), cache(d) {
    if (s.opts_.fail_after >= 0) fail_point.emplace(s.opts_.fail_after);
  }

  // Prepares every statement above. Errors: io.
  Status prepare_all();

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
  Status begin(bool write);
  Status commit();
  // Rolls back (if SQLite has not already) and restores the saved counters.
  void rollback();

  // Rolls back on scope exit unless committed. A write transaction arms the
  // store's fail point (tests only) until the Tx is destroyed, so the
  // checkpoint a method makes after commit is counted too.
  struct Tx {
    Impl& im;
    bool open = false;
    std::optional<store::FailScope> fail_scope;
    explicit Tx(Impl& i) : im(i) {}
    ~Tx() {
      if (open) im.rollback();
    }
    Status begin(bool write = true) {
      if (write && im.fail_point) fail_scope.emplace(*im.fail_point);
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

  Result<std::optional<std::string>> get_meta(std::string_view key);
  Status put_meta(std::string_view key, std::string_view value);
  Status put_meta_u64(std::string_view key, uint64_t v) { return put_meta(key, std::to_string(v)); }
  Status persist_hlc() { return put_meta_u64(store::kMetaHlcLast, self.hlc_.last()); }
  // Reads own_seq, acked_seq, hub_cursor and the HLC from meta.
  Status load_counters();

  // --- Records ------------------------------------------------------------

  struct Loaded {
    std::optional<Record> rec;
    int64_t rowid = 0;  // 0: no row yet
    uint64_t local_seq = 0;
    // Registrations: the derived person columns as the row held them when
    // loaded (schema/006_people.sql), so save() sees what changed.
    std::string person, match_key, phone_key, email_key;
  };

  // The record `id` (out.rec empty when there is none).
  Status load(Entity e, std::string_view id, Loaded& out);
  // Writes r's row (insert when ld.rowid == 0, setting it) with its typed
  // columns; for a registration also the derived person columns, and on the
  // hub the duplicate queue they feed (people_saved).
  Status save(const Record& r, Loaded& ld, uint64_t local_seq);

  // --- People (store_people.cpp) -------------------------------------------

  // Hub, after a registration's row is written: finds persons of other
  // centres it may be (new or changed keys) and adds or widens their pairs;
  // after an erasure removes the pairs of a person with no live
  // registration left. `before` holds the row's derived columns as loaded.
  Status people_saved(const Record& r, const Loaded& before, const PersonKeys& keys, const std::string& person);
  // Adds the pair of persons (p of centre pc, q of qc) or widens its rules
  // while it is open; a decided pair is left as it is.
  Status upsert_pair(const std::string& p, const std::string& pc, const std::string& q, const std::string& qc,
                     const std::vector<DuplicateRule>& rules, int64_t at_ms);
  // The pairs of `person` go when no live registration of theirs is left.
  Status drop_pairs_if_gone(const std::string& person);
  // Fills the derived person columns of rows written before 006 (one pass).
  Status backfill_people();

  // Host centre of an event as this store knows it ("" if unknown).
  using HostCache = std::unordered_map<std::string, std::string>;
  Status host_of(std::string_view event_id, HostCache& cache_, std::string& out);

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

  Status append_log(const Change& c, const Audience& a, std::string_view payload);
  // Removes personal fields from every logged payload of registration `r`
  // (logged with audience_owner = its owner centre, which never changes). An
  // UPSERT left with no field becomes a DELETE (a change must carry a field;
  // the record is erased anyway, so the tombstone is moot).
  Status purge_personal(const Record& r);
  Status add_rejection(const Rejection& r);
  // Hub: counts one node-made creation of `e` for `centre` on the UTC day of
  // now_ms, unless `limit` creations were counted that day already: then
  // false, nothing counted. limit <= 0: no quota (true, nothing counted).
  Result<bool> take_quota(Entity e, const std::string& centre, int64_t limit, int64_t now_ms);
  Result<uint64_t> cursor_of(std::string_view origin);
  // The hlc stored with origin's cursor (0: none, or from before 003).
  Result<uint64_t> cursor_hlc_of(std::string_view origin);
  Status set_cursor(std::string_view origin, uint64_t seq, uint64_t hlc);

  // wal_checkpoint(TRUNCATE). Errors: io (SQLITE_BUSY included).
  Status checkpoint_truncate();
  // Records of entity `e` in range `k` within `scope` (the hub: what centre
  // `scope` should hold; "" = every row), in no particular order:
  // fn(centre, id, hash).
  Status scan_range(const std::string& scope, const RangeKey& k,
                    const std::function<void(std::string_view, std::string_view, uint64_t)>& fn);
  // Fills the digest column of rows written before migration 003.
  Status backfill_digests();
  // Deletes the row of record `ref` (a node purging what it may not hold).
  Status delete_row(const RecordRef& ref);

  // After a committed erasure: truncate the WAL so the erased bytes leave
  // it too. Best effort: a reader may hold the WAL, and the erasure is
  // committed either way; a failure is logged (no personal data) and
  // counted in erase_checkpoint_failures, and the next checkpoint (SQLite's
  // own, or Store::checkpoint) removes the bytes.
  void checkpoint_after_erase();

  // --- Seats (store_seats.cpp; common/core/seats.h) ---------------------------

  // The seat rules' view of event `event_id` (nullopt: unknown or deleted).
  Result<std::optional<seats::EventSeats>> event_seats(std::string_view event_id);
  Status event_seats_of(const Record& event, seats::EventSeats& out);
  // Live confirmations of the event backed by `holder`, but `except_id`.
  Result<int64_t> confirmed_by(std::string_view event_id, std::string_view holder, std::string_view except_id);
  Result<seats::Tally> seat_tally(std::string_view event_id);
  // Live registrations of the event not confirmed, oldest first, of
  // `owner` ("" = every centre's), at most `limit`.
  Result<std::vector<seats::Reg>> waiting_list(std::string_view event_id, std::string_view owner, int64_t limit);
  // Node: adds the seat to a registration write that creates it or moves it
  // to another event (seats::decide for this centre); leaves any other
  // write, and one that sets the seat itself (the rules' own), as it is.
  Status seat_for_write(LocalWrite& w);
  // An event write touching capacity or allotments: as the host
  // (seats::check_host_edit), or as the hub admin (`admin`: an existing
  // event's capacity and allotments are the host's). Errors: invalid.
  Status check_event_write(const LocalWrite& w, bool admin);
  // Node: this centre's step as a holder of event `event_id` (seats::plan),
  // made as local writes in the open transaction until nothing is left to
  // do; `writes` counts them.
  Status reconcile(std::string_view event_id, int64_t wall_ms, uint64_t& writes);
  // The events whose seats change `c` may move (the registration's old and
  // new event, the event itself, the events a centre's returns name).
  Status events_touched(const Change& c, const std::optional<Record>& before, std::vector<std::string>& out);
  // Hub: the counts behind a node's change (a confirmation, a host's edit,
  // a return) against the hub's view. Errors: forbidden / invalid, French.
  Status judge_seats(const Change& c, const std::optional<Record>& existing);

  // --- Local writes -------------------------------------------------------

  // One local write inside an open transaction. `erased` is set when it
  // erased a record (the caller checkpoints after commit).
  Result<Change> do_write(const LocalWrite& w, int64_t wall_ms, bool& erased);
};

}  // namespace terril

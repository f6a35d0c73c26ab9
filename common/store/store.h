// The SQLite store shared by node and hub: records (merged state + typed
// columns for queries), the change log, cursors, HLC state, rejections.
//
// Every method runs in its own transaction and either commits whole or leaves
// the store unchanged. With synchronous=FULL, a method that returned ok is on
// disk. A Store is used from one thread at a time (the daemon's store thread
// or strand); open several Store objects on one file for concurrent readers.
//
// Schema: common/store/schema/NNN_*.sql, applied in order, PRAGMA user_version
// = the number of the last one applied. The implementation is split by role:
// store_open.cpp (open, migrations, meta, maintenance), store_write.cpp
// (local writes), store_hub.cpp (hub apply, group commit), store_node.cpp
// (node apply, clock), store_outgoing.cpp (changes to send, cursors),
// store_query.cpp (records, lists, counts); store_impl.h holds the internals
// they share. The hub's node registry shares the file: hub_registry.h.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/digest.h"
#include "common/core/hlc.h"
#include "common/core/model.h"
#include "common/core/people.h"
#include "common/core/routing.h"
#include "common/core/seats.h"
#include "common/core/status.h"

struct sqlite3;

namespace terril {

namespace store::testing {
struct Access;  // common/store/testing.h: the raw connection, for tests only
}  // namespace store::testing

struct StoreOptions {
  // This replica's origin: "hub" on the hub, the node id on a node (may be
  // empty before enrolment; writes are then refused).
  std::string origin;
  // The role, fixed at open: true on the hub, false on a node. Methods
  // documented "Hub:" or "Node:" below are meant for that role;
  // apply_from_node(s), apply_from_hub and set_acked refuse the other one
  // (invalid).
  bool hub = false;
  // Node: this node's centre, for whom the seat rules act here (seats.h);
  // "" (the hub, or a node before enrolment): the rules make no write.
  std::string centre;
  // Simulate a full disk in tests (PRAGMA max_page_count); 0 = unlimited.
  int64_t max_page_count = 0;
  // false: synchronous=OFF. Only for preparing benchmark data in bulk; the
  // daemons never set it.
  bool durable = true;
  // Refuse changes stamped more than this ahead of the hub's clock (hub only).
  int64_t max_future_ms = 5 * 60 * 1000;
  // Hub only: events and prototype notes an owner centre's nodes may create
  // per UTC day of the hub's clock (they reach every box); the change past
  // it is rejected alone, with a French message. 0 = no quota. The hub
  // admin's own writes are not counted.
  int64_t daily_event_quota = 0;
  int64_t daily_note_quota = 0;
  // Tests only (fault injection): when >= 0, the SQLite calls this Store
  // makes inside its write transactions (every statement step, and the WAL
  // checkpoint after an erasure) are counted from open, and call number
  // fail_after (0-based) fails with an I/O error instead of running; once.
  // -1 (the daemons): off, at the cost of one thread-local load per step.
  int64_t fail_after = -1;
};

// A write made here (by staff through the API, or the hub admin).
struct LocalWrite {
  Entity entity = Entity::registration;
  std::string record_id;  // new UUID for a creation
  std::string centre_id;  // owner centre
  Op op = Op::upsert;
  std::vector<FieldValue> fields;  // any order; the store sorts them
};

// A change the hub refused, kept by both sides.
struct Rejection {
  std::string origin;
  uint64_t origin_seq = 0;
  std::string code;  // "forbidden", "invalid", "clock_skew"
  std::string field;
  std::string message;  // French
  int64_t at_ms = 0;
  std::string entity;  // entity name
  std::string record_id;
};

// The hub decides, for each change from a node, whether the node may make it.
// Called inside the apply transaction with the record as the hub holds it and
// the host centre of the registration's event ("" if unknown).
using Judge = std::function<Status(const Change&, const Record* existing, const std::string& event_host_centre)>;

struct ApplyReport {
  uint64_t applied = 0;     // changes merged
  uint64_t duplicates = 0;  // already held, skipped
  std::vector<Rejection> rejections;
  uint64_t cursor = 0;  // after the batch: hub's origin cursor for this node / node's hub cursor
  // Hub: who the applied changes are routed to, so only those sessions wake.
  bool to_everyone = false;
  std::vector<std::string> to_centres;  // owner and host centres, unique
  // Hub, NodeBatch::records: merged (something won), already equal or
  // older, refused (not the node's to give, or stamped in the future), and
  // those the node holds but may not (it must purge them).
  uint64_t repaired = 0, repair_stale = 0, repair_refused = 0;
  std::vector<RecordRef> purge;
  // Hub: registrations whose host centre changed (their event moved to
  // another centre's event): the new host needs the whole record and the
  // old one must purge it. (entity is registration.)
  struct Move {
    std::string id, owner, old_host, new_host;
  };
  std::vector<Move> moves;
  // Node: changes the seat rules made here while applying (promotions,
  // returns, grants): to send.
  uint64_t seat_writes = 0;
};

// An event's seats as one replica knows them (Store::seat_summary).
struct SeatSummary {
  seats::EventSeats event;
  std::vector<seats::Holding> holders;  // empty when the event has no limit
  int64_t confirmed = 0, waiting = 0;   // live registrations here
};

// Hub: one batch received from a node, for Store::apply_from_nodes.
struct NodeBatch {
  std::string node_id;
  std::vector<Change> changes;
  Judge judge;
  // Anti-entropy: whole records the node sends (Repair), merged after the
  // changes. A record is taken when it is the node's centre's own, or when
  // `witness` (the node applied hub history this hub lost: the hub was
  // restored) and the node may hold it; a record the node may not hold is
  // not merged unless `witness` and is listed in ApplyReport::purge.
  std::vector<Record> records;
  std::string node_centre;  // the node's centre (records above; the seat rules' judge of changes)
  bool witness = false;
};

struct ListQuery {
  // Exact-match filters on columns: "centre_id", "event_id", "role", "kind",
  // "status", "attended" ("true"/"false"), "agglomeration" (registrations:
  // via their centre), "person_id" (registrations: the person, people.h
  // person_of), "qpv", "genre". Unknown keys are an error.
  std::vector<std::pair<std::string, std::string>> filters;
  std::string search;   // case-insensitive substring of name fields / title
  int64_t from_ms = 0;  // created_at (registrations, notes) or starts_at (events) >= from
  int64_t to_ms = 0;    // ... < to; 0 = no bound
  bool include_deleted = false;
  std::string after;  // paging cursor from Page::next
  size_t limit = 50;  // 1..1000
  // Order, for people never by id: "" is the entity's own (registrations by
  // last then first name, accents and case folded; events by start, soonest
  // first; centres by name; prototype notes by last change, newest first),
  // "name" (by name or title), "date" (registrations by creation, newest
  // first; events by start; centres and notes by creation, newest first).
  // Anything else is an error (invalid, field "sort"). Ties by id.
  std::string sort;
};

struct Page {
  std::vector<Record> items;
  std::string next;  // empty when this is the last page
};

// A change to send, with the sequence it was read at.
struct Outgoing {
  std::vector<Change> changes;
  uint64_t last_seq = 0;  // node: origin_seq of the last change; hub: hub seq scanned up to
};

// People (common/core/people.h): a person as reception finds them.
struct PersonSummary {
  std::string person_id;
  Record latest;               // their most recent registration here
  uint64_t registrations = 0;  // live registrations here
};

// Hub: a pair in the review queue of possible duplicates (schema/006_people.sql).
struct DuplicatePair {
  int64_t id = 0;
  std::string person_a, centre_a, person_b, centre_b;
  std::vector<DuplicateRule> rules;
  std::string status;  // "open", "same", "different"
  int64_t found_at = 0, decided_at = 0;
  std::string decided_by;
};

// Hub: one live registration as the indicators count it.
struct PersonFact {
  std::string person;  // people.h person_of (aliases not applied)
  std::string centre_id, agglomeration, role, kind, qpv, genre;
  std::string event_id;
  bool attended = false;
  int64_t when_ms = 0;  // its event's start, else its creation
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct StoreStats {
  uint64_t own_seq = 0;     // last origin_seq this replica issued
  uint64_t acked_seq = 0;   // node: last own seq the hub holds (node_cursor)
  uint64_t hub_cursor = 0;  // node: last hub seq applied; hub: newest hub seq
  uint64_t pending = 0;     // node: own_seq - acked_seq
  uint64_t records = 0;
  uint64_t rejections = 0;
  int64_t db_bytes = 0;
  int64_t wal_bytes = 0;
  // Since open: WAL checkpoints after an erasure that failed (the erasure
  // is committed; the erased bytes stay in the WAL until the next
  // checkpoint). Kept so a caller can retry Store::checkpoint and report it.
  uint64_t erase_checkpoint_failures = 0;
  // An erasure was committed and the WAL checkpoint that removes its bytes
  // has not succeeded yet (retry with Store::retry_erase_checkpoint).
  bool erase_checkpoint_pending = false;
};

// What a node did with a Repair from the hub (Store::apply_repair).
struct RepairReport {
  uint64_t merged = 0;       // records that changed here
  uint64_t stale = 0;        // already held as they are, or newer
  uint64_t purged = 0;       // rows removed (not this centre's to hold)
  uint64_t seat_writes = 0;  // changes the seat rules made after it (to send)
};

// What a node removed when the hub said it is revoked (Store::wipe_personal).
struct WipeReport {
  uint64_t removed = 0;  // registrations removed (they had reached the hub, or were another centre's)
  uint64_t kept = 0;     // this centre's registrations the hub never received, kept
};

class Store {
 public:
  // Opens (creating if needed) the database at `path`, sets the pragmas (WAL,
  // synchronous=FULL, secure_delete, foreign_keys, busy_timeout), applies
  // migrations, chmods the files 0600. Errors: io, full.
  static Result<std::unique_ptr<Store>> open(const std::string& path, StoreOptions opts);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const StoreOptions& options() const { return opts_; }
  // Set the origin after enrolment.
  Status set_origin(std::string origin);

  // Small key/value settings: "node_id", "centre_id", "hub_id"...
  Result<std::optional<std::string>> meta(std::string_view key);
  Status set_meta(std::string_view key, std::string_view value);

  // --- Writes --------------------------------------------------------------

  // One local write: tick the HLC (persisted), validate (for a new record,
  // every required field), merge, append to the change log with the next
  // origin_seq, all in one transaction. Returns the logged change.
  // An UPSERT on an unknown id creates the record (created_at is set from the
  // HLC unless given); on a known id only the fields that differ are logged.
  // When nothing differs (or a DELETE of a deleted record) nothing is written
  // and the returned change has origin_seq 0 and no field.
  // Errors: invalid (with field and French message), not_found (DELETE or
  // ERASE of an unknown record), conflict (record erased), forbidden (no
  // origin yet), full, io.
  Result<Change> write(const LocalWrite& w, int64_t wall_ms);

  // Hub: apply a batch from node `node_id`. For each change in order:
  // origin_seq <= cursor -> duplicate, skipped; != cursor + 1 -> the whole
  // batch fails with conflict ("sequence gap") and nothing is written; stamped
  // more than max_future_ms ahead of `hub_now_ms` or refused by `judge` ->
  // a Rejection is stored and the cursor advances; else merged and appended
  // to the hub log with its audience. One transaction.
  Result<ApplyReport> apply_from_node(const std::string& node_id, const std::vector<Change>& changes,
                                      const Judge& judge, int64_t hub_now_ms);
  // Hub, group commit: apply several batches (from one or several nodes, in
  // order) in one transaction, so one fsync covers them all. Each batch runs
  // under its own savepoint: one that fails (sequence gap, bad node id) is
  // undone alone and gets its error, the others commit. If the transaction
  // itself fails (full disk, I/O), every batch gets that error and nothing
  // is written. One result per batch, in order.
  std::vector<Result<ApplyReport>> apply_from_nodes(const std::vector<NodeBatch>& batches, int64_t hub_now_ms);

  // Node: apply a batch from the hub whose hub sequence ends at `last_seq`.
  // last_seq <= hub cursor -> no-op. Otherwise merge every change (an ERASE
  // also purges personal fields from this node's change log), observe their
  // HLCs, set the hub cursor to last_seq. One transaction.
  Result<ApplyReport> apply_from_hub(const std::vector<Change>& changes, uint64_t last_seq, int64_t wall_ms);

  // --- Reading changes for sync -------------------------------------------

  // Node: own changes with origin_seq > after, at most `limit`.
  Result<Outgoing> own_changes_after(uint64_t after, size_t limit);
  // Hub: changes routed to `centre`, with hub seq > after, not from
  // `node_id` itself, at most `limit`. last_seq is the greatest hub seq
  // scanned (it passes over changes routed elsewhere).
  Result<Outgoing> changes_for_centre(const std::string& centre, const std::string& node_id, uint64_t after,
                                      size_t limit);

  // --- Cursors and clock ---------------------------------------------------

  // Hub: last origin_seq held from `origin`. Node: n/a (0).
  Result<uint64_t> origin_cursor(const std::string& origin);
  // Node: the hub told us it holds our changes up to `seq` (Welcome or Ack):
  // record it and drop those entries from the change log (compaction). A seq
  // beyond own_seq (database restored from an old copy) raises own_seq so
  // numbers are never reused. Hub: invalid.
  Status set_acked(uint64_t seq);
  // Node: the hub was restored and no longer holds hub sequences after
  // `seq`: set the hub cursor back to it, so what the hub sends from there
  // is applied. No-op when seq >= the cursor. Hub: invalid.
  Status rewind_hub_cursor(uint64_t seq);
  // Node: store rejections reported by the hub (a repeat is ignored).
  Status add_rejections(const std::vector<Rejection>& r);
  // Newest first.
  Result<std::vector<Rejection>> rejections(size_t limit);
  // How many changes were rejected, per origin (node id), over the whole
  // `rejections` table. For the hub's node list and metrics.
  Result<std::vector<std::pair<std::string, uint64_t>>> rejections_by_origin();

  // HLC: offset learned from the hub (persisted).
  Status set_clock_offset(int64_t offset_ms);
  int64_t clock_offset() const { return hlc_.offset_ms(); }
  uint64_t hlc_last() const { return hlc_.last(); }
  // Node, after learning the hub's time: if unsent own changes (origin_seq >
  // acked) are stamped more than `tolerance_ms` ahead of the corrected clock,
  // rewind the clock and re-stamp them, and the record fields they set, in
  // origin_seq order. Returns how many were re-stamped.
  Result<uint64_t> restamp_future(int64_t wall_ms, int64_t tolerance_ms);

  // --- Records -------------------------------------------------------------

  Result<std::optional<Record>> get(Entity e, const std::string& id);
  Result<Page> list(Entity e, const ListQuery& q);
  // Node: the origin_seq of the last local change to this record (0 if
  // none): the record has reached the hub when it is <= acked_seq.
  Result<uint64_t> local_seq(Entity e, const std::string& id);
  // Count per value of `column` (e.g. role, centre_id) for live records,
  // with the same filters as list. For reports.
  Result<std::vector<std::pair<std::string, uint64_t>>> count_by(Entity e, const std::string& column,
                                                                 const ListQuery& q);
  // Stream every live record matching q to `fn`, in the order of list() (q.sort), in bounded
  // memory (for exports). Stops early if fn returns false.
  Status for_each(Entity e, const ListQuery& q, const std::function<bool(const Record&)>& fn);

  // --- People (store_people.cpp) --------------------------------------------

  // The people of `centre` (its own registrations) whose name words or phone
  // digits match `query` (people.h parse_people_query), sorted by name, at
  // most `limit`. An empty or unreadable query gives none.
  Result<std::vector<PersonSummary>> people(const std::string& centre, std::string_view query, size_t limit);
  // Hub: the review queue, by id; `status` "" for every pair, else one
  // status. At most `limit` pairs with id > after_id.
  Result<std::vector<DuplicatePair>> duplicate_pairs(std::string_view status, int64_t after_id, size_t limit);
  Result<std::optional<DuplicatePair>> duplicate_pair(int64_t id);
  // Hub: the admin's answer: "same", "different" (never proposed again) or
  // "open" (undo). Errors: not_found, invalid (another status).
  Status decide_duplicate(int64_t id, std::string_view status, std::string_view by, int64_t now_ms);
  // Hub: the pairs decided "same", as (person_a, person_b): PersonAliases' input.
  Result<std::vector<std::pair<std::string, std::string>>> same_person_links();
  // Hub: the queue built again from every live registration (a decided pair
  // keeps its answer). Returns how many pairs it holds after.
  Result<uint64_t> rebuild_duplicates(int64_t now_ms);
  // Hub: every live registration whose event started (else which was
  // created) in [from_ms, to_ms) (0 = no bound), streamed in bounded memory.
  Status person_facts(int64_t from_ms, int64_t to_ms, const std::function<void(const PersonFact&)>& fn);

  // --- Seats (store_seats.cpp; docs/design.md 9.3) ---------------------------

  // The seats of event `event_id` (nullopt: unknown or deleted here).
  Result<std::optional<SeatSummary>> seat_summary(const std::string& event_id);
  // A move of seats to or from `centre` (one of give, take_back, or cancel):
  //  * give: on the host's node, allotments += give from its free seats
  //    (invalid, French, when not enough); on the hub, a request the host's
  //    node carries out (seat_grants);
  //  * take_back: a request that `centre`'s node carries out from its free
  //    seats (seat_reclaims); invalid beyond what the centre holds;
  //  * cancel: withdraws what is still pending of both requests.
  // A node that is not the host: forbidden. Errors: not_found, invalid.
  Result<Change> move_seats(const std::string& event_id, const std::string& centre, int64_t give, int64_t take_back,
                            bool cancel, int64_t wall_ms);
  // Node: the seat rules' step for every event with a limit (after a
  // restart or a restore); returns the writes made.
  Result<uint64_t> reconcile_seats(int64_t wall_ms);

  // Seed reference centres (idempotent: existing ids untouched). Hub: as
  // hub-origin writes, so they sync. Used by `terril-hub init`.
  Status seed_centres(const std::vector<LocalWrite>& centres, int64_t wall_ms);

  // --- Healing (store_repair.cpp; docs/design.md "Replicas that heal") ------

  // Digests of ranges (common/core/digest.h). `scope`: on the hub, the centre
  // whose replica is compared (the records routed to it); on a node, "" (all
  // it holds). One result per key, in order.
  Result<std::vector<RangeDigest>> digests(const std::string& scope, const std::vector<RangeKey>& keys);
  // The non-empty children of `parent` within scope: per owner at level 0,
  // per next id character below.
  Result<std::vector<RangeDigest>> digest_children(const std::string& scope, const RangeKey& parent);
  // Every record of the range within scope, as (id, hash), in no particular order.
  Result<std::vector<Leaf>> digest_leaves(const std::string& scope, const RangeKey& k);
  // The records named that exist here, whole.
  Result<std::vector<Record>> records(const std::vector<RecordRef>& refs);
  // Hub: true when record `ref` is routed to `centre` (it exists and is
  // everyone's, or owned by it, or a registration of an event it hosts).
  Result<bool> routed_to(const RecordRef& ref, const std::string& centre);

  // Node: merge whole records from the hub (per-field stamps decide) and
  // remove the rows `purge` names, unless the record is this centre's own
  // (`own_centre`). One transaction; an erasure or a purge checkpoints.
  Result<RepairReport> apply_repair(const std::vector<Record>& records, const std::vector<RecordRef>& purge,
                                    const std::string& own_centre, int64_t wall_ms);
  // Node: the records touched by local changes numbered after `seq` (their
  // local_seq): what a hub that lost those changes needs again.
  Result<std::vector<RecordRef>> refs_changed_after(uint64_t seq);
  // Node: the hlc of own change `seq` still in the change log (0: not there).
  Result<uint64_t> own_change_hlc(uint64_t seq);
  // Node restored from an older image: the hub holds our changes up to
  // `hub_cursor` but they are not the ones in our log under those numbers.
  // Renumbers every unsent change numbered <= hub_cursor above
  // max(hub_cursor, own_seq), in order, and the records' local_seq with
  // them, so they reach the hub and no number names two changes. Returns
  // how many were renumbered.
  Result<uint64_t> renumber_unsent(uint64_t hub_cursor);
  // Node, revoked by the hub: removes every registration but this centre's
  // own that never reached the hub (kept so nothing is lost), and their
  // personal data with them; records `wiped_at` in meta. Checkpoints.
  Result<WipeReport> wipe_personal(const std::string& own_centre, int64_t wall_ms);

  // Hub: a new epoch at `serve` start (see schema/003_repair.sql): the next
  // hub sequence and the hub's own origin_seq jump to at least
  // (wall_ms / 1000) << 20, so a hub restored from an older copy never
  // reissues a number. Returns the epoch's first sequence.
  Result<uint64_t> begin_epoch(int64_t wall_ms);
  // Hub: `cursor` if this hub holds hub sequence `cursor` (or it is 0), else
  // the greatest sequence below it that it holds: where a node that applied
  // history this hub lost (restored) resumes.
  Result<uint64_t> hub_fork_point(uint64_t cursor);
  // Hub: changes in the log after hub sequence `seq` (epoch markers not
  // counted): how far behind a node with that cursor is. Sequences jump at
  // each epoch, so their difference is no count.
  Result<uint64_t> changes_after(uint64_t seq);
  // Hub: the hlc stored with origin's cursor (0 if none).
  Result<uint64_t> origin_cursor_hlc(const std::string& origin);
  // Hub: the node says the hub held its changes up to `seq` (Hello.node_acked)
  // beyond the hub's cursor: the hub lost them in a restore. Raise the
  // cursor so the node's next numbers follow; the node sends the records
  // again. No-op when seq <= cursor.
  Status raise_origin_cursor(const std::string& origin, uint64_t seq);

  // Retries the WAL checkpoint of a pending erasure (StoreStats); ok when
  // nothing is pending. Errors: io (still held by a reader).
  Status retry_erase_checkpoint();
  // StoreStats::erase_checkpoint_pending without the counts stats() makes.
  bool erase_checkpoint_pending() const;

  // --- Maintenance ---------------------------------------------------------

  Result<StoreStats> stats();
  // PRAGMA integrity_check == "ok".
  Status integrity_check();
  // wal_checkpoint(TRUNCATE). Errors: io (also when a reader holds the WAL).
  Status checkpoint();

 private:
  // The hub's node registry (common/store/hub_registry.h) shares this
  // connection for its own tables.
  friend class Registry;
  friend struct store::testing::Access;

  Store(sqlite3* db, StoreOptions opts);
  // One batch of apply_from_nodes inside the open transaction.
  Status apply_node_batch(const NodeBatch& b, int64_t hub_now_ms, ApplyReport& report, bool& any_erase, bool& wrote);
  // Its repaired records (store_hub.cpp).
  Status apply_node_records(const NodeBatch& b, int64_t hub_now_ms, ApplyReport& report, bool& any_erase);
  struct Impl;
  sqlite3* db_;
  StoreOptions opts_;
  Hlc hlc_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace terril

-- 001_init: the records, the change log, cursors, settings and rejections.
--
-- Every record table holds one row per record id. `state` is the merged
-- Record with every field's stamp, encoded as described at the top of
-- common/core/record_codec.cpp; it is the truth. The typed columns are
-- derived from it on every write, for queries, filters and exports only.
-- Typed column names are the field names of common/core/model.h (FieldSpec
-- name); text fields are TEXT, integer/time/boolean fields INTEGER
-- (times in ms since the epoch, booleans 0/1); NULL = absent or cleared.
-- store_test checks that these columns match the field table.
--
-- Common record columns:
--   id          record id: UUID text (lowercase, 36 chars), or a slug for centres
--   centre_id   owner centre (slug); never changes
--   created_at  ms since the epoch (the created_at field)
--   deleted     1 when the record is deleted or erased (Record::deleted())
--   erased      1 after ERASE: personal columns are NULL, state holds no field
--   updated_at  ms since the epoch, Record::updated_at_ms() (from the max hlc)
--   local_seq   origin_seq of the last change made here (write()) touching the
--               record; 0 if none. On a node: reached the hub iff <= acked.
--   state       merged Record (see record_codec.cpp)

CREATE TABLE centres (
  id            TEXT PRIMARY KEY,
  centre_id     TEXT NOT NULL,
  created_at    INTEGER,
  deleted       INTEGER NOT NULL DEFAULT 0,
  name          TEXT,
  address       TEXT,
  postcode      TEXT,
  town          TEXT,
  phone         TEXT,
  agglomeration TEXT,   -- valenciennes-metropole | porte-du-hainaut | lens-lievin
  erased        INTEGER NOT NULL DEFAULT 0,
  updated_at    INTEGER NOT NULL,
  local_seq     INTEGER NOT NULL DEFAULT 0,
  state         BLOB NOT NULL
) STRICT;

CREATE TABLE events (
  id            TEXT PRIMARY KEY,
  centre_id     TEXT NOT NULL,   -- the host centre
  created_at    INTEGER,
  deleted       INTEGER NOT NULL DEFAULT 0,
  title         TEXT,
  description   TEXT,
  kind          TEXT,            -- temps-fort | atelier | reunion
  starts_at     INTEGER,         -- ms since the epoch
  ends_at       INTEGER,         -- ms since the epoch
  place         TEXT,
  capacity      INTEGER,
  erased        INTEGER NOT NULL DEFAULT 0,
  updated_at    INTEGER NOT NULL,
  local_seq     INTEGER NOT NULL DEFAULT 0,
  state         BLOB NOT NULL
) STRICT;
CREATE INDEX events_centre ON events(centre_id);
CREATE INDEX events_starts ON events(starts_at);

-- Personal data (first_name, last_name, phone, email, notes): purged by ERASE.
CREATE TABLE registrations (
  id            TEXT PRIMARY KEY,
  centre_id     TEXT NOT NULL,   -- the centre that took the registration
  created_at    INTEGER,
  deleted       INTEGER NOT NULL DEFAULT 0,
  event_id      TEXT,            -- events.id (not a foreign key: it may arrive later)
  first_name    TEXT,
  last_name     TEXT,
  phone         TEXT,
  email         TEXT,
  role          TEXT,            -- habitant | benevole | partenaire | salarie | administrateur | institutionnel
  consent_at    INTEGER,         -- ms since the epoch
  attended      INTEGER,         -- 0/1
  notes         TEXT,
  erased        INTEGER NOT NULL DEFAULT 0,
  updated_at    INTEGER NOT NULL,
  local_seq     INTEGER NOT NULL DEFAULT 0,
  state         BLOB NOT NULL
) STRICT;
CREATE INDEX registrations_event ON registrations(event_id);
-- Serves centre_id filters and name look-ups within a centre. One composite
-- index rather than centre_id and last_name apart: a batch from a node
-- inserts into its own centre's slice only, where a last_name index alone
-- takes random inserts over the whole index: bench/store_bench at 100k
-- registrations wrote 794 pages per batch of 500 with the two, 597 with this.
CREATE INDEX registrations_centre_name ON registrations(centre_id, last_name);

CREATE TABLE prototype_notes (
  id            TEXT PRIMARY KEY,
  centre_id     TEXT NOT NULL,
  created_at    INTEGER,
  deleted       INTEGER NOT NULL DEFAULT 0,
  title         TEXT,
  summary       TEXT,
  body          TEXT,
  status        TEXT,            -- idee | prototype | en-test | deploye | abandonne
  tags          TEXT,            -- normalised: "a,b,c"
  evaluation    TEXT,
  erased        INTEGER NOT NULL DEFAULT 0,
  updated_at    INTEGER NOT NULL,
  local_seq     INTEGER NOT NULL DEFAULT 0,
  state         BLOB NOT NULL
) STRICT;
CREATE INDEX prototype_notes_centre ON prototype_notes(centre_id);

-- The change log. On a node: its own changes (origin = node id) not yet
-- acknowledged by the hub (set_acked deletes the rest). On the hub: every
-- change merged, from nodes and its own "hub" writes; `seq` is the hub
-- sequence that nodes keep a cursor on.
CREATE TABLE change_log (
  seq            INTEGER PRIMARY KEY,  -- hub: the hub sequence (rows are never deleted there);
                                       -- node: local order only
  origin         TEXT NOT NULL,        -- node id or "hub"
  origin_seq     INTEGER NOT NULL,     -- 1, 2, 3... per origin, no gap
  hlc            INTEGER NOT NULL,     -- 48-bit ms << 16 | 16-bit counter
  entity         INTEGER NOT NULL,     -- Entity number (1 centre .. 4 prototype_note)
  record_id      TEXT NOT NULL,
  audience_all   INTEGER NOT NULL,     -- 1: goes to every node (centres, events, notes)
  audience_owner TEXT,                 -- registrations: owner centre; else NULL
  audience_host  TEXT,                 -- registrations: host centre of the event when
                                       -- known and not the owner; else NULL
  payload        BLOB NOT NULL,        -- one serialized terril.v1.Change (proto/terril/v1/sync.proto);
                                       -- personal fields removed after an ERASE of the record
  UNIQUE (origin, origin_seq)
) STRICT;
-- Fan-out (Store::changes_for_centre): three streams ordered by seq, merged.
-- Inserts land at one end per centre (seq grows), so they stay cheap.
-- change_log_owner also finds the past payloads of an erased registration
-- (owner centre + record_id, read from the index alone).
CREATE INDEX change_log_all ON change_log(seq, origin) WHERE audience_all = 1;
CREATE INDEX change_log_owner ON change_log(audience_owner, seq, origin, record_id) WHERE audience_owner IS NOT NULL;
CREATE INDEX change_log_host ON change_log(audience_host, seq, origin) WHERE audience_host IS NOT NULL;

-- Hub: last origin_seq held from each origin (origin_cursor()).
CREATE TABLE origin_cursors (
  origin TEXT PRIMARY KEY,
  seq    INTEGER NOT NULL
) STRICT;

-- Small settings. Keys used by the store itself:
--   origin      the origin this database issued changes as
--   own_seq     last origin_seq issued here
--   acked_seq   node: last own origin_seq the hub holds
--   hub_cursor  node: last hub seq applied
--   hlc_last    last HLC issued or observed (decimal u64)
--   hlc_offset  ms to add to the wall clock to get the hub's time (decimal i64)
-- Others belong to the daemons ("node_id", "centre_id", "hub_id"...).
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- Changes refused by the hub: stored by the hub when it refuses, by the node
-- when the hub reports them. Messages are French, for staff, and never hold
-- personal data.
CREATE TABLE rejections (
  id         INTEGER PRIMARY KEY,
  origin     TEXT NOT NULL,
  origin_seq INTEGER NOT NULL,
  code       TEXT NOT NULL,     -- forbidden | invalid | clock_skew
  field      TEXT NOT NULL,     -- offending field name, or ''
  message    TEXT NOT NULL,
  at_ms      INTEGER NOT NULL,  -- when refused (hub clock)
  entity     TEXT NOT NULL,     -- entity name
  record_id  TEXT NOT NULL,
  UNIQUE (origin, origin_seq)
) STRICT;

-- Daily quotas on what nodes create (hub only; empty on a node). Events and
-- prototype notes reach every box, so one centre's node must not be able to
-- fill every SD card: the hub counts the records each owner centre's nodes
-- create per UTC day of the hub's clock (StoreOptions::daily_*_quota), in the
-- transaction that applies them, and rejects the change past the quota.
CREATE TABLE quota_usage (
  centre_id TEXT NOT NULL,
  day       INTEGER NOT NULL,  -- Unix ms of the hub clock / 86,400,000
  entity    INTEGER NOT NULL,  -- Entity (2 event, 4 prototype note)
  created   INTEGER NOT NULL,
  PRIMARY KEY (centre_id, day, entity)
) STRICT, WITHOUT ROWID;

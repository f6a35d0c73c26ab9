-- 007_seats: the seat rules (common/core/seats.h, docs/design.md 9.3).
--
-- Typed columns for the new fields (text, as the record state holds them):
--   centres.seats_returned  "event-id=n,..." seats this centre gave back, per event
--   events.allotments       "centre=n,..." seats the host gave each centre (cumulative)
--   events.seat_grants      "centre=n,..." seats asked for each centre
--   events.seat_reclaims    "centre=n,..." seats asked back from each centre
--   registrations.seat      confirmee | attente (NULL: the event has no limit)
--   registrations.seat_by   the centre whose seat backs a confirmee registration
--   registrations.seat_event which placement that seat is of ("event-id@hlc", seats.h)
--   registrations.seat_holder derived (not a field): the holder whose seat this live
--                           registration holds now (seats.h Reg::confirmed: a confirmee of its
--                           current placement), NULL when it waits; written by Store::Impl::save
--                           from the record, so the seat checks below are plain SQL.
ALTER TABLE centres ADD COLUMN seats_returned TEXT;
ALTER TABLE events ADD COLUMN allotments TEXT;
ALTER TABLE events ADD COLUMN seat_grants TEXT;
ALTER TABLE events ADD COLUMN seat_reclaims TEXT;
ALTER TABLE registrations ADD COLUMN seat TEXT;
ALTER TABLE registrations ADD COLUMN seat_by TEXT;
ALTER TABLE registrations ADD COLUMN seat_event TEXT;
ALTER TABLE registrations ADD COLUMN seat_holder TEXT;

-- An event's waiting list (every live registration holding no seat) in
-- arrival order, read by the holder's step without a sort, and counted per
-- owner centre (covering).
CREATE INDEX registrations_waiting ON registrations(event_id, created_at, id, centre_id)
  WHERE deleted = 0 AND seat_holder IS NULL;

-- Live confirmations per (event, holder): the seat check on the write path
-- reads one row instead of counting an event's registrations. Derived from
-- the registrations rows (seat_holder) and kept by these triggers on every
-- path that writes them (save, purge, wipe), in the writer's transaction.
CREATE TABLE seat_counts (
  event_id  TEXT NOT NULL,
  holder    TEXT NOT NULL,
  confirmed INTEGER NOT NULL,
  PRIMARY KEY (event_id, holder)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER seat_counts_insert AFTER INSERT ON registrations
WHEN NEW.seat_holder IS NOT NULL AND NEW.event_id IS NOT NULL
BEGIN
  INSERT INTO seat_counts(event_id, holder, confirmed) VALUES (NEW.event_id, NEW.seat_holder, 1)
    ON CONFLICT(event_id, holder) DO UPDATE SET confirmed = confirmed + 1;
END;

CREATE TRIGGER seat_counts_delete AFTER DELETE ON registrations
WHEN OLD.seat_holder IS NOT NULL AND OLD.event_id IS NOT NULL
BEGIN
  UPDATE seat_counts SET confirmed = confirmed - 1 WHERE event_id = OLD.event_id AND holder = OLD.seat_holder;
END;

CREATE TRIGGER seat_counts_update AFTER UPDATE OF seat_holder, event_id ON registrations
WHEN OLD.seat_holder IS NOT NEW.seat_holder OR OLD.event_id IS NOT NEW.event_id
BEGIN
  UPDATE seat_counts SET confirmed = confirmed - 1
    WHERE OLD.seat_holder IS NOT NULL AND event_id = OLD.event_id AND holder = OLD.seat_holder;
  INSERT INTO seat_counts(event_id, holder, confirmed)
    SELECT NEW.event_id, NEW.seat_holder, 1 WHERE NEW.seat_holder IS NOT NULL AND NEW.event_id IS NOT NULL
    ON CONFLICT(event_id, holder) DO UPDATE SET confirmed = confirmed + 1;
END;

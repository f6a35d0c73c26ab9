-- 007_seats: the seat rules (common/core/seats.h, docs/design.md 9.3).
--
-- Typed columns for the new fields (text, as the record state holds them):
--   centres.seats_returned  "event-id=n,..." seats this centre gave back, per event
--   events.allotments       "centre=n,..." seats the host gave each centre (cumulative)
--   events.seat_grants      "centre=n,..." seats asked for each centre
--   events.seat_reclaims    "centre=n,..." seats asked back from each centre
--   registrations.seat      confirmee | attente (NULL: the event has no limit)
--   registrations.seat_by   the centre whose seat backs a confirmee registration
ALTER TABLE centres ADD COLUMN seats_returned TEXT;
ALTER TABLE events ADD COLUMN allotments TEXT;
ALTER TABLE events ADD COLUMN seat_grants TEXT;
ALTER TABLE events ADD COLUMN seat_reclaims TEXT;
ALTER TABLE registrations ADD COLUMN seat TEXT;
ALTER TABLE registrations ADD COLUMN seat_by TEXT;

-- An event's waiting list (every live registration not confirmed) in
-- arrival order, read by the holder's step without a sort, and counted per
-- owner centre (covering).
CREATE INDEX registrations_waiting ON registrations(event_id, created_at, id, centre_id)
  WHERE deleted = 0 AND seat IS NOT 'confirmee';

-- Live confirmations per (event, holder): the seat check on the write path
-- reads one row instead of counting an event's registrations. Derived from
-- the registrations rows and kept by these triggers on every path that
-- writes them (save, purge, wipe), in the writer's transaction. The holder
-- is seat_by, or the owner centre for a confirmee with none (seats.h tally).
CREATE TABLE seat_counts (
  event_id  TEXT NOT NULL,
  holder    TEXT NOT NULL,
  confirmed INTEGER NOT NULL,
  PRIMARY KEY (event_id, holder)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER seat_counts_insert AFTER INSERT ON registrations
WHEN NEW.seat = 'confirmee' AND NEW.deleted = 0 AND NEW.event_id IS NOT NULL
BEGIN
  INSERT INTO seat_counts(event_id, holder, confirmed) VALUES (NEW.event_id, COALESCE(NEW.seat_by, NEW.centre_id), 1)
    ON CONFLICT(event_id, holder) DO UPDATE SET confirmed = confirmed + 1;
END;

CREATE TRIGGER seat_counts_delete AFTER DELETE ON registrations
WHEN OLD.seat = 'confirmee' AND OLD.deleted = 0 AND OLD.event_id IS NOT NULL
BEGIN
  UPDATE seat_counts SET confirmed = confirmed - 1
    WHERE event_id = OLD.event_id AND holder = COALESCE(OLD.seat_by, OLD.centre_id);
END;

CREATE TRIGGER seat_counts_update AFTER UPDATE OF seat, seat_by, deleted, event_id ON registrations
WHEN (OLD.seat = 'confirmee' AND OLD.deleted = 0 AND OLD.event_id IS NOT NULL) IS NOT
       (NEW.seat = 'confirmee' AND NEW.deleted = 0 AND NEW.event_id IS NOT NULL)
  OR OLD.event_id IS NOT NEW.event_id OR OLD.seat_by IS NOT NEW.seat_by
BEGIN
  UPDATE seat_counts SET confirmed = confirmed - 1
    WHERE OLD.seat = 'confirmee' AND OLD.deleted = 0
      AND event_id = OLD.event_id AND holder = COALESCE(OLD.seat_by, OLD.centre_id);
  INSERT INTO seat_counts(event_id, holder, confirmed)
    SELECT NEW.event_id, COALESCE(NEW.seat_by, NEW.centre_id), 1
    WHERE NEW.seat = 'confirmee' AND NEW.deleted = 0 AND NEW.event_id IS NOT NULL
    ON CONFLICT(event_id, holder) DO UPDATE SET confirmed = confirmed + 1;
END;

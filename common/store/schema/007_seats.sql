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

-- The seat checks on the write path: confirmations of one event per holder
-- (covering: no table read), and its waiting list in arrival order.
CREATE INDEX registrations_seat ON registrations(event_id, deleted, seat, seat_by, centre_id, created_at, id);

-- People (docs/design.md "People"): the new registration fields, the keys
-- that find a person and match possible duplicates, and the hub's review
-- queue of possible duplicates across centres.
--
-- person_id, commune, qpv, genre are typed columns like the others (fields
-- of common/core/model.h, personal data: purged by ERASE). The four key
-- columns are derived from the record on every write (common/core/people.h
-- person_keys, person_of; Store::Impl::save), never from the caller:
--   person     person_id, or the registration's own id when it has none
--   name_key   folded "last first" ('' when erased): search and sorting
--   match_key  glued "last|first" for the duplicate rule on names
--   phone_key  phone digits, French national form
--   email_key  trimmed, lower case
-- Rows that exist before this migration get them at the first open after it
-- (Store::open, one pass). They are personal data: NULL / '' once erased.
ALTER TABLE registrations ADD COLUMN person_id TEXT;
ALTER TABLE registrations ADD COLUMN commune TEXT;
ALTER TABLE registrations ADD COLUMN qpv TEXT;      -- oui | non | inconnu
ALTER TABLE registrations ADD COLUMN genre TEXT;    -- femme | homme | autre | non-renseigne
ALTER TABLE registrations ADD COLUMN person TEXT;
ALTER TABLE registrations ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE registrations ADD COLUMN match_key TEXT;
ALTER TABLE registrations ADD COLUMN phone_key TEXT;
ALTER TABLE registrations ADD COLUMN email_key TEXT;
-- A person's registrations; and, covering, what the indicators count
-- (Store::person_facts reads this index, never the rows).
CREATE INDEX registrations_person ON registrations(person, deleted, centre_id, event_id, role, qpv, genre, attended,
                                                    created_at, updated_at);
-- Lists sorted by name (Store::list), paged on (name_key, id); it also
-- covers search at reception (Store::people reads every column it needs
-- here, never the rows: bench/people_bench, 20,000 registrations: p50 33 ms
-- reading the rows, see bench/README.md for the figure with this index).
CREATE INDEX registrations_name_key ON registrations(name_key, id, centre_id, deleted, person, created_at, phone_key);
-- The hub's duplicate rules look these up; partial, so rows without the key
-- cost nothing.
CREATE INDEX registrations_match_key ON registrations(match_key) WHERE match_key IS NOT NULL;
CREATE INDEX registrations_phone_key ON registrations(phone_key) WHERE phone_key IS NOT NULL;
CREATE INDEX registrations_email_key ON registrations(email_key) WHERE email_key IS NOT NULL;

-- Hub only (empty on a node): pairs of persons of different centres that
-- may be the same person, and the hub admin's answer. person_a < person_b.
-- A pair is found again whenever a registration of either changes; its
-- status, once decided, never goes back to open by itself, so "different"
-- is never proposed again and "same" (an alias: the two persons count as
-- one, nothing is deleted or rewritten) holds. Erasing the last
-- registration of either person deletes the pair. No names here: the
-- dashboard reads them from the registrations.
CREATE TABLE duplicate_pairs (
  id          INTEGER PRIMARY KEY,
  person_a    TEXT NOT NULL,
  centre_a    TEXT NOT NULL,
  person_b    TEXT NOT NULL,
  centre_b    TEXT NOT NULL,
  rules       TEXT NOT NULL,               -- "nom-prenom,telephone,courriel" (people.h rules_text)
  status      TEXT NOT NULL DEFAULT 'open', -- open | same | different
  found_at    INTEGER NOT NULL,            -- ms since the epoch
  decided_at  INTEGER,
  decided_by  TEXT,
  UNIQUE (person_a, person_b)
) STRICT;
CREATE INDEX duplicate_pairs_b ON duplicate_pairs(person_b);
CREATE INDEX duplicate_pairs_status ON duplicate_pairs(status, id);

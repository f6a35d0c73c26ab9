-- 003_repair: what anti-entropy and healing after a restore need
-- (docs/design.md, "Replicas that heal").
--
--   <record table>.digest  common/core/digest.h record_hash of the row's
--                          record (entity, id, owner, state), kept by every
--                          write; ranges of records are summed from it.
--                          Rows from before this migration are filled in
--                          when the store opens (store_open.cpp).
--   origin_cursors.hlc     hub: the hlc of the change numbered `seq` from
--                          that origin, so a node restored from an older
--                          image can tell its own change under that number
--                          is another one (Welcome.node_cursor_hlc).
--   change_log rows with origin '~epoch' (hub): one per `terril-hub serve`
--                          start, at the first sequence of the new epoch
--                          (Store::begin_epoch). Sequences jump there, so a
--                          hub restored from an older copy never issues a
--                          number it issued before. The row carries no
--                          change (entity 0, empty payload) and is routed
--                          nowhere.
ALTER TABLE centres ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;
ALTER TABLE registrations ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;
ALTER TABLE prototype_notes ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;
ALTER TABLE origin_cursors ADD COLUMN hlc INTEGER NOT NULL DEFAULT 0;

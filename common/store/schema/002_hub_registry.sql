-- Hub registry: the nodes the hub knows and their trust state, and the audit
-- log of admin actions. Read and written only by hub/registry.cpp. Applied to
-- every store (the tables stay empty on a node).
--
-- Node lifecycle (state):
--   pending  -- created by `node add` (or `replace`): holds the SHA-256 of a
--               one-time enrolment code, no secret.
--   active   -- enrolled: holds the secret, the code hash is cleared (spent).
--   revoked  -- cut off: secret and code cleared. Final; a node id is never
--               given to another box.
-- The CHECKs below hold these invariants in the database itself.
CREATE TABLE nodes (
  node_id          TEXT PRIMARY KEY,            -- valid_node_id; also the change-log origin
  centre_id        TEXT NOT NULL,               -- the centre this box serves
  secret           BLOB,                        -- 32 random bytes, key of HMAC-SHA256(secret, nonce); active only
  state            TEXT NOT NULL CHECK (state IN ('pending', 'active', 'revoked')),
  code_hash        BLOB,                        -- SHA-256 of the normalised 12-char code; pending only
  code_expires_at  INTEGER,                     -- Unix ms (hub clock); the code is refused from then on
  created_at       INTEGER NOT NULL,            -- Unix ms
  enrolled_at      INTEGER,                     -- Unix ms of the (last) enrolment
  last_seen_at     INTEGER,                     -- Unix ms of the last successful handshake
  software_version TEXT,                        -- as the node reported it in Hello
  hub_cursor       INTEGER NOT NULL DEFAULT 0,  -- last hub seq the node acked
  replaced_by      TEXT,                        -- node id of the replacement box, once replaced
  CHECK ((state = 'active') = (secret IS NOT NULL)),
  CHECK ((state = 'pending') = (code_hash IS NOT NULL))
) STRICT;

-- Enrolment looks a node up by the hash of its code.
CREATE UNIQUE INDEX nodes_code_hash ON nodes(code_hash) WHERE code_hash IS NOT NULL;

-- Who did what, for the operation's audit. Never personal data: node and
-- centre ids, entity names, counts.
CREATE TABLE admin_log (
  id     INTEGER PRIMARY KEY,
  at     INTEGER NOT NULL,   -- Unix ms (hub clock)
  who    TEXT NOT NULL,      -- "admin", an OS user name, or a node id for enrolment
  action TEXT NOT NULL,      -- "node.add", "node.enrol", "node.revoke", "node.replace", ...
  detail TEXT NOT NULL DEFAULT ''
) STRICT;

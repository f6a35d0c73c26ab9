-- Two-phase enrolment and the identity of retired boxes (hub only; the
-- tables stay empty on a node). Read and written only by
-- common/store/hub_registry.cpp.
--
-- enrol_offers: a pending node whose code was presented gets a secret here,
-- and stays pending with its code. It becomes active (nodes.secret set, code
-- cleared) at its first Hello proved with this secret. So a link cut before
-- the box saved its credentials leaves the code usable: presenting it again
-- replaces the offer. A replayed code after activation finds no pending node.
CREATE TABLE enrol_offers (
  node_id    TEXT PRIMARY KEY,  -- a pending node of `nodes`
  secret     BLOB NOT NULL,     -- 32 random bytes, as nodes.secret
  offered_at INTEGER NOT NULL   -- Unix ms (hub clock)
) STRICT;

-- retired_secrets: the secret a node held when it was revoked or replaced.
-- It proves nothing but "I am that old box": the handshake answers
-- REVOKED_NODE (the box then wipes its personal data) only to a Hello proved
-- with it, so a stranger cannot tell which node ids exist.
CREATE TABLE retired_secrets (
  node_id    TEXT PRIMARY KEY,
  secret     BLOB NOT NULL,
  retired_at INTEGER NOT NULL
) STRICT;

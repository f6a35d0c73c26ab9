// The hub's node registry: which boxes may sync, for which centre, and the
// one-time codes that enrol them, over the hub Store's connection. Tables
// `nodes` and `admin_log`, described in
// common/store/schema/002_hub_registry.sql (states and invariants there).
//
// Enrolment codes: 12 Crockford base32 characters (60 random bits from
// RAND_bytes), shown as XXXX-XXXX-XXXX, valid kCodeLifetimeMs (7 days) and
// once. Only SHA-256 of the normalised code is stored. Normalising accepts
// what a technician may type: lower case, dashes and spaces, O for 0, I and
// L for 1.
//
// Replacing a box (`terril-hub node replace NODE_ID`):
//   - an enrolled or revoked node: the old node is revoked (its secret is
//     cleared, so the old box's proof fails at once) and `replaced_by` names
//     a NEW pending node for the same centre, `<base>-r<N>` (base = the old
//     id without a trailing -r<N>; N = 2, 3, ... the first free one),
//     whose code is returned. The replacement gets a new node id because a
//     node id is a change-log origin: the new box starts at origin_seq 1,
//     which must not collide with what the hub already holds from the old
//     box. Records belong to centres, not boxes, so the new box edits the
//     same records. A node id is never given to two boxes.
//   - a pending node (never enrolled, e.g. its code expired or was lost): it
//     keeps its id and gets a new code; the old code stops working. No secret
//     was ever issued under that id, so nothing can collide.
//   - a node already replaced: conflict, naming its replacement.
//
// Every state change (add, enrol, revoke, replace) writes its admin_log row in
// the same transaction.
//
// Thread safety: none. Use a Registry on the thread that uses the Store whose
// connection it shares, never inside one of the Store's transactions. Each
// method is one transaction: it commits whole or changes nothing.
// Errors common to every method: io (SQLite failure), full (disk full).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/status.h"

struct sqlite3;

namespace terril {

class Store;
namespace store {
struct RegistryDb;  // the connection and its cached statements (hub_registry.cpp)
}  // namespace store

inline constexpr int64_t kCodeLifetimeMs = 7LL * 24 * 3600 * 1000;
inline constexpr size_t kNodeSecretBytes = 32;

// A one-time enrolment code, to print once; it is not stored.
struct NodeCode {
  std::string node_id;
  std::string centre_id;
  std::string code;           // "XXXX-XXXX-XXXX"
  int64_t expires_at_ms = 0;  // Unix ms, hub clock
};

// What a successful enrolment hands to the node (proto Enrolled).
struct Enrolment {
  std::string node_id;
  std::string centre_id;
  std::string secret;  // kNodeSecretBytes raw bytes; never log
};

enum class NodeState { pending, active, revoked };
const char* node_state_name(NodeState s);  // "pending", "active", "revoked"

// One row of `nodes`, without the secret and code hash.
struct NodeInfo {
  std::string node_id;
  std::string centre_id;
  NodeState state = NodeState::pending;
  int64_t created_at_ms = 0;
  int64_t code_expires_at_ms = 0;  // 0 when no code (active, revoked)
  int64_t enrolled_at_ms = 0;      // 0 = never
  int64_t last_seen_at_ms = 0;     // 0 = never
  std::string software_version;
  uint64_t hub_cursor = 0;
  std::string replaced_by;  // "" unless replaced
};

struct AdminLogEntry {
  int64_t at_ms = 0;
  std::string who;
  std::string action;
  std::string detail;
};

class Registry {
 public:
  // Over `store`'s connection (every store carries the registry tables:
  // migration 002). REQUIRES: `store` outlives the Registry (not owned).
  explicit Registry(Store& store);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Creates pending node `node_id` for `centre_id` and returns its code,
  // expiring at now_ms + kCodeLifetimeMs. Does not check that the centre
  // exists (the caller does, against the store).
  // Errors: invalid (bad node id or centre id), conflict (the node id exists,
  // in any state, even revoked: ids are never reused).
  Result<NodeCode> add(const std::string& node_id, const std::string& centre_id, int64_t now_ms,
                       std::string_view who = "admin");

  // Presents a code: finds the pending node by the code's hash (a plain read:
  // a code that matches nothing never takes the write lock), checks expiry,
  // and offers a fresh secret (table enrol_offers). The node stays pending
  // and its code valid until its first Hello proved with that secret
  // (verify), so a link cut before the box saved its credentials leaves the
  // code usable; presenting the code again replaces the offer. Errors
  // (English + French messages for the technician):
  //   forbidden "unknown or already used enrolment code" (also for text that
  //             is not a well-formed code)
  //   forbidden "enrolment code expired" (ask the admin for `node replace`)
  Result<Enrolment> enrol(std::string_view code, int64_t now_ms);

  // The handshake check: `proof` == HMAC-SHA256(secret, nonce), compared in
  // constant time. A pending node proved with its offered secret becomes
  // active here (enrolled_at = now_ms, code spent, admin_log "node.enrol").
  // Errors:
  //   invalid   "unknown node or bad proof (...)": the one answer for an
  //             unknown id, a pending node without an offer, and any wrong
  //             proof, so a stranger cannot tell which ids exist (the
  //             English message says which, for the hub's log only)
  //   forbidden revoked, to a Hello proved with the secret it had when it
  //             was revoked (or to any Hello, for nodes revoked before
  //             schema 4 kept retired secrets)
  Status verify(const std::string& node_id, std::string_view nonce, std::string_view proof, int64_t now_ms);

  // Cuts a node off: state revoked, secret and code cleared (the secret is
  // kept in retired_secrets, for verify's REVOKED answer only). Revoking a
  // revoked node is ok (idempotent). Errors: not_found.
  // Live sessions are not told: the server must drop them (it polls get()).
  Status revoke(const std::string& node_id, int64_t now_ms, std::string_view who = "admin");

  // See "Replacing a box" above. Returns the code of the node to enrol (the
  // new one, or the same pending one). Errors: not_found, conflict (already
  // replaced).
  Result<NodeCode> replace(const std::string& node_id, int64_t now_ms, std::string_view who = "admin");

  // All nodes, ordered by centre_id then node_id.
  Result<std::vector<NodeInfo>> list();
  // nullopt when unknown.
  Result<std::optional<NodeInfo>> get(const std::string& node_id);
  // Ids of the nodes that are not active (revoked, or pending): the hub's
  // periodic check for revocations made by the CLI.
  Result<std::vector<std::string>> inactive_ids();
  // The centre of an active node. Errors: not_found (unknown), forbidden (not active).
  Result<std::string> centre_of(const std::string& node_id);

  // After a successful handshake: last_seen_at = now_ms, software_version
  // (stored as printable(software_version, 64), common/core/text.h).
  // Errors: not_found.
  Status touch(const std::string& node_id, int64_t now_ms, std::string_view software_version);
  // Records the last hub seq the node acked. Errors: not_found.
  Status set_hub_cursor(const std::string& node_id, uint64_t seq);
  // The same for many nodes in one transaction (one fsync): the hub's
  // periodic flush. Unknown nodes are skipped.
  Status set_hub_cursors(const std::vector<std::pair<std::string, uint64_t>>& cursors);

  // Appends an audit row. `detail` must hold no personal data.
  Status log_admin(std::string_view who, std::string_view action, std::string_view detail, int64_t now_ms);
  // The newest `limit` rows, newest first.
  Result<std::vector<AdminLogEntry>> admin_log(size_t limit);

  // "abcd-efgh ijkl" -> "ABCDEFGH1JK1" style normalisation (upper case,
  // dashes and spaces dropped, O->0, I/L->1). nullopt unless the result is
  // exactly 12 Crockford base32 characters.
  static std::optional<std::string> normalise_code(std::string_view code);

 private:
  Status activate(const std::string& node_id, std::string_view nonce, std::string_view proof, int64_t now_ms);
  Result<NodeCode> new_code(const std::string& node_id, const std::string& centre_id, int64_t now_ms,
                            std::string& hash_out);
  std::unique_ptr<store::RegistryDb> db_;
};

}  // namespace terril

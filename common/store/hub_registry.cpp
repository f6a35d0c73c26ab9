// The hub's node registry (enrolment codes, node lifecycle, admin log) over
// the Store's connection, with the store's statement cache, Query wrapper and
// error mapping (common/store/sqlite_util.h). Contract: hub_registry.h.
#include "common/store/hub_registry.h"

#include <sqlite3.h>

#include <utility>

#include "common/core/text.h"
#include "common/core/validate.h"
#include "common/store/sqlite_util.h"
#include "common/store/store.h"
#include "common/ops/tls.h"

namespace terril {

namespace store {

// The shared connection and the registry's own prepared statements.
struct RegistryDb {
  explicit RegistryDb(sqlite3* d) : db(d), cache(d) {}
  sqlite3* db;
  StmtCache cache;

  // The cached statement for `sql` (constant text; values are bound).
  Status prepare(const std::string& sql, sqlite3_stmt*& out) {
    Status err;
    out = cache.get(sql, &err);
    return out ? Status::ok() : err;
  }
  // io, or full (French message for staff), naming the registry operation.
  Status error(int rc, const std::string& what) { return sql_error(db, rc, "registry: " + what); }
};

}  // namespace store

namespace {

using store::Query;
using store::RegistryDb;

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr size_t kCodeChars = 12;  // 12 x 5 bits = 60 bits

// BEGIN IMMEDIATE ... COMMIT; rolls back on scope exit unless committed.
class Tx {
 public:
  explicit Tx(RegistryDb& d) : d_(d) {}
  ~Tx() {
    if (!began_ || done_ || sqlite3_get_autocommit(d_.db)) return;  // SQLite may have rolled back (SQLITE_FULL...)
    sqlite3_stmt* st = nullptr;
    // The error that made us roll back is the one reported; a failed
    // ROLLBACK leaves nothing committed either.
    if (d_.prepare("ROLLBACK", st)) (void)Query(st).step();
  }
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;

  Status begin() { return run("BEGIN IMMEDIATE", "begin", began_); }
  Status commit() { return run("COMMIT", "commit", done_); }

 private:
  Status run(const char* sql, const char* what, bool& flag) {
    sqlite3_stmt* st = nullptr;
    if (Status s = d_.prepare(sql, st); !s) return s;
    if (int rc = Query(st).step(); rc != SQLITE_DONE) return d_.error(rc, what);
    flag = true;
    return Status::ok();
  }
  RegistryDb& d_;
  bool began_ = false;
  bool done_ = false;
};

Status insert_log(RegistryDb& d, std::string_view who, std::string_view action, std::string_view detail,
                  int64_t now_ms) {
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare("INSERT INTO admin_log(at, who, action, detail) VALUES (?, ?, ?, ?)", st); !p) return p;
  Query s(st);
  s.bind(1, now_ms).bind(2, who).bind(3, action).bind(4, detail);
  if (int rc = s.step(); rc != SQLITE_DONE) return d.error(rc, "admin log");
  return Status::ok();
}

std::optional<NodeState> parse_state(std::string_view s) {
  if (s == "pending") return NodeState::pending;
  if (s == "active") return NodeState::active;
  if (s == "revoked") return NodeState::revoked;
  return std::nullopt;
}

constexpr const char* kNodeColumns =
    "node_id, centre_id, state, created_at, code_expires_at, enrolled_at, last_seen_at, software_version, "
    "hub_cursor, replaced_by";

NodeInfo read_node(const Query& s) {
  NodeInfo n;
  n.node_id = std::string(s.text(0));
  n.centre_id = std::string(s.text(1));
  n.state = parse_state(s.text(2)).value_or(NodeState::revoked);
  n.created_at_ms = s.i64(3);
  n.code_expires_at_ms = s.i64(4);
  n.enrolled_at_ms = s.i64(5);
  n.last_seen_at_ms = s.i64(6);
  n.software_version = std::string(s.text(7));
  n.hub_cursor = s.u64(8);
  n.replaced_by = std::string(s.text(9));
  return n;
}

Result<std::optional<NodeInfo>> select_node(RegistryDb& d, const std::string& node_id) {
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare(std::string("SELECT ") + kNodeColumns + " FROM nodes WHERE node_id = ?", st); !p) return p;
  Query s(st);
  s.bind(1, std::string_view(node_id));
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<NodeInfo>{};
  if (rc != SQLITE_ROW) return d.error(rc, "read node " + node_id);
  return std::optional<NodeInfo>(read_node(s));
}

Status unknown_node(const std::string& node_id) {
  return Status(Code::not_found, "unknown node: " + node_id, "node_id", "Boîtier inconnu : " + node_id);
}

// The replacement id for `old`: "<base>-r<N>", first free N >= 2, within the
// node id length limit.
Result<std::string> replacement_id(RegistryDb& d, const std::string& old) {
  std::string base = old;
  auto dash = base.rfind("-r");
  if (dash != std::string::npos && dash + 2 < base.size() &&
      base.find_first_not_of("0123456789", dash + 2) == std::string::npos) {
    base.resize(dash);
  }
  for (int n = 2; n < 10000; ++n) {
    std::string suffix = "-r" + std::to_string(n);
    std::string b = base.substr(0, std::min(base.size(), kMaxOriginLen - suffix.size()));
    while (!b.empty() && b.back() == '-') b.pop_back();
    std::string candidate = b + suffix;
    if (!valid_node_id(candidate)) continue;
    auto existing = select_node(d, candidate);
    if (!existing) return existing.status();
    if (!existing->has_value()) return candidate;
  }
  return Status(Code::conflict, "no free replacement id for node " + old);
}

// Inserts pending node `node_id` with the hash of its code (add, replace).
Status insert_pending(RegistryDb& d, const std::string& node_id, const std::string& centre_id, std::string_view hash,
                      int64_t expires_at_ms, int64_t now_ms) {
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare("INSERT INTO nodes(node_id, centre_id, state, code_hash, code_expires_at, created_at) "
                           "VALUES (?, ?, 'pending', ?, ?, ?)",
                           st);
      !p)
    return p;
  Query s(st);
  s.bind(1, std::string_view(node_id)).bind(2, std::string_view(centre_id)).bind_blob(3, hash);
  s.bind(4, expires_at_ms).bind(5, now_ms);
  if (int rc = s.step(); rc != SQLITE_DONE) return d.error(rc, "add node " + node_id);
  return Status::ok();
}

}  // namespace

const char* node_state_name(NodeState s) {
  switch (s) {
    case NodeState::pending:
      return "pending";
    case NodeState::active:
      return "active";
    case NodeState::revoked:
      return "revoked";
  }
  return "revoked";
}

Registry::Registry(Store& store) : db_(std::make_unique<RegistryDb>(store.db_)) {}

Registry::~Registry() = default;

std::optional<std::string> Registry::normalise_code(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    if (kCrockford.find(c) == std::string_view::npos) return std::nullopt;
    out += c;
    if (out.size() > kCodeChars) return std::nullopt;
  }
  if (out.size() != kCodeChars) return std::nullopt;
  return out;
}

Result<NodeCode> Registry::new_code(const std::string& node_id, const std::string& centre_id, int64_t now_ms,
                                    std::string& hash_out) {
  auto rnd = random_bytes(kCodeChars);
  if (!rnd) return rnd.status();
  std::string plain;
  for (unsigned char b : *rnd) plain += kCrockford[b & 0x1f];  // 256 % 32 == 0: uniform
  hash_out = sha256(plain);
  NodeCode nc;
  nc.node_id = node_id;
  nc.centre_id = centre_id;
  nc.code = plain.substr(0, 4) + "-" + plain.substr(4, 4) + "-" + plain.substr(8, 4);
  nc.expires_at_ms = now_ms + kCodeLifetimeMs;
  return nc;
}

Result<NodeCode> Registry::add(const std::string& node_id, const std::string& centre_id, int64_t now_ms,
                               std::string_view who) {
  if (!valid_node_id(node_id)) {
    return Status(Code::invalid, "bad node id: expected [a-z0-9-], 1..64 characters, not 'hub'", "node_id",
                  "Identifiant de boîtier incorrect : lettres minuscules, chiffres et tirets (64 au plus)");
  }
  if (!valid_slug(centre_id)) {
    return Status(Code::invalid, "bad centre id: expected [a-z0-9-], 1..64 characters", "centre_id",
                  "Identifiant de centre incorrect");
  }
  RegistryDb& d = *db_;
  Tx tx(d);
  if (Status s = tx.begin(); !s) return s;
  auto existing = select_node(d, node_id);
  if (!existing) return existing.status();
  if (existing->has_value()) {
    return Status(
        Code::conflict,
        "node already exists: " + node_id + " (" + node_state_name((*existing)->state) + "); node ids are never reused",
        "node_id", "Ce boîtier existe déjà : " + node_id);
  }
  std::string hash;
  auto nc = new_code(node_id, centre_id, now_ms, hash);
  if (!nc) return nc.status();
  if (Status s = insert_pending(d, node_id, centre_id, hash, nc->expires_at_ms, now_ms); !s) return s;
  if (Status s = insert_log(d, who, "node.add", "node=" + node_id + " centre=" + centre_id, now_ms); !s) return s;
  if (Status s = tx.commit(); !s) return s;
  return nc;
}

Result<Enrolment> Registry::enrol(std::string_view code, int64_t now_ms) {
  const Status unknown(Code::forbidden, "unknown or already used enrolment code", "code",
                       "Code d'inscription inconnu ou déjà utilisé : vérifiez la saisie ou demandez un "
                       "nouveau code à l'administrateur.");
  auto norm = normalise_code(code);
  if (!norm) return unknown;
  std::string hash = sha256(*norm);

  RegistryDb& d = *db_;
  // A plain read first: a code that matches nothing (a typo, or someone
  // guessing) never takes the write lock.
  Enrolment e;
  int64_t expires_at = 0;
  auto find = [&]() -> Result<bool> {
    sqlite3_stmt* st = nullptr;
    if (Status p = d.prepare(
            "SELECT node_id, centre_id, code_expires_at FROM nodes WHERE code_hash = ? AND state = 'pending'", st);
        !p)
      return p;
    Query s(st);
    s.bind_blob(1, hash);
    int rc = s.step();
    if (rc == SQLITE_DONE) return false;
    if (rc != SQLITE_ROW) return d.error(rc, "find code");
    e.node_id = std::string(s.text(0));
    e.centre_id = std::string(s.text(1));
    expires_at = s.i64(2);
    return true;
  };
  auto found = find();
  if (!found) return found.status();
  if (!*found) return unknown;
  if (now_ms >= expires_at) {
    return Status(Code::forbidden, "enrolment code expired for node " + e.node_id, "code",
                  "Code d'inscription expiré : demandez un nouveau code à l'administrateur "
                  "(terril-hub node replace " +
                      e.node_id + ").");
  }
  auto secret = random_bytes(kNodeSecretBytes);
  if (!secret) return secret.status();
  e.secret = std::move(secret).value();

  Tx tx(d);
  if (Status s = tx.begin(); !s) return s;
  found = find();  // the code may have been spent or replaced since the read
  if (!found) return found.status();
  if (!*found) return unknown;
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare("INSERT OR REPLACE INTO enrol_offers(node_id, secret, offered_at) VALUES (?, ?, ?)", st); !p)
    return p;
  Query u(st);
  u.bind(1, std::string_view(e.node_id)).bind_blob(2, e.secret).bind(3, now_ms);
  if (int rc = u.step(); rc != SQLITE_DONE) return d.error(rc, "offer a secret to node " + e.node_id);
  if (Status s = insert_log(d, e.node_id, "node.enrol.offer", "node=" + e.node_id + " centre=" + e.centre_id, now_ms);
      !s)
    return s;
  if (Status s = tx.commit(); !s) return s;
  return e;
}

namespace {

// The one answer a Hello gets when its node id or proof is not good, so a
// stranger cannot tell which ids exist (the hub's log says which it was).
Status refused_proof(const std::string& node_id, std::string_view why) {
  return Status(Code::invalid, "unknown node or bad proof (" + std::string(why) + ": " + node_id + ")", "proof",
                "Boîtier inconnu ou preuve d'identité refusée : " + node_id);
}

bool proof_matches(std::string_view secret, std::string_view nonce, std::string_view proof) {
  return !secret.empty() && constant_time_equal(hmac_sha256(secret, nonce), proof);
}

// The secret in `table` ("enrol_offers" or "retired_secrets") for node_id; "" when none.
Result<std::string> secret_in(RegistryDb& d, const char* table, const std::string& node_id) {
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare(std::string("SELECT secret FROM ") + table + " WHERE node_id = ?", st); !p) return p;
  Query s(st);
  s.bind(1, std::string_view(node_id));
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return d.error(rc, std::string("read ") + table);
  return std::string(s.blob(0));
}

// Before a node's secret is cleared (revoke, replace): keep it in
// retired_secrets, and drop any enrolment offer.
Status retire_secret(RegistryDb& d, const std::string& node_id, int64_t now_ms) {
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare("INSERT OR REPLACE INTO retired_secrets(node_id, secret, retired_at) "
                           "SELECT node_id, secret, ? FROM nodes WHERE node_id = ? AND secret IS NOT NULL",
                           st);
      !p)
    return p;
  Query k(st);
  k.bind(1, now_ms).bind(2, std::string_view(node_id));
  if (int rc = k.step(); rc != SQLITE_DONE) return d.error(rc, "retire the secret of " + node_id);
  if (Status p = d.prepare("DELETE FROM enrol_offers WHERE node_id = ?", st); !p) return p;
  Query o(st);
  o.bind(1, std::string_view(node_id));
  if (int rc = o.step(); rc != SQLITE_DONE) return d.error(rc, "drop the enrolment offer of " + node_id);
  return Status::ok();
}

}  // namespace

Status Registry::verify(const std::string& node_id, std::string_view nonce, std::string_view proof, int64_t now_ms) {
  RegistryDb& d = *db_;
  auto node = select_node(d, node_id);
  if (!node) return node.status();
  if (!node->has_value()) return refused_proof(node_id, "unknown node");
  const NodeState state = (**node).state;
  if (state == NodeState::revoked) {
    auto retired = secret_in(d, "retired_secrets", node_id);
    if (!retired) return retired.status();
    // Revoked before secrets were retired (schema 3): no proof to check.
    if (!retired->empty() && !proof_matches(*retired, nonce, proof))
      return refused_proof(node_id, "revoked node, bad proof");
    return Status(Code::forbidden, "node revoked: " + node_id, "node_id", "Boîtier révoqué : " + node_id);
  }
  if (state == NodeState::pending) return activate(node_id, nonce, proof, now_ms);
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare("SELECT secret FROM nodes WHERE node_id = ?", st); !p) return p;
  Query s(st);
  s.bind(1, std::string_view(node_id));
  int rc = s.step();
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? refused_proof(node_id, "unknown node") : d.error(rc, "read node");
  if (!proof_matches(s.blob(0), nonce, proof)) return refused_proof(node_id, "bad proof");
  return Status::ok();
}

Status Registry::activate(const std::string& node_id, std::string_view nonce, std::string_view proof, int64_t now_ms) {
  RegistryDb& d = *db_;
  auto offer = secret_in(d, "enrol_offers", node_id);
  if (!offer) return offer.status();
  if (offer->empty()) return refused_proof(node_id, "pending node, no secret offered");
  if (!proof_matches(*offer, nonce, proof)) return refused_proof(node_id, "pending node, bad proof");
  Tx tx(d);
  if (Status s = tx.begin(); !s) return s;
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare(
          "UPDATE nodes SET state = 'active', secret = (SELECT secret FROM enrol_offers WHERE node_id = ?1), "
          "code_hash = NULL, code_expires_at = NULL, enrolled_at = ?2 "
          "WHERE node_id = ?1 AND state = 'pending' AND EXISTS (SELECT 1 FROM enrol_offers WHERE node_id = ?1 "
          "AND secret = ?3)",
          st);
      !p)
    return p;
  Query u(st);
  u.bind(1, std::string_view(node_id)).bind(2, now_ms).bind_blob(3, *offer);
  if (int rc = u.step(); rc != SQLITE_DONE) return d.error(rc, "activate node " + node_id);
  if (sqlite3_changes(d.db) != 1) return refused_proof(node_id, "enrolment offer withdrawn");
  if (Status p = d.prepare("DELETE FROM enrol_offers WHERE node_id = ?", st); !p) return p;
  Query del(st);
  del.bind(1, std::string_view(node_id));
  if (int rc = del.step(); rc != SQLITE_DONE) return d.error(rc, "spend the enrolment offer of " + node_id);
  auto centre = select_node(d, node_id);
  const std::string centre_id = centre && *centre ? (**centre).centre_id : "";
  if (Status s = insert_log(d, node_id, "node.enrol", "node=" + node_id + " centre=" + centre_id, now_ms); !s) return s;
  return tx.commit();
}

Status Registry::revoke(const std::string& node_id, int64_t now_ms, std::string_view who) {
  RegistryDb& d = *db_;
  Tx tx(d);
  if (Status s = tx.begin(); !s) return s;
  auto existing = select_node(d, node_id);
  if (!existing) return existing.status();
  if (!existing->has_value()) return unknown_node(node_id);
  if ((*existing)->state == NodeState::revoked) return Status::ok();
  if (Status s = retire_secret(d, node_id, now_ms); !s) return s;
  sqlite3_stmt* st = nullptr;
  if (Status p =
          d.prepare("UPDATE nodes SET state = 'revoked', secret = NULL, code_hash = NULL, code_expires_at = NULL "
                    "WHERE node_id = ?",
                    st);
      !p)
    return p;
  Query u(st);
  u.bind(1, std::string_view(node_id));
  if (int rc = u.step(); rc != SQLITE_DONE) return d.error(rc, "revoke node " + node_id);
  if (Status s = insert_log(d, who, "node.revoke", "node=" + node_id, now_ms); !s) return s;
  return tx.commit();
}

Result<NodeCode> Registry::replace(const std::string& node_id, int64_t now_ms, std::string_view who) {
  RegistryDb& d = *db_;
  Tx tx(d);
  if (Status s = tx.begin(); !s) return s;
  auto existing = select_node(d, node_id);
  if (!existing) return existing.status();
  if (!existing->has_value()) return unknown_node(node_id);
  const NodeInfo old = **existing;
  if (!old.replaced_by.empty()) {
    return Status(Code::conflict, "node " + node_id + " was already replaced by " + old.replaced_by, "node_id",
                  "Le boîtier " + node_id + " a déjà été remplacé par " + old.replaced_by);
  }

  std::string hash;
  sqlite3_stmt* st = nullptr;
  if (old.state == NodeState::pending) {
    auto nc = new_code(node_id, old.centre_id, now_ms, hash);
    if (!nc) return nc.status();
    if (Status s = retire_secret(d, node_id, now_ms); !s) return s;  // the old code's offer goes too
    if (Status p = d.prepare(
            "UPDATE nodes SET code_hash = ?, code_expires_at = ? WHERE node_id = ? AND state = 'pending'", st);
        !p)
      return p;
    Query u(st);
    u.bind_blob(1, hash).bind(2, nc->expires_at_ms).bind(3, std::string_view(node_id));
    if (int rc = u.step(); rc != SQLITE_DONE) return d.error(rc, "new code for node " + node_id);
    if (auto s = insert_log(d, who, "node.replace", "node=" + node_id + " new code (pending)", now_ms); !s) {
      return s;
    }
    if (auto s = tx.commit(); !s) return s;
    return nc;
  }

  auto new_id = replacement_id(d, node_id);
  if (!new_id) return new_id.status();
  auto nc = new_code(*new_id, old.centre_id, now_ms, hash);
  if (!nc) return nc.status();
  if (Status s = insert_pending(d, *new_id, old.centre_id, hash, nc->expires_at_ms, now_ms); !s) return s;
  if (Status s = retire_secret(d, node_id, now_ms); !s) return s;
  if (Status p =
          d.prepare("UPDATE nodes SET state = 'revoked', secret = NULL, code_hash = NULL, code_expires_at = NULL, "
                    "replaced_by = ? WHERE node_id = ?",
                    st);
      !p)
    return p;
  Query u(st);
  u.bind(1, std::string_view(*new_id)).bind(2, std::string_view(node_id));
  if (int rc = u.step(); rc != SQLITE_DONE) return d.error(rc, "revoke node " + node_id);
  if (auto s = insert_log(d, who, "node.replace",
                          "node=" + node_id + " replaced_by=" + *new_id + " centre=" + old.centre_id, now_ms);
      !s) {
    return s;
  }
  if (auto s = tx.commit(); !s) return s;
  return nc;
}

Result<std::vector<NodeInfo>> Registry::list() {
  RegistryDb& d = *db_;
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare(std::string("SELECT ") + kNodeColumns + " FROM nodes ORDER BY centre_id, node_id", st); !p)
    return p;
  Query s(st);
  std::vector<NodeInfo> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_node(s));
  if (rc != SQLITE_DONE) return d.error(rc, "list nodes");
  return out;
}

Result<std::optional<NodeInfo>> Registry::get(const std::string& node_id) {
  return select_node(*db_, node_id);
}

Result<std::string> Registry::centre_of(const std::string& node_id) {
  auto n = select_node(*db_, node_id);
  if (!n) return n.status();
  if (!n->has_value()) return unknown_node(node_id);
  if ((*n)->state != NodeState::active) {
    return Status(Code::forbidden, "node not active: " + node_id, "node_id", "Boîtier inactif : " + node_id);
  }
  return (*n)->centre_id;
}

Status Registry::touch(const std::string& node_id, int64_t now_ms, std::string_view software_version) {
  RegistryDb& d = *db_;
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare("UPDATE nodes SET last_seen_at = ?, software_version = ? WHERE node_id = ?", st); !p)
    return p;
  // The node's own text, shown by `node list` and the dashboard: printable
  // ASCII only (no terminal escapes), 64 characters at most (L7).
  const std::string version = printable(software_version, 64);
  Query u(st);
  u.bind(1, now_ms).bind(2, std::string_view(version)).bind(3, std::string_view(node_id));
  if (int rc = u.step(); rc != SQLITE_DONE) return d.error(rc, "touch node " + node_id);
  if (sqlite3_changes(d.db) == 0) return unknown_node(node_id);
  return Status::ok();
}

Status Registry::set_hub_cursor(const std::string& node_id, uint64_t seq) {
  RegistryDb& d = *db_;
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare("UPDATE nodes SET hub_cursor = ? WHERE node_id = ?", st); !p) return p;
  Query u(st);
  u.bind(1, seq).bind(2, std::string_view(node_id));
  if (int rc = u.step(); rc != SQLITE_DONE) return d.error(rc, "set hub cursor of node " + node_id);
  if (sqlite3_changes(d.db) == 0) return unknown_node(node_id);
  return Status::ok();
}

Result<std::vector<std::string>> Registry::inactive_ids() {
  RegistryDb& d = *db_;
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare("SELECT node_id FROM nodes WHERE state <> 'active'", st); !p) return p;
  Query s(st);
  std::vector<std::string> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.emplace_back(s.text(0));
  if (rc != SQLITE_DONE) return d.error(rc, "list inactive nodes");
  return out;
}

Status Registry::set_hub_cursors(const std::vector<std::pair<std::string, uint64_t>>& cursors) {
  if (cursors.empty()) return Status::ok();
  RegistryDb& d = *db_;
  Tx tx(d);
  if (Status s = tx.begin(); !s) return s;
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare("UPDATE nodes SET hub_cursor = ? WHERE node_id = ?", st); !p) return p;
  for (const auto& [node_id, seq] : cursors) {
    Query u(st);
    u.bind(1, seq).bind(2, std::string_view(node_id));
    if (int rc = u.step(); rc != SQLITE_DONE) return d.error(rc, "set hub cursor of node " + node_id);
  }
  return tx.commit();
}

Status Registry::log_admin(std::string_view who, std::string_view action, std::string_view detail, int64_t now_ms) {
  return insert_log(*db_, who, action, detail, now_ms);
}

Result<std::vector<AdminLogEntry>> Registry::admin_log(size_t limit) {
  RegistryDb& d = *db_;
  sqlite3_stmt* st = nullptr;
  if (Status p = d.prepare("SELECT at, who, action, detail FROM admin_log ORDER BY id DESC LIMIT ?", st); !p) return p;
  Query s(st);
  s.bind(1, static_cast<int64_t>(limit));
  std::vector<AdminLogEntry> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back({s.i64(0), std::string(s.text(1)), std::string(s.text(2)), std::string(s.text(3))});
  if (rc != SQLITE_DONE) return d.error(rc, "read admin log");
  return out;
}

}  // namespace terril

#include "hub/registry.h"

#include <sqlite3.h>

#include <utility>

#include "common/core/validate.h"
#include "common/tls.h"

namespace terril {
namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr size_t kCodeChars = 12;  // 12 x 5 bits = 60 bits

Status db_error(sqlite3* db, const std::string& what) {
  int rc = sqlite3_extended_errcode(db);
  Code code = (rc & 0xff) == SQLITE_FULL ? Code::full : Code::io;
  return Status(code, "registry: " + what + ": " + sqlite3_errmsg(db));
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool prepared() const { return rc_ == SQLITE_OK; }
  Stmt& text(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& blob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& integer(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return prepared() ? sqlite3_step(s_) : rc_; }
  // Ready to run again with new bindings.
  void reset() { sqlite3_reset(s_); }

  std::string col_text(int i) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, i))) : std::string();
  }
  std::string col_blob(int i) const {
    auto p = static_cast<const char*>(sqlite3_column_blob(s_, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, i))) : std::string();
  }
  int64_t col_int(int i) const { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back on scope exit unless committed.
class Tx {
 public:
  explicit Tx(sqlite3* db) : db_(db) {
    ok_ = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~Tx() {
    if (ok_ && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  bool began() const { return ok_; }
  Status commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return db_error(db_, "commit");
    done_ = true;
    return Status::ok();
  }

 private:
  sqlite3* db_;
  bool ok_ = false;
  bool done_ = false;
};

Status insert_log(sqlite3* db, std::string_view who, std::string_view action, std::string_view detail, int64_t now_ms) {
  Stmt s(db, "INSERT INTO admin_log(at, who, action, detail) VALUES (?, ?, ?, ?)");
  s.integer(1, now_ms).text(2, who).text(3, action).text(4, detail);
  if (s.step() != SQLITE_DONE) return db_error(db, "admin log");
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

NodeInfo read_node(const Stmt& s) {
  NodeInfo n;
  n.node_id = s.col_text(0);
  n.centre_id = s.col_text(1);
  n.state = parse_state(s.col_text(2)).value_or(NodeState::revoked);
  n.created_at_ms = s.col_int(3);
  n.code_expires_at_ms = s.col_int(4);
  n.enrolled_at_ms = s.col_int(5);
  n.last_seen_at_ms = s.col_int(6);
  n.software_version = s.col_text(7);
  n.hub_cursor = static_cast<uint64_t>(s.col_int(8));
  n.replaced_by = s.col_text(9);
  return n;
}

Result<std::optional<NodeInfo>> select_node(sqlite3* db, const std::string& node_id) {
  std::string sql = std::string("SELECT ") + kNodeColumns + " FROM nodes WHERE node_id = ?";
  Stmt s(db, sql.c_str());
  s.text(1, node_id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<NodeInfo>{};
  if (rc != SQLITE_ROW) return db_error(db, "read node " + node_id);
  return std::optional<NodeInfo>(read_node(s));
}

Status unknown_node(const std::string& node_id) {
  return Status(Code::not_found, "unknown node: " + node_id, "node_id", "Boîtier inconnu : " + node_id);
}

// The replacement id for `old`: "<base>-r<N>", first free N >= 2, within the
// node id length limit.
Result<std::string> replacement_id(sqlite3* db, const std::string& old) {
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
    auto existing = select_node(db, candidate);
    if (!existing) return existing.status();
    if (!existing->has_value()) return candidate;
  }
  return Status(Code::conflict, "no free replacement id for node " + old);
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

Registry::Registry(sqlite3* db) : db_(db) {}

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
  Tx tx(db_);
  if (!tx.began()) return db_error(db_, "begin");
  auto existing = select_node(db_, node_id);
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
  Stmt s(db_,
         "INSERT INTO nodes(node_id, centre_id, state, code_hash, code_expires_at, created_at) "
         "VALUES (?, ?, 'pending', ?, ?, ?)");
  s.text(1, node_id).text(2, centre_id).blob(3, hash).integer(4, nc->expires_at_ms).integer(5, now_ms);
  if (s.step() != SQLITE_DONE) return db_error(db_, "add node " + node_id);
  if (auto st = insert_log(db_, who, "node.add", "node=" + node_id + " centre=" + centre_id, now_ms); !st) return st;
  if (auto st = tx.commit(); !st) return st;
  return nc;
}

Result<Enrolment> Registry::enrol(std::string_view code, int64_t now_ms) {
  const Status unknown(Code::forbidden, "unknown or already used enrolment code", "code",
                       "Code d'inscription inconnu ou déjà utilisé : vérifiez la saisie ou demandez un "
                       "nouveau code à l'administrateur.");
  auto norm = normalise_code(code);
  if (!norm) return unknown;
  std::string hash = sha256(*norm);

  Tx tx(db_);
  if (!tx.began()) return db_error(db_, "begin");
  Stmt s(db_, "SELECT node_id, centre_id, code_expires_at FROM nodes WHERE code_hash = ? AND state = 'pending'");
  s.blob(1, hash);
  int rc = s.step();
  if (rc == SQLITE_DONE) return unknown;
  if (rc != SQLITE_ROW) return db_error(db_, "find code");
  Enrolment e;
  e.node_id = s.col_text(0);
  e.centre_id = s.col_text(1);
  if (now_ms >= s.col_int(2)) {
    return Status(Code::forbidden, "enrolment code expired for node " + e.node_id, "code",
                  "Code d'inscription expiré : demandez un nouveau code à l'administrateur "
                  "(terril-hub node replace " +
                      e.node_id + ").");
  }
  auto secret = random_bytes(kNodeSecretBytes);
  if (!secret) return secret.status();
  e.secret = std::move(secret).value();

  Stmt u(db_,
         "UPDATE nodes SET state = 'active', secret = ?, code_hash = NULL, code_expires_at = NULL, "
         "enrolled_at = ? WHERE node_id = ? AND state = 'pending'");
  u.blob(1, e.secret).integer(2, now_ms).text(3, e.node_id);
  if (u.step() != SQLITE_DONE || sqlite3_changes(db_) != 1) return db_error(db_, "enrol node " + e.node_id);
  if (auto st = insert_log(db_, e.node_id, "node.enrol", "node=" + e.node_id + " centre=" + e.centre_id, now_ms); !st) {
    return st;
  }
  if (auto st = tx.commit(); !st) return st;
  return e;
}

Status Registry::verify(const std::string& node_id, std::string_view nonce, std::string_view proof) {
  Stmt s(db_, "SELECT state, secret FROM nodes WHERE node_id = ?");
  s.text(1, node_id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return unknown_node(node_id);
  if (rc != SQLITE_ROW) return db_error(db_, "read node " + node_id);
  auto state = parse_state(s.col_text(0));
  if (state == NodeState::revoked) {
    return Status(Code::forbidden, "node revoked: " + node_id, "node_id", "Boîtier révoqué : " + node_id);
  }
  if (state != NodeState::active) {
    return Status(Code::forbidden, "node not enrolled: " + node_id, "node_id", "Boîtier non inscrit : " + node_id);
  }
  std::string expected = hmac_sha256(s.col_blob(1), nonce);
  if (!constant_time_equal(expected, proof)) {
    return Status(Code::invalid, "bad proof from node " + node_id, "proof",
                  "Preuve d'identité refusée pour le boîtier " + node_id);
  }
  return Status::ok();
}

Status Registry::revoke(const std::string& node_id, int64_t now_ms, std::string_view who) {
  Tx tx(db_);
  if (!tx.began()) return db_error(db_, "begin");
  auto existing = select_node(db_, node_id);
  if (!existing) return existing.status();
  if (!existing->has_value()) return unknown_node(node_id);
  if ((*existing)->state == NodeState::revoked) return Status::ok();
  Stmt u(db_,
         "UPDATE nodes SET state = 'revoked', secret = NULL, code_hash = NULL, code_expires_at = NULL "
         "WHERE node_id = ?");
  u.text(1, node_id);
  if (u.step() != SQLITE_DONE) return db_error(db_, "revoke node " + node_id);
  if (auto st = insert_log(db_, who, "node.revoke", "node=" + node_id, now_ms); !st) return st;
  return tx.commit();
}

Result<NodeCode> Registry::replace(const std::string& node_id, int64_t now_ms, std::string_view who) {
  Tx tx(db_);
  if (!tx.began()) return db_error(db_, "begin");
  auto existing = select_node(db_, node_id);
  if (!existing) return existing.status();
  if (!existing->has_value()) return unknown_node(node_id);
  const NodeInfo old = **existing;
  if (!old.replaced_by.empty()) {
    return Status(Code::conflict, "node " + node_id + " was already replaced by " + old.replaced_by, "node_id",
                  "Le boîtier " + node_id + " a déjà été remplacé par " + old.replaced_by);
  }

  std::string hash;
  if (old.state == NodeState::pending) {
    auto nc = new_code(node_id, old.centre_id, now_ms, hash);
    if (!nc) return nc.status();
    Stmt u(db_, "UPDATE nodes SET code_hash = ?, code_expires_at = ? WHERE node_id = ? AND state = 'pending'");
    u.blob(1, hash).integer(2, nc->expires_at_ms).text(3, node_id);
    if (u.step() != SQLITE_DONE) return db_error(db_, "new code for node " + node_id);
    if (auto st = insert_log(db_, who, "node.replace", "node=" + node_id + " new code (pending)", now_ms); !st) {
      return st;
    }
    if (auto st = tx.commit(); !st) return st;
    return nc;
  }

  auto new_id = replacement_id(db_, node_id);
  if (!new_id) return new_id.status();
  auto nc = new_code(*new_id, old.centre_id, now_ms, hash);
  if (!nc) return nc.status();
  Stmt ins(db_,
           "INSERT INTO nodes(node_id, centre_id, state, code_hash, code_expires_at, created_at) "
           "VALUES (?, ?, 'pending', ?, ?, ?)");
  ins.text(1, *new_id).text(2, old.centre_id).blob(3, hash).integer(4, nc->expires_at_ms).integer(5, now_ms);
  if (ins.step() != SQLITE_DONE) return db_error(db_, "add node " + *new_id);
  Stmt u(db_,
         "UPDATE nodes SET state = 'revoked', secret = NULL, code_hash = NULL, code_expires_at = NULL, "
         "replaced_by = ? WHERE node_id = ?");
  u.text(1, *new_id).text(2, node_id);
  if (u.step() != SQLITE_DONE) return db_error(db_, "revoke node " + node_id);
  if (auto st = insert_log(db_, who, "node.replace",
                           "node=" + node_id + " replaced_by=" + *new_id + " centre=" + old.centre_id, now_ms);
      !st) {
    return st;
  }
  if (auto st = tx.commit(); !st) return st;
  return nc;
}

Result<std::vector<NodeInfo>> Registry::list() {
  std::string sql = std::string("SELECT ") + kNodeColumns + " FROM nodes ORDER BY centre_id, node_id";
  Stmt s(db_, sql.c_str());
  std::vector<NodeInfo> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_node(s));
  if (rc != SQLITE_DONE) return db_error(db_, "list nodes");
  return out;
}

Result<std::optional<NodeInfo>> Registry::get(const std::string& node_id) {
  return select_node(db_, node_id);
}

Result<std::string> Registry::centre_of(const std::string& node_id) {
  auto n = select_node(db_, node_id);
  if (!n) return n.status();
  if (!n->has_value()) return unknown_node(node_id);
  if ((*n)->state != NodeState::active) {
    return Status(Code::forbidden, "node not active: " + node_id, "node_id", "Boîtier inactif : " + node_id);
  }
  return (*n)->centre_id;
}

Status Registry::touch(const std::string& node_id, int64_t now_ms, std::string_view software_version) {
  Stmt u(db_, "UPDATE nodes SET last_seen_at = ?, software_version = ? WHERE node_id = ?");
  u.integer(1, now_ms).text(2, software_version.substr(0, 64)).text(3, node_id);
  if (u.step() != SQLITE_DONE) return db_error(db_, "touch node " + node_id);
  if (sqlite3_changes(db_) == 0) return unknown_node(node_id);
  return Status::ok();
}

Status Registry::set_hub_cursor(const std::string& node_id, uint64_t seq) {
  Stmt u(db_, "UPDATE nodes SET hub_cursor = ? WHERE node_id = ?");
  u.integer(1, static_cast<int64_t>(seq)).text(2, node_id);
  if (u.step() != SQLITE_DONE) return db_error(db_, "set hub cursor of node " + node_id);
  if (sqlite3_changes(db_) == 0) return unknown_node(node_id);
  return Status::ok();
}

Result<std::vector<std::string>> Registry::inactive_ids() {
  Stmt s(db_, "SELECT node_id FROM nodes WHERE state <> 'active'");
  std::vector<std::string> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.col_text(0));
  if (rc != SQLITE_DONE) return db_error(db_, "list inactive nodes");
  return out;
}

Status Registry::set_hub_cursors(const std::vector<std::pair<std::string, uint64_t>>& cursors) {
  if (cursors.empty()) return Status::ok();
  Tx tx(db_);
  if (!tx.began()) return db_error(db_, "begin");
  Stmt u(db_, "UPDATE nodes SET hub_cursor = ? WHERE node_id = ?");
  for (const auto& [node_id, seq] : cursors) {
    u.integer(1, static_cast<int64_t>(seq)).text(2, node_id);
    if (u.step() != SQLITE_DONE) return db_error(db_, "set hub cursor of node " + node_id);
    u.reset();
  }
  return tx.commit();
}

Status Registry::log_admin(std::string_view who, std::string_view action, std::string_view detail, int64_t now_ms) {
  return insert_log(db_, who, action, detail, now_ms);
}

Result<std::vector<AdminLogEntry>> Registry::admin_log(size_t limit) {
  Stmt s(db_, "SELECT at, who, action, detail FROM admin_log ORDER BY id DESC LIMIT ?");
  s.integer(1, static_cast<int64_t>(limit));
  std::vector<AdminLogEntry> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.col_int(0), s.col_text(1), s.col_text(2), s.col_text(3)});
  if (rc != SQLITE_DONE) return db_error(db_, "read admin log");
  return out;
}

}  // namespace terril

// Hostile peers and inputs against a REAL terril-hub process over real TLS
// on loopback (issues 3 and 6). Each case checks three things:
//   1. the clear answer: the hub's Error frame (decoded) and the close, or the
//      per-change Rejection, or the HTTP status;
//   2. nothing was stored (hub.db read with SQLite);
//   3. a legitimate node, connected before the first case and never
//      reconnected, keeps syncing during and after (a change pushed and
//      acknowledged, and the hub's fan-out reaching it).
//
// One hub serves every case of a run, in declaration order. Every wait is
// bounded. Run: TERRIL_BUILD=build build/tests/integration/hostile/hostile_tests
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include "common/core/ids.h"
#include "common/wire/wire.h"
#include "tests/integration/hostile/support.h"

using namespace terril;
using namespace terril::hostile;

namespace {

constexpr const char* kCentreA = "valenciennes-beaujardin";
constexpr const char* kCentreB = "denain-tonini";

// The shared hub and the legitimate node that must never notice the attacks.
struct Env {
  HubProcess hub;
  Io io;
  Creds legit_creds;
  std::shared_ptr<ScriptedPeer> legit;
  uint64_t legit_seq = 0;         // last origin_seq the legit node pushed
  std::string legit_note;         // a note of centre B held at the hub
  std::string legit_first_hello;  // the legit node's Hello, for replay

  Env() {
    std::string err;
    auto c = enrol(io, hub, hub.add_node("legit-node", kCentreB), &err);
    if (!c) throw std::runtime_error("enrol legit-node: " + err);
    legit_creds = *c;
    Script s;
    s.hello = legit_creds;
    legit = connect_peer(io, hub.url(), hub.fingerprint(), s, "", &err);
    if (!legit) throw std::runtime_error("connect legit-node: " + err);
    auto w = legit->wait_frame(v1::Frame::kWelcome, 10);
    if (!w) throw std::runtime_error("legit-node got no Welcome; hub log:\n" + hub.log_tail());
    legit_seq = w->welcome().node_cursor();
    legit_first_hello = legit->sent_hello();
  }
};

Env& env() {
  static Env e;
  return e;
}

std::string name(v1::ErrorCode c) {
  return v1::ErrorCode_Name(c);
}

int64_t notes_with_id(const std::string& id) {
  return sql_int(env().hub.db_path(), "SELECT count(*) FROM prototype_notes WHERE id = ?", {id});
}
int64_t log_rows_of(const std::string& origin) {
  return sql_int(env().hub.db_path(), "SELECT count(*) FROM change_log WHERE origin = ?", {origin});
}
int64_t cursor_of(const std::string& origin) {
  return sql_int(env().hub.db_path(), "SELECT coalesce(max(seq), 0) FROM origin_cursors WHERE origin = ?", {origin});
}

// The legitimate node is still on its first link, pushes one change, gets it
// acknowledged within 3 s, and the hub holds it.
void legit_keeps_syncing(const char* when) {
  INFO("legit node " << when);
  Env& e = env();
  REQUIRE(e.hub.alive());
  REQUIRE_FALSE(e.legit->closed());
  Change c = note_change(e.legit_creds.node_id, e.legit_seq + 1, kCentreB, std::string("Note légitime ") + when);
  auto t0 = Clock::now();
  e.legit->send(changes_frame({c}, c.origin_seq));
  REQUIRE(e.legit->wait([&] { return e.legit->acked() >= c.origin_seq; }, 3));
  INFO("ack after " << seconds_since(t0) << " s");
  e.legit_seq = c.origin_seq;
  e.legit_note = c.record_id;
  CHECK(notes_with_id(c.record_id) == 1);
  CHECK(e.legit->undecodable() == 0);
}

// A sync peer for a freshly enrolled node of `centre`.
Creds enrolled(const std::string& node_id, const std::string& centre) {
  std::string err;
  auto c = enrol(env().io, env().hub, env().hub.add_node(node_id, centre), &err);
  INFO(err);
  REQUIRE(c);
  return *c;
}

std::shared_ptr<ScriptedPeer> open_link(Script s) {
  std::string err;
  auto p = connect_peer(env().io, env().hub.url(), env().hub.fingerprint(), std::move(s), "", &err);
  INFO(err);
  REQUIRE(p);
  return p;
}

// A handshaken link for `c`, its Welcome received.
std::shared_ptr<ScriptedPeer> streaming(const Creds& c) {
  Script s;
  s.hello = c;
  auto p = open_link(s);
  REQUIRE(p->wait_frame(v1::Frame::kWelcome, 10));
  return p;
}

// The hub answered with Error{code} (decoded), closed the link, never welcomed it.
v1::Error expect_refused(ScriptedPeer& p, v1::ErrorCode code) {
  auto f = p.wait_frame(v1::Frame::kError, 10);
  INFO("expected " << name(code) << "; link " << (p.closed() ? "closed: " + p.close_reason() : "open"));
  REQUIRE(f);
  INFO("got " << name(f->error().code()) << ": " << f->error().message());
  CHECK(f->error().code() == code);
  CHECK(p.wait_closed(5));
  return f->error();
}

std::string random_garbage(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& ch : s) ch = static_cast<char>(rng());
  v1::Frame f;
  if (s.size() < (1u << 20) && wire::decode_frame(s, f).is_ok()) s[0] = '\xff';  // stay undecodable
  return s;
}

// A handshake refused: the pipelined change behind the Hello must not be stored.
void refused_handshake(const Creds& c, v1::ErrorCode code, Script s) {
  Change smuggled = note_change(c.node_id, 1, c.centre_id.empty() ? kCentreA : c.centre_id, "Passager clandestin");
  s.hello = c;
  s.after_hello.push_back(changes_frame({smuggled}, 1));
  auto p = open_link(s);
  legit_keeps_syncing("during the refusal");
  expect_refused(*p, code);
  CHECK(notes_with_id(smuggled.record_id) == 0);
  CHECK(log_rows_of(c.node_id) == 0);
  CHECK(cursor_of(c.node_id) == 0);
}

}  // namespace

TEST_CASE("legit node connects and syncs before any attack", "[hostile]") {
  legit_keeps_syncing("before");
}

TEST_CASE("bad proof gets BAD_PROOF, closes, stores nothing", "[hostile]") {
  Creds c = enrolled("hostile-bad-proof", kCentreA);
  Script s;
  s.proof = std::string(32, '\0');
  refused_handshake(c, v1::ERROR_CODE_BAD_PROOF, s);
  legit_keeps_syncing("after bad proof");
}

TEST_CASE("L7: an unknown node id gets the same BAD_PROOF as a wrong proof, closes, stores nothing", "[hostile]") {
  Creds ghost{"ghost-node", std::string(32, 'k'), kCentreA};
  refused_handshake(ghost, v1::ERROR_CODE_BAD_PROOF, Script{});
  legit_keeps_syncing("after unknown node");
}

TEST_CASE("node added but never enrolled is refused and stores nothing", "[hostile]") {
  env().hub.add_node("hostile-pending", kCentreA);
  Creds c{"hostile-pending", std::string(32, 'p'), kCentreA};
  Change smuggled = note_change(c.node_id, 1, kCentreA, "Jamais inscrit");
  Script s;
  s.hello = c;
  s.after_hello.push_back(changes_frame({smuggled}, 1));
  auto p = open_link(s);
  auto f = p->wait_frame(v1::Frame::kError, 10);
  REQUIRE(f);
  INFO(name(f->error().code()) << ": " << f->error().message());
  // L7: what an unknown id gets; the text says nothing of the node either.
  CHECK(f->error().code() == v1::ERROR_CODE_BAD_PROOF);
  CHECK(f->error().message() == "unknown node or bad proof");
  CHECK(p->wait_closed(5));
  CHECK(notes_with_id(smuggled.record_id) == 0);
  CHECK(cursor_of(c.node_id) == 0);
  legit_keeps_syncing("after pending node");
}

TEST_CASE("revoke cuts a connected node within 1 s; it is refused with REVOKED_NODE afterwards", "[hostile]") {
  Creds c = enrolled("hostile-revoked", kCentreA);
  auto p = streaming(c);
  Change ok = note_change(c.node_id, 1, kCentreA, "Avant révocation");
  p->send(changes_frame({ok}, 1));
  REQUIRE(p->wait([&] { return p->acked() >= 1; }, 5));
  REQUIRE(notes_with_id(ok.record_id) == 1);

  auto r = env().hub.cli({"node", "revoke", c.node_id});
  REQUIRE(r.exit_code == 0);
  auto t0 = Clock::now();
  auto err = p->wait_frame(v1::Frame::kError, 5);
  double cut_s = seconds_since(t0);
  REQUIRE(err);
  CHECK(err->error().code() == v1::ERROR_CODE_REVOKED_NODE);
  CHECK(p->wait_closed(5));
  WARN("revoked node cut " << cut_s << " s after `terril-hub node revoke` returned");
  CHECK(cut_s <= 1.0);

  // From then on: refused, and what it pipelines is not stored.
  Change later = note_change(c.node_id, 2, kCentreA, "Après révocation");
  Script s;
  s.hello = c;
  s.after_hello.push_back(changes_frame({later}, 2));
  auto again = open_link(s);
  expect_refused(*again, v1::ERROR_CODE_REVOKED_NODE);
  CHECK(notes_with_id(later.record_id) == 0);
  CHECK(cursor_of(c.node_id) == 1);
  legit_keeps_syncing("after revocation");
}

TEST_CASE("L2: a code presented again before the box's first Hello still enrols; replayed after it, BAD_ENROL_CODE",
          "[hostile]") {
  std::string code = env().hub.add_node("hostile-enrol", kCentreA);
  std::string err;
  auto cut = enrol(env().io, env().hub, code, &err);  // the box never got to save these: link cut
  REQUIRE(cut);
  auto kept = enrol(env().io, env().hub, code, &err);  // the technician runs the command again
  INFO(err);
  REQUIRE(kept);
  CHECK(kept->secret != cut->secret);
  Script stale;
  stale.hello = *cut;
  auto refused = open_link(stale);
  expect_refused(*refused, v1::ERROR_CODE_BAD_PROOF);  // the first secret is void
  streaming(*kept);                                    // the first Hello with the kept secret spends the code
  CHECK(sql_int(env().hub.db_path(),
                "SELECT count(*) FROM nodes WHERE node_id = 'hostile-enrol' AND state = "
                "'active'") == 1);
  v1::ErrorCode ec = v1::ERROR_CODE_UNSPECIFIED;
  CHECK_FALSE(enrol(env().io, env().hub, code, &err, &ec));
  INFO(err);
  CHECK(ec == v1::ERROR_CODE_BAD_ENROL_CODE);
  // A made-up code, and garbage, get the same answer.
  for (const std::string& bad : std::vector<std::string>{"ABCD-EFGH-JKMN", "", std::string(5000, 'x')}) {
    ec = v1::ERROR_CODE_UNSPECIFIED;
    CHECK_FALSE(enrol(env().io, env().hub, bad, &err, &ec));
    CHECK(ec == v1::ERROR_CODE_BAD_ENROL_CODE);
  }
  // Still exactly one active node of that id.
  CHECK(sql_int(env().hub.db_path(), "SELECT count(*) FROM nodes WHERE node_id = 'hostile-enrol'") == 1);
  legit_keeps_syncing("after replayed code");
}

TEST_CASE("wrong protocol version gets UNSUPPORTED_VERSION with the hub's versions", "[hostile]") {
  Creds c = enrolled("hostile-version", kCentreA);
  Change smuggled = note_change(c.node_id, 1, kCentreA, "Version 99");
  Script s;
  s.hello = c;
  s.protocol_version = 99;
  s.after_hello.push_back(changes_frame({smuggled}, 1));
  auto p = open_link(s);
  v1::Error e = expect_refused(*p, v1::ERROR_CODE_UNSUPPORTED_VERSION);
  REQUIRE(e.protocol_versions_size() >= 1);
  CHECK(e.protocol_versions(0) == wire::kProtocolVersion);
  CHECK(notes_with_id(smuggled.record_id) == 0);
  CHECK(cursor_of(c.node_id) == 0);
  legit_keeps_syncing("after wrong version");
}

TEST_CASE("frame over 4 MiB gets FRAME_TOO_LARGE; exactly 4 MiB of garbage is only MALFORMED_FRAME", "[hostile]") {
  Creds c = enrolled("hostile-large", kCentreA);
  {
    auto p = streaming(c);
    p->send(random_garbage(wire::kMaxFrameBytes + 1, 1));
    legit_keeps_syncing("during a 4 MiB + 1 frame");
    expect_refused(*p, v1::ERROR_CODE_FRAME_TOO_LARGE);
  }
  {
    auto p = streaming(c);
    p->send(random_garbage(wire::kMaxFrameBytes, 2));
    expect_refused(*p, v1::ERROR_CODE_MALFORMED_FRAME);
  }
  CHECK(cursor_of(c.node_id) == 0);
  CHECK(log_rows_of(c.node_id) == 0);
  legit_keeps_syncing("after oversized frames");
}

TEST_CASE("random bytes instead of a frame get MALFORMED_FRAME, before and after the handshake", "[hostile]") {
  Creds c = enrolled("hostile-garbage", kCentreA);
  for (uint32_t seed = 10; seed < 13; ++seed) {
    auto p = open_link(Script{});  // no Hello: garbage instead
    REQUIRE(p->wait_frame(v1::Frame::kChallenge, 10));
    p->send(random_garbage(64 + seed * 100, seed));
    expect_refused(*p, v1::ERROR_CODE_MALFORMED_FRAME);
  }
  auto p = streaming(c);
  p->send(random_garbage(1000, 20));
  expect_refused(*p, v1::ERROR_CODE_MALFORMED_FRAME);
  CHECK(cursor_of(c.node_id) == 0);
  legit_keeps_syncing("after garbage");
}

TEST_CASE("replayed Hello computed for an old nonce gets BAD_PROOF and does not displace the node", "[hostile]") {
  Env& e = env();
  auto p = open_link(Script{});
  auto ch = p->wait_frame(v1::Frame::kChallenge, 10);
  REQUIRE(ch);
  REQUIRE(ch->challenge().nonce().size() == 32);
  REQUIRE(ch->challenge().nonce() != e.legit->nonce());  // never reused
  p->send(e.legit_first_hello);
  expect_refused(*p, v1::ERROR_CODE_BAD_PROOF);
  // The real node's link is untouched (a replay that succeeded would have replaced it).
  legit_keeps_syncing("after a replay of its Hello");
}

TEST_CASE("changes for another centre or with a forged origin are rejected per change; later ones stored",
          "[hostile]") {
  Env& e = env();
  legit_keeps_syncing("before the forged batch");  // gives a centre-B note at the hub
  std::string b_note = e.legit_note;
  Creds c = enrolled("hostile-writer", kCentreA);
  auto p = streaming(c);

  Change other_centre = note_change(c.node_id, 1, kCentreB, "Au nom d'un autre centre");
  Change forged = note_change(e.legit_creds.node_id, 2, kCentreA, "Origine usurpée");
  Change edit_b = note_change(c.node_id, 3, kCentreB, "Modifiée par A");
  edit_b.record_id = b_note;
  edit_b.fields = {{Field::title, Value{std::string("Modifiée par A")}}};
  Change steal_b = note_change(c.node_id, 4, kCentreA, "Appropriée par A");
  steal_b.record_id = b_note;
  steal_b.fields = {{Field::title, Value{std::string("Appropriée par A")}}};
  Change valid = note_change(c.node_id, 5, kCentreA, "Note valide de A");
  uint64_t legit_before = e.legit->changes_received();

  p->send(changes_frame({other_centre, forged, edit_b, steal_b, valid}, 5));
  REQUIRE(p->wait([&] { return p->acked() >= 5; }, 5));
  auto acks = p->acks();
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].seq() == 5);
  REQUIRE(acks[0].rejections_size() == 4);
  for (int i = 0; i < 4; ++i) {
    INFO("rejection " << i << ": " << acks[0].rejections(i).message());
    CHECK(acks[0].rejections(i).origin_seq() == static_cast<uint64_t>(i + 1));
    CHECK(acks[0].rejections(i).code() == v1::ERROR_CODE_FORBIDDEN_CHANGE);
    CHECK_FALSE(acks[0].rejections(i).message().empty());
  }
  CHECK_FALSE(p->closed());  // per-change errors do not end the link
  CHECK(notes_with_id(other_centre.record_id) == 0);
  CHECK(notes_with_id(forged.record_id) == 0);
  CHECK(sql_int(e.hub.db_path(),
                "SELECT count(*) FROM prototype_notes WHERE id = ? AND centre_id = ? AND title LIKE "
                "'Note légitime%'",
                {b_note, kCentreB}) == 1);
  CHECK(notes_with_id(valid.record_id) == 1);
  CHECK(log_rows_of(c.node_id) == 1);
  CHECK(sql_int(e.hub.db_path(), "SELECT count(*) FROM change_log WHERE origin = ? AND record_id = ?",
                {e.legit_creds.node_id, forged.record_id}) == 0);
  CHECK(cursor_of(c.node_id) == 5);
  // The valid change fans out to the other centre's connected node.
  CHECK(e.legit->wait([&] { return e.legit->changes_received() > legit_before; }, 5));
  // And the writer's link goes on.
  Change next = note_change(c.node_id, 6, kCentreA, "Suite");
  p->send(changes_frame({next}, 6));
  CHECK(p->wait([&] { return p->acked() >= 6; }, 5));
  CHECK(notes_with_id(next.record_id) == 1);
  legit_keeps_syncing("after the forged batch");
}

TEST_CASE("L1: a change the hub cannot validate is rejected alone; the changes around it are stored", "[hostile]") {
  Creds c = enrolled("hostile-poison", kCentreA);
  auto p = streaming(c);
  Change one = note_change(c.node_id, 1, kCentreA, "Avant");
  Change two = note_change(c.node_id, 2, kCentreA, "Champ d'une version future");
  Change three = note_change(c.node_id, 3, kCentreA, "Après");
  v1::Frame raw;
  REQUIRE(raw.ParseFromString(changes_frame({one, two, three}, 3)));
  raw.mutable_changes()->mutable_changes(1)->mutable_fields(0)->set_field(99);  // a newer node's field
  p->send(raw.SerializeAsString());
  REQUIRE(p->wait([&] { return p->acked() >= 3; }, 5));
  auto acks = p->acks();
  REQUIRE(acks.size() == 1);
  REQUIRE(acks[0].rejections_size() == 1);
  CHECK(acks[0].rejections(0).origin_seq() == 2);
  CHECK(acks[0].rejections(0).code() == v1::ERROR_CODE_INVALID_CHANGE);
  CHECK_FALSE(acks[0].rejections(0).message().empty());
  CHECK_FALSE(p->closed());
  CHECK(notes_with_id(one.record_id) == 1);
  CHECK(notes_with_id(two.record_id) == 0);
  CHECK(notes_with_id(three.record_id) == 1);
  CHECK(cursor_of(c.node_id) == 3);  // never resent, never blocking
  // A value kind this hub does not know: the same.
  Change four = note_change(c.node_id, 4, kCentreA, "Valeur inconnue");
  REQUIRE(raw.ParseFromString(changes_frame({four}, 4)));
  raw.mutable_changes()->mutable_changes(0)->mutable_fields(0)->clear_value();
  p->send(raw.SerializeAsString());
  REQUIRE(p->wait([&] { return p->acked() >= 4; }, 5));
  CHECK(p->acks().back().rejections_size() == 1);
  CHECK_FALSE(p->closed());
  legit_keeps_syncing("after a poison change");
}

TEST_CASE(
    "L9: the hub refuses over sync what its APIs refuse: a registration without names or consent, deleting a "
    "centre",
    "[hostile]") {
  Creds c = enrolled("hostile-lax", kCentreA);
  auto p = streaming(c);
  Change bare = note_change(c.node_id, 1, kCentreA, "x");
  bare.entity = Entity::registration;
  bare.fields = {{Field::event_id, Value{new_uuid()}}, {Field::first_name, Value{std::string("Sans")}}};
  Change drop_centre = note_change(c.node_id, 2, kCentreA, "x");
  drop_centre.entity = Entity::centre;
  drop_centre.record_id = kCentreA;
  drop_centre.op = Op::del;
  drop_centre.fields.clear();
  Change fine = note_change(c.node_id, 3, kCentreA, "Note complète");
  p->send(changes_frame({bare, drop_centre, fine}, 3));
  REQUIRE(p->wait([&] { return p->acked() >= 3; }, 5));
  auto acks = p->acks();
  REQUIRE(acks.back().rejections_size() == 2);
  CHECK(acks.back().rejections(0).origin_seq() == 1);
  CHECK(acks.back().rejections(0).code() == v1::ERROR_CODE_INVALID_CHANGE);
  CHECK(acks.back().rejections(1).origin_seq() == 2);
  CHECK(acks.back().rejections(1).code() == v1::ERROR_CODE_FORBIDDEN_CHANGE);
  CHECK(sql_int(env().hub.db_path(), "SELECT count(*) FROM registrations WHERE id = ?", {bare.record_id}) == 0);
  CHECK(sql_int(env().hub.db_path(), "SELECT deleted FROM centres WHERE id = ?", {kCentreA}) == 0);
  CHECK(notes_with_id(fine.record_id) == 1);
  CHECK_FALSE(p->closed());
  legit_keeps_syncing("after lax changes");
}

TEST_CASE("M2: a node pipelining batches without waiting for acks is slowed, not buffered; the others keep syncing",
          "[hostile]") {
  Env& e = env();
  Creds c = enrolled("hostile-pipeliner", kCentreA);
  auto p = streaming(c);
  auto pauses = [&] {
    auto m = https_get(e.hub.port(), "/metrics", 5);
    const std::string key = "\nterril_hub_inbound_pauses_total ";
    auto at = m.body.find(key);
    return at == std::string::npos ? -1 : std::stoll(m.body.substr(at + key.size()));
  };
  const int64_t before = pauses();
  REQUIRE(before >= 0);
  // 40 batches of 250 notes sent back to back: ten times the window of 4.
  constexpr int kBatches = 40, kPerBatch = 250;
  uint64_t seq = 0;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<Change> batch;
    for (int i = 0; i < kPerBatch; ++i) batch.push_back(note_change(c.node_id, ++seq, kCentreA, "Rafale"));
    p->send(changes_frame(batch, seq));
  }
  // Meanwhile the legitimate node's change is acknowledged in time.
  auto t0 = Clock::now();
  legit_keeps_syncing("while another node pipelines 40 batches");
  WARN("legit node's ack during the burst: " << seconds_since(t0) << " s");
  REQUIRE(p->wait([&] { return p->acked() >= seq; }, 60));
  CHECK_FALSE(p->closed());
  CHECK(cursor_of(c.node_id) == static_cast<int64_t>(seq));
  const int64_t after = pauses();
  WARN("inbound pauses: " << after - before);
  CHECK(after > before);  // the hub stopped reading this node at its window
  legit_keeps_syncing("after the burst");
}

TEST_CASE("origin_seq gap gets PROTOCOL_VIOLATION; the whole batch is not stored", "[hostile]") {
  Creds c = enrolled("hostile-gap", kCentreA);
  auto p = streaming(c);
  Change one = note_change(c.node_id, 1, kCentreA, "Un");
  p->send(changes_frame({one}, 1));
  REQUIRE(p->wait([&] { return p->acked() >= 1; }, 5));
  Change two = note_change(c.node_id, 2, kCentreA, "Deux");
  Change four = note_change(c.node_id, 4, kCentreA, "Quatre");
  p->send(changes_frame({two, four}, 4));
  expect_refused(*p, v1::ERROR_CODE_PROTOCOL_VIOLATION);
  CHECK(notes_with_id(one.record_id) == 1);
  CHECK(notes_with_id(two.record_id) == 0);  // same batch as the gap: rolled back
  CHECK(notes_with_id(four.record_id) == 0);
  CHECK(cursor_of(c.node_id) == 1);
  CHECK(log_rows_of(c.node_id) == 1);
  legit_keeps_syncing("after a sequence gap");
}

TEST_CASE("frames out of order get PROTOCOL_VIOLATION and store nothing", "[hostile]") {
  Creds c = enrolled("hostile-order", kCentreA);
  {
    Change early = note_change(c.node_id, 1, kCentreA, "Avant le Hello");
    auto p = open_link(Script{});
    REQUIRE(p->wait_frame(v1::Frame::kChallenge, 10));
    p->send(changes_frame({early}, 1));
    expect_refused(*p, v1::ERROR_CODE_PROTOCOL_VIOLATION);
    CHECK(notes_with_id(early.record_id) == 0);
  }
  {
    auto p = streaming(c);
    p->send(ack_frame(uint64_t{1} << 62));  // acknowledges what the hub never sent (its sequences start near 2^51)
    expect_refused(*p, v1::ERROR_CODE_PROTOCOL_VIOLATION);
  }
  {
    auto p = streaming(c);
    p->send(hello_frame(c.node_id, std::string(32, 'x'), 1, 0));  // a second Hello
    expect_refused(*p, v1::ERROR_CODE_PROTOCOL_VIOLATION);
  }
  CHECK(cursor_of(c.node_id) == 0);
  legit_keeps_syncing("after out-of-order frames");
}

// The hub's resident memory, in KiB (/proc/PID/status VmRSS).
int64_t hub_rss_kib() {
  std::ifstream in("/proc/" + std::to_string(env().hub.pid()) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

TEST_CASE(
    "M1: 1,000 unauthenticated connections sending 4 MiB frames: capped per address, cut at the "
    "pre-authentication limit; the hub's memory stays bounded and the legit node syncs",
    "[hostile]") {
  Env& e = env();
  const int64_t rss0 = hub_rss_kib();
  REQUIRE(rss0 > 0);
  std::vector<std::shared_ptr<ScriptedPeer>> open;
  int refused = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string err;
    auto p = connect_peer(e.io, e.hub.url(), e.hub.fingerprint(), Script{}, "", &err, 5);  // never says Hello
    if (p)
      open.push_back(std::move(p));
    else
      ++refused;
  }
  WARN("unauthenticated connections: " << open.size() << " opened, " << refused << " refused");
  CHECK(open.size() <= 64);  // 32 per address (the legit node holds one)
  CHECK(refused >= 900);
  legit_keeps_syncing("while 1,000 strangers hold or try connections");
  // Deflated to a few KiB on the wire, 4 MiB once inflated: 512 times the limit.
  const std::string big(4u << 20, '\0');
  for (auto& p : open) p->send(big);
  for (auto& p : open) CHECK(p->wait_closed(20));
  const int64_t rss1 = hub_rss_kib();
  WARN("hub RSS " << rss0 / 1024 << " MiB before, " << rss1 / 1024 << " MiB after");
  CHECK(rss1 - rss0 < 64 * 1024);  // without the limits: 16 MiB buffered per socket
  open.clear();
  legit_keeps_syncing("after the strangers");
}

TEST_CASE("slow clients and 1,000 half-open connections are shed in bounded time; the hub keeps serving",
          "[hostile][slow]") {
  Env& e = env();
  // One byte per second: an HTTP request that would take ~60 s, and a Hello
  // trickled inside a WebSocket frame.
  std::string slow_req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris-test-client\r\n\r\n";
  auto slow_http = SlowClient::start(e.io, e.hub.port(), slow_req, 1.0, false);
  Creds c = enrolled("hostile-slow", kCentreA);
  auto slow_ws = SlowClient::start(e.io, e.hub.port(), hello_frame(c.node_id, std::string(32, 's'), 1, 0), 1.0, true);
  HalfOpen half(e.hub.port(), 1000);
  REQUIRE(half.opened() == 1000);

  double worst_health_s = 0;
  int health_checks = 0;
  auto t0 = Clock::now();
  while (seconds_since(t0) < 30) {
    auto h0 = Clock::now();
    auto h = https_get(e.hub.port(), "/healthz", 5);
    worst_health_s = std::max(worst_health_s, seconds_since(h0));
    ++health_checks;
    INFO("healthz: " << h.status << " " << h.error);
    REQUIRE(h.status == 200);
    legit_keeps_syncing("while slow and half-open clients hold connections");
    if (slow_http->closed_after() && slow_ws->closed_after() && half.closed_by_server() == half.opened()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  INFO("slow HTTP sent " << slow_http->bytes_sent() << " bytes; slow WS sent " << slow_ws->bytes_sent());
  INFO("half-open closed by the hub: " << half.closed_by_server() << "/1000");
  INFO("worst /healthz " << worst_health_s << " s over " << health_checks << " checks");
  REQUIRE(slow_http->closed_after());
  REQUIRE(slow_ws->closed_after());
  WARN("slow HTTP closed after " << *slow_http->closed_after() << " s, slow WebSocket after "
                                 << *slow_ws->closed_after() << " s; " << half.closed_by_server()
                                 << "/1000 half-open shed; worst /healthz " << worst_health_s << " s");
  CHECK(*slow_http->closed_after() >= 8.0);  // the header timeout is 10 s
  CHECK(*slow_http->closed_after() <= 13.0);
  CHECK(slow_http->bytes_sent() < slow_req.size());
  REQUIRE(slow_ws->upgraded());
  CHECK(*slow_ws->closed_after() <= 25.0);  // 10 s Hello deadline + the close handshake's own 10 s
  auto frames = parse_ws_frames(slow_ws->received());
  REQUIRE(frames.size() >= 2);  // Challenge, then Error
  CHECK(frames.back().msg_case() == v1::Frame::kError);
  CHECK(frames.back().error().code() == v1::ERROR_CODE_TIMEOUT);
  CHECK(half.closed_by_server() == 1000);
  CHECK(worst_health_s < 2.0);
  CHECK(cursor_of(c.node_id) == 0);
  slow_http->stop();
  slow_ws->stop();
  legit_keeps_syncing("after slow and half-open clients");
}

TEST_CASE("HTTP body over 1 MiB gets 413", "[hostile]") {
  uint16_t port = env().hub.port();
  std::string body((1u << 20) + 1, 'a');
  auto r = https_request(port,
                         "POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: " +
                             std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body,
                         10);
  INFO(r.head << " " << r.error);
  CHECK(r.status == 413);
  // Chunked, with no length announced: refused once the limit is crossed.
  std::string chunked;
  for (int i = 0; i < 20; ++i) chunked += "10000\r\n" + std::string(0x10000, 'b') + "\r\n";
  chunked += "0\r\n\r\n";
  r = https_request(port,
                    "POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                        chunked,
                    10);
  INFO(r.head << " " << r.error);
  CHECK(r.status == 413);
  legit_keeps_syncing("after oversized bodies");
}

// Regression: the hub answered 413 as soon as it read the headers and closed
// with the rest of the body unread; the kernel then sent a reset, and the
// client lost the 413 about one time in six ("Connection reset by peer").
// Fixed in common/net/ws_server.cpp: the session drains the body (bounded)
// before closing.
TEST_CASE("413 answer is not lost to a reset when the client sends its whole body at once", "[hostile]") {
  uint16_t port = env().hub.port();
  std::string body((1u << 20) + 1, 'a');
  std::string req =
      "POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  int got_413 = 0;
  for (int i = 0; i < 25; ++i) {
    auto r = https_request(port, req, 10);
    INFO("attempt " << i << ": " << r.head.substr(0, r.head.find('\r')) << " " << r.error);
    CHECK(r.status == 413);
    got_413 += r.status == 413;
  }
  CHECK(got_413 == 25);
  legit_keeps_syncing("after 25 oversized bodies");
}

TEST_CASE("path traversal on static files gets 404", "[hostile]") {
  uint16_t port = env().hub.port();
  struct Case {
    const char* target;
    int status;
  };
  // The dashboard's files are embedded in the binary; none of these may reach
  // the file system, and a NUL in a path is a malformed target (400).
  for (const Case& c : std::vector<Case>{{"/../../../../etc/passwd", 404},
                                         {"/assets/../../hub.db", 404},
                                         {"/assets/../../../../etc/passwd", 404},
                                         {"/assets/%2e%2e/%2e%2e/etc/passwd", 404},
                                         {"/assets/..%2f..%2f..%2fetc%2fpasswd", 404},
                                         {"/%2e%2e/%2e%2e/etc/passwd", 404},
                                         {"/assets/....//....//etc/passwd", 404},
                                         {"/assets/..\\..\\hub.db", 404},
                                         {"/assets/%252e%252e/etc/passwd", 404},
                                         {"/assets/tls/hub-key.pem", 404},
                                         {"/hub.db", 404},
                                         {"/tls/hub-key.pem", 404},
                                         {"/assets/%00../../etc/passwd", 400}}) {
    auto r = https_get(port, c.target, 5);
    INFO(c.target << " -> " << r.head);
    CHECK(r.status == c.status);
    CHECK(r.body.find("root:") == std::string::npos);
    CHECK(r.body.find("SQLite format") == std::string::npos);
    CHECK(r.body.find("PRIVATE KEY") == std::string::npos);
  }
  legit_keeps_syncing("after path traversal");
}

TEST_CASE("L7: a software_version holding ESC and newlines shows only printable text in node list", "[hostile]") {
  Creds c = enrolled("l7-escapes", kCentreA);
  Script s;
  s.hello = c;
  s.software_version = "1.0\x1b]0;pwned\x07\r\nl7-fake-node  active\x1b[2J";
  auto p = open_link(s);
  REQUIRE(p->wait_frame(v1::Frame::kWelcome, 10));
  CliResult r = env().hub.cli({"node", "list"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  for (char ch : r.out) {
    INFO("byte " << static_cast<int>(static_cast<unsigned char>(ch)));
    CHECK((ch == '\n' || (ch >= 0x20 && ch <= 0x7e)));
  }
  CHECK(r.out.find("1.0?]0;pwned???l7-fake-node  active?[2J") != std::string::npos);
  CHECK(r.out.find("\nl7-fake-node") == std::string::npos);  // no line forged by the node
  // Stored sanitised too (the dashboard and --json read the same column).
  CHECK(sql_int(env().hub.db_path(),
                "SELECT count(*) FROM nodes WHERE node_id = ? AND software_version = '1.0?]0;pwned???l7-fake-node  "
                "active?[2J'",
                {c.node_id}) == 1);
  legit_keeps_syncing("after a node sent escapes");
}

TEST_CASE("after every attack: the legit node never reconnected and the hub's store is sound", "[hostile]") {
  Env& e = env();
  legit_keeps_syncing("at the end");
  CHECK(e.legit->sent_hello() == e.legit_first_hello);  // one handshake for the whole run
  CHECK(sql_int(e.hub.db_path(), "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'") == 0);
  CHECK(sql_int(e.hub.db_path(),
                "SELECT count(*) FROM (SELECT origin, origin_seq FROM change_log GROUP BY 1, 2 HAVING count(*) > 1)") ==
        0);
}

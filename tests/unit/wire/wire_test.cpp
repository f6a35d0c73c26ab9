// Change conversion and the protobuf-level frame decoder (common/wire/wire.h, change_codec.h).
#include "common/wire/wire.h"

#include <google/protobuf/stubs/logging.h>

#include <catch2/catch.hpp>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "common/core/validate.h"
#include "common/core/hlc.h"
#include "terril/v1/sync.pb.h"

namespace terril {
namespace {

using namespace std::string_literals;

constexpr int64_t kT = 1795946400000;
const std::string kReg = "0f8fad5b-d9cb-469f-a165-70867728950e";
const std::string kEvent = "6f1c2a3b-0000-4000-8000-000000000001";

Change base(Entity e, std::string id, Op op, std::vector<FieldValue> fields) {
  Change c;
  c.origin = "node-arc-en-ciel-01";
  c.origin_seq = 123456;
  c.hlc = hlc_make(kT, 17);
  c.entity = e;
  c.record_id = std::move(id);
  c.centre_id = e == Entity::centre ? c.record_id : "arc-en-ciel";
  c.op = op;
  c.fields = std::move(fields);
  return c;
}

// A typical registration as reception staff create it.
Change new_registration() {
  return base(Entity::registration, kReg, Op::upsert,
              {{Field::created_at, kT},
               {Field::phone, "06 12 34 56 78"s},
               {Field::event_id, kEvent},
               {Field::first_name, "Éloïse"s},
               {Field::last_name, "Dupont-Lefèvre"s},
               {Field::email, "eloise.dupont@example.fr"s},
               {Field::role, "habitant"s},
               {Field::consent_at, kT}});
}

// Every entity, every op, every value kind including null.
std::vector<Change> samples() {
  return {
      new_registration(),
      base(Entity::registration, kReg, Op::upsert,
           {{Field::deleted, false}, {Field::email, Value{}}, {Field::attended, true}, {Field::notes, "a\nb"s}}),
      base(Entity::registration, kReg, Op::del, {}),
      base(Entity::registration, kReg, Op::erase, {}),
      base(Entity::centre, "marly-florales", Op::upsert,
           {{Field::created_at, kT},
            {Field::deleted, false},
            {Field::name, "Centre social Les Floralies"s},
            {Field::address, Value{}},
            {Field::postcode, "59770"s},
            {Field::town, "Marly"s},
            {Field::phone, "03 27 00 00 00"s},
            {Field::agglomeration, "valenciennes-metropole"s}}),
      base(Entity::centre, "marly-florales", Op::del, {}),
      base(Entity::event, kEvent, Op::upsert,
           {{Field::created_at, kT},
            {Field::title, "Temps fort"s},
            {Field::description, Value{}},
            {Field::kind, "temps-fort"s},
            {Field::starts_at, kT + 3600000},
            {Field::ends_at, kT + 7200000},
            {Field::place, "Salle des fêtes"s},
            {Field::capacity, int64_t{0}}}),
      base(Entity::event, kEvent, Op::upsert, {{Field::capacity, int64_t{1000000}}}),
      base(Entity::event, kEvent, Op::del, {}),
      base(Entity::prototype_note, kReg, Op::upsert,
           {{Field::deleted, true},
            {Field::title, "Borne"s},
            {Field::summary, ""s},
            {Field::body, std::string(5000, 'b')},
            {Field::status, "en-test"s},
            {Field::tags, "borne,numerique"s},
            {Field::evaluation, Value{}}}),
  };
}

TEST_CASE("changes round trip through to_wire/from_wire and encode/decode", "[wire]") {
  for (const Change& c : samples()) {
    INFO(canonical(c));
    v1::Change w;
    wire::to_wire(c, w);
    auto back = wire::from_wire(w);
    REQUIRE(back.is_ok());
    CHECK(*back == c);

    std::string bytes = wire::encode_change(c);
    auto decoded = wire::decode_change(bytes);
    REQUIRE(decoded.is_ok());
    CHECK(*decoded == c);
    CHECK(canonical(*decoded) == canonical(c));
    CHECK(wire::encode_change(*decoded) == bytes);  // stable bytes
  }
}

TEST_CASE("record ids travel as 16 bytes, centre slugs as text", "[wire]") {
  v1::Change w;
  wire::to_wire(new_registration(), w);
  CHECK(w.record_id().size() == 16);
  wire::to_wire(samples()[4], w);
  CHECK(w.record_id() == "marly-florales");
  CHECK(w.fields_size() == 8);
  CHECK(w.fields(3).value_case() == v1::FieldValue::kNull);
}

TEST_CASE("event_id travels as 16 uuid bytes and comes back as text", "[wire]") {
  v1::Change w;
  const Change reg = new_registration();
  wire::to_wire(reg, w);
  bool seen = false;
  for (const auto& f : w.fields())
    if (f.field() == static_cast<uint32_t>(Field::event_id)) {
      CHECK(f.value_case() == v1::FieldValue::kUuid);
      CHECK(f.uuid().size() == 16);
      seen = true;
    }
  CHECK(seen);
  auto back = wire::from_wire(w);
  REQUIRE(back);
  CHECK(*back == reg);
  w.mutable_fields(0)->set_uuid("short");
  w.mutable_fields(0)->set_field(static_cast<uint32_t>(Field::event_id));
  CHECK_FALSE(wire::from_wire(w));
}

TEST_CASE("a new registration change stays small on the wire", "[wire]") {
  // As the node API writes it: the required fields, at a centre with one of the real (long) slugs.
  Change typical = base(Entity::registration, kReg, Op::upsert,
                        {{Field::created_at, kT},
                         {Field::phone, "06 12 34 56 78"s},
                         {Field::event_id, kEvent},
                         {Field::first_name, "Marie"s},
                         {Field::last_name, "Lefebvre"s},
                         {Field::role, "habitant"s},
                         {Field::consent_at, kT}});
  typical.origin = "valenciennes-dutemple-1";
  typical.centre_id = "valenciennes-dutemple";
  const size_t typical_size = wire::encode_change(typical).size();
  const size_t full_size = wire::encode_change(new_registration()).size();
  std::cout << "wire: new registration change = " << typical_size << " bytes (required fields), " << full_size
            << " bytes (with email, accented names)\n";
  // event_id travels as 16 raw bytes (FieldValue.uuid). origin and centre_id repeat the long
  // centre slugs in every change; permessage-deflate removes most of that across a batch (the
  // sync benchmark measures bytes on the wire).
  CHECK(typical_size < 200);
}

std::string frame_of(const std::function<void(v1::Frame&)>& fill) {
  v1::Frame f;
  fill(f);
  return wire::encode_frame(f);
}

// A Changes frame holding the sample changes, with `mutate` applied to the first wire change.
std::string changes_frame(const std::function<void(v1::Change&)>& mutate) {
  return frame_of([&](v1::Frame& f) {
    auto* ch = f.mutable_changes();
    for (const Change& c : samples()) wire::to_wire(c, *ch->add_changes());
    ch->set_last_seq(42);
    mutate(*ch->mutable_changes(0));
  });
}

TEST_CASE("decode_frame accepts valid frames of every kind", "[wire]") {
  const std::vector<std::string> frames = {
      changes_frame([](v1::Change&) {}),
      frame_of([](v1::Frame& f) {
        f.mutable_challenge()->set_nonce(std::string(32, 'n'));
        f.mutable_challenge()->add_protocol_versions(1);
      }),
      frame_of([](v1::Frame& f) {
        f.mutable_hello()->set_node_id("node-1");
        f.mutable_hello()->set_proof(std::string(32, '\0'));
      }),
      frame_of([](v1::Frame& f) { f.mutable_welcome()->set_hub_time_ms(kT); }),
      frame_of([](v1::Frame& f) { f.mutable_ack()->set_seq(9); }),
      frame_of([](v1::Frame& f) { f.mutable_error()->set_code(v1::ERROR_CODE_BAD_PROOF); }),
      frame_of([](v1::Frame& f) { f.mutable_enrol()->set_code("ABCD"); }),
      frame_of([](v1::Frame& f) { f.mutable_enrolled()->set_node_id("node-1"); }),
      frame_of([](v1::Frame& f) { f.mutable_changes(); }),  // an empty batch
  };
  for (const auto& bytes : frames) {
    v1::Frame out;
    Status s = wire::decode_frame(bytes, out);
    INFO(s.to_string());
    CHECK(s.is_ok());
    CHECK(wire::encode_frame(out) == bytes);
  }
  v1::Frame out;
  REQUIRE(wire::decode_frame(frames[0], out).is_ok());
  REQUIRE(out.changes().changes_size() == static_cast<int>(samples().size()));
  CHECK(*wire::from_wire(out.changes().changes(0)) == samples()[0]);
}

TEST_CASE("decode_frame rejects frames at and over the limits", "[wire]") {
  v1::Frame out;
  Status empty = wire::decode_frame("", out);
  CHECK(empty.code() == Code::invalid);
  CHECK(empty.message().find("empty") != std::string::npos);

  CHECK_FALSE(wire::decode_frame(std::string(wire::kMaxFrameBytes + 1, '\0'), out).is_ok());
  // A real frame just over the limit, and one just under it.
  auto error_frame = [](size_t text) {
    return frame_of([&](v1::Frame& f) { f.mutable_error()->set_message(std::string(text, 'x')); });
  };
  std::string under = error_frame(wire::kMaxFrameBytes - 16);
  REQUIRE(under.size() <= wire::kMaxFrameBytes);
  CHECK(wire::decode_frame(under, out).is_ok());
  std::string over = error_frame(wire::kMaxFrameBytes);
  REQUIRE(over.size() > wire::kMaxFrameBytes);
  Status too_large = wire::decode_frame(over, out);
  CHECK(too_large.code() == Code::invalid);
  CHECK(too_large.message().find("too large") != std::string::npos);

  auto batch = [](size_t n) {
    return frame_of([&](v1::Frame& f) {
      for (size_t i = 0; i < n; ++i) {
        Change c = new_registration();
        c.origin_seq = i + 1;
        c.hlc += i;
        wire::to_wire(c, *f.mutable_changes()->add_changes());
      }
    });
  };
  CHECK(wire::decode_frame(batch(wire::kMaxBatchChanges), out).is_ok());
  Status big = wire::decode_frame(batch(wire::kMaxBatchChanges + 1), out);
  CHECK_FALSE(big.is_ok());
  CHECK(big.message().find("batch") != std::string::npos);
}

TEST_CASE("L1: decode_frame keeps a Changes frame holding one invalid change; validation refuses that change",
          "[wire]") {
  struct Case {
    const char* name;
    std::function<void(v1::Change&)> mutate;
  };
  const std::vector<Case> cases = {
      {"field number 0", [](v1::Change& c) { c.mutable_fields(0)->set_field(0); }},
      {"field number over 16 bits", [](v1::Change& c) { c.mutable_fields(0)->set_field(70000); }},
      {"field number wrapping to a valid one", [](v1::Change& c) { c.mutable_fields(0)->set_field(65536 + 1); }},
      {"unknown field number", [](v1::Change& c) { c.mutable_fields(0)->set_field(99); }},
      {"field of another entity", [](v1::Change& c) { c.mutable_fields(0)->set_field(20); }},
      {"field without value", [](v1::Change& c) { c.mutable_fields(0)->clear_value(); }},
      {"value of the wrong kind", [](v1::Change& c) { c.mutable_fields(0)->set_text("hier"); }},
      {"invalid email", [](v1::Change& c) { c.mutable_fields(5)->set_text("pas un courriel"); }},
      {"unsorted fields", [](v1::Change& c) { c.mutable_fields()->SwapElements(0, 1); }},
      {"15-byte record id", [](v1::Change& c) { c.set_record_id(std::string(15, 'x')); }},
      {"17-byte record id", [](v1::Change& c) { c.set_record_id(std::string(17, 'x')); }},
      {"record id as text", [](v1::Change& c) { c.set_record_id(kReg); }},
      {"unknown entity 0", [](v1::Change& c) { c.set_entity(v1::ENTITY_UNSPECIFIED); }},
      {"unknown entity 9", [](v1::Change& c) { c.set_entity(static_cast<v1::Entity>(9)); }},
      {"unknown op 0", [](v1::Change& c) { c.set_op(v1::OP_UNSPECIFIED); }},
      {"unknown op 4", [](v1::Change& c) { c.set_op(static_cast<v1::Op>(4)); }},
      {"origin_seq 0", [](v1::Change& c) { c.set_origin_seq(0); }},
      {"hlc 0", [](v1::Change& c) { c.set_hlc(0); }},
      {"bad origin", [](v1::Change& c) { c.set_origin("Node 1"); }},
      {"bad centre", [](v1::Change& c) { c.set_centre_id(""); }},
      {"delete with fields", [](v1::Change& c) { c.set_op(v1::OP_DELETE); }},
  };
  for (const auto& tc : cases) {
    INFO(tc.name);
    // The frame decodes whole (the store rejects the change alone), and the
    // change does not pass validate_change, which every store runs.
    auto f = wire::decode_frame(changes_frame(tc.mutate));
    REQUIRE(f);
    const auto& changes = std::get<wire::Changes>(*f).changes;
    REQUIRE_FALSE(changes.empty());
    bool refused = false;
    for (const Change& c : changes) refused = refused || !validate_change(c).is_ok();
    CHECK(refused);
    // The same change alone is refused by decode_change (the stores' log payloads).
    v1::Change w;
    wire::to_wire(samples()[0], w);
    tc.mutate(w);
    CHECK_FALSE(wire::decode_change(w.SerializeAsString()).is_ok());
  }
}

TEST_CASE("decode_frame rejects bad Hello and Challenge frames", "[wire]") {
  for (size_t n : {0, 1, 16, 31, 33, 64}) {
    INFO("proof of " << n << " bytes");
    v1::Frame out;
    Status s = wire::decode_frame(frame_of([&](v1::Frame& f) {
                                    f.mutable_hello()->set_node_id("node-1");
                                    f.mutable_hello()->set_proof(std::string(n, 'p'));
                                  }),
                                  out);
    CHECK_FALSE(s.is_ok());
    CHECK(s.message().find("proof") != std::string::npos);
    CHECK_FALSE(
        wire::decode_frame(frame_of([&](v1::Frame& f) { f.mutable_challenge()->set_nonce(std::string(n, 'n')); }), out)
            .is_ok());
  }
  v1::Frame out;
  CHECK_FALSE(
      wire::decode_frame(frame_of([](v1::Frame& f) { f.mutable_hello()->set_proof(std::string(32, 'p')); }), out)
          .is_ok());
  CHECK_FALSE(wire::decode_frame(frame_of([](v1::Frame& f) {
                                   f.mutable_hello()->set_node_id(std::string(65, 'a'));
                                   f.mutable_hello()->set_proof(std::string(32, 'p'));
                                 }),
                                 out)
                  .is_ok());
}

TEST_CASE("decode_frame and decode_change reject garbage", "[wire]") {
  google::protobuf::LogSilencer quiet;  // libprotobuf logs invalid UTF-8 in string fields
  const std::vector<std::string> fixed = {"\xff"s,
                                          "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"s,
                                          "\x22\x05\x0a"s,
                                          "\x0a"s,
                                          "\x22\x80"s,
                                          "hello world"s,
                                          std::string(100, '\0')};
  v1::Frame out;
  for (const auto& b : fixed) CHECK_FALSE(wire::decode_frame(b, out).is_ok());
  std::mt19937_64 rng(20261129);
  int rejected = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    std::string b(1 + rng() % 300, '\0');
    for (char& c : b) c = static_cast<char>(rng());
    rejected += !wire::decode_frame(b, out).is_ok();
    CHECK_FALSE(wire::decode_change(b).is_ok());
  }
  CHECK(rejected == n);
}

}  // namespace
}  // namespace terril

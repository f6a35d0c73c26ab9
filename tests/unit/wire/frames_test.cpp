// The plain frames (common/wire/frames.h): every message survives
// encode_frame -> decode_frame field for field, with the same bytes as the
// generated encoder; the plain decoder refuses what the protobuf-level one
// refuses.
#include "common/wire/frames.h"

#include <catch2/catch.hpp>
#include <deque>
#include <string>
#include <vector>

#include "common/core/hlc.h"
#include "common/core/validate.h"
#include "common/wire/wire.h"
#include "terril/v1/sync.pb.h"

namespace terril::wire {
namespace {

constexpr int64_t kT = 1795946400000;

Change note(uint64_t seq) {
  Change c;
  c.origin = "node-a";
  c.origin_seq = seq;
  c.hlc = hlc_make(kT, static_cast<uint16_t>(seq));
  c.entity = Entity::prototype_note;
  c.record_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  c.centre_id = "denain-tonini";
  c.op = Op::upsert;
  c.fields = {{Field::title, std::string("Borne")}, {Field::status, std::string("idee")}};
  return c;
}

// A whole record with two stamps, as anti-entropy carries it.
Record record() {
  Record r;
  r.entity = Entity::prototype_note;
  r.id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  r.centre_id = "denain-tonini";
  r.fields[Field::title] = FieldState{std::string("Borne"), Stamp{hlc_make(kT, 1), "node-a"}};
  r.fields[Field::status] = FieldState{std::string("idee"), Stamp{hlc_make(kT, 9), "hub"}};
  return r;
}

std::vector<Frame> every_kind() {
  return {
      Challenge{std::string(32, 'n'), "hub-1", {1, 2}},
      Hello{"node-a", std::string(32, 'p'), 1, "0.9.0", 41},
      Welcome{static_cast<uint64_t>(kT), 7, "denain-tonini", kWindow, 99},
      Changes{{note(1), note(2)}, 2},
      Changes{{}, 0},
      Ack{12, {{3, ErrorCode::forbidden_change, "Modification refusée.", "centre_id"}}},
      Error{ErrorCode::unsupported_version, "version 9", {1}},
      Enrol{"ABCD-EFGH-JKMN", "0.9.0"},
      Enrolled{"node-a", std::string(32, 's'), "denain-tonini", "hub-1", static_cast<uint64_t>(kT)},
      DigestCheck{3, {{{Entity::registration, "", ""}, 12, 0xfeedfacecafebeefull}}},
      DigestReply{3,
                  {{{Entity::registration, "", ""}, 13, 5}},
                  {{{Entity::registration, "denain-tonini", ""}, 13, 5}},
                  {{{{Entity::event, "denain-tonini", "0f"}, 1, 9}, {{"0f8fad5b-d9cb-469f-a165-70867728950e", 9}}}}},
      Repair{
          3, {record()}, {{Entity::event, "0f8fad5b-d9cb-469f-a165-70867728950e"}}, {{Entity::centre, "marly"}}, true},
  };
}

TEST_CASE("plain frames round trip through encode_frame and decode_frame", "[wire][frames]") {
  for (const Frame& f : every_kind()) {
    INFO(frame_name(f));
    const std::string bytes = encode_frame(f);
    auto back = decode_frame(bytes);
    REQUIRE(back);
    REQUIRE(back->index() == f.index());
    CHECK(encode_frame(*back) == bytes);  // stable bytes
    // The generated decoder reads the same message.
    v1::Frame raw;
    REQUIRE(decode_frame(bytes, raw));
    CHECK(encode_frame(raw) == bytes);
  }
  auto ch = decode_frame(encode_frame(Changes{{note(1), note(2)}, 2}));
  REQUIRE(ch);
  const auto& c = std::get<Changes>(*ch);
  CHECK(c.last_seq == 2);
  REQUIRE(c.changes.size() == 2);
  CHECK(c.changes[1] == note(2));
  auto ack = decode_frame(encode_frame(every_kind()[5]));
  REQUIRE(ack);
  const auto& a = std::get<Ack>(*ack);
  CHECK(a.seq == 12);
  REQUIRE(a.rejections.size() == 1);
  CHECK(a.rejections[0].code == ErrorCode::forbidden_change);
  CHECK(a.rejections[0].field == "centre_id");
  auto hello = decode_frame(encode_frame(every_kind()[1]));
  REQUIRE(hello);
  CHECK(std::get<Hello>(*hello).hub_cursor == 41);
  CHECK(std::get<Hello>(*hello).software_version == "0.9.0");
  auto rep = decode_frame(encode_frame(every_kind()[11]));
  REQUIRE(rep);
  const auto& r = std::get<Repair>(*rep);
  REQUIRE(r.records.size() == 1);
  CHECK(r.records[0] == record());  // every stamp survives
  CHECK(r.want[0].id == "0f8fad5b-d9cb-469f-a165-70867728950e");
  CHECK(r.purge[0].id == "marly");
  CHECK(r.last);
  auto dr = decode_frame(encode_frame(every_kind()[10]));
  REQUIRE(dr);
  CHECK(std::get<DigestReply>(*dr).leaves[0].leaves[0].hash == 9);
}

TEST_CASE("anti-entropy frames refuse bad records, keys and sizes", "[wire][frames]") {
  Record bad = record();
  bad.fields[Field::title].stamp.origin = "not a node!";
  Record erased_note = record();
  erased_note.fields.clear();
  erased_note.erased = true;
  erased_note.erase_stamp = Stamp{hlc_make(kT, 2), "hub"};  // only registrations are erased
  Repair many;
  for (size_t i = 0; i <= kMaxRepairRecords; ++i) many.records.push_back(record());
  const std::vector<std::pair<const char*, std::string>> table = {
      {"bad stamp origin", encode_frame(Repair{1, {bad}, {}, {}, false})},
      {"erased note", encode_frame(Repair{1, {erased_note}, {}, {}, false})},
      {"too many records", encode_frame(many)},
      {"prefix without owner", encode_frame(DigestCheck{1, {{{Entity::event, "", "0f"}, 1, 1}}})},
      {"bad ref id", encode_frame(Repair{1, {}, {{Entity::event, "nope"}}, {}, false})},
  };
  for (const auto& [name, bytes] : table) {
    INFO(name);
    auto f = decode_frame(bytes);
    REQUIRE_FALSE(f);
    CHECK(error_code_for(Step::decoding, f.status()) == ErrorCode::malformed_frame);
  }
}

TEST_CASE("frame_name names every message", "[wire][frames]") {
  std::vector<std::string> names;
  for (const Frame& f : every_kind()) names.push_back(frame_name(f));
  CHECK(names == std::vector<std::string>{"Challenge", "Hello", "Welcome", "Changes", "Changes", "Ack", "Error",
                                          "Enrol", "Enrolled", "DigestCheck", "DigestReply", "Repair"});
}

TEST_CASE("error_frame lists this build's versions only with unsupported_version", "[wire][frames]") {
  CHECK(error_frame(ErrorCode::unsupported_version, "x").protocol_versions == std::vector<uint32_t>{kProtocolVersion});
  CHECK(error_frame(ErrorCode::bad_proof, "x").protocol_versions.empty());
  CHECK(error_frame(ErrorCode::bad_proof, "no match").message == "no match");
}

TEST_CASE("decode_frame refuses bad frames with the code to answer", "[wire][frames]") {
  struct Row {
    const char* name;
    std::string bytes;
    ErrorCode code;
  };
  const std::vector<Row> table = {
      {"empty", "", ErrorCode::malformed_frame},
      {"garbage", "\xff\xff\xff", ErrorCode::malformed_frame},
      {"over the limit", std::string(kMaxFrameBytes + 1, '\0'), ErrorCode::frame_too_large},
      {"short nonce", encode_frame(Challenge{std::string(31, 'n'), "hub-1", {1}}), ErrorCode::malformed_frame},
      {"short proof", encode_frame(Hello{"node-a", std::string(16, 'p'), 1, "", 0}), ErrorCode::malformed_frame},
      {"no node id", encode_frame(Hello{"", std::string(32, 'p'), 1, "", 0}), ErrorCode::malformed_frame},
  };
  for (const auto& r : table) {
    INFO(r.name);
    auto f = decode_frame(r.bytes);
    REQUIRE_FALSE(f);
    CHECK(f.status().code() == Code::invalid);
    CHECK(error_code_for(Step::decoding, f.status()) == r.code);
    v1::Frame raw;
    CHECK_FALSE(decode_frame(r.bytes, raw).is_ok());  // the same checks at the protobuf level
  }
}

TEST_CASE("L1: a batch with changes this build cannot accept decodes whole; each bad one says why", "[wire][frames]") {
  Change unknown_field = note(2);
  unknown_field.fields[0].field = static_cast<Field>(99);  // a newer sender's field
  v1::Frame raw;
  REQUIRE(raw.ParseFromString(encode_frame(Changes{{note(1), unknown_field, note(3)}, 3})));
  // A value kind this build does not know arrives as "no value".
  raw.mutable_changes()->mutable_changes(2)->mutable_fields(0)->clear_value();
  auto f = decode_frame(raw.SerializeAsString());
  REQUIRE(f);
  const auto& ch = std::get<Changes>(*f);
  REQUIRE(ch.changes.size() == 3);
  CHECK(validate_change(ch.changes[0]).is_ok());
  CHECK(ch.changes[0] == note(1));
  CHECK(ch.changes[1].undecodable.empty());  // readable, but not valid here
  CHECK(validate_change(ch.changes[1]).code() == Code::invalid);
  CHECK(ch.changes[2].undecodable == "field without value");
  CHECK(ch.changes[2].origin_seq == 3);  // the store can still reject it by number
  CHECK(validate_change(ch.changes[2]).message_fr().starts_with("Modification illisible"));
}

TEST_CASE("window_consistent holds the streaming invariant of both peers", "[wire][frames]") {
  struct Row {
    std::deque<uint64_t> inflight;
    uint64_t acked, sent;
    bool ok;
  };
  const std::vector<Row> table = {
      {{}, 0, 0, true},
      {{}, 5, 5, true},
      {{}, 3, 5, false},  // nothing in flight, yet not everything acknowledged
      {{7}, 5, 7, true},
      {{6, 7, 9, 12}, 5, 12, true},
      {{6, 7, 9, 12, 13}, 5, 13, false},  // over the window
      {{}, 6, 5, false},                  // acked beyond sent
      {{5, 7}, 5, 7, false},              // an acknowledged batch still in flight
      {{7, 6}, 5, 7, false},              // not ascending
      {{7, 7}, 5, 7, false},
      {{6}, 5, 7, false},  // the last batch sent is missing
  };
  for (size_t i = 0; i < table.size(); ++i) {
    INFO("row " << i);
    CHECK(window_consistent(table[i].inflight, table[i].acked, table[i].sent) == table[i].ok);
  }
}

}  // namespace
}  // namespace terril::wire

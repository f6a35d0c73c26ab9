#include <catch2/catch.hpp>

#include "common/core/record_codec.h"

using namespace terril;

namespace {

Record sample() {
  Record r;
  r.entity = Entity::registration;
  r.id = "00000000-0000-4000-8000-000000000001";
  r.centre_id = "centre-a";
  r.fields[Field::created_at] = {Value{int64_t{1796000000000}}, {100, "node-a"}};
  r.fields[Field::deleted] = {Value{false}, {101, "hub"}};
  r.fields[Field::first_name] = {Value{std::string("Élodie")}, {100, "node-a"}};
  r.fields[Field::email] = {Value{}, {102, "node-b"}};
  r.fields[Field::attended] = {Value{true}, {103, "node-b"}};
  r.fields[Field::notes] = {Value{std::string("")}, {uint64_t{1} << 62, "node-a"}};
  return r;
}

Record decoded(const std::string& bytes, Entity e) {
  Record r;
  r.entity = e;
  REQUIRE(decode_state(bytes, r).is_ok());
  return r;
}

}  // namespace

TEST_CASE("record state round-trips every value kind and stamp", "[store][codec]") {
  Record r = sample();
  std::string bytes;
  encode_state(r, bytes);
  Record back = decoded(bytes, r.entity);
  back.id = r.id;
  back.centre_id = r.centre_id;
  CHECK(canonical(back) == canonical(r));
  CHECK(back == r);
  std::string again;
  encode_state(back, again);
  CHECK(again == bytes);  // one encoding per record
}

TEST_CASE("record state keeps the erase stamp and negative integers", "[store][codec]") {
  Record e;
  e.entity = Entity::registration;
  e.erased = true;
  e.erase_stamp = {uint64_t{7} << 16, "hub"};
  std::string bytes;
  encode_state(e, bytes);
  CHECK(decoded(bytes, e.entity) == e);

  Record ev;
  ev.entity = Entity::event;
  ev.fields[Field::capacity] = {Value{int64_t{-5}}, {1, "hub"}};
  ev.fields[Field::starts_at] = {Value{INT64_MIN}, {2, "hub"}};
  ev.fields[Field::ends_at] = {Value{INT64_MAX}, {3, "hub"}};
  encode_state(ev, bytes);
  CHECK(decoded(bytes, ev.entity) == ev);
}

TEST_CASE("corrupt record state is refused, never misread", "[store][codec]") {
  std::string bytes;
  encode_state(sample(), bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    Record r;
    r.entity = Entity::registration;
    INFO("prefix " << n);
    CHECK(decode_state(std::string_view(bytes).substr(0, n), r).code() == Code::io);
  }
  Record r;
  r.entity = Entity::registration;
  CHECK_FALSE(decode_state(bytes + "x", r).is_ok());
  r.entity = Entity::centre;  // first_name is not a centre field
  CHECK_FALSE(decode_state(bytes, r).is_ok());
  std::string bad_version = bytes;
  bad_version[0] = 9;
  CHECK_FALSE(decode_state(bad_version, r).is_ok());
}

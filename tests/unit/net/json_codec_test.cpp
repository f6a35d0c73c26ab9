#include "common/net/json_codec.h"

#include <catch2/catch.hpp>

#include "common/core/ids.h"
#include "common/core/validate.h"

namespace terril {
namespace {

using nlohmann::json;

constexpr int64_t kT = 1796000000000;  // 2026-11-29T...

Record make_record(Entity e, std::string id, std::string centre, std::vector<FieldValue> fields) {
  Record r;
  r.entity = e;
  r.id = std::move(id);
  r.centre_id = std::move(centre);
  uint64_t hlc = (static_cast<uint64_t>(kT) << 16) | 3;
  for (auto& fv : fields) r.fields[fv.field] = FieldState{fv.value, Stamp{hlc, "n1"}};
  return r;
}

Status first_error(Entity e, const json& body, bool creating = false) {
  auto r = fields_from_json(e, body, creating);
  REQUIRE_FALSE(r);
  return r.status();
}

TEST_CASE("record_to_json uses the contract's field names and types", "[json]") {
  Record r = make_record(Entity::event, "0f000000-0000-4000-8000-000000000001", "lens-centre",
                         {{Field::created_at, Value{kT}},
                          {Field::title, Value{std::string("Temps fort")}},
                          {Field::kind, Value{std::string("temps-fort")}},
                          {Field::starts_at, Value{int64_t{1796040000000}}},
                          {Field::capacity, Value{int64_t{120}}}});
  json j = record_to_json(r, json{{"registered", 3}});
  CHECK(j["id"] == "0f000000-0000-4000-8000-000000000001");
  CHECK(j["centre_id"] == "lens-centre");
  CHECK(j["created_at"] == format_iso8601(kT));
  CHECK(j["updated_at"] == format_iso8601(kT));
  CHECK(j["deleted"] == false);
  CHECK(j["title"] == "Temps fort");
  CHECK(j["starts_at"] == format_iso8601(1796040000000));
  CHECK(j["ends_at"].is_null());
  CHECK(j["capacity"] == 120);
  CHECK(j["description"].is_null());
  CHECK(j["registered"] == 3);
  CHECK(j["allotments"] == nlohmann::json::object());  // a seat map: {} when empty
  CHECK(j.size() == 5 + 10 + 1);                       // envelope + event fields + extra
}

TEST_CASE("record_to_json renders booleans, tags and tombstones", "[json]") {
  Record note = make_record(Entity::prototype_note, "0f000000-0000-4000-8000-000000000002", "c",
                            {{Field::title, Value{std::string("Borne")}},
                             {Field::status, Value{std::string("en-test")}},
                             {Field::tags, Value{std::string("seniors,tablette")}}});
  json j = record_to_json(note);
  CHECK(j["tags"] == json::array({"seniors", "tablette"}));
  note.fields[Field::tags].value = std::string();
  CHECK(record_to_json(note)["tags"] == json::array());
  note.fields[Field::deleted] = FieldState{Value{true}, Stamp{1, "n1"}};
  CHECK(record_to_json(note)["deleted"] == true);

  Record reg = make_record(Entity::registration, "0f000000-0000-4000-8000-000000000003", "c",
                           {{Field::first_name, Value{std::string("Zoé")}}});
  CHECK(record_to_json(reg)["attended"] == false);
  reg.erased = true;
  CHECK(record_to_json(reg)["deleted"] == true);
}

TEST_CASE("fields_from_json round-trips a record's JSON", "[json]") {
  Record r = make_record(Entity::registration, "0f000000-0000-4000-8000-000000000004", "c",
                         {{Field::event_id, Value{std::string("0f000000-0000-4000-8000-000000000009")}},
                          {Field::first_name, Value{std::string("Zoé")}},
                          {Field::last_name, Value{std::string("Lefebvre")}},
                          {Field::phone, Value{std::string("03 21 00 00 00")}},
                          {Field::role, Value{std::string("benevole")}},
                          {Field::consent_at, Value{kT}},
                          {Field::attended, Value{true}}});
  json j = record_to_json(r, json{{"synced", false}});
  auto fields = fields_from_json(Entity::registration, j, false);
  INFO(fields.status().to_string());
  REQUIRE(fields);
  std::map<Field, Value> got;
  for (const auto& fv : *fields) got[fv.field] = fv.value;
  for (const auto& [f, st] : r.fields) CHECK(got.at(f) == st.value);
  CHECK(std::holds_alternative<std::monostate>(got.at(Field::email)));  // null clears
  CHECK(got.at(Field::deleted) == Value{false});
}

TEST_CASE("fields_from_json on create drops nulls and returns fields in spec order", "[json]") {
  auto f = fields_from_json(Entity::event,
                            json{{"title", "Atelier"},
                                 {"kind", "atelier"},
                                 {"place", nullptr},
                                 {"starts_at", "2026-12-01T14:00:00+01:00"},
                                 {"capacity", 12}},
                            true);
  REQUIRE(f);
  REQUIRE(f->size() == 4);
  CHECK((*f)[0].field == Field::title);
  CHECK((*f)[2] == FieldValue{Field::starts_at, Value{*parse_iso8601("2026-12-01T13:00:00Z")}});
  CHECK((*f)[3] == FieldValue{Field::capacity, Value{int64_t{12}}});
}

TEST_CASE("fields_from_json normalises tags from an array or a string", "[json]") {
  auto a = fields_from_json(Entity::prototype_note, json{{"tags", {"Tablette", " seniors ", "tablette"}}}, false);
  REQUIRE(a);
  CHECK(a->front() == FieldValue{Field::tags, Value{std::string("seniors,tablette")}});
  auto s = fields_from_json(Entity::prototype_note, json{{"tags", "b, A"}}, false);
  REQUIRE(s);
  CHECK(s->front() == FieldValue{Field::tags, Value{std::string("a,b")}});
  Status comma = first_error(Entity::prototype_note, json{{"tags", {"a,b"}}});
  CHECK(error_code(comma) == "bad_format");
  CHECK(comma.field() == "tags");
}

TEST_CASE("fields_from_json skips envelope keys for the API layer", "[json]") {
  auto f = fields_from_json(Entity::registration,
                            json{{"id", "x"},
                                 {"centre_id", "y"},
                                 {"created_at", 1},
                                 {"updated_at", 2},
                                 {"synced", true},
                                 {"consent", true},
                                 {"attended", true}},
                            false);
  REQUIRE(f);
  REQUIRE(f->size() == 1);
  CHECK(f->front() == FieldValue{Field::attended, Value{true}});
  CHECK(is_envelope_key(Entity::event, "places_left"));
  CHECK_FALSE(is_envelope_key(Entity::event, "consent"));
}

TEST_CASE("fields_from_json errors name the field in French", "[json]") {
  struct Case {
    Entity e;
    json body;
    bool creating;
    std::string code, field, message_part;
  };
  const Case cases[] = {
      {Entity::registration, {{"prenom", "Zoé"}}, false, "unknown_field", "prenom", "Champ inconnu"},
      {Entity::registration, {{"first_name", 3}}, false, "wrong_type", "first_name", "prénom"},
      {Entity::registration, {{"attended", "oui"}}, false, "wrong_type", "attended", "présence"},
      {Entity::event, {{"capacity", "12"}}, false, "wrong_type", "capacity", "capacité"},
      {Entity::event, {{"capacity", 1.5}}, false, "wrong_type", "capacity", "nombre entier"},
      {Entity::event, {{"capacity", -1}}, false, "out_of_range", "capacity", "capacité"},
      {Entity::event, {{"starts_at", 1796000000000}}, false, "wrong_type", "starts_at", "début"},
      {Entity::event, {{"starts_at", "29/11/2026"}}, false, "bad_format", "starts_at", "début"},
      {Entity::event, {{"kind", "fete"}}, false, "not_allowed", "kind", "type"},
      {Entity::registration, {{"email", "pas une adresse"}}, false, "bad_format", "email", "courriel"},
      {Entity::registration, {{"phone", "12"}}, false, "bad_format", "phone", "téléphone"},
      {Entity::registration, {{"last_name", std::string(101, 'x')}}, false, "too_long", "last_name", "nom"},
      {Entity::registration, {{"last_name", nullptr}}, false, "required", "last_name", "obligatoire"},
      {Entity::registration, {{"first_name", "  "}}, true, "required", "first_name", "obligatoire"},
      {Entity::registration, {{"deleted", true}}, true, "read_only", "deleted", "supprimée"},
      {Entity::prototype_note, {{"tags", 3}}, false, "wrong_type", "tags", "étiquettes"},
  };
  for (const auto& c : cases) {
    INFO(c.body.dump());
    Status s = first_error(c.e, c.body, c.creating);
    CHECK(s.code() == Code::invalid);
    CHECK(error_code(s) == c.code);
    CHECK(s.field() == c.field);
    CHECK(s.message_fr().find(c.message_part) != std::string::npos);
  }
}

TEST_CASE("fields_from_json can report every field error", "[json]") {
  std::vector<Status> all;
  auto r = fields_from_json(Entity::registration, json{{"first_name", 1}, {"phone", "x"}, {"bogus", 1}}, true, &all);
  REQUIRE_FALSE(r);
  REQUIRE(all.size() == 3);
  CHECK(error_code(all[0]) == "unknown_field");  // unknown keys first
  CHECK(all[1].field() == "first_name");
  CHECK(all[2].field() == "phone");
}

TEST_CASE("fields_from_json refuses a body that is not an object", "[json]") {
  CHECK(error_code(first_error(Entity::event, json::array())) == "wrong_type");
}

TEST_CASE("error_json has the contract's shape", "[json]") {
  Status s = first_error(Entity::registration, json{{"role", "chef"}});
  json j = error_json(s);
  CHECK(j["code"] == "not_allowed");
  CHECK(j["field"] == "role");
  CHECK(j["message"] == "La valeur du champ « rôle » n'est pas autorisée.");
  CHECK(error_json(Status(Code::forbidden, "nope", "", "Non."))["field"].is_null());
}

TEST_CASE("parse_json refuses bad JSON and deep nesting", "[json]") {
  CHECK(parse_json(R"({"a": [1, {"b": "c"}]})"));
  CHECK_FALSE(parse_json("{"));
  CHECK_FALSE(parse_json(""));
  CHECK_FALSE(parse_json("{\"a\": \"\xff\"}"));
  CHECK_FALSE(parse_json(std::string(100000, '[')));
  CHECK(parse_json(R"({"s": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})"));  // inside a string
  CHECK(parse_json(std::string(32, '[') + std::string(32, ']')));
  CHECK_FALSE(parse_json(std::string(33, '[') + std::string(33, ']')));
}

}  // namespace
}  // namespace terril

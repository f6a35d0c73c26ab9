// Validation of field values and of whole changes (common/core/validate.h).
#include "common/core/validate.h"

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

namespace terril {
namespace {

using namespace std::string_literals;

std::string text_of(size_t n, char c = 'a') {
  return std::string(n, c);
}

// A French staff message: a French sentence, not the English fallback.
bool looks_french(const Status& s) {
  const std::string& fr = s.message_fr();
  if (fr == s.message() || fr.empty() || fr.back() != '.') return false;
  for (const char* start : {"Le ", "La ", "L'", "Les "})
    if (fr.rfind(start, 0) == 0) return valid_utf8(fr);
  return false;
}

const Value kNull{};
constexpr int64_t k2026 = 1767225600000;     // 2026-01-01T00:00:00Z
constexpr int64_t kMinTime = 946684800000;   // 2000-01-01
constexpr int64_t kMaxTime = 7258118400000;  // 2200-01-01
const std::string kUuid = "0f8fad5b-d9cb-469f-a165-70867728950e";

struct ValueCase {
  Entity entity;
  Field field;
  Value value;
  std::string code;  // empty: the value is valid
};

// Good and bad values for every field of every entity.
const std::vector<ValueCase>& value_cases() {
  static const std::vector<ValueCase> cases = [] {
    std::vector<ValueCase> v;
    for (Entity e : {Entity::centre, Entity::event, Entity::registration, Entity::prototype_note}) {
      v.push_back({e, Field::created_at, k2026, ""});
      v.push_back({e, Field::created_at, kMinTime, ""});
      v.push_back({e, Field::created_at, kMaxTime, ""});
      v.push_back({e, Field::created_at, kMinTime - 1, "out_of_range"});
      v.push_back({e, Field::created_at, kMaxTime + 1, "out_of_range"});
      v.push_back({e, Field::created_at, int64_t{0}, "out_of_range"});
      v.push_back({e, Field::created_at, int64_t{-1}, "out_of_range"});
      v.push_back({e, Field::created_at, "2026-01-01"s, "wrong_type"});
      v.push_back({e, Field::created_at, true, "wrong_type"});
      v.push_back({e, Field::created_at, kNull, "required"});
      v.push_back({e, Field::deleted, true, ""});
      v.push_back({e, Field::deleted, false, ""});
      v.push_back({e, Field::deleted, int64_t{1}, "wrong_type"});
      v.push_back({e, Field::deleted, "true"s, "wrong_type"});
      v.push_back({e, Field::deleted, kNull, "required"});
    }
    const Entity c = Entity::centre;
    v.insert(v.end(),
             {
                 {c, Field::name, "Centre social Arc-en-Ciel"s, ""},
                 {c, Field::name, "Maison de quartier Émile-Zola"s, ""},
                 {c, Field::name, text_of(200), ""},
                 {c, Field::name, text_of(201), "too_long"},
                 {c, Field::name, text_of(4097), "too_long"},
                 {c, Field::name, ""s, "required"},
                 {c, Field::name, "  \t"s, "required"},
                 {c, Field::name, kNull, "required"},
                 {c, Field::name, int64_t{3}, "wrong_type"},
                 {c, Field::name, "Centre \xC3\x28"s, "invalid_utf8"},   // bad continuation
                 {c, Field::name, "\xC0\xAF"s, "invalid_utf8"},          // overlong '/'
                 {c, Field::name, "\xED\xA0\x80"s, "invalid_utf8"},      // surrogate
                 {c, Field::name, "Caf\xC3"s, "invalid_utf8"},           // truncated
                 {c, Field::name, "\xF4\x90\x80\x80"s, "invalid_utf8"},  // above U+10FFFF
                 {c, Field::name, "\xFF"s, "invalid_utf8"},
                 {c, Field::name, "Centre\x01"s, "invalid_utf8"},      // control character
                 {c, Field::name, "Centre\x1b[31m"s, "invalid_utf8"},  // terminal escape
                 {c, Field::name, "Centre\x7f"s, "invalid_utf8"},      // DEL
                 {c, Field::name, "Cen\0tre"s, "invalid_utf8"},        // NUL inside
                 {c, Field::address, "12 rue Jean Jaurès"s, ""},
                 {c, Field::address, kNull, ""},
                 {c, Field::address, ""s, ""},
                 {c, Field::address, text_of(300), ""},
                 {c, Field::address, text_of(301), "too_long"},
                 {c, Field::address, false, "wrong_type"},
                 {c, Field::postcode, "59300"s, ""},
                 {c, Field::postcode, text_of(11, '5'), "too_long"},
                 {c, Field::town, "Valenciennes"s, ""},
                 {c, Field::town, text_of(101), "too_long"},
                 {c, Field::phone, "03 27 00 00 00"s, ""},
                 {c, Field::phone, ""s, ""},
                 {c, Field::phone, kNull, ""},
                 {c, Field::phone, "03 27 ab"s, "bad_format"},
                 {c, Field::phone, "12345"s, "bad_format"},
                 {c, Field::phone, text_of(21, '1'), "bad_format"},
                 {c, Field::phone, text_of(31, '1'), "too_long"},
                 {c, Field::agglomeration, "valenciennes-metropole"s, ""},
                 {c, Field::agglomeration, "porte-du-hainaut"s, ""},
                 {c, Field::agglomeration, "lens-lievin"s, ""},
                 {c, Field::agglomeration, "lille-metropole"s, "not_allowed"},
                 {c, Field::agglomeration, "Lens-Lievin"s, "not_allowed"},
                 {c, Field::agglomeration, ""s, "required"},
                 {c, Field::agglomeration, kNull, "required"},
                 // seats_returned is keyed by event id (a UUID is a valid key).
                 {c, Field::seats_returned, ""s, ""},
                 {c, Field::seats_returned, kNull, ""},
                 {c, Field::seats_returned, kUuid + "=3", ""},
                 {c, Field::seats_returned, "0a000000-0000-4000-8000-000000000001=1," + kUuid + "=1000000", ""},
                 {c, Field::seats_returned, kUuid + "=0", "bad_format"},
                 {c, Field::seats_returned, kUuid, "bad_format"},
                 {c, Field::seats_returned, kUuid + "=1000001", "bad_format"},
                 {c, Field::seats_returned, int64_t{3}, "wrong_type"},
                 {c, Field::seats_returned, text_of(16001), "too_long"},
             });
    const Entity e = Entity::event;
    v.insert(v.end(), {
                          {e, Field::title, "Temps fort numérique"s, ""},
                          {e, Field::title, text_of(201), "too_long"},
                          {e, Field::title, kNull, "required"},
                          {e, Field::description, text_of(4000), ""},
                          {e, Field::description, "Ligne 1\nLigne 2\tfin\r\n"s, ""},
                          {e, Field::description, text_of(4001), "too_long"},
                          {e, Field::description, text_of(4097), "too_long"},
                          {e, Field::description, kNull, ""},
                          {e, Field::kind, "temps-fort"s, ""},
                          {e, Field::kind, "atelier"s, ""},
                          {e, Field::kind, "reunion"s, ""},
                          {e, Field::kind, "réunion"s, "not_allowed"},
                          {e, Field::kind, "workshop"s, "not_allowed"},
                          {e, Field::kind, kNull, "required"},
                          {e, Field::starts_at, k2026, ""},
                          {e, Field::starts_at, kMinTime - 1, "out_of_range"},
                          {e, Field::starts_at, kMaxTime + 1, "out_of_range"},
                          {e, Field::starts_at, "demain"s, "wrong_type"},
                          {e, Field::starts_at, kNull, "required"},
                          {e, Field::ends_at, k2026, ""},
                          {e, Field::ends_at, kNull, ""},
                          {e, Field::ends_at, int64_t{1}, "out_of_range"},
                          {e, Field::place, "Salle polyvalente"s, ""},
                          {e, Field::place, text_of(301), "too_long"},
                          {e, Field::capacity, int64_t{0}, ""},
                          {e, Field::capacity, int64_t{1000000}, ""},
                          {e, Field::capacity, kNull, ""},
                          {e, Field::capacity, int64_t{-1}, "out_of_range"},
                          {e, Field::capacity, int64_t{1000001}, "out_of_range"},
                          {e, Field::capacity, "12"s, "wrong_type"},
                          {e, Field::capacity, true, "wrong_type"},
                          {e, Field::allotments, "a=1,b=2"s, ""},
                          {e, Field::allotments, "arc=1000000"s, ""},
                          {e, Field::allotments, ""s, ""},
                          {e, Field::allotments, kNull, ""},
                          {e, Field::allotments, "b=1,a=2"s, "bad_format"},
                          {e, Field::allotments, "a=0"s, "bad_format"},
                          {e, Field::allotments, "a"s, "bad_format"},
                          {e, Field::allotments, "A=1"s, "bad_format"},
                          {e, Field::allotments, "a=1, b=2"s, "bad_format"},
                          {e, Field::allotments, "a=1,a=2"s, "bad_format"},
                          {e, Field::allotments, "a=-1"s, "bad_format"},
                          {e, Field::allotments, "a=01"s, "bad_format"},
                          {e, Field::allotments, "a=1000001"s, "bad_format"},
                          {e, Field::allotments, "a=1,"s, "bad_format"},
                          {e, Field::allotments, int64_t{1}, "wrong_type"},
                          {e, Field::allotments, text_of(4001), "too_long"},
                          {e, Field::seat_grants, "a=1,b=2"s, ""},
                          {e, Field::seat_grants, "arc=1000000"s, ""},
                          {e, Field::seat_grants, ""s, ""},
                          {e, Field::seat_grants, kNull, ""},
                          {e, Field::seat_grants, "b=1,a=2"s, "bad_format"},
                          {e, Field::seat_grants, "a=0"s, "bad_format"},
                          {e, Field::seat_grants, "a"s, "bad_format"},
                          {e, Field::seat_grants, "A=1"s, "bad_format"},
                          {e, Field::seat_grants, "a=1, b=2"s, "bad_format"},
                          {e, Field::seat_grants, "a=1,a=2"s, "bad_format"},
                          {e, Field::seat_grants, "a=-1"s, "bad_format"},
                          {e, Field::seat_grants, "a=01"s, "bad_format"},
                          {e, Field::seat_grants, "a=1000001"s, "bad_format"},
                          {e, Field::seat_grants, "a=1,"s, "bad_format"},
                          {e, Field::seat_grants, int64_t{1}, "wrong_type"},
                          {e, Field::seat_grants, text_of(4001), "too_long"},
                          {e, Field::seat_reclaims, "a=1,b=2"s, ""},
                          {e, Field::seat_reclaims, "arc=1000000"s, ""},
                          {e, Field::seat_reclaims, ""s, ""},
                          {e, Field::seat_reclaims, kNull, ""},
                          {e, Field::seat_reclaims, "b=1,a=2"s, "bad_format"},
                          {e, Field::seat_reclaims, "a=0"s, "bad_format"},
                          {e, Field::seat_reclaims, "a"s, "bad_format"},
                          {e, Field::seat_reclaims, "A=1"s, "bad_format"},
                          {e, Field::seat_reclaims, "a=1, b=2"s, "bad_format"},
                          {e, Field::seat_reclaims, "a=1,a=2"s, "bad_format"},
                          {e, Field::seat_reclaims, "a=-1"s, "bad_format"},
                          {e, Field::seat_reclaims, "a=01"s, "bad_format"},
                          {e, Field::seat_reclaims, "a=1000001"s, "bad_format"},
                          {e, Field::seat_reclaims, "a=1,"s, "bad_format"},
                          {e, Field::seat_reclaims, int64_t{1}, "wrong_type"},
                          {e, Field::seat_reclaims, text_of(4001), "too_long"},
                      });
    const Entity r = Entity::registration;
    v.insert(v.end(), {
                          {r, Field::event_id, kUuid, ""},
                          {r, Field::event_id, "0F8FAD5B-D9CB-469F-A165-70867728950E"s, "bad_format"},
                          {r, Field::event_id, "not-a-uuid"s, "bad_format"},
                          {r, Field::event_id, "0f8fad5bd9cb469fa16570867728950e"s, "bad_format"},
                          {r, Field::event_id, text_of(37), "too_long"},
                          {r, Field::event_id, ""s, "required"},
                          {r, Field::event_id, kNull, "required"},
                          {r, Field::first_name, "Éloïse"s, ""},
                          {r, Field::first_name, "Jean-Marie"s, ""},
                          {r, Field::first_name, text_of(100), ""},
                          {r, Field::first_name, text_of(101), "too_long"},
                          {r, Field::first_name, ""s, "required"},
                          {r, Field::first_name, kNull, "required"},
                          {r, Field::first_name, "Ana\xFF"s, "invalid_utf8"},
                          {r, Field::first_name, "Ana\x08"s, "invalid_utf8"},
                          {r, Field::first_name, int64_t{7}, "wrong_type"},
                          {r, Field::last_name, "Dupont-Lefèvre"s, ""},
                          {r, Field::last_name, text_of(101), "too_long"},
                          {r, Field::last_name, " "s, "required"},
                          {r, Field::last_name, kNull, "required"},
                          {r, Field::phone, "+33 6 12 34 56 78"s, ""},
                          {r, Field::phone, "06.12.34.56.78"s, ""},
                          {r, Field::phone, "(0)6-12-34-56-78"s, ""},
                          {r, Field::phone, "0612"s, "bad_format"},
                          {r, Field::phone, "06 12 34 56 7a"s, "bad_format"},
                          {r, Field::phone, "06/12/34/56/78"s, "bad_format"},
                          {r, Field::phone, text_of(31, '6'), "too_long"},
                          {r, Field::phone, ""s, "required"},
                          {r, Field::phone, kNull, "required"},
                          {r, Field::email, "alice@example.fr"s, ""},
                          {r, Field::email, "a.b+c@mairie-valenciennes.fr"s, ""},
                          {r, Field::email, ""s, ""},
                          {r, Field::email, kNull, ""},
                          {r, Field::email, "alice"s, "bad_format"},
                          {r, Field::email, "a@b"s, "bad_format"},
                          {r, Field::email, "a@@b.fr"s, "bad_format"},
                          {r, Field::email, "a b@c.fr"s, "bad_format"},
                          {r, Field::email, "@example.fr"s, "bad_format"},
                          {r, Field::email, "a@example."s, "bad_format"},
                          {r, Field::email, "a@.fr"s, "bad_format"},
                          {r, Field::email, "<a@b.fr>"s, "bad_format"},
                          {r, Field::email, text_of(250) + "@b.fr", "too_long"},
                          {r, Field::role, "habitant"s, ""},
                          {r, Field::role, "benevole"s, ""},
                          {r, Field::role, "partenaire"s, ""},
                          {r, Field::role, "salarie"s, ""},
                          {r, Field::role, "administrateur"s, ""},
                          {r, Field::role, "institutionnel"s, ""},
                          {r, Field::role, "Habitant"s, "not_allowed"},
                          {r, Field::role, "bénévole"s, "not_allowed"},
                          {r, Field::role, "admin"s, "not_allowed"},
                          {r, Field::role, kNull, "required"},
                          {r, Field::consent_at, k2026, ""},
                          {r, Field::consent_at, kMaxTime, ""},
                          {r, Field::consent_at, int64_t{0}, "out_of_range"},
                          {r, Field::consent_at, "oui"s, "wrong_type"},
                          {r, Field::consent_at, kNull, "required"},
                          {r, Field::attended, true, ""},
                          {r, Field::attended, false, ""},
                          {r, Field::attended, kNull, ""},
                          {r, Field::attended, int64_t{1}, "wrong_type"},
                          {r, Field::notes, "Vient avec sa fille.\nAllergie : arachide."s, ""},
                          {r, Field::notes, text_of(2000), ""},
                          {r, Field::notes, text_of(2001), "too_long"},
                          {r, Field::notes, text_of(4097), "too_long"},
                          {r, Field::notes, "bip\x07"s, "invalid_utf8"},
                          {r, Field::person_id, "0b000000-0000-4000-8000-000000000001"s, ""},
                          {r, Field::person_id, kNull, ""},
                          {r, Field::person_id, "martine"s, "bad_format"},
                          {r, Field::person_id, "0B000000-0000-4000-8000-000000000001"s, "bad_format"},
                          {r, Field::commune, "Denain"s, ""},
                          {r, Field::commune, text_of(100), ""},
                          {r, Field::commune, text_of(101), "too_long"},
                          {r, Field::qpv, "oui"s, ""},
                          {r, Field::qpv, "inconnu"s, ""},
                          {r, Field::qpv, "peut-etre"s, "not_allowed"},
                          {r, Field::qpv, true, "wrong_type"},
                          {r, Field::genre, "femme"s, ""},
                          {r, Field::genre, "non-renseigne"s, ""},
                          {r, Field::genre, "Femme"s, "not_allowed"},
                          {r, Field::seat, "confirmee"s, ""},
                          {r, Field::seat, "attente"s, ""},
                          {r, Field::seat, kNull, ""},
                          {r, Field::seat, "oui"s, "not_allowed"},
                          {r, Field::seat, "Confirmee"s, "not_allowed"},
                          {r, Field::seat, int64_t{1}, "wrong_type"},
                          {r, Field::seat_by, "arc-en-ciel"s, ""},
                          {r, Field::seat_by, ""s, ""},
                          {r, Field::seat_by, kNull, ""},
                          {r, Field::seat_by, text_of(65), "too_long"},
                          {r, Field::seat_by, true, "wrong_type"},
                          {r, Field::seat_event, "0e000000-0000-4000-8000-000000000001@"s, ""},
                          {r, Field::seat_event, "0e000000-0000-4000-8000-000000000001@117699569558290432"s, ""},
                          {r, Field::seat_event, "0e000000-0000-4000-8000-000000000001"s, "bad_format"},
                          {r, Field::seat_event, "0e000000-0000-4000-8000-000000000001@12x"s, "bad_format"},
                          {r, Field::seat_event, ""s, ""},
                          {r, Field::seat_event, kNull, ""},
                          {r, Field::seat_event, "atelier"s, "bad_format"},
                          {r, Field::seat_event, text_of(65), "too_long"},
                      });
    const Entity n = Entity::prototype_note;
    v.insert(v.end(), {
                          {n, Field::title, "Borne d'inscription"s, ""},
                          {n, Field::title, text_of(201), "too_long"},
                          {n, Field::title, ""s, "required"},
                          {n, Field::summary, text_of(1000), ""},
                          {n, Field::summary, text_of(1001), "too_long"},
                          {n, Field::body, text_of(5000), ""},  // bodies may exceed 4 KiB
                          {n, Field::body, text_of(65536), ""},
                          {n, Field::body, text_of(65537), "too_long"},
                          {n, Field::body, "\xE2\x82"s, "invalid_utf8"},
                          {n, Field::status, "idee"s, ""},
                          {n, Field::status, "prototype"s, ""},
                          {n, Field::status, "en-test"s, ""},
                          {n, Field::status, "deploye"s, ""},
                          {n, Field::status, "abandonne"s, ""},
                          {n, Field::status, "Idee"s, "not_allowed"},
                          {n, Field::status, "done"s, "not_allowed"},
                          {n, Field::status, kNull, "required"},
                          {n, Field::tags, "atelier,numerique"s, ""},
                          {n, Field::tags, "a"s, ""},
                          {n, Field::tags, ""s, ""},
                          {n, Field::tags, kNull, ""},
                          {n, Field::tags, "b,a"s, "bad_format"},
                          {n, Field::tags, "a, b"s, "bad_format"},
                          {n, Field::tags, "A,b"s, "bad_format"},
                          {n, Field::tags, "a,a"s, "bad_format"},
                          {n, Field::tags, "a,,b"s, "bad_format"},
                          {n, Field::tags, " a"s, "bad_format"},
                          {n, Field::tags, text_of(501), "too_long"},
                          {n, Field::tags, int64_t{1}, "wrong_type"},
                          {n, Field::evaluation, text_of(4000), ""},
                          {n, Field::evaluation, text_of(4001), "too_long"},
                          {n, Field::evaluation, text_of(4097), "too_long"},
                      });
    return v;
  }();
  return cases;
}

std::string describe(const Value& v) {
  switch (v.index()) {
    case 0:
      return "null";
    case 1:
      return std::to_string(std::get<int64_t>(v));
    case 2:
      return std::get<bool>(v) ? "true" : "false";
    default: {
      const auto& s = std::get<std::string>(v);
      return "\"" + (s.size() > 40 ? s.substr(0, 40) + "...(" + std::to_string(s.size()) + " bytes)" : s) + "\"";
    }
  }
}

TEST_CASE("validate_value accepts good values and names the field of bad ones in French", "[validate]") {
  for (const auto& tc : value_cases()) {
    const FieldSpec* fs = field_spec(tc.entity, tc.field);
    INFO(entity_name(tc.entity) << "." << field_name(tc.field) << " = " << describe(tc.value) << " expects "
                                << (tc.code.empty() ? "ok" : tc.code));
    REQUIRE(fs != nullptr);
    Status s = validate_value(tc.entity, *fs, tc.value);
    if (tc.code.empty()) {
      CHECK(s.is_ok());
      continue;
    }
    INFO("got: " << s.to_string() << " / " << s.message_fr());
    CHECK_FALSE(s.is_ok());
    CHECK(s.code() == Code::invalid);
    CHECK(error_code(s) == tc.code);
    CHECK(s.field() == fs->name);
    CHECK(looks_french(s));
    CHECK(s.message_fr().find(fs->label_fr) != std::string::npos);
  }
}

TEST_CASE("every field of every entity has good and bad cases in the table", "[validate]") {
  for (const auto& es : entities()) {
    for (const auto& fs : es.fields) {
      bool good = false, bad = false;
      for (const auto& tc : value_cases()) {
        if (tc.entity != es.entity || tc.field != fs.field) continue;
        (tc.code.empty() ? good : bad) = true;
      }
      INFO(es.name << "." << fs.name);
      CHECK(good);
      CHECK(bad);
    }
  }
}

// Not in the table above: its French message names the holder ("Le centre qui
// tient la place") rather than the field's label ("place tenue par").
TEST_CASE("seat_by must be a centre slug", "[validate][seats]") {
  const FieldSpec* fs = field_spec(Entity::registration, Field::seat_by);
  REQUIRE(fs != nullptr);
  for (const char* good : {"arc", "centre-1", "a"})
    CHECK(validate_value(Entity::registration, *fs, Value{good}).is_ok());
  for (const char* bad : {"Martin", "arc centre", "-arc", "arc-", "arc_1", "é"}) {
    INFO(bad);
    Status s = validate_value(Entity::registration, *fs, Value{std::string(bad)});
    CHECK(s.code() == Code::invalid);
    CHECK(error_code(s) == "bad_format");
    CHECK(s.field() == "seat_by");
    CHECK(looks_french(s));
  }
}

TEST_CASE("normalise_tags lowercases, trims, deduplicates and sorts", "[validate]") {
  struct Case {
    std::string_view in, out;
  };
  const Case cases[] = {
      {"", ""},
      {"a", "a"},
      {"B, a,b ", "a,b"},
      {" , ,", ""},
      {"Atelier", "atelier"},
      {"x,  y  ,x", "x,y"},
      {"numérique,Fablab,\tfablab", "fablab,numérique"},
      {"z,y,x,y", "x,y,z"},
  };
  for (const auto& c : cases) {
    INFO("\"" << c.in << "\"");
    CHECK(normalise_tags(c.in) == c.out);
    CHECK(normalise_tags(normalise_tags(c.in)) == c.out);  // idempotent
    CHECK(validate_value(Entity::prototype_note, *field_spec(Entity::prototype_note, Field::tags),
                         Value{std::string(c.out)})
              .is_ok());
  }
}

TEST_CASE("validate_new_record requires every required field and ends after start", "[validate]") {
  const std::vector<FieldValue> event = {
      {Field::title, "Atelier"s}, {Field::kind, "atelier"s}, {Field::starts_at, k2026}};
  CHECK(validate_new_record(Entity::event, event).is_ok());

  auto without = [](std::vector<FieldValue> v, Field f) {
    std::erase_if(v, [&](const FieldValue& fv) { return fv.field == f; });
    return v;
  };
  for (Field f : {Field::title, Field::kind, Field::starts_at}) {
    Status s = validate_new_record(Entity::event, without(event, f));
    INFO(field_name(f));
    CHECK(error_code(s) == "required");
    CHECK(s.field() == field_name(f));
    CHECK(s.message_fr().find(field_spec(Entity::event, f)->label_fr) != std::string::npos);
  }
  auto nulled = event;
  nulled[0].value = Value{};
  CHECK(error_code(validate_new_record(Entity::event, nulled)) == "required");

  auto ends_before = event;
  ends_before.push_back({Field::ends_at, k2026 - 1});
  Status s = validate_new_record(Entity::event, ends_before);
  CHECK(error_code(s) == "out_of_range");
  CHECK(s.field() == "ends_at");
  auto ends_same = event;
  ends_same.push_back({Field::ends_at, k2026});
  CHECK(validate_new_record(Entity::event, ends_same).is_ok());

  CHECK(error_code(validate_new_record(Entity::registration, {{Field::first_name, "Ana"s}})) == "required");
}

// A valid change of each kind, to be broken one way at a time.
Change good_registration() {
  Change c;
  c.origin = "node-arc-en-ciel";
  c.origin_seq = 7;
  c.hlc = (uint64_t{1767225600000} << 16) | 3;
  c.entity = Entity::registration;
  c.record_id = kUuid;
  c.centre_id = "arc-en-ciel";
  c.op = Op::upsert;
  // In field-number order: created_at 1, phone 14, event_id 30, first_name 31, last_name 32,
  // email 33, role 34, consent_at 35.
  c.fields = {{Field::created_at, k2026},  {Field::phone, "06 12 34 56 78"s}, {Field::event_id, kUuid},
              {Field::first_name, "Ana"s}, {Field::last_name, "Martin"s},     {Field::email, Value{}},
              {Field::role, "habitant"s},  {Field::consent_at, k2026}};
  return c;
}

Change good_centre() {
  Change c = good_registration();
  c.entity = Entity::centre;
  c.record_id = "arc-en-ciel";
  c.fields = {{Field::name, "Arc-en-Ciel"s}, {Field::agglomeration, "lens-lievin"s}};
  return c;
}

struct ChangeCase {
  std::string name;
  std::function<Change()> make;
  std::string code;   // empty: valid
  std::string field;  // expected Status::field() when invalid
};

TEST_CASE("validate_change accepts well-formed changes and rejects each malformed part", "[validate]") {
  auto with = [](Change c, auto f) {
    f(c);
    return c;
  };
  auto reg = [&](auto f) { return [=] { return with(good_registration(), f); }; };
  auto centre = [&](auto f) { return [=] { return with(good_centre(), f); }; };
  const std::vector<ChangeCase> cases = {
      {"registration upsert", reg([](Change&) {}), "", ""},
      {"partial update", reg([](Change& c) {
         c.fields = {{Field::attended, true}};
       }),
       "", ""},
      {"hub origin", reg([](Change& c) { c.origin = "hub"; }), "", ""},
      {"delete", reg([](Change& c) {
         c.op = Op::del;
         c.fields.clear();
       }),
       "", ""},
      {"erase", reg([](Change& c) {
         c.op = Op::erase;
         c.fields.clear();
       }),
       "", ""},
      {"centre upsert", centre([](Change&) {}), "", ""},
      {"unknown entity 0", reg([](Change& c) { c.entity = Entity{0}; }), "unknown_entity", ""},
      {"unknown entity 5", reg([](Change& c) { c.entity = Entity{5}; }), "unknown_entity", ""},
      {"field of another entity", reg([](Change& c) {
         c.fields = {{Field::title, "x"s}};
       }),
       "unknown_field", ""},
      {"unknown field number", reg([](Change& c) {
         c.fields = {{Field{999}, "x"s}};
       }),
       "unknown_field", ""},
      {"centre field on a note",
       [] {
         Change c = good_registration();
         c.entity = Entity::prototype_note;
         c.fields = {{Field::town, "x"s}};
         return c;
       },
       "unknown_field", ""},
      {"wrong type", reg([](Change& c) { c.fields[3].value = int64_t{1}; }), "wrong_type", "first_name"},
      {"bad value", reg([](Change& c) { c.fields[5].value = "pas-un-courriel"s; }), "bad_format", "email"},
      {"unsorted fields", reg([](Change& c) { std::swap(c.fields[1], c.fields[2]); }), "unsorted_fields", "phone"},
      {"duplicate field", reg([](Change& c) { c.fields[4] = c.fields[3]; }), "unsorted_fields", "first_name"},
      {"empty origin", reg([](Change& c) { c.origin = ""; }), "bad_origin", ""},
      {"uppercase origin", reg([](Change& c) { c.origin = "Node-1"; }), "bad_origin", ""},
      {"origin with underscore", reg([](Change& c) { c.origin = "node_1"; }), "bad_origin", ""},
      {"origin with leading dash", reg([](Change& c) { c.origin = "-node"; }), "bad_origin", ""},
      {"origin over 64 bytes", reg([](Change& c) { c.origin = text_of(65); }), "bad_origin", ""},
      {"origin_seq zero", reg([](Change& c) { c.origin_seq = 0; }), "bad_seq", ""},
      {"hlc zero", reg([](Change& c) { c.hlc = 0; }), "bad_hlc", ""},
      {"uppercase record id", reg([](Change& c) { c.record_id = "0F8FAD5B-D9CB-469F-A165-70867728950E"; }), "bad_id",
       "id"},
      {"empty record id", reg([](Change& c) { c.record_id = ""; }), "bad_id", "id"},
      {"slug as registration id", reg([](Change& c) { c.record_id = "arc-en-ciel"; }), "bad_id", "id"},
      {"centre id not a slug", centre([](Change& c) { c.record_id = c.centre_id = "Arc en ciel"; }), "bad_id", "id"},
      {"empty centre_id", reg([](Change& c) { c.centre_id = ""; }), "bad_centre", "centre_id"},
      {"centre_id not a slug", reg([](Change& c) { c.centre_id = "Arc-en-Ciel"; }), "bad_centre", "centre_id"},
      {"centre record owned by another centre", centre([](Change& c) { c.centre_id = "marly-florales"; }), "bad_centre",
       "centre_id"},
      {"upsert without fields", reg([](Change& c) { c.fields.clear(); }), "empty_change", ""},
      {"delete with fields", reg([](Change& c) { c.op = Op::del; }), "bad_op", ""},
      {"erase with fields", reg([](Change& c) { c.op = Op::erase; }), "bad_op", ""},
      {"erase of a centre", centre([](Change& c) {
         c.op = Op::erase;
         c.fields.clear();
       }),
       "bad_op", ""},
      {"erase of an event", reg([](Change& c) {
         c.entity = Entity::event;
         c.op = Op::erase;
         c.fields.clear();
       }),
       "bad_op", ""},
      {"erase of a note", reg([](Change& c) {
         c.entity = Entity::prototype_note;
         c.op = Op::erase;
         c.fields.clear();
       }),
       "bad_op", ""},
      {"unknown op", reg([](Change& c) { c.op = Op{9}; }), "bad_op", ""},
      {"over 32 fields", reg([](Change& c) {
         c.fields.clear();
         for (int i = 0; i < 33; ++i) c.fields.push_back({Field::notes, "x"s});
       }),
       "too_many_fields", ""},
  };
  for (const auto& tc : cases) {
    Change c = tc.make();
    Status s = validate_change(c);
    INFO(tc.name << ": " << s.to_string());
    if (tc.code.empty()) {
      CHECK(s.is_ok());
      continue;
    }
    CHECK(s.code() == Code::invalid);
    CHECK(error_code(s) == tc.code);
    CHECK(s.field() == tc.field);
    CHECK(s.message_fr() != s.message());
    CHECK(valid_utf8(s.message_fr()));
  }
}

TEST_CASE("format checks for ids, slugs, node ids, emails and phones", "[validate]") {
  CHECK(valid_uuid(kUuid));
  CHECK_FALSE(valid_uuid(kUuid.substr(1)));
  CHECK_FALSE(valid_uuid("0f8fad5b-d9cb-469f-a165-70867728950g"));
  CHECK_FALSE(valid_uuid("0f8fad5b_d9cb-469f-a165-70867728950e"));
  CHECK(valid_slug("a"));
  CHECK(valid_slug("marly-florales"));
  CHECK(valid_slug(text_of(64)));
  CHECK_FALSE(valid_slug(text_of(65)));
  CHECK_FALSE(valid_slug(""));
  CHECK_FALSE(valid_slug("marly-"));
  CHECK_FALSE(valid_slug("Marly"));
  CHECK_FALSE(valid_slug("marly florales"));
  CHECK(valid_node_id("node-1"));
  CHECK_FALSE(valid_node_id("hub"));
  CHECK(valid_utf8("é€𝄞"));
  CHECK_FALSE(valid_utf8("\xF8\x88\x80\x80\x80"));
}

}  // namespace
}  // namespace terril

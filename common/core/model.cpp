// The field table of every entity and the model's names (see model.h). Pure.
#include "common/core/model.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace terril {
namespace {

using namespace std::string_view_literals;

constexpr std::array kRoleList = {"habitant"sv, "benevole"sv,       "partenaire"sv,
                                  "salarie"sv,  "administrateur"sv, "institutionnel"sv};
constexpr std::array kKindList = {"temps-fort"sv, "atelier"sv, "reunion"sv};
constexpr std::array kStatusList = {"idee"sv, "prototype"sv, "en-test"sv, "deploye"sv, "abandonne"sv};
constexpr std::array kAggloList = {"valenciennes-metropole"sv, "porte-du-hainaut"sv, "lens-lievin"sv};
constexpr std::array kQpvList = {"oui"sv, "non"sv, "inconnu"sv};
constexpr std::array kGenreList = {"femme"sv, "homme"sv, "autre"sv, "non-renseigne"sv};
constexpr std::array kSeatList = {"confirmee"sv, "attente"sv};
constexpr std::span<const std::string_view> kFree{};

// Bounds: text fields are short enough that a registration fits in a few
// hundred bytes, long enough for real names and addresses; bodies up to 64 KiB.
constexpr FieldSpec kCreated{Field::created_at, "created_at", ValueKind::time, 0, false, false, kFree,
                             "date de création"};
constexpr FieldSpec kDeleted{Field::deleted, "deleted", ValueKind::boolean, 0, false, false, kFree, "supprimé"};

constexpr std::array kCentreFields = {
    kCreated,
    kDeleted,
    FieldSpec{Field::name, "name", ValueKind::text, 200, true, false, kFree, "nom"},
    FieldSpec{Field::address, "address", ValueKind::text, 300, false, false, kFree, "adresse"},
    FieldSpec{Field::postcode, "postcode", ValueKind::text, 10, false, false, kFree, "code postal"},
    FieldSpec{Field::town, "town", ValueKind::text, 100, false, false, kFree, "commune"},
    FieldSpec{Field::phone, "phone", ValueKind::text, 30, false, false, kFree, "téléphone"},
    FieldSpec{Field::agglomeration, "agglomeration", ValueKind::text, 40, true, false, kAggloList, "agglomération"},
    FieldSpec{Field::seats_returned, "seats_returned", ValueKind::text, 16000, false, false, kFree, "places rendues"},
};

constexpr std::array kEventFields = {
    kCreated,
    kDeleted,
    FieldSpec{Field::title, "title", ValueKind::text, 200, true, false, kFree, "titre"},
    FieldSpec{Field::description, "description", ValueKind::text, 4000, false, false, kFree, "description"},
    FieldSpec{Field::kind, "kind", ValueKind::text, 20, true, false, kKindList, "type"},
    FieldSpec{Field::starts_at, "starts_at", ValueKind::time, 0, true, false, kFree, "début"},
    FieldSpec{Field::ends_at, "ends_at", ValueKind::time, 0, false, false, kFree, "fin"},
    FieldSpec{Field::place, "place", ValueKind::text, 300, false, false, kFree, "lieu"},
    FieldSpec{Field::capacity, "capacity", ValueKind::integer, 0, false, false, kFree, "capacité"},
    FieldSpec{Field::allotments, "allotments", ValueKind::text, 4000, false, false, kFree,
              "places données aux centres"},
    FieldSpec{Field::seat_grants, "seat_grants", ValueKind::text, 4000, false, false, kFree,
              "places demandées pour les centres"},
    FieldSpec{Field::seat_reclaims, "seat_reclaims", ValueKind::text, 4000, false, false, kFree,
              "places redemandées aux centres"},
};

constexpr std::array kRegistrationFields = {
    kCreated,
    kDeleted,
    FieldSpec{Field::event_id, "event_id", ValueKind::text, 36, true, false, kFree, "événement"},
    FieldSpec{Field::first_name, "first_name", ValueKind::text, 100, true, true, kFree, "prénom"},
    FieldSpec{Field::last_name, "last_name", ValueKind::text, 100, true, true, kFree, "nom"},
    FieldSpec{Field::phone, "phone", ValueKind::text, 30, true, true, kFree, "téléphone"},
    FieldSpec{Field::email, "email", ValueKind::text, 254, false, true, kFree, "courriel"},
    FieldSpec{Field::role, "role", ValueKind::text, 20, true, false, kRoleList, "rôle"},
    FieldSpec{Field::consent_at, "consent_at", ValueKind::time, 0, true, false, kFree, "consentement"},
    FieldSpec{Field::attended, "attended", ValueKind::boolean, 0, false, false, kFree, "présence"},
    FieldSpec{Field::notes, "notes", ValueKind::text, 2000, false, true, kFree, "remarques"},
    // Not required: registrations made before people existed have none (their
    // person is their own id, see common/core/people.h); the node's API gives
    // every new one a person.
    FieldSpec{Field::person_id, "person_id", ValueKind::text, 36, false, true, kFree, "personne"},
    FieldSpec{Field::commune, "commune", ValueKind::text, 100, false, true, kFree, "commune de résidence"},
    FieldSpec{Field::qpv, "qpv", ValueKind::text, 10, false, true, kQpvList, "quartier prioritaire (QPV)"},
    FieldSpec{Field::genre, "genre", ValueKind::text, 20, false, true, kGenreList, "genre"},
    FieldSpec{Field::seat, "seat", ValueKind::text, 10, false, false, kSeatList, "place"},
    FieldSpec{Field::seat_by, "seat_by", ValueKind::text, 64, false, false, kFree, "place tenue par"},
    FieldSpec{Field::seat_event, "seat_event", ValueKind::text, 64, false, false, kFree, "événement de la place"},
};

constexpr std::array kNoteFields = {
    kCreated,
    kDeleted,
    FieldSpec{Field::title, "title", ValueKind::text, 200, true, false, kFree, "titre"},
    FieldSpec{Field::summary, "summary", ValueKind::text, 1000, false, false, kFree, "résumé"},
    FieldSpec{Field::body, "body", ValueKind::text, 65536, false, false, kFree, "contenu"},
    FieldSpec{Field::status, "status", ValueKind::text, 20, true, false, kStatusList, "statut"},
    FieldSpec{Field::tags, "tags", ValueKind::text, 500, false, false, kFree, "étiquettes"},
    FieldSpec{Field::evaluation, "evaluation", ValueKind::text, 4000, false, false, kFree, "évaluation"},
};

constexpr std::array kEntities = {
    EntitySpec{Entity::centre, "centre", "centres", "centres", "centres", kCentreFields, "centre"},
    EntitySpec{Entity::event, "event", "events", "events", "events", kEventFields, "événement"},
    EntitySpec{Entity::registration, "registration", "registrations", "registrations", "registrations",
               kRegistrationFields, "inscription"},
    EntitySpec{Entity::prototype_note, "prototype_note", "prototype_notes", "prototype-notes", "prototype_notes",
               kNoteFields, "note de prototype"},
};

void append_value(std::string& out, const Value& v) {
  char buf[32];
  switch (v.index()) {
    case 0:
      out += "null";
      break;
    case 1:
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(std::get<int64_t>(v)));
      out += buf;
      break;
    case 2:
      out += std::get<bool>(v) ? "true" : "false";
      break;
    case 3: {
      out += '"';
      for (char c : std::get<std::string>(v)) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
          out += "\\n";
          continue;
        }
        out += c;
      }
      out += '"';
      break;
    }
  }
}

void append_stamp(std::string& out, const Stamp& s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "@%llu/", static_cast<unsigned long long>(s.hlc));
  out += buf;
  out += s.origin;
}

}  // namespace

const std::span<const std::string_view> kRoles{kRoleList};
const std::span<const std::string_view> kEventKinds{kKindList};
const std::span<const std::string_view> kNoteStatuses{kStatusList};
const std::span<const std::string_view> kAgglomerations{kAggloList};
const std::span<const std::string_view> kQpvValues{kQpvList};
const std::span<const std::string_view> kGenres{kGenreList};
const std::span<const std::string_view> kSeatValues{kSeatList};

std::span<const EntitySpec> entities() {
  return kEntities;
}

const EntitySpec& spec(Entity e) {
  return kEntities[static_cast<size_t>(e) - 1];
}

bool valid_entity(uint32_t v) {
  return v >= 1 && v <= kEntities.size();
}

const EntitySpec* spec_by_name(std::string_view name) {
  for (const auto& s : kEntities)
    if (s.name == name || s.plural == name || s.path == name) return &s;
  return nullptr;
}

const FieldSpec* field_spec(Entity e, Field f) {
  for (const auto& fs : spec(e).fields)
    if (fs.field == f) return &fs;
  return nullptr;
}

const FieldSpec* field_spec(Entity e, std::string_view name) {
  for (const auto& fs : spec(e).fields)
    if (fs.name == name) return &fs;
  return nullptr;
}

std::string_view entity_name(Entity e) {
  return spec(e).name;
}

std::string_view field_name(Field f) {
  for (const auto& es : kEntities)
    for (const auto& fs : es.fields)
      if (fs.field == f) return fs.name;
  return "?";
}

const Value* Change::get(Field f) const {
  for (const auto& fv : fields)
    if (fv.field == f) return &fv.value;
  return nullptr;
}

const Value* Record::get(Field f) const {
  auto it = fields.find(f);
  return it == fields.end() ? nullptr : &it->second.value;
}

std::optional<std::string> Record::text(Field f) const {
  const Value* v = get(f);
  if (v && std::holds_alternative<std::string>(*v)) return std::get<std::string>(*v);
  return std::nullopt;
}

std::optional<int64_t> Record::integer(Field f) const {
  const Value* v = get(f);
  if (v && std::holds_alternative<int64_t>(*v)) return std::get<int64_t>(*v);
  return std::nullopt;
}

bool Record::flag(Field f) const {
  const Value* v = get(f);
  return v && std::holds_alternative<bool>(*v) && std::get<bool>(*v);
}

uint64_t Record::max_hlc() const {
  uint64_t m = erase_stamp.hlc;
  for (const auto& [f, st] : fields) m = std::max(m, st.stamp.hlc);
  return m;
}

int64_t Record::updated_at_ms() const {
  return static_cast<int64_t>(max_hlc() >> 16);
}

std::string canonical(const Record& r) {
  std::string out;
  out += entity_name(r.entity);
  out += ' ';
  out += r.id;
  out += " centre=";
  out += r.centre_id;
  if (r.erased) {
    out += " erased";
    append_stamp(out, r.erase_stamp);
  }
  out += '\n';
  for (const auto& [f, st] : r.fields) {
    out += "  ";
    out += field_name(f);
    out += '=';
    append_value(out, st.value);
    append_stamp(out, st.stamp);
    out += '\n';
  }
  return out;
}

std::string canonical(const Change& c) {
  std::string out;
  char buf[64];
  std::snprintf(buf, sizeof buf, "#%llu hlc=%llu op=%d ", static_cast<unsigned long long>(c.origin_seq),
                static_cast<unsigned long long>(c.hlc), static_cast<int>(c.op));
  out += c.origin;
  out += buf;
  out += entity_name(c.entity);
  out += ' ';
  out += c.record_id;
  out += " centre=";
  out += c.centre_id;
  for (const auto& fv : c.fields) {
    out += ' ';
    out += field_name(fv.field);
    out += '=';
    append_value(out, fv.value);
  }
  return out;
}

}  // namespace terril

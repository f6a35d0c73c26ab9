// Records to and from JSON with the contract's field names (see json_codec.h).
#include "common/net/json_codec.h"

#include <algorithm>
#include <string>

#include "common/core/ids.h"
#include "common/core/seats.h"
#include "common/core/validate.h"

namespace terril {
namespace {

using nlohmann::json;

Status invalid(std::string_view code, std::string_view field, std::string en, std::string fr) {
  std::string msg(code);
  msg += ": ";
  msg += en;
  return Status(Code::invalid, std::move(msg), std::string(field), std::move(fr));
}

std::string quoted(std::string_view label) {
  return "« " + std::string(label) + " »";
}

Status wrong_type(const FieldSpec& fs, std::string_view expected_fr) {
  return invalid("wrong_type", fs.name, std::string(fs.name) + " has the wrong JSON type",
                 "Le champ " + quoted(fs.label_fr) + " doit être " + std::string(expected_fr) + ".");
}

// The seat maps (common/core/seats.h): stored as "centre=n,...", a JSON
// object {"centre": n} on the API, {} when empty.
bool is_seat_map(Field f) {
  return f == Field::allotments || f == Field::seat_grants || f == Field::seat_reclaims || f == Field::seats_returned;
}

std::string_view expected_fr(const FieldSpec& fs) {
  if (fs.field == Field::tags) return "une liste d'étiquettes";
  if (is_seat_map(fs.field)) return "un objet {centre: nombre de places}";
  switch (fs.kind) {
    case ValueKind::text:
      return "du texte";
    case ValueKind::integer:
      return "un nombre entier";
    case ValueKind::boolean:
      return "oui ou non (true / false)";
    case ValueKind::time:
      return "une date au format ISO 8601 (2026-11-29T10:00:00Z)";
  }
  return "d'un autre type";
}

}  // namespace

std::optional<json> parse_json(std::string_view text, size_t max_depth) {
  // Depth pre-scan outside strings: cheap, and keeps the recursive parts of
  // the parser and of json's destructor away from hostile nesting.
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) return std::nullopt;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

json value_to_json(const FieldSpec& fs, const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) {
    if (fs.kind == ValueKind::boolean) return false;
    if (fs.field == Field::tags) return json::array();
    if (is_seat_map(fs.field)) return json::object();
    return nullptr;
  }
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  if (const auto* i = std::get_if<int64_t>(&v)) {
    if (fs.kind == ValueKind::time) return format_iso8601(*i);
    return *i;
  }
  const auto& s = std::get<std::string>(v);
  if (is_seat_map(fs.field)) {
    json obj = json::object();
    if (auto m = seats::parse_map(s))
      for (const auto& [k, n] : *m) obj[k] = n;
    return obj;
  }
  if (fs.field == Field::tags) {
    json arr = json::array();
    size_t start = 0;
    while (start < s.size()) {
      size_t end = s.find(',', start);
      if (end == std::string::npos) end = s.size();
      if (end > start) arr.push_back(s.substr(start, end - start));
      start = end + 1;
    }
    return arr;
  }
  return s;
}

json record_to_json(const Record& r, const json& extra) {
  json j = json::object();
  j["id"] = r.id;
  j["centre_id"] = r.centre_id;
  const Value* created = r.get(Field::created_at);
  j["created_at"] = created && std::holds_alternative<int64_t>(*created)
                        ? json(format_iso8601(std::get<int64_t>(*created)))
                        : json(nullptr);
  j["updated_at"] = r.max_hlc() ? json(format_iso8601(r.updated_at_ms())) : json(nullptr);
  j["deleted"] = r.deleted();
  for (const auto& fs : spec(r.entity).fields) {
    if (fs.field == Field::created_at || fs.field == Field::deleted) continue;
    const Value* v = r.get(fs.field);
    j[std::string(fs.name)] = value_to_json(fs, v ? *v : Value{});
  }
  if (extra.is_object())
    for (const auto& [k, v] : extra.items()) j[k] = v;
  return j;
}

bool is_envelope_key(Entity e, std::string_view key) {
  if (key == "id" || key == "centre_id" || key == "created_at" || key == "updated_at") return true;
  switch (e) {
    case Entity::registration:
      return key == "synced" || key == "consent" || key == "seat_at";
    case Entity::event:
      return key == "registered" || key == "places_left" || key == "seats";
    default:
      return false;
  }
}

Result<Value> value_from_json(Entity e, const FieldSpec& fs, const json& j) {
  Value v;
  if (j.is_null()) {
    v = std::monostate{};
  } else if (is_seat_map(fs.field)) {
    if (!j.is_object()) return wrong_type(fs, expected_fr(fs));
    seats::SeatMap m;
    for (const auto& [k, n] : j.items()) {
      if (!valid_slug(k) || !n.is_number_integer() || n.get<int64_t>() < 0 || n.get<int64_t>() > seats::kMaxSeats)
        return invalid("bad_format", fs.name, std::string(fs.name) + " holds a bad entry",
                       "Le champ " + quoted(fs.label_fr) + " doit associer des centres à des nombres de places.");
      m[k] = n.get<int64_t>();
    }
    std::string text = seats::format_map(m);
    if (text.empty())
      v = std::monostate{};
    else
      v = std::move(text);
  } else if (fs.field == Field::tags) {
    std::string joined;
    if (j.is_string()) {
      joined = j.get<std::string>();
    } else if (j.is_array()) {
      for (const auto& t : j) {
        if (!t.is_string()) return wrong_type(fs, expected_fr(fs));
        const auto& s = t.get_ref<const std::string&>();
        if (s.find(',') != std::string::npos)
          return invalid("bad_format", fs.name, "a tag holds a comma",
                         "Une étiquette ne peut pas contenir de virgule.");
        if (!joined.empty()) joined += ',';
        joined += s;
      }
    } else {
      return wrong_type(fs, expected_fr(fs));
    }
    v = normalise_tags(joined);
  } else {
    switch (fs.kind) {
      case ValueKind::text:
        if (!j.is_string()) return wrong_type(fs, expected_fr(fs));
        v = j.get<std::string>();
        break;
      case ValueKind::boolean:
        if (!j.is_boolean()) return wrong_type(fs, expected_fr(fs));
        v = j.get<bool>();
        break;
      case ValueKind::integer:
        if (j.is_number_integer() && !j.is_number_unsigned()) {
          v = j.get<int64_t>();
        } else if (j.is_number_unsigned()) {
          auto u = j.get<uint64_t>();
          v = u > 1000000000ULL ? int64_t{1000000000} : static_cast<int64_t>(u);  // range-checked below
        } else {
          return wrong_type(fs, expected_fr(fs));
        }
        break;
      case ValueKind::time: {
        if (!j.is_string()) return wrong_type(fs, expected_fr(fs));
        auto ms = parse_iso8601(j.get_ref<const std::string&>());
        if (!ms)
          return invalid(
              "bad_format", fs.name, std::string(fs.name) + " is not an ISO 8601 time",
              "La date " + quoted(fs.label_fr) + " n'est pas valide (format attendu : 2026-11-29T10:00:00Z).");
        v = *ms;
        break;
      }
    }
  }
  if (Status s = validate_value(e, fs, v); !s) return s;
  return v;
}

Result<std::vector<FieldValue>> fields_from_json(Entity e, const json& body, bool creating,
                                                 std::vector<Status>* all_errors) {
  if (!body.is_object()) {
    Status s = invalid("wrong_type", "", "body is not a JSON object", "La requête doit être un objet JSON.");
    if (all_errors) all_errors->push_back(s);
    return s;
  }
  Status first;
  auto fail = [&](Status s) {
    if (first.is_ok()) first = s;
    if (all_errors) all_errors->push_back(std::move(s));
  };
  // Unknown keys first: a typo in a field name must not pass silently.
  for (const auto& [key, value] : body.items()) {
    if (is_envelope_key(e, key)) continue;
    const FieldSpec* fs = field_spec(e, key);
    if (!fs) {
      bool printable = key.size() <= 64 && valid_utf8(key);
      fail(invalid("unknown_field", printable ? key : "", "unknown field",
                   printable ? "Champ inconnu : « " + key + " »." : "Champ inconnu."));
    }
  }
  std::vector<FieldValue> out;
  for (const auto& fs : spec(e).fields) {
    auto it = body.find(std::string(fs.name));
    if (it == body.end()) continue;
    if (fs.field == Field::created_at) continue;  // envelope, see is_envelope_key
    if (creating && it->is_null()) continue;
    if (creating && fs.field == Field::deleted) {
      fail(invalid("read_only", fs.name, "deleted cannot be set on create",
                   "Une nouvelle fiche ne peut pas être créée supprimée."));
      continue;
    }
    auto v = value_from_json(e, fs, *it);
    if (!v) {
      fail(v.status());
      continue;
    }
    out.push_back(FieldValue{fs.field, std::move(v.value())});
  }
  if (!first.is_ok()) return first;
  return out;
}

json error_json(const Status& s) {
  return json{{"code", error_code(s)},
              {"field", s.field().empty() ? json(nullptr) : json(s.field())},
              {"message", s.message_fr()}};
}

}  // namespace terril

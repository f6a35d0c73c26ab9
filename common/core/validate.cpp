// Validation of changes and records, with French messages (see validate.h). Pure.
#include "common/core/validate.h"

#include "common/core/seats.h"

#include <algorithm>
#include <set>
#include <vector>

#include "common/core/ids.h"

namespace terril {
namespace {

Status bad(std::string_view code, std::string_view field, std::string en, std::string fr) {
  std::string msg(code);
  msg += ": ";
  msg += en;
  return Status(Code::invalid, std::move(msg), std::string(field), std::move(fr));
}

std::string label(const FieldSpec& fs) {
  return std::string(fs.label_fr);
}

}  // namespace

bool valid_utf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else
      return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

bool valid_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

bool valid_slug(std::string_view s) {
  if (s.empty() || s.size() > 64 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool valid_node_id(std::string_view s) {
  return valid_slug(s) && s != "hub";
}

bool valid_email(std::string_view s) {
  auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) return false;
  auto domain = s.substr(at + 1);
  auto dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.') return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '<' || c == '>' || c == ',' || c == ';';
  });
}

bool valid_phone(std::string_view s) {
  int digits = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9')
      ++digits;
    else if (c != ' ' && c != '+' && c != '.' && c != '-' && c != '(' && c != ')')
      return false;
  }
  return digits >= 6 && digits <= 20;
}

std::string normalise_tags(std::string_view tags) {
  std::set<std::string> out;
  size_t start = 0;
  while (start <= tags.size()) {
    size_t end = tags.find(',', start);
    if (end == std::string_view::npos) end = tags.size();
    std::string t(tags.substr(start, end - start));
    auto b = t.find_first_not_of(" \t");
    auto e = t.find_last_not_of(" \t");
    if (b != std::string::npos) {
      t = t.substr(b, e - b + 1);
      for (char& c : t)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      out.insert(t);
    }
    start = end + 1;
  }
  std::string joined;
  for (const auto& t : out) {
    if (!joined.empty()) joined += ',';
    joined += t;
  }
  return joined;
}

std::string error_code(const Status& s) {
  auto pos = s.message().find(':');
  return pos == std::string::npos ? std::string(code_name(s.code())) : s.message().substr(0, pos);
}

Status validate_value(Entity e, const FieldSpec& fs, const Value& v) {
  const std::string_view name = fs.name;
  if (std::holds_alternative<std::monostate>(v)) {
    if (fs.required || fs.field == Field::deleted || fs.field == Field::created_at)
      return bad("required", name, std::string(name) + " may not be cleared",
                 "Le champ « " + label(fs) + " » est obligatoire.");
    return Status::ok();
  }
  switch (fs.kind) {
    case ValueKind::boolean:
      if (!std::holds_alternative<bool>(v))
        return bad("wrong_type", name, std::string(name) + " must be a boolean",
                   "Le champ « " + label(fs) + " » doit être oui ou non.");
      return Status::ok();
    case ValueKind::integer:
    case ValueKind::time: {
      if (!std::holds_alternative<int64_t>(v))
        return bad("wrong_type", name,
                   std::string(name) + " must be " + (fs.kind == ValueKind::time ? "a time" : "an integer"),
                   fs.kind == ValueKind::time ? "Le champ « " + label(fs) + " » doit être une date."
                                              : "Le champ « " + label(fs) + " » doit être un nombre entier.");
      int64_t x = std::get<int64_t>(v);
      if (fs.kind == ValueKind::time) {
        // 2000-01-01 .. 2200-01-01: a date outside is a broken clock or a typo.
        if (x < 946684800000LL || x > 7258118400000LL)
          return bad("out_of_range", name, std::string(name) + " is outside 2000..2200",
                     "La date « " + label(fs) + " » n'est pas plausible.");
      } else if (x < 0 || x > 1000000) {
        return bad("out_of_range", name, std::string(name) + " is outside 0..1000000",
                   "Le champ « " + label(fs) + " » doit être compris entre 0 et 1 000 000.");
      }
      return Status::ok();
    }
    case ValueKind::text: {
      if (!std::holds_alternative<std::string>(v))
        return bad("wrong_type", name, std::string(name) + " must be text",
                   "Le champ « " + label(fs) + " » doit être du texte.");
      const auto& s = std::get<std::string>(v);
      if (s.size() > fs.max_len)
        return bad(
            "too_long", name, std::string(name) + " is longer than " + std::to_string(fs.max_len) + " bytes",
            "Le champ « " + label(fs) + " » est trop long (" + std::to_string(fs.max_len) + " caractères au plus).");
      if (!valid_utf8(s))
        return bad("invalid_utf8", name, std::string(name) + " is not valid UTF-8",
                   "Le champ « " + label(fs) + " » contient des caractères invalides.");
      for (unsigned char c : s)
        if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7F)
          return bad("invalid_utf8", name, std::string(name) + " holds control characters",
                     "Le champ « " + label(fs) + " » contient des caractères invalides.");
      if (fs.required && s.find_first_not_of(" \t\r\n") == std::string::npos)
        return bad("required", name, std::string(name) + " is empty",
                   "Le champ « " + label(fs) + " » est obligatoire.");
      if (!fs.choices.empty() && std::find(fs.choices.begin(), fs.choices.end(), s) == fs.choices.end())
        return bad("not_allowed", name, std::string(name) + " is not one of the allowed values",
                   "La valeur du champ « " + label(fs) + " » n'est pas autorisée.");
      if (fs.field == Field::email && !s.empty() && !valid_email(s))
        return bad("bad_format", name, "email is not an address", "L'adresse de courriel n'est pas valide.");
      if (fs.field == Field::phone && !s.empty() && !valid_phone(s))
        return bad("bad_format", name, "phone is not a phone number",
                   "Le numéro de téléphone n'est pas valide (6 à 20 chiffres).");
      if (fs.field == Field::person_id && !valid_uuid(s))
        return bad("bad_format", name, "person_id is not a UUID", "La personne choisie n'est pas valide.");
      if (fs.field == Field::event_id && !valid_uuid(s))
        return bad("bad_format", name, "event_id is not a UUID", "L'événement choisi n'est pas valide.");
      if (fs.field == Field::tags && normalise_tags(s) != s)
        return bad("bad_format", name, "tags are not normalised", "Les étiquettes ne sont pas valides.");
      if ((fs.field == Field::allotments || fs.field == Field::seat_grants || fs.field == Field::seat_reclaims ||
           fs.field == Field::seats_returned) &&
          !seats::parse_map(s))
        return bad("bad_format", name, std::string(name) + " is not a seat map",
                   "Le champ « " + label(fs) + " » n'est pas une liste de places valide.");
      if (fs.field == Field::seat_event && !seats::valid_seat_event(s))
        return bad("bad_format", name, "seat_event is not a UUID", "L'événement de la place n'est pas valide.");
      if (fs.field == Field::seat_by && !s.empty() && !valid_slug(s))
        return bad("bad_format", name, "seat_by is not a centre id", "Le centre qui tient la place n'est pas valide.");
      (void)e;
      return Status::ok();
    }
  }
  return Status::ok();
}

Status validate_change(const Change& c) {
  if (!c.undecodable.empty())
    return bad("undecodable", "", "change cannot be read: " + c.undecodable,
               "Modification illisible par ce serveur (logiciel d'une autre version ?) : refusée seule, les "
               "autres passent.");
  if (c.origin.empty() || c.origin.size() > kMaxOriginLen || !(c.origin == "hub" || valid_node_id(c.origin)))
    return bad("bad_origin", "", "origin is not a valid node id", "Origine de la modification invalide.");
  if (c.origin_seq == 0) return bad("bad_seq", "", "origin_seq must start at 1", "Numéro de modification invalide.");
  if (c.hlc == 0) return bad("bad_hlc", "", "hlc must not be zero", "Horodatage invalide.");
  if (!valid_entity(static_cast<uint32_t>(c.entity)))
    return bad("unknown_entity", "", "unknown entity", "Type de fiche inconnu.");
  if (c.entity == Entity::centre ? !valid_slug(c.record_id) : !valid_uuid(c.record_id))
    return bad("bad_id", "id", "record id is malformed", "Identifiant de fiche invalide.");
  if (!valid_slug(c.centre_id)) return bad("bad_centre", "centre_id", "centre_id is malformed", "Centre invalide.");
  if (c.entity == Entity::centre && c.centre_id != c.record_id)
    return bad("bad_centre", "centre_id", "a centre owns itself", "Centre invalide.");
  if (c.fields.size() > kMaxFieldsPerChange) return bad("too_many_fields", "", "too many fields", "Trop de champs.");
  switch (c.op) {
    case Op::upsert:
      if (c.fields.empty()) return bad("empty_change", "", "upsert with no field", "Modification vide.");
      break;
    case Op::del:
      if (!c.fields.empty()) return bad("bad_op", "", "delete carries no field", "Suppression invalide.");
      break;
    case Op::erase:
      if (c.entity != Entity::registration)
        return bad("bad_op", "", "only registrations can be erased", "Seule une inscription peut être effacée.");
      if (!c.fields.empty()) return bad("bad_op", "", "erase carries no field", "Effacement invalide.");
      break;
    default:
      return bad("bad_op", "", "unknown op", "Opération inconnue.");
  }
  for (size_t i = 0; i < c.fields.size(); ++i) {
    const auto& fv = c.fields[i];
    if (i > 0 && !(c.fields[i - 1].field < fv.field))
      return bad("unsorted_fields", field_name(fv.field), "fields are not sorted and unique", "Champs en double.");
    const FieldSpec* fs = field_spec(c.entity, fv.field);
    if (!fs)
      return bad("unknown_field", "",
                 "field " + std::to_string(static_cast<int>(fv.field)) + " is not a field of " +
                     std::string(entity_name(c.entity)),
                 "Champ inconnu.");
    if (Status s = validate_value(c.entity, *fs, fv.value); !s) return s;
  }
  return Status::ok();
}

Status validate_record(const Record& r) {
  auto good_stamp = [](const Stamp& st) {
    return st.hlc != 0 && !st.origin.empty() && st.origin.size() <= kMaxOriginLen &&
           (st.origin == "hub" || valid_node_id(st.origin));
  };
  if (!valid_entity(static_cast<uint32_t>(r.entity)))
    return bad("unknown_entity", "", "unknown entity", "Type de fiche inconnu.");
  if (r.entity == Entity::centre ? !valid_slug(r.id) : !valid_uuid(r.id))
    return bad("bad_id", "id", "record id is malformed", "Identifiant de fiche invalide.");
  if (!valid_slug(r.centre_id)) return bad("bad_centre", "centre_id", "centre_id is malformed", "Centre invalide.");
  if (r.entity == Entity::centre && r.centre_id != r.id)
    return bad("bad_centre", "centre_id", "a centre owns itself", "Centre invalide.");
  if (r.erased) {
    if (r.entity != Entity::registration || !r.fields.empty() || !good_stamp(r.erase_stamp))
      return bad("bad_op", "", "bad erased record", "Effacement invalide.");
    return Status::ok();
  }
  if (r.fields.empty()) return bad("empty_change", "", "record with no field", "Fiche vide.");
  for (const auto& [f, st] : r.fields) {
    const FieldSpec* fs = field_spec(r.entity, f);
    if (!fs) return bad("unknown_field", "", "unknown field in record", "Champ inconnu.");
    if (!good_stamp(st.stamp)) return bad("bad_hlc", fs->name, "bad field stamp", "Horodatage invalide.");
    if (Status s = validate_value(r.entity, *fs, st.value); !s) return s;
  }
  return Status::ok();
}

Status validate_new_record(Entity e, const std::vector<FieldValue>& fields) {
  for (const auto& fs : spec(e).fields) {
    if (!fs.required) continue;
    auto it = std::find_if(fields.begin(), fields.end(), [&](const FieldValue& fv) { return fv.field == fs.field; });
    if (it == fields.end() || std::holds_alternative<std::monostate>(it->value))
      return bad("required", fs.name, std::string(fs.name) + " is required",
                 "Le champ « " + std::string(fs.label_fr) + " » est obligatoire.");
  }
  const Value* starts = nullptr;
  const Value* ends = nullptr;
  for (const auto& fv : fields) {
    if (fv.field == Field::starts_at) starts = &fv.value;
    if (fv.field == Field::ends_at) ends = &fv.value;
  }
  if (starts && ends && std::holds_alternative<int64_t>(*starts) && std::holds_alternative<int64_t>(*ends) &&
      std::get<int64_t>(*ends) < std::get<int64_t>(*starts))
    return bad("out_of_range", "ends_at", "ends_at is before starts_at",
               "La fin de l'événement doit être après son début.");
  return Status::ok();
}

}  // namespace terril

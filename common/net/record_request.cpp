// The request body -> LocalWrite pipeline shared by the node and the hub.
#include "common/net/record_request.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/core/ids.h"
#include "common/core/validate.h"
#include "common/net/api_support.h"
#include "common/net/auth.h"
#include "common/net/json_codec.h"

namespace terril {

using json = nlohmann::json;

namespace {

PreparedWrite answer(HttpResponse res) {
  PreparedWrite p;
  p.answer = std::move(res);
  return p;
}

void drop_computed(json& body, Entity e, const RecordPolicy& p) {
  if (!p.computed_key) return;
  for (auto it = body.begin(); it != body.end();) {
    if (p.computed_key(e, it.key()))
      it = body.erase(it);
    else
      ++it;
  }
}

bool has_error_on(const std::vector<Status>& errors, std::string_view field) {
  return std::any_of(errors.begin(), errors.end(), [&](const Status& s) { return s.field() == field; });
}

// The owner of a new record, per the policy; the new record's id for a
// centre. Appends form errors; returns an answer for a refusal or a store
// error.
std::optional<HttpResponse> owner_of_new(Store& store, Entity e, const json& body, const RecordPolicy& p,
                                         std::vector<Status>& errors, std::string& id, std::string& centre_id) {
  auto given_id = body.find("id");
  auto given_centre = body.find("centre_id");
  if (e == Entity::centre) {  // the hub only: a node refuses centres before
    if (given_id == body.end() || given_id->is_null()) {
      errors.push_back(field_error("required", "id",
                                   "Donnez l'identifiant du centre : minuscules, chiffres et tirets "
                                   "(ex. douai-gayant)."));
    } else if (!given_id->is_string() || !valid_slug(given_id->get_ref<const std::string&>())) {
      errors.push_back(field_error("bad_format", "id",
                                   "L'identifiant du centre s'écrit en minuscules, chiffres et tirets "
                                   "(ex. douai-gayant)."));
    } else {
      id = centre_id = given_id->get<std::string>();
    }
    if (given_centre != body.end() && !given_centre->is_null() &&
        !(given_centre->is_string() && given_centre->get_ref<const std::string&>() == id))
      errors.push_back(
          field_error("read_only", "centre_id", "Un centre est son propre centre : laissez ce champ vide."));
    return std::nullopt;
  }
  if (given_id != body.end() && !given_id->is_null()) {
    if (!given_id->is_string() || !valid_uuid(given_id->get_ref<const std::string&>()))
      errors.push_back(field_error("bad_format", "id", "L'identifiant doit être un UUID en minuscules (ex. 0f8f…-…)."));
    else
      id = given_id->get<std::string>();
  }
  if (p.owner == RecordPolicy::Owner::own_centre) {
    if (given_centre != body.end() && !given_centre->is_null() &&
        !(given_centre->is_string() && given_centre->get_ref<const std::string&>() == p.own_centre))
      return error_response(403, "forbidden", "centre_id",
                            "Ce poste ne peut créer des fiches que pour son propre centre.");
    centre_id = p.own_centre;
    return std::nullopt;
  }
  if (given_centre == body.end() || !given_centre->is_string() || given_centre->get_ref<const std::string&>().empty()) {
    errors.push_back(field_error("required", "centre_id",
                                 e == Entity::event ? "Choisissez le centre qui organise l'événement."
                                                    : "Choisissez le centre auquel rattacher la fiche."));
    return std::nullopt;
  }
  centre_id = given_centre->get<std::string>();
  auto c = store.get(Entity::centre, centre_id);
  if (!c) return status_response(c.status(), p.who);
  if (!c->has_value() || (*c)->deleted())
    errors.push_back(field_error("unknown_centre", "centre_id", "Ce centre n'existe pas ou a été supprimé."));
  return std::nullopt;
}

// Registrations: consent true stamps consent_at. Returns an answer for 503
// clock; `handled` when "consent" stands for consent_at (its own error).
std::optional<HttpResponse> consent(const json& body, const RecordPolicy& p, std::vector<FieldValue>& fields,
                                    std::vector<Status>& errors, bool& handled) {
  const bool has_consent_at =
      std::any_of(fields.begin(), fields.end(), [](const FieldValue& fv) { return fv.field == Field::consent_at; });
  auto it = body.find("consent");
  if (it != body.end() && !it->is_null() && !it->is_boolean()) {
    errors.push_back(field_error("wrong_type", "consent", "Le consentement doit être oui ou non."));
    handled = true;
  } else if (!has_consent_at && !body.contains("consent_at")) {
    handled = true;
    if (it != body.end() && it->is_boolean() && it->get<bool>()) {
      if (p.min_plausible_ms > 0 && p.now_ms < p.min_plausible_ms)
        return error_response(503, "clock", "",
                              "L'horloge de ce poste n'est pas à l'heure : reliez-le au hub, puis réessayez.");
      fields.push_back(FieldValue{Field::consent_at, p.now_ms});
    } else {
      errors.push_back(field_error("required", "consent",
                                   "La personne doit donner son accord pour que ses données soient "
                                   "enregistrées (case « consentement »)."));
    }
  }
  return std::nullopt;
}

// A new registration without a person is a new person (a UUID made here);
// qpv and genre default to « inconnu » and « non renseigné ».
void person_defaults(const RecordPolicy& p, std::vector<FieldValue>& fields) {
  auto has = [&](Field f) {
    return std::any_of(fields.begin(), fields.end(), [f](const FieldValue& fv) { return fv.field == f; });
  };
  if (!has(Field::person_id))
    fields.push_back(FieldValue{Field::person_id, uuid_v4(p.random16 ? p.random16() : random_id_bytes())});
  if (!has(Field::qpv)) fields.push_back(FieldValue{Field::qpv, std::string("inconnu")});
  if (!has(Field::genre)) fields.push_back(FieldValue{Field::genre, std::string("non-renseigne")});
}

// A registration's event must be live. Returns a store error's answer.
std::optional<HttpResponse> check_event(Store& store, const std::vector<FieldValue>& fields, std::string_view who,
                                        std::vector<Status>& errors) {
  for (const auto& fv : fields) {
    if (fv.field != Field::event_id) continue;
    auto ev = store.get(Entity::event, std::get<std::string>(fv.value));
    if (!ev) return status_response(ev.status(), who);
    if (!ev->has_value() || (*ev)->deleted())
      errors.push_back(field_error("unknown_event", "event_id", "Cet événement n'existe pas ou a été supprimé."));
  }
  return std::nullopt;
}

// The stored record for a write route: in `out.existing`, or out.answer set
// (404 when absent, or erased and `erased_absent`; the store error).
void find_existing(Store& store, Entity e, const std::string& id, bool erased_absent, std::string_view who,
                   PreparedWrite& out) {
  auto got = store.get(e, id);
  if (!got)
    out.answer = status_response(got.status(), who);
  else if (!got->has_value() || (erased_absent && (*got)->erased))
    out.answer = not_found();
  else
    out.existing = std::move(**got);
}

// The seat rules' fields (common/core/seats.h) are never set through a
// record body: the rules set seat and seat_by, and seats move through
// POST /api/v1/events/{id}/seats (common/net/seats_api.h).
void refuse_seat_fields(const std::vector<FieldValue>& fields, std::vector<Status>& errors) {
  for (const auto& fv : fields) {
    const bool seat = fv.field == Field::seat || fv.field == Field::seat_by || fv.field == Field::seat_event;
    const bool moves = fv.field == Field::allotments || fv.field == Field::seat_grants ||
                       fv.field == Field::seat_reclaims || fv.field == Field::seats_returned;
    if (!seat && !moves) continue;
    if (seat && fv.value.index() == 0) continue;  // null sent back as read
    const std::string name(field_name(fv.field));
    if (has_error_on(errors, name)) continue;
    errors.push_back(field_error(
        "read_only", name,
        seat ? "La place (confirmée ou en liste d'attente) est fixée par les règles des places, jamais à la main."
             : "Les places se donnent et se reprennent avec « Places par centre » de l'événement."));
  }
}

}  // namespace

std::array<uint8_t, 16> random_id_bytes() {
  if (!sodium_ready()) throw std::runtime_error("libsodium unavailable: no random bytes for a record id");
  std::array<uint8_t, 16> r{};
  randombytes_buf(r.data(), r.size());
  return r;
}

PreparedWrite prepare_create(Store& store, const EntitySpec& es, const HttpRequest& req, const RecordPolicy& p) {
  const Entity e = es.entity;
  auto parsed_body = body_object(req);
  if (!parsed_body) return answer(status_response(parsed_body.status(), p.who));
  json body = std::move(*parsed_body);
  drop_computed(body, e, p);

  std::vector<Status> errors;
  auto parsed = fields_from_json(e, body, /*creating=*/true, &errors);
  std::vector<FieldValue> fields = parsed ? std::move(parsed.value()) : std::vector<FieldValue>{};

  std::string id, centre_id;
  if (auto refused = owner_of_new(store, e, body, p, errors, id, centre_id)) return answer(std::move(*refused));
  if (auto it = body.find("created_at"); it != body.end() && !it->is_null())
    errors.push_back(field_error("read_only", "created_at",
                                 "La date de création est fixée par " + std::string(p.stamped_by_fr) + "."));

  bool consent_handled = false;
  if (e == Entity::registration)
    if (auto refused = consent(body, p, fields, errors, consent_handled)) return answer(std::move(*refused));

  // Every missing required field, so a form can mark them all at once. A
  // field given with a bad value has its own error already; another field's
  // error must not make it look missing, nor report it twice.
  for (const auto& fs : es.fields) {
    auto given = body.find(std::string(fs.name));
    if (!fs.required || (given != body.end() && !given->is_null())) continue;
    if (std::any_of(fields.begin(), fields.end(), [&](const FieldValue& fv) { return fv.field == fs.field; })) continue;
    if (has_error_on(errors, fs.name)) continue;
    if (fs.field == Field::consent_at && consent_handled) continue;
    errors.push_back(
        field_error("required", fs.name, "Le champ « " + std::string(fs.label_fr) + " » est obligatoire."));
  }
  refuse_seat_fields(fields, errors);
  if (e == Entity::registration)
    if (auto failed = check_event(store, fields, p.who, errors)) return answer(std::move(*failed));
  if (!errors.empty()) return answer(invalid_response(errors));
  if (Status s = validate_new_record(e, fields); !s) return answer(status_response(s, p.who));

  if (id.empty()) {
    id = uuid_v4(p.random16 ? p.random16() : random_id_bytes());
  } else {
    auto existing = store.get(e, id);
    if (!existing) return answer(status_response(existing.status(), p.who));
    if (existing->has_value())
      return answer(error_response(409, "exists", "id", "Une fiche porte déjà cet identifiant."));
  }
  if (e == Entity::registration) person_defaults(p, fields);  // after the id: random16 gives the id first
  // created_at is set by the store from the write's clock stamp.
  PreparedWrite out;
  out.write.entity = e;
  out.write.record_id = id;
  out.write.centre_id = centre_id;
  out.write.op = Op::upsert;
  out.write.fields = std::move(fields);
  return out;
}

PreparedWrite prepare_update(Store& store, const EntitySpec& es, const std::string& id, const HttpRequest& req,
                             const RecordPolicy& p) {
  const Entity e = es.entity;
  PreparedWrite out;
  find_existing(store, e, id, /*erased_absent=*/false, p.who, out);
  if (out.answer) return out;
  const Record& existing = *out.existing;
  if (existing.erased)
    return answer(error_response(409, "erased", "", "Les données de cette inscription ont été effacées."));
  auto parsed_body = body_object(req);
  if (!parsed_body) return answer(status_response(parsed_body.status(), p.who));
  json body = std::move(*parsed_body);
  drop_computed(body, e, p);

  std::vector<Status> errors;
  auto parsed = fields_from_json(e, body, /*creating=*/false, &errors);
  if (auto it = body.find("id"); it != body.end() && !(it->is_string() && it->get_ref<const std::string&>() == id))
    errors.push_back(field_error("read_only", "id", "L'identifiant d'une fiche ne peut pas être changé."));
  if (auto it = body.find("centre_id");
      it != body.end() && !(it->is_string() && it->get_ref<const std::string&>() == existing.centre_id))
    errors.push_back(
        field_error("read_only", "centre_id", "Le centre propriétaire d'une fiche ne peut pas être changé."));
  if (auto it = body.find("created_at"); it != body.end()) {
    std::optional<int64_t> given = it->is_string() ? parse_iso8601(it->get_ref<const std::string&>()) : std::nullopt;
    if (given != existing.integer(Field::created_at))
      errors.push_back(field_error("read_only", "created_at", "La date de création ne peut pas être changée."));
  }
  if (!errors.empty()) return answer(invalid_response(errors));

  out.write = LocalWrite{e, id, existing.centre_id, Op::upsert, {}};
  std::vector<FieldValue>& changed = out.write.fields;
  for (auto& fv : parsed.value())
    if (!same_value(*field_spec(e, fv.field), existing.get(fv.field), fv.value)) changed.push_back(std::move(fv));
  if (changed.empty()) return out;
  refuse_seat_fields(changed, errors);
  if (!errors.empty()) return answer(invalid_response(errors));

  if (e == Entity::registration) {
    if (auto failed = check_event(store, changed, p.who, errors)) return answer(std::move(*failed));
    if (!errors.empty()) return answer(bad_request("unknown_event", "event_id", errors.front().message_fr()));
  }
  // Cross-field rule on the merged values.
  if (e == Entity::event) {
    auto effective = [&](Field f) -> std::optional<int64_t> {
      for (const auto& fv : changed)
        if (fv.field == f)
          return std::holds_alternative<int64_t>(fv.value) ? std::optional(std::get<int64_t>(fv.value)) : std::nullopt;
      return existing.integer(f);
    };
    auto s = effective(Field::starts_at), en = effective(Field::ends_at);
    if (s && en && *en < *s)
      return answer(bad_request("out_of_range", "ends_at", "La fin de l'événement doit être après son début."));
  }
  return out;
}

PreparedWrite prepare_delete(Store& store, const EntitySpec& es, const std::string& id, std::string_view who) {
  PreparedWrite out;
  find_existing(store, es.entity, id, /*erased_absent=*/true, who, out);
  if (out.existing) out.write = LocalWrite{es.entity, id, out.existing->centre_id, Op::del, {}};
  return out;
}

PreparedWrite prepare_erase(Store& store, const std::string& id, const HttpRequest& req, std::string_view who,
                            std::string_view confirm_fr) {
  auto body = body_object(req);
  if (!body) return answer(status_response(body.status(), who));
  auto confirm = body->find("confirm");
  if (confirm == body->end() || !confirm->is_boolean() || !confirm->get<bool>())
    return answer(bad_request("confirm_required", "confirm", confirm_fr));
  PreparedWrite out;
  find_existing(store, Entity::registration, id, /*erased_absent=*/false, who, out);
  if (out.answer) return out;
  if (out.existing->erased) return answer(json_response(200, json{{"id", id}, {"erased", true}}));
  out.write = LocalWrite{Entity::registration, id, out.existing->centre_id, Op::erase, {}};
  return out;
}

}  // namespace terril

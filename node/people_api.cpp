// The node's people routes (docs/design.md "People"): search as reception
// types, a person's page (their registrations and attendance), and the
// erasure of a person (every registration of theirs this centre took).
//
//   GET  /api/v1/people?q=TEXT[&limit=N]    {"items": [person...], "next": null}
//   GET  /api/v1/people/{person_id}         the person and their registrations here
//   POST /api/v1/people/{person_id}/erase {"confirm": true}
//                                           {"person_id", "erased": N}
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "common/core/ids.h"
#include "common/core/validate.h"
#include "common/net/json_codec.h"
#include "common/net/record_request.h"
#include "node/api.h"

namespace terril {

using nlohmann::json;

namespace {

constexpr std::string_view kWho = "du poste";
constexpr size_t kDefaultPeople = 10;
constexpr size_t kMaxPeople = 50;

json event_brief(Store& store, const std::string& event_id) {
  if (event_id.empty()) return nullptr;
  auto ev = store.get(Entity::event, event_id);
  if (!ev || !ev->has_value()) return json{{"id", event_id}, {"title", nullptr}, {"starts_at", nullptr}};
  const Record& e = **ev;
  return json{{"id", e.id},
              {"title", e.text(Field::title).value_or("")},
              {"kind", e.text(Field::kind).value_or("")},
              {"starts_at", time_or_null(e.integer(Field::starts_at).value_or(0))},
              {"deleted", e.deleted()}};
}

// The fields reception fills the form with, from a person's latest registration.
json person_fields(const std::string& person_id, const Record& r) {
  json out{{"person_id", person_id}};
  for (Field f : {Field::first_name, Field::last_name, Field::phone, Field::email, Field::role, Field::commune,
                  Field::qpv, Field::genre}) {
    const FieldSpec* fs = field_spec(Entity::registration, f);
    const Value* v = r.get(f);
    out[std::string(fs->name)] = v ? value_to_json(*fs, *v) : json(nullptr);
  }
  return out;
}

}  // namespace

HttpResponse NodeApi::people_route(const std::vector<std::string_view>& segs, const HttpRequest& req) {
  if (auto refused = refuse_unenrolled()) return std::move(*refused);
  if (segs.size() == 1) {
    if (req.method != "GET") return method_not_allowed("GET");
    std::string q;
    size_t limit = kDefaultPeople;
    for (const auto& [k, v] : req.query) {
      if (k == "q") {
        q = v;
      } else if (k == "limit") {
        auto n = parse_limit(v, kMaxPeople);
        if (!n) return bad_request("out_of_range", k, "« limit » doit être un nombre entre 1 et 50.");
        limit = *n;
      } else {
        return unknown_filter(k);
      }
    }
    auto found = store_.people(centre(), q, limit);
    if (!found) return status_response(found.status(), kWho);
    json items = json::array();
    for (const auto& p : *found) {
      json item = person_fields(p.person_id, p.latest);
      item["registrations"] = p.registrations;
      item["last_event"] = event_brief(store_, p.latest.text(Field::event_id).value_or(""));
      items.push_back(std::move(item));
    }
    return json_response(200, json{{"items", std::move(items)}, {"next", nullptr}});
  }
  const std::string person(segs[1]);
  if (!valid_uuid(person)) return not_found();
  ListQuery lq;
  lq.filters.emplace_back("person_id", person);
  lq.sort = "date";
  std::vector<Record> regs;
  if (Status s = store_.for_each(Entity::registration, lq,
                                 [&](const Record& r) {
                                   regs.push_back(r);
                                   return regs.size() < 1000;
                                 });
      !s)
    return status_response(s, kWho);
  if (segs.size() == 2) {
    if (req.method != "GET") return method_not_allowed("GET");
    if (regs.empty()) return not_found();
    json out = person_fields(person, regs.front());
    json items = render_all(regs);
    uint64_t attended = 0;
    for (size_t i = 0; i < regs.size(); ++i) {
      items[i]["event"] = event_brief(store_, regs[i].text(Field::event_id).value_or(""));
      attended += regs[i].flag(Field::attended);
    }
    out["registrations"] = std::move(items);
    out["attended"] = attended;
    return json_response(200, out);
  }
  if (segs.size() == 3 && segs[2] == "erase") {
    if (req.method != "POST") return method_not_allowed("POST");
    // Only this centre's own registrations are its to erase; another
    // centre's copy (an event hosted here) is erased by its owner.
    std::vector<std::string> own;
    for (const auto& r : regs)
      if (r.centre_id == centre()) own.push_back(r.id);
    if (own.empty()) return not_found();
    uint64_t erased = 0;
    for (const auto& id : own) {
      PreparedWrite p = prepare_erase(store_, id, req, kWho,
                                      "Confirmez l'effacement : il est définitif et efface toutes les inscriptions de "
                                      "cette personne sur ce poste, sur le hub et sur tous les postes qui en ont une "
                                      "copie.");
      if (p.answer) return std::move(*p.answer);
      HttpResponse res = checked_write(p, "", 200);
      if (res.status != 200) return res;
      ++erased;
    }
    return json_response(200, json{{"person_id", person}, {"erased", erased}});
  }
  return not_found();
}

}  // namespace terril

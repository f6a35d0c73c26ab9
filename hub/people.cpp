// Indicators in distinct people, their CSV, and the duplicate review queue
// as the dashboard shows it (hub/people.h).
#include "hub/people.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/core/attendance_sheet.h"
#include "common/core/brand.h"
#include "common/core/csv.h"
#include "common/core/ids.h"
#include "common/core/people.h"
#include "common/net/api_support.h"

namespace terril {

using json = nlohmann::json;

namespace {

// A person's qpv or genre: the most recent registration that says.
struct Said {
  std::string value;
  int64_t at = -1;
  bool informative = false;
  void offer(const std::string& v, int64_t when, std::string_view unknown) {
    const bool info = !v.empty() && v != unknown;
    if ((info && !informative) || (info == informative && when > at)) {
      value = v.empty() ? std::string(unknown) : v;
      at = when;
      informative = info;
    }
  }
};

using PersonSet = std::unordered_set<std::string>;

size_t distinct(std::vector<uint32_t> v) {
  std::sort(v.begin(), v.end());
  return static_cast<size_t>(std::unique(v.begin(), v.end()) - v.begin());
}

json counts_of(const std::map<std::string, PersonSet>& m, std::span<const std::string_view> allowed) {
  json out = json::object();
  for (auto v : allowed) out[std::string(v)] = 0;
  for (const auto& [k, people] : m) out[k.empty() ? "inconnu" : k] = people.size();
  return out;
}

json counts_of(const std::map<std::string, std::vector<uint32_t>>& m, std::span<const std::string_view> allowed) {
  json out = json::object();
  for (auto v : allowed) out[std::string(v)] = 0;
  for (const auto& [k, people] : m) out[k.empty() ? "inconnu" : k] = distinct(people);
  return out;
}

Result<PersonAliases> load_aliases(Store& store) {
  auto links = store.same_person_links();
  if (!links) return links.status();
  return PersonAliases(*links);
}

std::string_view agglomeration_label(std::string_view id) {
  if (id == "valenciennes-metropole") return "Valenciennes Métropole";
  if (id == "porte-du-hainaut") return "Porte du Hainaut";
  if (id == "lens-lievin") return "Lens-Liévin";
  return id;
}

std::string_view qpv_label(std::string_view v) {
  if (v == "oui") return "Habite un QPV";
  if (v == "non") return "N'habite pas un QPV";
  return "QPV : inconnu";
}

std::string_view genre_label(std::string_view v) {
  if (v == "femme") return "Femme";
  if (v == "homme") return "Homme";
  if (v == "autre") return "Autre";
  return "Non renseigné";
}

}  // namespace

Result<json> report_indicators(Store& store, const ReportQuery& rq) {
  auto aliases = load_aliases(store);
  if (!aliases) return aliases.status();
  auto cs = live_centres(store);
  if (!cs) return cs.status();
  // Persons as small numbers (aliases applied), and per dimension value the
  // numbers seen: sorted and made unique once at the end.
  std::unordered_map<std::string, uint32_t> number;
  std::vector<std::pair<Said, Said>> said;  // by person number: qpv, genre
  using Seen = std::map<std::string, std::vector<uint32_t>>;
  Seen role, agglo, centre, kind;
  std::vector<uint32_t> attended_persons;
  uint64_t registrations = 0, attended_regs = 0;
  Status s = store.person_facts(rq.filter.from_ms, rq.filter.to_ms, [&](const PersonFact& f) {
    auto [it, fresh] = number.try_emplace(aliases->canonical(f.person), static_cast<uint32_t>(number.size()));
    const uint32_t p = it->second;
    if (fresh) said.emplace_back();
    ++registrations;
    role[f.role].push_back(p);
    agglo[f.agglomeration].push_back(p);
    centre[f.centre_id].push_back(p);
    kind[f.kind].push_back(p);
    if (f.attended) {
      ++attended_regs;
      attended_persons.push_back(p);
    }
    said[p].first.offer(f.qpv, f.updated_at, "inconnu");
    said[p].second.offer(f.genre, f.updated_at, "non-renseigne");
  });
  if (!s) return s;
  Seen qpv, genre;
  for (uint32_t p = 0; p < said.size(); ++p) {
    qpv[said[p].first.value].push_back(p);
    genre[said[p].second.value].push_back(p);
  }
  std::vector<std::string_view> centre_ids;
  for (const auto& c : *cs) centre_ids.push_back(c.id);
  return json{{"persons", number.size()},
              {"registrations", registrations},
              {"by",
               {{"role", counts_of(role, kRoles)},
                {"agglomeration", counts_of(agglo, kAgglomerations)},
                {"centre", counts_of(centre, centre_ids)},
                {"kind", counts_of(kind, kEventKinds)},
                {"qpv", counts_of(qpv, kQpvValues)},
                {"genre", counts_of(genre, kGenres)}}},
              {"attended", {{"persons", distinct(std::move(attended_persons))}, {"registrations", attended_regs}}},
              {"from", time_or_null(rq.filter.from_ms)},
              {"to", time_or_null(rq.filter.to_ms)},
              {"generated_at", format_iso8601(rq.now_ms)}};
}

std::string indicators_csv(const json& ind, const std::vector<CentreInfo>& centres) {
  std::map<std::string, std::string> centre_names;
  for (const auto& c : centres) centre_names[c.id] = c.name;
  std::string out = "\xEF\xBB\xBF";  // BOM: French Excel then reads UTF-8
  out += csv_row({std::string(kOperationName)});
  out += csv_row({"Indicateurs en personnes distinctes"});
  auto date = [&](const char* k) {
    return ind[k].is_string() ? format_fr_date(parse_iso8601(ind[k].get<std::string>()).value_or(0)) : std::string();
  };
  out += csv_row({"Période", ind["from"].is_string() ? "du " + date("from") : "depuis le début",
                  ind["to"].is_string() ? "au " + date("to") + " (exclu)" : "à ce jour"});
  out += csv_row({"Généré le", format_fr_datetime(parse_iso8601(ind["generated_at"].get<std::string>()).value_or(0))});
  out += csv_row({});
  out += csv_row({"Indicateur", "Valeur", "Personnes"});
  out += csv_row({"Total", "Personnes distinctes", std::to_string(ind["persons"].get<uint64_t>())});
  out += csv_row({"Total", "Inscriptions", std::to_string(ind["registrations"].get<uint64_t>())});
  out += csv_row({"Présence", "Personnes venues", std::to_string(ind["attended"]["persons"].get<uint64_t>())});
  out +=
      csv_row({"Présence", "Inscriptions honorées", std::to_string(ind["attended"]["registrations"].get<uint64_t>())});
  struct Dim {
    const char* key;
    const char* title;
    std::function<std::string(const std::string&)> label;
  };
  const Dim dims[] = {
      {"role", "Rôle", [](const std::string& v) { return std::string(role_label_fr(v)); }},
      {"agglomeration", "Agglomération", [](const std::string& v) { return std::string(agglomeration_label(v)); }},
      {"centre", "Centre",
       [&](const std::string& v) {
         auto it = centre_names.find(v);
         return it == centre_names.end() ? v : it->second;
       }},
      {"kind", "Type d'événement", [](const std::string& v) { return std::string(kind_label_fr(v)); }},
      {"qpv", "Quartier prioritaire (QPV)", [](const std::string& v) { return std::string(qpv_label(v)); }},
      {"genre", "Genre", [](const std::string& v) { return std::string(genre_label(v)); }},
  };
  for (const auto& d : dims)
    for (const auto& [v, n] : ind["by"][d.key].items())
      out += csv_row({d.title, d.label(v), std::to_string(n.get<uint64_t>())});
  out += csv_row({});
  out += csv_row({std::string(kFederSentence)});
  return out;
}

Result<json> persons_by_role(Store& store, int64_t from_ms, int64_t to_ms, const std::string& event_id) {
  auto aliases = load_aliases(store);
  if (!aliases) return aliases.status();
  PersonSet all;
  std::map<std::string, PersonSet> by_role;
  std::map<std::string, std::pair<std::map<std::string, PersonSet>, PersonSet>> by_centre, by_agglo;
  Status s = store.person_facts(0, 0, [&](const PersonFact& f) {
    if ((from_ms && f.created_at < from_ms) || (to_ms && f.created_at >= to_ms)) return;
    if (!event_id.empty() && f.event_id != event_id) return;
    const std::string& p = aliases->canonical(f.person);
    all.insert(p);
    by_role[f.role].insert(p);
    for (auto* m : {&by_centre[f.centre_id], &by_agglo[f.agglomeration]}) {
      m->first[f.role].insert(p);
      m->second.insert(p);
    }
  });
  if (!s) return s;
  auto rows = [](const auto& by) {
    json out = json::object();
    for (const auto& [c, rp] : by) out[c] = json{{"counts", counts_of(rp.first, kRoles)}, {"total", rp.second.size()}};
    return out;
  };
  return json{{"total", counts_of(by_role, kRoles)},
              {"total_persons", all.size()},
              {"centres", rows(by_centre)},
              {"agglomerations", rows(by_agglo)}};
}

// --- The review queue --------------------------------------------------------

namespace {

// A person as the queue shows them: their most recent registration's
// fields, and every live registration the hub holds.
json person_side(Store& store, const std::string& person, const std::string& centre,
                 const std::map<std::string, std::string>& centre_names, bool& live) {
  ListQuery q;
  q.filters.emplace_back("person_id", person);
  q.sort = "date";
  json regs = json::array();
  std::optional<Record> latest;
  (void)store.for_each(Entity::registration, q, [&](const Record& r) {
    if (!latest) latest = r;
    json item{{"id", r.id}, {"event_title", nullptr}, {"starts_at", nullptr}};
    if (auto ev_id = r.text(Field::event_id))
      if (auto ev = store.get(Entity::event, *ev_id); ev && ev->has_value()) {
        item["event_title"] = (*ev)->text(Field::title).value_or("");
        item["starts_at"] = time_or_null((*ev)->integer(Field::starts_at).value_or(0));
      }
    regs.push_back(std::move(item));
    return regs.size() < 50;
  });
  live = latest.has_value();
  auto name = centre_names.find(centre);
  json out{{"person_id", person},
           {"centre_id", centre},
           {"centre_name", name == centre_names.end() ? centre : name->second},
           {"registrations", std::move(regs)}};
  for (Field f : {Field::first_name, Field::last_name, Field::phone, Field::email, Field::commune, Field::role}) {
    auto v = latest ? latest->text(f) : std::nullopt;
    out[std::string(field_name(f))] = v ? json(*v) : json(nullptr);
  }
  return out;
}

}  // namespace

Result<json> duplicates_json(Store& store, const std::string& status, int64_t after_id, size_t limit) {
  auto aliases = load_aliases(store);
  if (!aliases) return aliases.status();
  auto cs = live_centres(store);
  if (!cs) return cs.status();
  std::map<std::string, std::string> names;
  for (const auto& c : *cs) names[c.id] = c.name;
  json items = json::array();
  int64_t cursor = after_id;
  bool more = false;
  // Pages of the table until `limit` shown pairs: some are skipped (already
  // one person, or a side with nothing left).
  for (;;) {
    auto page = store.duplicate_pairs(status, cursor, 200);
    if (!page) return page.status();
    for (const auto& p : *page) {
      cursor = p.id;
      if (items.size() == limit) {
        more = true;
        break;
      }
      if (p.status == "open" && aliases->canonical(p.person_a) == aliases->canonical(p.person_b)) continue;
      bool live_a = false, live_b = false;
      json a = person_side(store, p.person_a, p.centre_a, names, live_a);
      json b = person_side(store, p.person_b, p.centre_b, names, live_b);
      if (p.status == "open" && (!live_a || !live_b)) continue;
      json rules = json::array(), reasons = json::array();
      for (auto r : p.rules) {
        rules.push_back(rule_name(r));
        reasons.push_back(rule_label_fr(r));
      }
      items.push_back({{"id", p.id},
                       {"status", p.status},
                       {"rules", rules},
                       {"reasons", reasons},
                       {"found_at", time_or_null(p.found_at)},
                       {"decided_at", time_or_null(p.decided_at)},
                       {"decided_by", p.decided_by.empty() ? json(nullptr) : json(p.decided_by)},
                       {"a", std::move(a)},
                       {"b", std::move(b)}});
    }
    if (more || page->size() < 200) break;
  }
  return json{{"items", std::move(items)}, {"next", more ? json(std::to_string(cursor - 1)) : json(nullptr)}};
}

}  // namespace terril

// The hub dashboard's reports (roles, attendance, prototypes) over the Store.
#include "hub/reports.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "common/core/ids.h"
#include "common/core/model.h"
#include "common/net/api_support.h"
#include "hub/people.h"

namespace terril {

using json = nlohmann::json;

namespace {

struct Agglomeration {
  std::string_view id, label;
};
// The operation's three agglomerations, in the order the dashboard shows them.
constexpr std::array<Agglomeration, 3> kAgglomerationLabels = {{
    {"valenciennes-metropole", "Valenciennes Métropole"},
    {"porte-du-hainaut", "Porte du Hainaut"},
    {"lens-lievin", "Lens-Liévin"},
}};

// The live centres, then a row for every other centre id in `seen`.
template <class Map>
std::vector<CentreInfo> with_unknown(std::vector<CentreInfo> rows, const Map& seen) {
  for (const auto& [c, _] : seen)
    if (std::none_of(rows.begin(), rows.end(), [&](const CentreInfo& ci) { return ci.id == c; }))
      rows.push_back({c, c, ""});  // a deleted or unknown centre still counts
  return rows;
}

}  // namespace

Result<std::vector<CentreInfo>> live_centres(Store& store) {
  std::vector<CentreInfo> out;
  ListQuery q;
  Status s = store.for_each(Entity::centre, q, [&](const Record& r) {
    out.push_back({r.id, r.text(Field::name).value_or(r.id), r.text(Field::agglomeration).value_or("")});
    return true;
  });
  if (!s) return s;
  return out;
}

Result<json> report_roles(Store& store, const ReportQuery& rq) {
  const ListQuery& base = rq.filter;
  auto cs = live_centres(store);
  if (!cs) return cs.status();
  // Centres with registrations, then one indexed count by role per centre
  // (registrations_centre_name), so the work follows the centres' sizes.
  auto per_centre = store.count_by(Entity::registration, "centre_id", base);
  if (!per_centre) return per_centre.status();
  std::map<std::string, uint64_t> has;
  for (const auto& [c, n] : *per_centre) has[c] = n;
  std::vector<CentreInfo> rows = with_unknown(*cs, has);

  auto zero = [] {
    json counts = json::object();
    for (auto r : kRoles) counts[std::string(r)] = 0;
    return counts;
  };
  json total_counts = zero();
  uint64_t total = 0;
  std::map<std::string, std::pair<json, uint64_t>> agglo;
  for (const auto& a : kAgglomerationLabels) agglo[std::string(a.id)] = {zero(), 0};
  json centres_json = json::array();
  for (const auto& c : rows) {
    json counts = zero();
    uint64_t sum = 0;
    if (has.count(c.id)) {
      ListQuery q = base;
      q.filters.emplace_back("centre_id", c.id);
      auto by_role = store.count_by(Entity::registration, "role", q);
      if (!by_role) return by_role.status();
      for (const auto& [role, n] : *by_role) {
        if (role.empty()) continue;
        counts[role] = counts.value(role, 0) + n;
        total_counts[role] = total_counts.value(role, 0) + n;
        sum += n;
        if (auto it = agglo.find(c.agglomeration); it != agglo.end()) {
          it->second.first[role] = it->second.first.value(role, 0) + n;
          it->second.second += n;
        }
      }
    }
    total += sum;
    centres_json.push_back({{"centre_id", c.id},
                            {"name", c.name},
                            {"agglomeration", c.agglomeration},
                            {"counts", counts},
                            {"total", sum}});
  }
  json agglo_json = json::array();
  for (const auto& a : kAgglomerationLabels) {
    auto& [counts, sum] = agglo[std::string(a.id)];
    agglo_json.push_back({{"id", a.id}, {"name", a.label}, {"counts", counts}, {"total", sum}});
  }
  // The same rows in distinct people (hub/people.h): the funders' counting.
  std::string event_id;
  for (const auto& [k, v] : base.filters)
    if (k == "event_id") event_id = v;
  auto persons = persons_by_role(store, base.from_ms, base.to_ms, event_id);
  if (!persons) return persons.status();
  auto persons_of = [&](const char* group, const std::string& id) {
    const json& g = (*persons)[group];
    if (g.contains(id)) return g[id];
    json zero = json::object();
    for (auto r : kRoles) zero[std::string(r)] = 0;
    return json{{"counts", zero}, {"total", 0}};
  };
  for (auto& c : centres_json) c["persons"] = persons_of("centres", c["centre_id"].get<std::string>());
  for (auto& a : agglo_json) a["persons"] = persons_of("agglomerations", a["id"].get<std::string>());
  json roles = json::array();
  for (auto r : kRoles) roles.push_back(r);
  return json{{"roles", roles},
              {"centres", centres_json},
              {"agglomerations", agglo_json},
              {"total",
               {{"counts", total_counts},
                {"total", total},
                {"persons", {{"counts", (*persons)["total"]}, {"total", (*persons)["total_persons"]}}}}},
              {"generated_at", format_iso8601(rq.now_ms)}};
}

Result<json> report_attendance(Store& store, const ReportQuery& rq) {
  auto cs = live_centres(store);
  if (!cs) return cs.status();
  std::map<std::string, std::string> names;
  for (const auto& c : *cs) names[c.id] = c.name;
  struct Row {
    std::string id, title, centre_id, kind;
    int64_t starts_at = 0;
    std::optional<int64_t> capacity;
  };
  std::vector<Row> events;
  Status s = store.for_each(Entity::event, rq.filter, [&](const Record& r) {
    events.push_back({r.id, r.text(Field::title).value_or(""), r.centre_id, r.text(Field::kind).value_or(""),
                      r.integer(Field::starts_at).value_or(0), r.integer(Field::capacity)});
    return true;
  });
  if (!s) return s;
  std::sort(events.begin(), events.end(), [](const Row& a, const Row& b) {
    return a.starts_at != b.starts_at ? a.starts_at < b.starts_at : a.id < b.id;
  });
  json items = json::array();
  uint64_t total_registered = 0, total_attended = 0;
  for (const auto& ev : events) {
    ListQuery q;
    q.filters.emplace_back("event_id", ev.id);
    auto c = store.count_by(Entity::registration, "attended", q);
    if (!c) return c.status();
    uint64_t registered = 0, attended = 0;
    for (const auto& [k, n] : *c) {
      registered += n;
      if (k == "true") attended += n;
    }
    total_registered += registered;
    total_attended += attended;
    auto name = names.find(ev.centre_id);
    items.push_back({{"event_id", ev.id},
                     {"title", ev.title},
                     {"centre_id", ev.centre_id},
                     {"centre_name", name == names.end() ? ev.centre_id : name->second},
                     {"kind", ev.kind},
                     {"starts_at", time_or_null(ev.starts_at)},
                     {"capacity", ev.capacity ? json(*ev.capacity) : json(nullptr)},
                     {"registered", registered},
                     {"attended", attended}});
  }
  return json{{"items", std::move(items)},
              {"next", nullptr},
              {"total", {{"registered", total_registered}, {"attended", total_attended}}},
              {"generated_at", format_iso8601(rq.now_ms)}};
}

Result<json> report_prototypes(Store& store, const ReportQuery& rq) {
  auto cs = live_centres(store);
  if (!cs) return cs.status();
  // One count per status (a handful), grouped by centre.
  std::map<std::string, std::map<std::string, uint64_t>> by_centre;  // centre -> status -> n
  json totals = json::object();
  uint64_t total = 0;
  for (auto st : kNoteStatuses) {
    ListQuery q;
    q.filters.emplace_back("status", std::string(st));
    auto c = store.count_by(Entity::prototype_note, "centre_id", q);
    if (!c) return c.status();
    uint64_t sum = 0;
    for (const auto& [centre, n] : *c) {
      by_centre[centre][std::string(st)] += n;
      sum += n;
    }
    totals[std::string(st)] = sum;
    total += sum;
  }
  std::vector<CentreInfo> rows = with_unknown(*cs, by_centre);
  json centres_json = json::array();
  for (const auto& c : rows) {
    json counts = json::object();
    uint64_t sum = 0;
    for (auto st : kNoteStatuses) {
      uint64_t n = 0;
      if (auto it = by_centre.find(c.id); it != by_centre.end())
        if (auto jt = it->second.find(std::string(st)); jt != it->second.end()) n = jt->second;
      counts[std::string(st)] = n;
      sum += n;
    }
    centres_json.push_back({{"centre_id", c.id},
                            {"name", c.name},
                            {"agglomeration", c.agglomeration},
                            {"counts", counts},
                            {"total", sum}});
  }
  json statuses = json::array();
  for (auto st : kNoteStatuses) statuses.push_back(st);
  return json{{"statuses", statuses},
              {"centres", centres_json},
              {"total", {{"counts", totals}, {"total", total}}},
              {"generated_at", format_iso8601(rq.now_ms)}};
}

}  // namespace terril

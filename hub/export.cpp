// Record exports (CSV, JSON) for the dashboard and `terril-hub export`, and
// their audit line in the admin log.
#include "hub/export.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "common/core/brand.h"
#include "common/core/csv.h"
#include "common/core/ids.h"
#include "common/net/api_support.h"
#include "common/net/json_codec.h"
#include "common/store/hub_registry.h"

namespace terril {

using json = nlohmann::json;

namespace {

std::string cell(const FieldSpec& fs, const Value* v) {
  if (!v || std::holds_alternative<std::monostate>(*v))
    return fs.kind == ValueKind::boolean ? "non" : "";  // as JSON: false
  switch (fs.kind) {
    case ValueKind::boolean:
      return std::get<bool>(*v) ? "oui" : "non";
    case ValueKind::time:
      return format_fr_datetime(std::get<int64_t>(*v));
    case ValueKind::integer:
      return std::to_string(std::get<int64_t>(*v));
    case ValueKind::text:
      return std::get<std::string>(*v);
  }
  return "";
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

Result<ListQuery> to_query(Entity e, const ExportFilters& f) {
  ListQuery q;
  auto add = [&](const char* k, const std::string& v) {
    if (!v.empty()) q.filters.emplace_back(k, v);
  };
  if (e != Entity::centre) add("centre_id", f.centre_id);
  if (e == Entity::registration) {
    add("agglomeration", f.agglomeration);
    add("event_id", f.event_id);
    add("role", f.role);
    if (!f.attended.empty()) {
      auto b = parse_bool_param(f.attended);
      if (!b)
        return Status(Code::invalid, "attended must be true or false", "attended",
                      "Le filtre « présence » vaut true ou false.");
      q.filters.emplace_back("attended", *b ? "true" : "false");
    }
  } else if (e == Entity::centre) {
    add("agglomeration", f.agglomeration);
    if (!f.centre_id.empty() || !f.event_id.empty() || !f.role.empty() || !f.attended.empty())
      return Status(Code::invalid, "centres are filtered by agglomeration and search only", "",
                    "Les centres se filtrent seulement par agglomération et par recherche.");
  } else if (!f.agglomeration.empty() || !f.event_id.empty() || !f.role.empty() || !f.attended.empty()) {
    return Status(Code::invalid, "filters agglomeration, event, role and attended apply to registrations only", "",
                  "Les filtres agglomération, événement, rôle et présence ne s'appliquent qu'aux inscriptions.");
  }
  q.search = f.q;
  if (!f.from.empty()) {
    auto t = parse_filter_date(f.from, false);
    if (!t)
      return Status(Code::invalid, "from is not a date (YYYY-MM-DD)", "from",
                    "La date de début n'est pas valide (ex. 2026-11-29).");
    q.from_ms = *t;
  }
  if (!f.to.empty()) {
    auto t = parse_filter_date(f.to, true);
    if (!t)
      return Status(Code::invalid, "to is not a date (YYYY-MM-DD)", "to",
                    "La date de fin n'est pas valide (ex. 2026-11-29).");
    q.to_ms = *t;
  }
  return q;
}

Status export_records(Store& store, Registry& registry, Entity e, const std::string& format, const ExportFilters& f,
                      const std::string& who, int64_t now_ms, std::ostream& out) {
  if (format != "csv" && format != "json")
    return Status(Code::invalid, "format must be csv or json", "format", "Le format est « csv » ou « json ».");
  auto q = to_query(e, f);
  if (!q) return q.status();
  const EntitySpec& es = spec(e);
  if (e == Entity::registration) {
    std::string detail = "entity=registrations format=" + format;
    for (const auto& [k, v] : q->filters) detail += " " + k + "=" + v;
    if (!f.from.empty()) detail += " from=" + f.from;
    if (!f.to.empty()) detail += " to=" + f.to;
    if (!f.q.empty()) detail += " search=(set)";
    if (Status s = registry.log_admin(who, "export", detail, now_ms); !s) return s;
    spdlog::info("export of registrations by {} ({})", who, detail);
  }
  if (format == "json") {
    out << "{\"operation\":" << dump(json(kOperationName)) << ",\"feder\":" << dump(json(kFederSentence))
        << ",\"entity\":" << dump(json(es.path)) << ",\"items\":[";
    bool first = true;
    Status s = store.for_each(e, *q, [&](const Record& r) {
      out << (first ? "\n" : ",\n") << dump(record_to_json(r));
      first = false;
      return static_cast<bool>(out);
    });
    if (!s) return s;
    out << "\n]}\n";
    return out ? Status::ok() : Status(Code::io, "export output failed");
  }
  out << "\xEF\xBB\xBF";  // BOM: French Excel then reads UTF-8
  // seat_event is bookkeeping of the seat rules ("event-id@hlc"), not for people.
  auto in_csv = [](const FieldSpec& fs) { return fs.field != Field::deleted && fs.field != Field::seat_event; };
  std::vector<std::string> head = {"id", "centre_id"};
  for (const auto& fs : es.fields)
    if (in_csv(fs)) head.emplace_back(fs.name);
  head.emplace_back("updated_at");
  out << csv_row(head);
  std::vector<std::string> row;
  Status s = store.for_each(e, *q, [&](const Record& r) {
    row.clear();
    row.push_back(r.id);
    row.push_back(r.centre_id);
    for (const auto& fs : es.fields)
      if (in_csv(fs)) row.push_back(cell(fs, r.get(fs.field)));
    row.push_back(format_fr_datetime(r.updated_at_ms()));
    out << csv_row(row);
    return static_cast<bool>(out);
  });
  if (!s) return s;
  out << csv_row({std::string(kFederSentence)});
  return out ? Status::ok() : Status(Code::io, "export output failed");
}

}  // namespace terril

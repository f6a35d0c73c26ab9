#include "hub/admin.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/core/csv.h"
#include "common/core/ids.h"
#include "common/net/json_codec.h"
#include "common/store/store.h"
#include "hub/registry.h"
#include "hub/sync_hub.h"

namespace terril {

using json = nlohmann::json;

namespace {

constexpr std::string_view kFederSentence =
    "L'opération « Centres sociaux connectés du bassin minier » est cofinancée par le FEDER dans le cadre du "
    "programme opérationnel FEDER 2014-2020 pour la Région Hauts-de-France.";

Result<ListQuery> to_query(Entity e, const ExportFilters& f) {
  ListQuery q;
  auto add = [&](const char* k, const std::string& v) {
    if (!v.empty()) q.filters.emplace_back(k, v);
  };
  add("centre_id", f.centre_id);
  if (e == Entity::registration) {
    add("agglomeration", f.agglomeration);
    add("event_id", f.event_id);
    add("role", f.role);
    add("attended", f.attended);
  } else if (!f.agglomeration.empty() || !f.event_id.empty() || !f.role.empty() || !f.attended.empty()) {
    return Status(Code::invalid, "filters agglomeration, event, role and attended apply to registrations only");
  }
  q.search = f.q;
  if (!f.from.empty()) {
    auto t = parse_iso8601(f.from);
    if (!t) return Status(Code::invalid, "--from is not a date (YYYY-MM-DD)");
    q.from_ms = *t;
  }
  if (!f.to.empty()) {
    auto t = parse_iso8601(f.to);
    if (!t) return Status(Code::invalid, "--to is not a date (YYYY-MM-DD)");
    q.to_ms = *t;
  }
  return q;
}

std::string cell(const FieldSpec& fs, const Value* v) {
  if (!v || std::holds_alternative<std::monostate>(*v)) return "";
  switch (fs.kind) {
    case ValueKind::boolean: return std::get<bool>(*v) ? "oui" : "non";
    case ValueKind::time: return format_fr_datetime(std::get<int64_t>(*v));
    case ValueKind::integer: return std::to_string(std::get<int64_t>(*v));
    case ValueKind::text: return std::get<std::string>(*v);
  }
  return "";
}

}  // namespace

void add_export_flags(CLI::App& app, ExportFilters& f) {
  app.add_option("--centre", f.centre_id, "Only this centre");
  app.add_option("--agglomeration", f.agglomeration, "valenciennes-metropole | porte-du-hainaut | lens-lievin");
  app.add_option("--event", f.event_id, "Only registrations for this event id");
  app.add_option("--role", f.role, "habitant | benevole | partenaire | salarie | administrateur | institutionnel");
  app.add_option("--attended", f.attended, "true | false");
  app.add_option("--from", f.from, "Created (or, for events, starting) on or after this date, YYYY-MM-DD");
  app.add_option("--to", f.to, "... and before this date");
  app.add_option("--search", f.q, "Text search");
}

Status export_records(Store& store, Registry& registry, Entity e, const std::string& format, const ExportFilters& f,
                      const std::string& who, int64_t now_ms, std::ostream& out) {
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
    out << "[";
    bool first = true;
    Status s = store.for_each(e, *q, [&](const Record& r) {
      out << (first ? "\n" : ",\n") << record_to_json(r).dump();
      first = false;
      return static_cast<bool>(out);
    });
    out << "\n]\n";
    return s;
  }
  out << "\xEF\xBB\xBF";  // BOM: French Excel then reads UTF-8
  std::vector<std::string> head = {"id", "centre_id"};
  for (const auto& fs : es.fields)
    if (fs.field != Field::deleted) head.emplace_back(fs.name);
  head.emplace_back("updated_at");
  out << csv_row(head);
  std::vector<std::string> row;
  Status s = store.for_each(e, *q, [&](const Record& r) {
    row.clear();
    row.push_back(r.id);
    row.push_back(r.centre_id);
    for (const auto& fs : es.fields)
      if (fs.field != Field::deleted) row.push_back(cell(fs, r.get(fs.field)));
    row.push_back(format_fr_datetime(r.updated_at_ms()));
    out << csv_row(row);
    return static_cast<bool>(out);
  });
  if (!s) return s;
  out << csv_row({std::string(kFederSentence)});
  return out ? Status::ok() : Status(Code::io, "export output failed");
}

AdminApi::AdminApi(Store& store, Registry& registry, SyncHub& hub, Options opts)
    : store_(store), registry_(registry), hub_(hub), opts_(std::move(opts)) {}

HttpResponse AdminApi::handle(const HttpRequest& req) {
  if (req.path == "/healthz") return text_response(200, "ok\n");
  if (req.path == "/metrics") {
    const auto& m = hub_.metrics();
    std::ostringstream o;
    auto conn = hub_.connected();
    o << "# HELP terril_hub_connected_nodes Nodes connected now.\n# TYPE terril_hub_connected_nodes gauge\n"
      << "terril_hub_connected_nodes " << conn.size() << "\n"
      << "# TYPE terril_hub_changes_applied_total counter\nterril_hub_changes_applied_total " << m.changes_applied << "\n"
      << "# TYPE terril_hub_changes_sent_total counter\nterril_hub_changes_sent_total " << m.changes_sent << "\n"
      << "# TYPE terril_hub_rejected_changes_total counter\nterril_hub_rejected_changes_total " << m.rejected << "\n"
      << "# TYPE terril_hub_bytes_received_total counter\nterril_hub_bytes_received_total " << m.bytes_in << "\n"
      << "# TYPE terril_hub_bytes_sent_total counter\nterril_hub_bytes_sent_total " << m.bytes_out << "\n"
      << "# TYPE terril_hub_handshake_failures_total counter\nterril_hub_handshake_failures_total "
      << m.handshake_failures << "\n"
      << "# HELP terril_hub_apply_latency_ms Time to apply and commit one batch.\n"
      << "# TYPE terril_hub_apply_latency_ms histogram\n";
    static const char* bounds[] = {"1", "2", "5", "10", "25", "50", "100", "250", "1000", "+Inf"};
    uint64_t cum = 0;
    for (size_t i = 0; i < m.apply_ms_buckets.size(); ++i) {
      cum += m.apply_ms_buckets[i];
      o << "terril_hub_apply_latency_ms_bucket{le=\"" << bounds[i] << "\"} " << cum << "\n";
    }
    o << "terril_hub_apply_latency_ms_sum " << m.apply_ms_sum << "\nterril_hub_apply_latency_ms_count " << cum << "\n";
    if (auto nodes = registry_.list()) {
      auto st = store_.stats();
      o << "# TYPE terril_hub_node_last_seen_timestamp_seconds gauge\n";
      for (const auto& n : *nodes)
        o << "terril_hub_node_last_seen_timestamp_seconds{node=\"" << n.node_id << "\",centre=\"" << n.centre_id
          << "\"} " << n.last_seen_at_ms / 1000 << "\n";
      o << "# TYPE terril_hub_node_lag_changes gauge\n";
      for (const auto& n : *nodes)
        o << "terril_hub_node_lag_changes{node=\"" << n.node_id << "\"} "
          << (st && st->hub_cursor > n.hub_cursor ? st->hub_cursor - n.hub_cursor : 0) << "\n";
    }
    return text_response(200, o.str(), "text/plain; version=0.0.4; charset=utf-8");
  }
  return error_response(404, "not_found", "", "Page introuvable.");
}

}  // namespace terril

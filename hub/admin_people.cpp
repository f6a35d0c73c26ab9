// AdminApi's people routes (docs/design.md "People"): the review queue of
// possible duplicates and the admin's answers, and the indicators report
// in JSON or CSV.
//
//   GET  /api/v1/duplicates[?status=open|same|different|all&after=ID&limit=N]
//   POST /api/v1/duplicates/{id} {"decision": "same"|"different"|"open"}
//   GET  /api/v1/reports/indicators?from=&to=[&format=csv]
#include <spdlog/spdlog.h>

#include <charconv>

#include "common/core/ids.h"
#include "common/store/hub_registry.h"
#include "hub/admin.h"
#include "hub/people.h"

namespace terril {

using json = nlohmann::json;

namespace {
constexpr std::string_view kWho = "du hub";

std::optional<int64_t> parse_id(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}
}  // namespace

HttpResponse AdminApi::duplicates(const std::vector<std::string_view>& segs, const HttpRequest& req) {
  if (segs.size() == 1) {
    if (req.method != "GET") return method_not_allowed("GET");
    std::string status = "open";
    int64_t after = 0;
    size_t limit = 50;
    for (const auto& [k, v] : req.query) {
      if (k == "status") {
        if (v != "open" && v != "same" && v != "different" && v != "all")
          return bad_request("bad_format", k, "« status » vaut open, same, different ou all.");
        status = v == "all" ? "" : v;
      } else if (k == "after") {
        auto id = parse_id(v);
        if (!id) return bad_request("bad_format", k, "Le curseur de page n'est pas valide.");
        after = *id;
      } else if (k == "limit") {
        auto n = parse_limit(v, 200);
        if (!n) return bad_request("out_of_range", k, "« limit » doit être un nombre entre 1 et 200.");
        limit = *n;
      } else {
        return unknown_filter(k);
      }
    }
    auto j = duplicates_json(store_, status, after, limit);
    if (!j) return status_response(j.status(), kWho);
    return json_response(200, *j);
  }
  if (segs.size() != 2) return not_found();
  auto id = parse_id(segs[1]);
  if (!id) return not_found();
  if (req.method != "POST") return method_not_allowed("POST");
  auto body = body_object(req);
  if (!body) return status_response(body.status(), kWho);
  auto d = body->find("decision");
  if (d == body->end() || !d->is_string())
    return bad_request("required", "decision", "Indiquez la décision : « same » ou « different ».");
  const std::string decision = d->get<std::string>();
  if (Status s = store_.decide_duplicate(*id, decision, who(req), now()); !s) return status_response(s, kWho);
  if (Status s = registry_.log_admin(who(req), "duplicate-" + decision, "pair " + std::to_string(*id), now()); !s)
    spdlog::warn("admin: audit log: {}", s.message());
  auto pair = store_.duplicate_pair(*id);
  if (!pair) return status_response(pair.status(), kWho);
  if (!pair->has_value()) return not_found();
  return json_response(200, json{{"id", (*pair)->id},
                                 {"status", (*pair)->status},
                                 {"decided_at", time_or_null((*pair)->decided_at)},
                                 {"decided_by", (*pair)->decided_by}});
}

HttpResponse AdminApi::indicators(const HttpRequest& req) {
  ReportQuery q;
  q.now_ms = now();
  bool csv = false;
  for (const auto& [k, v] : req.query) {
    if (k == "format") {
      if (v != "csv" && v != "json") return bad_request("bad_format", k, "Le format est « csv » ou « json ».");
      csv = v == "csv";
    } else if (k == "from" || k == "to") {
      if (v.empty()) continue;
      auto ms = parse_filter_date(v, k == "to");
      if (!ms) return bad_date(k);
      (k == "from" ? q.filter.from_ms : q.filter.to_ms) = *ms;
    } else {
      return unknown_filter(k);
    }
  }
  auto j = report_indicators(store_, q);
  if (!j) return status_response(j.status(), kWho);
  if (!csv) return json_response(200, *j);
  auto cs = live_centres(store_);
  if (!cs) return status_response(cs.status(), kWho);
  HttpResponse res = text_response(200, indicators_csv(*j, *cs), "text/csv; charset=utf-8");
  res.headers.emplace_back("Content-Disposition", "attachment; filename=\"terril-indicateurs-" +
                                                      format_iso8601(now()).substr(0, 10) + ".csv\"");
  return res;
}

}  // namespace terril

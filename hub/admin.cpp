// AdminApi: construction, the hub's own routes (status, nodes, reports,
// export, admin log), sessions, status, and the record routes over the
// shared layer (common/net/api_support.h, record_request.h) with the admin's
// write: Store::write as the hub, fan-out, audit line.
#include "hub/admin.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/core/brand.h"
#include "common/core/ids.h"
#include "common/net/attendance_sheet.h"
#include "common/net/seats_api.h"
#include "common/net/json_codec.h"
#include "common/store/store.h"
#include "common/store/hub_registry.h"
#include "common/version.h"
#include "hub/reports.h"
#include "hub/sync_hub.h"

namespace terril {

using json = nlohmann::json;

AdminApi::AdminApi(Store& store, Registry& registry, SyncHub& hub, Options opts)
    : store_(store), registry_(registry), hub_(hub), opts_(std::move(opts)), limiter_(opts_.login_limits) {
  if (!opts_.now_ms) opts_.now_ms = wall_clock_ms;
  if (!opts_.random16) opts_.random16 = random_id_bytes;
  if (opts_.version.empty()) opts_.version = std::string(kVersion);
}

int64_t AdminApi::now() const {
  return opts_.now_ms();
}

std::string AdminApi::who(const HttpRequest& req) const {
  return req.remote_addr.empty() ? "admin" : "admin@" + req.remote_addr;
}

HttpResponse AdminApi::handle(const HttpRequest& req) {
  return serve_api(*this, req, hub_ui_files(), kWho, [](const HttpRequest& r, const char* what) {
    spdlog::error("admin: {} {}: {}", r.method, r.path, what);
  });
}

std::optional<HttpResponse> AdminApi::own_route(const std::vector<std::string_view>& segs, const HttpRequest& req) {
  const std::string& m = req.method;
  if (segs.size() == 1 && segs[0] == "status") {
    if (m != "GET") return method_not_allowed("GET");
    return status();
  }
  if (segs[0] == "nodes") {
    if (segs.size() == 1) {
      if (m == "GET") return nodes_list();
      if (m == "POST") return node_add(req);
      return method_not_allowed("GET, POST");
    }
    if (segs.size() == 3 && !segs[1].empty() && (segs[2] == "revoke" || segs[2] == "replace")) {
      if (m != "POST") return method_not_allowed("POST");
      std::string id(segs[1]);
      return segs[2] == "revoke" ? node_revoke(id, req) : node_replace(id, req);
    }
    return not_found();
  }
  if (segs[0] == "reports" && segs.size() == 2) {
    if (m != "GET") return method_not_allowed("GET");
    if (segs[1] == "indicators") return indicators(req);
    return reports(segs[1], req);
  }
  if (segs[0] == "duplicates" && segs.size() <= 2) return duplicates(segs, req);
  if (segs.size() == 1 && segs[0] == "export") {
    if (m != "GET") return method_not_allowed("GET");
    return export_http(req);
  }
  if (segs.size() == 1 && segs[0] == "admin-log") {
    if (m != "GET") return method_not_allowed("GET");
    return admin_log(req);
  }
  return std::nullopt;
}

// --- Sessions ----------------------------------------------------------------

bool AdminApi::authenticated(const HttpRequest& req) {
  return has_session(req, sessions_, now());
}

HttpResponse AdminApi::login(const HttpRequest& req) {
  const int64_t t = now();
  HttpResponse res = staff_login(req,
                                 StaffLogin{sessions_, limiter_, opts_.password_file, opts_.tls,
                                            "Aucun mot de passe administrateur n'est défini : lancez « terril-hub "
                                            "passwd » sur le serveur du hub.",
                                            "Le mot de passe du hub est illisible. Prévenez le technicien."},
                                 t);
  // The password check may be deferred off the loop: log the final answer.
  return then(std::move(res), [this, remote = req.remote_addr, by = who(req), t](HttpResponse& done) {
    if (done.status == 401) spdlog::warn("admin: failed login from {}", remote);
    if (done.status == 500) spdlog::error("admin: password file {} is unreadable", opts_.password_file);
    if (done.status == 200)
      if (Status s = registry_.log_admin(by, "login", "", t); !s) spdlog::warn("admin: audit log: {}", s.message());
  });
}

HttpResponse AdminApi::logout(const HttpRequest& req) {
  return staff_logout(req, sessions_, opts_.tls);
}

// --- Status ------------------------------------------------------------------

HttpResponse AdminApi::status() {
  auto stats = store_.stats();
  if (!stats) return status_response(stats.status(), kWho);
  auto hub_id = store_.meta("hub_id");
  if (!hub_id) return status_response(hub_id.status(), kWho);
  auto nodes = registry_.list();
  if (!nodes) return status_response(nodes.status(), kWho);
  uint64_t active = 0, pending = 0, revoked = 0;
  for (const auto& n : *nodes) {
    if (n.state == NodeState::active)
      ++active;
    else if (n.state == NodeState::pending)
      ++pending;
    else
      ++revoked;
  }
  const auto& m = hub_.metrics();
  json j = {
      {"hub_id", hub_id->value_or("")},
      {"version", opts_.version},
      {"now", format_iso8601(now())},
      {"hub_seq", stats->hub_cursor},
      {"connected_nodes", hub_.connected().size()},
      {"nodes", {{"active", active}, {"pending", pending}, {"revoked", revoked}}},
      {"records", stats->records},
      {"rejections", stats->rejections},
      {"changes_applied", m.changes_applied},
      {"changes_sent", m.changes_sent},
      {"db_bytes", stats->db_bytes},
      {"wal_bytes", stats->wal_bytes},
      {"operation", kOperationName},
      {"feder", kFederSentence},
  };
  return json_response(200, j);
}

// --- Rendering ---------------------------------------------------------------

json AdminApi::render(const Record& r) {
  return render_all({r}).front();
}

json AdminApi::render_all(const std::vector<Record>& records) {
  json items = json::array();
  for (const auto& r : records) {
    json extra = json::object();
    if (r.entity == Entity::event) {
      // One indexed count per event (registrations_event): the page's events
      // only, never a scan of every registration.
      uint64_t registered = 0, attended = 0;
      ListQuery q;
      q.filters.emplace_back("event_id", r.id);
      if (auto c = store_.count_by(Entity::registration, "attended", q)) {
        for (const auto& [k, n] : *c) {
          registered += n;
          if (k == "true") attended += n;
        }
      }
      extra["registered"] = registered;
      extra["attended"] = attended;
      json seats = nullptr;
      if (auto s = store_.seat_summary(r.id); s && *s) seats = seats_json(**s, "");
      extra["seats"] = seats;
      // Seats nobody has confirmed, as the hub knows (a holder may have
      // confirmed some offline).
      extra["places_left"] = r.integer(Field::capacity) && seats.is_object() ? seats["free"] : json(nullptr);
    } else if (r.entity == Entity::registration) {
      extra["seat_at"] = seat_at_json(r);
    }
    items.push_back(record_to_json(r, extra));
  }
  return items;
}

// --- Records -----------------------------------------------------------------

RecordPolicy AdminApi::policy() const {
  RecordPolicy p;
  p.owner = RecordPolicy::Owner::from_body;
  p.who = kWho;
  p.stamped_by_fr = "le hub";
  // Events are read with "attended" (present registrations): ignored as sent back.
  p.computed_key = [](Entity e, std::string_view key) { return e == Entity::event && key == "attended"; };
  p.now_ms = now();
  p.random16 = opts_.random16;
  return p;
}

namespace {

// The host centre of a registration's event ("" when unknown).
std::string host_of_registration(Store& store, const std::string& id) {
  auto r = store.get(Entity::registration, id);
  if (!r || !*r) return {};
  auto ev = (*r)->text(Field::event_id);
  if (!ev) return {};
  auto e = store.get(Entity::event, *ev);
  return e && *e ? (*e)->centre_id : std::string();
}

}  // namespace

Status AdminApi::admin_write(const HttpRequest& req, const LocalWrite& w, std::string_view action) {
  const bool may_move =
      w.entity == Entity::registration &&
      std::any_of(w.fields.begin(), w.fields.end(), [](const FieldValue& f) { return f.field == Field::event_id; });
  const std::string host_before = may_move ? host_of_registration(store_, w.record_id) : std::string();
  auto written = store_.write(w, now());
  if (!written) return written.status();
  if (written->origin_seq == 0) return Status::ok();  // nothing differed: nothing logged, nothing to send
  hub_.notify_changes();
  if (may_move) {
    // The admin moved a registration to another centre's event: the new host
    // gets it whole, the old one purges it (as for a node's move).
    const std::string host_after = host_of_registration(store_, w.record_id);
    if (!host_before.empty() && host_after != host_before)
      hub_.fan_out_moves({{w.record_id, w.centre_id, host_before, host_after}});
  }
  // Audit: which record and which fields, never their values.
  std::string detail = std::string(entity_name(w.entity)) + " " + w.record_id + " centre=" + w.centre_id;
  if (!w.fields.empty()) {
    detail += " fields=";
    for (size_t i = 0; i < w.fields.size(); ++i) {
      if (i) detail += ',';
      detail += field_name(w.fields[i].field);
    }
  }
  if (Status s = registry_.log_admin(who(req), action, detail, now()); !s)
    spdlog::warn("admin: audit log: {}", s.message());
  return Status::ok();
}

HttpResponse AdminApi::write_and_render(const HttpRequest& req, const LocalWrite& w, std::string_view action,
                                        int ok_status) {
  if (Status s = admin_write(req, w, action); !s) return status_response(s, kWho);
  return written_answer(*this, w, ok_status, kWho);
}

HttpResponse AdminApi::create(const EntitySpec& es, const HttpRequest& req) {
  PreparedWrite p = prepare_create(store_, es, req, policy());
  if (p.answer) return std::move(*p.answer);
  return write_and_render(req, p.write, "record.create", 201);
}

HttpResponse AdminApi::update(const EntitySpec& es, const std::string& id, const HttpRequest& req) {
  PreparedWrite p = prepare_update(store_, es, id, req, policy());
  if (p.answer) return std::move(*p.answer);
  if (p.write.fields.empty()) return json_response(200, render(*p.existing));
  return write_and_render(req, p.write, "record.update", 200);
}

HttpResponse AdminApi::remove(const EntitySpec& es, const std::string& id, const HttpRequest& req) {
  PreparedWrite p = prepare_delete(store_, es, id, kWho);
  if (p.answer) return std::move(*p.answer);
  if (p.existing->deleted()) return json_response(200, render(*p.existing));
  if (es.entity == Entity::centre) {
    auto nodes = registry_.list();
    if (!nodes) return status_response(nodes.status(), kWho);
    for (const auto& n : *nodes)
      if (n.centre_id == id && n.state != NodeState::revoked)
        return error_response(409, "centre_has_node", "",
                              "Ce centre a un boîtier (" + n.node_id + ") : révoquez-le avant de supprimer le centre.");
  }
  return write_and_render(req, p.write, "record.delete", 200);
}

HttpResponse AdminApi::erase(const std::string& id, const HttpRequest& req) {
  PreparedWrite p = prepare_erase(store_, id, req, kWho,
                                  "Confirmez l'effacement : il est définitif et efface les données sur le hub et sur "
                                  "tous les postes qui en ont une copie.");
  if (p.answer) return std::move(*p.answer);
  return write_and_render(req, p.write, "registration.erase", 200);
}

// The hub holds every registration of every event. The sheet shows names,
// so it is audited like a registrations export.
HttpResponse AdminApi::attendance_sheet(const std::string& event_id, const HttpRequest& req) {
  HttpResponse res = attendance_sheet_response(store_, event_id, kWho, std::nullopt);
  if (res.status == 200)
    if (Status s = registry_.log_admin(who(req), "attendance-sheet", "event " + event_id, now()); !s)
      spdlog::warn("admin: audit log: {}", s.message());
  return res;
}

// --- Reports, export and audit -----------------------------------------------

HttpResponse AdminApi::reports(std::string_view which, const HttpRequest& req) {
  auto report = which == "roles"        ? report_roles
                : which == "attendance" ? report_attendance
                : which == "prototypes" ? report_prototypes
                                        : nullptr;
  if (!report) return not_found();
  // The filters each report takes (prototypes: none); an empty value is "any".
  auto allowed = [&](const std::string& k) {
    if (which == "roles") return k == "from" || k == "to" || k == "event_id";
    if (which == "attendance") return k == "from" || k == "to" || k == "centre_id" || k == "kind";
    return false;
  };
  ReportQuery q;
  q.now_ms = now();
  if (which != "prototypes") {
    for (const auto& [k, v] : req.query) {
      if (v.empty()) continue;
      if (!allowed(k)) return unknown_filter(k);
      if (k == "from" || k == "to") {
        auto ms = parse_filter_date(v, k == "to");
        if (!ms) return bad_date(k);
        (k == "from" ? q.filter.from_ms : q.filter.to_ms) = *ms;
      } else {
        q.filter.filters.emplace_back(k, v);
      }
    }
  }
  auto j = report(store_, q);
  if (!j) return status_response(j.status(), kWho);
  return json_response(200, *j);
}

HttpResponse AdminApi::export_http(const HttpRequest& req) {
  std::string entity = "registrations", format = "csv";
  ExportFilters f;
  for (const auto& [k, v] : req.query) {
    if (k == "entity")
      entity = v;
    else if (k == "format")
      format = v;
    else if (k == "centre_id")
      f.centre_id = v;
    else if (k == "agglomeration")
      f.agglomeration = v;
    else if (k == "event_id")
      f.event_id = v;
    else if (k == "role")
      f.role = v;
    else if (k == "attended")
      f.attended = v;
    else if (k == "from")
      f.from = v;
    else if (k == "to")
      f.to = v;
    else if (k == "q")
      f.q = v;
    else
      return unknown_filter(k);
  }
  const EntitySpec* es = spec_by_name(entity);
  if (!es) return bad_request("bad_format", "entity", "Type de fiche inconnu : « " + entity + " ».");
  if (format != "csv" && format != "json")
    return bad_request("bad_format", "format", "Le format est « csv » ou « json ».");
  // The response body is one string (HttpResponse has no streaming body), so
  // the file is built here; the ostringstream's buffer is moved out, not copied.
  std::ostringstream out;
  Status s = export_records(store_, registry_, es->entity, format, f, who(req), now(), out);
  if (!s) return status_response(s, kWho);
  std::string date = format_iso8601(now()).substr(0, 10);
  HttpResponse res = text_response(200, std::move(out).str(),
                                   format == "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8");
  res.headers.emplace_back("Content-Disposition",
                           "attachment; filename=\"terril-" + std::string(es->path) + "-" + date + "." + format + "\"");
  return res;
}

HttpResponse AdminApi::admin_log(const HttpRequest& req) {
  size_t limit = 100;
  for (const auto& [k, v] : req.query) {
    if (k == "limit") {
      auto n = parse_limit(v, 1000);
      if (!n) return bad_request("out_of_range", k, "« limit » doit être un nombre entre 1 et 1000.");
      limit = *n;
    } else {
      return unknown_filter(k);
    }
  }
  auto log = registry_.admin_log(limit);
  if (!log) return status_response(log.status(), kWho);
  json items = json::array();
  for (const auto& e : *log)
    items.push_back({{"at", time_or_null(e.at_ms)}, {"who", e.who}, {"action", e.action}, {"detail", e.detail}});
  return json_response(200, json{{"items", std::move(items)}, {"next", nullptr}});
}

// GET: the seats as the hub knows them; POST: the admin's requests (the
// holders carry them out), audited.
HttpResponse AdminApi::seats(const std::string& event_id, const HttpRequest& req) {
  if (req.method == "GET") return seats_get(store_, event_id, "", kWho);
  bool wrote = false;
  HttpResponse res =
      seats_post(store_, event_id, req, "", kWho, now(), wrote, [this](const Record& r) { return render(r); });
  if (wrote) {
    hub_.notify_changes();
    if (Status s = registry_.log_admin(who(req), "event.seats", "event " + event_id, now()); !s)
      spdlog::warn("admin: audit log: {}", s.message());
  }
  return res;
}

}  // namespace terril

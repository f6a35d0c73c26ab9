#include "hub/admin.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "common/core/csv.h"
#include "common/core/ids.h"
#include "common/core/validate.h"
#include "common/net/json_codec.h"
#include "common/store/store.h"
#include "common/tls.h"
#include "hub/registry.h"
#include "hub/sync_hub.h"

#ifndef TERRIL_VERSION
#define TERRIL_VERSION "0.0.0"
#endif

namespace terril {

using json = nlohmann::json;

namespace {

constexpr std::string_view kApiPrefix = "/api/v1/";
constexpr int64_t kDayMs = 24LL * 3600 * 1000;

struct Agglomeration {
  std::string_view id, label;
};
// The operation's three agglomerations, in the order the dashboard shows them.
constexpr std::array<Agglomeration, 3> kAgglomerationLabels = {{
    {"valenciennes-metropole", "Valenciennes Métropole"},
    {"porte-du-hainaut", "Porte du Hainaut"},
    {"lens-lievin", "Lens-Liévin"},
}};

// --- Responses ---------------------------------------------------------------

HttpResponse bad_request(std::string_view code, std::string_view field, std::string_view message) {
  return error_response(400, code, field, message);
}

HttpResponse method_not_allowed(std::string_view allow) {
  HttpResponse res = error_response(405, "method_not_allowed", "", "Méthode non autorisée pour cette adresse.");
  res.headers.emplace_back("Allow", std::string(allow));
  return res;
}

HttpResponse not_found() {
  return error_response(404, "not_found", "", "Cette fiche ou cette adresse n'existe pas.");
}

// The one place store, registry and core Status values become HTTP answers.
HttpResponse status_response(const Status& s) {
  switch (s.code()) {
    case Code::invalid:
      return json_response(400, error_json(s));
    case Code::not_found:
      return error_response(404, "not_found", s.field(), s.message_fr());
    case Code::forbidden:
      return error_response(403, "forbidden", s.field(), s.message_fr());
    case Code::conflict:
      return error_response(409, "conflict", s.field(), s.message_fr());
    case Code::full:
      return error_response(507, "disk_full", "",
                            "Le disque du hub est plein : rien n'a été enregistré. Prévenez le technicien.");
    case Code::unavailable:
      return error_response(503, "unavailable", "", "Service momentanément indisponible. Réessayez.");
    default:
      return error_response(500, "internal", "",
                            "Erreur du hub : rien n'a été enregistré. Réessayez ; si cela persiste, prévenez le "
                            "technicien.");
  }
}

std::vector<std::string_view> split_path(std::string_view rest) {
  std::vector<std::string_view> out;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    out.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return out;
}

Result<json> body_object(const HttpRequest& req) {
  auto j = parse_json(req.body);
  if (!j || !j->is_object())
    return Status(Code::invalid, "bad_json: body is not a JSON object", "",
                  "Le corps de la requête doit être un objet JSON.");
  return std::move(*j);
}

HttpResponse invalid_response(const std::vector<Status>& errors) {
  json j = error_json(errors.front());
  json all = json::array();
  for (const auto& e : errors) all.push_back(error_json(e));
  j["errors"] = std::move(all);
  return json_response(400, j);
}

Status field_error(std::string_view code, std::string_view field, std::string fr) {
  return Status(Code::invalid, std::string(code) + ": " + std::string(field), std::string(field), std::move(fr));
}

// --- Query parameters --------------------------------------------------------

// Filters each collection accepts, passed to the store as exact matches.
bool allowed_filter(Entity e, std::string_view key) {
  switch (e) {
    case Entity::registration:
      return key == "centre_id" || key == "event_id" || key == "role" || key == "attended" || key == "agglomeration";
    case Entity::event:
      return key == "centre_id" || key == "kind";
    case Entity::prototype_note:
      return key == "centre_id" || key == "status";
    case Entity::centre:
      return key == "agglomeration";
  }
  return false;
}

std::optional<bool> parse_bool_param(const std::string& s) {
  if (s == "true" || s == "1" || s == "oui") return true;
  if (s == "false" || s == "0" || s == "non") return false;
  return std::nullopt;
}

std::optional<size_t> parse_limit(const std::string& v, size_t max) {
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 1 || static_cast<size_t>(n) > max) return std::nullopt;
  return static_cast<size_t>(n);
}

HttpResponse bad_date(const std::string& key) {
  return bad_request("bad_format", key,
                     "La date « " + key + " » n'est pas valide (ex. 2026-11-29 ou 2026-11-29T10:00:00Z).");
}

// Unchanged as a client sees it: an absent flag reads false, absent tags
// read [], so sending back a record as read writes nothing.
bool same_value(const FieldSpec& fs, const Value* existing, const Value& v) {
  if (existing && *existing == v) return true;
  return value_to_json(fs, existing ? *existing : Value{}) == value_to_json(fs, v);
}

json time_or_null(int64_t ms) {
  return ms > 0 ? json(format_iso8601(ms)) : json(nullptr);
}

// --- Prometheus --------------------------------------------------------------

std::string prom_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void prom_head(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ");
  out.append(type).append("\n");
}

void prom_metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, double v) {
  prom_head(out, name, type, help);
  out.append(name).append(" ").append(prom_number(v)).append("\n");
}

// Label values are node and centre ids (slugs), which need no escaping; the
// escape is there for safety all the same.
std::string prom_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// Rejected changes per origin (node id), as a map for lookups.
Result<std::map<std::string, uint64_t>> rejections_by_origin(Store& store) {
  auto r = store.rejections_by_origin();
  if (!r) return r.status();
  return std::map<std::string, uint64_t>(r->begin(), r->end());
}

// --- Exports -----------------------------------------------------------------

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

std::optional<int64_t> parse_filter_date(const std::string& s, bool end_of_day) {
  if (s.size() == 10) {
    auto utc_midnight = parse_iso8601(s + "T00:00:00Z");
    if (!utc_midnight) return std::nullopt;
    const int64_t day = *utc_midnight + (end_of_day ? kDayMs : 0);
    // Paris changes offset at 2 or 3 am, so the offset at UTC midnight is the
    // offset at Paris midnight.
    return day - int64_t{paris_offset_minutes(day)} * 60 * 1000;
  }
  return parse_iso8601(s);
}

void add_export_flags(CLI::App& app, ExportFilters& f) {
  app.add_option("--centre", f.centre_id, "Only this centre");
  app.add_option("--agglomeration", f.agglomeration, "valenciennes-metropole | porte-du-hainaut | lens-lievin");
  app.add_option("--event", f.event_id, "Only registrations for this event id");
  app.add_option("--role", f.role, "habitant | benevole | partenaire | salarie | administrateur | institutionnel");
  app.add_option("--attended", f.attended, "true | false");
  app.add_option("--from", f.from, "Created (or, for events, starting) on or after this date, YYYY-MM-DD (Paris)");
  app.add_option("--to", f.to, "... up to this date included, YYYY-MM-DD (Paris)");
  app.add_option("--search", f.q, "Text search");
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

// --- AdminApi ----------------------------------------------------------------

AdminApi::AdminApi(Store& store, Registry& registry, SyncHub& hub, Options opts)
    : store_(store), registry_(registry), hub_(hub), opts_(std::move(opts)), limiter_(opts_.login_limits) {
  if (!opts_.now_ms)
    opts_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  if (!opts_.random16)
    opts_.random16 = [] {
      auto bytes = random_bytes(16);
      if (!bytes || bytes->size() != 16) throw std::runtime_error("no random bytes for a record id");
      std::array<uint8_t, 16> r{};
      std::memcpy(r.data(), bytes->data(), r.size());
      return r;
    };
  if (opts_.version.empty()) opts_.version = TERRIL_VERSION;
}

int64_t AdminApi::now() const {
  return opts_.now_ms();
}

std::string AdminApi::who(const HttpRequest& req) const {
  return req.remote_addr.empty() ? "admin" : "admin@" + req.remote_addr;
}

HttpResponse AdminApi::handle(const HttpRequest& req) {
  HttpResponse res;
  try {
    if (req.path.empty() && !req.target.empty()) {
      HttpRequest copy = req;
      res = fill_path_and_query(copy) ? route(copy) : bad_request("bad_target", "", "Adresse de requête invalide.");
    } else {
      res = route(req);
    }
  } catch (const std::exception& e) {
    spdlog::error("admin: {} {}: {}", req.method, req.path, e.what());
    res = error_response(500, "internal", "", "Erreur du hub. Réessayez ; si cela persiste, prévenez le technicien.");
  }
  add_security_headers(res);
  if (!res.header("Cache-Control")) res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

HttpResponse AdminApi::route(const HttpRequest& req) {
  const std::string& path = req.path;
  if (req.body.size() > kMaxBodyBytes)
    return error_response(413, "too_large", "", "La requête est trop volumineuse (1 Mio au plus).");

  if (path == "/healthz") {
    if (req.method != "GET" && req.method != "HEAD") return method_not_allowed("GET");
    return text_response(200, "ok\n");
  }
  if (path == "/metrics") {
    if (req.method != "GET") return method_not_allowed("GET");
    return metrics();
  }
  if (path.rfind("/api/", 0) != 0 && path != "/api") {
    if (req.method != "GET" && req.method != "HEAD") return method_not_allowed("GET");
    std::string_view rel = path == "/" ? std::string_view("index.html") : std::string_view(path).substr(1);
    if (rel != "index.html" && rel.rfind("assets/", 0) != 0) return text_response(404, "Page introuvable.\n");
    return serve_embedded(hub_ui_files(), rel);
  }

  if (auto refused = check_csrf(req)) return *refused;
  if (path.rfind(kApiPrefix, 0) != 0) return not_found();
  auto segs = split_path(std::string_view(path).substr(kApiPrefix.size()));
  if (segs.empty() || segs[0].empty()) return not_found();
  const std::string& m = req.method;

  if (segs.size() == 1 && segs[0] == "login") {
    if (m != "POST") return method_not_allowed("POST");
    return login(req);
  }
  if (segs.size() == 1 && segs[0] == "logout") {
    if (m != "POST") return method_not_allowed("POST");
    return logout(req);
  }
  if (!authenticated(req)) return error_response(401, "unauthenticated", "", "Veuillez vous connecter.");

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
    if (segs[1] == "roles") return report_roles(req);
    if (segs[1] == "attendance") return report_attendance(req);
    if (segs[1] == "prototypes") return report_prototypes();
    return not_found();
  }
  if (segs.size() == 1 && segs[0] == "export") {
    if (m != "GET") return method_not_allowed("GET");
    return export_http(req);
  }
  if (segs.size() == 1 && segs[0] == "admin-log") {
    if (m != "GET") return method_not_allowed("GET");
    return admin_log(req);
  }

  const EntitySpec* es = nullptr;
  for (const auto& s : entities())
    if (s.path == segs[0]) es = &s;
  if (!es) return not_found();
  if (segs.size() == 1) {
    if (m == "GET") return list(*es, req);
    if (m == "POST") return create(*es, req);
    return method_not_allowed("GET, POST");
  }
  std::string id(segs[1]);
  if (id.empty()) return not_found();
  if (segs.size() == 2) {
    if (m == "GET") return get_one(*es, id);
    if (m == "PATCH" || m == "PUT") return update(*es, id, req);
    if (m == "DELETE") return remove(*es, id, req);
    return method_not_allowed("GET, PATCH, PUT, DELETE");
  }
  if (segs.size() == 3 && es->entity == Entity::registration && segs[2] == "erase") {
    if (m != "POST") return method_not_allowed("POST");
    return erase(id, req);
  }
  return not_found();
}

// --- Sessions ----------------------------------------------------------------

bool AdminApi::authenticated(const HttpRequest& req) {
  auto token = cookie(req, kSessionCookie);
  return token && sessions_.touch(*token, now());
}

HttpResponse AdminApi::login(const HttpRequest& req) {
  const int64_t t = now();
  if (int64_t wait = limiter_.retry_after_ms(req.remote_addr, t); wait > 0) return LoginLimiter::too_many(wait);
  auto body = body_object(req);
  if (!body) return status_response(body.status());
  auto pw = body->find("password");
  if (pw == body->end() || !pw->is_string()) return bad_request("required", "password", "Saisissez le mot de passe.");
  auto hash = read_password_file(opts_.password_file);
  if (!hash) {
    if (hash.status().code() == Code::not_found)
      return error_response(503, "no_password", "",
                            "Aucun mot de passe administrateur n'est défini : lancez « terril-hub passwd » sur le "
                            "serveur du hub.");
    spdlog::error("admin: password file {}: {}", opts_.password_file, hash.status().message());
    return error_response(500, "internal", "", "Le mot de passe du hub est illisible. Prévenez le technicien.");
  }
  if (!verify_password(*hash, pw->get_ref<const std::string&>())) {
    limiter_.record_failure(req.remote_addr, t);
    spdlog::warn("admin: failed login from {}", req.remote_addr);
    return error_response(401, "bad_password", "password", "Mot de passe incorrect.");
  }
  limiter_.record_success(req.remote_addr);
  if (auto old = cookie(req, kSessionCookie)) sessions_.revoke(*old);
  if (Status s = registry_.log_admin(who(req), "login", "", t); !s) spdlog::warn("admin: audit log: {}", s.message());
  HttpResponse res = json_response(200, json{{"ok", true}});
  res.headers.emplace_back("Set-Cookie", session_cookie(sessions_.create(t), opts_.tls));
  return res;
}

HttpResponse AdminApi::logout(const HttpRequest& req) {
  if (auto token = cookie(req, kSessionCookie)) sessions_.revoke(*token);
  HttpResponse res = json_response(200, json{{"ok", true}});
  res.headers.emplace_back("Set-Cookie", clear_session_cookie(opts_.tls));
  return res;
}

// --- Status and metrics ------------------------------------------------------

HttpResponse AdminApi::status() {
  auto stats = store_.stats();
  if (!stats) return status_response(stats.status());
  auto hub_id = store_.meta("hub_id");
  if (!hub_id) return status_response(hub_id.status());
  auto nodes = registry_.list();
  if (!nodes) return status_response(nodes.status());
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

HttpResponse AdminApi::metrics() {
  const auto& m = hub_.metrics();
  std::string o;
  prom_metric(o, "terril_hub_connected_nodes", "gauge", "Nodes connected now.",
              static_cast<double>(hub_.connected().size()));
  prom_metric(o, "terril_hub_changes_applied_total", "counter", "Changes from nodes merged into the hub store.",
              static_cast<double>(m.changes_applied));
  prom_metric(o, "terril_hub_changes_sent_total", "counter", "Changes streamed to nodes.",
              static_cast<double>(m.changes_sent));
  prom_metric(o, "terril_hub_rejected_changes_total", "counter", "Changes from nodes the hub refused.",
              static_cast<double>(m.rejected));
  prom_metric(o, "terril_hub_bytes_received_total", "counter", "WebSocket payload bytes received from nodes.",
              static_cast<double>(m.bytes_in));
  prom_metric(o, "terril_hub_bytes_sent_total", "counter", "WebSocket payload bytes sent to nodes.",
              static_cast<double>(m.bytes_out));
  prom_metric(o, "terril_hub_handshake_failures_total", "counter", "Sync handshakes refused or timed out.",
              static_cast<double>(m.handshake_failures));
  prom_metric(o, "terril_hub_group_commits_total", "counter",
              "Transactions that applied node batches (one fsync each).", static_cast<double>(m.group_commits));
  prom_metric(o, "terril_hub_grouped_batches_total", "counter", "Node batches applied by those transactions.",
              static_cast<double>(m.grouped_batches));
  prom_head(o, "terril_hub_apply_latency_ms", "histogram",
            "Time to apply and commit the group commit that carried a batch from a node.");
  static const char* bounds[] = {"1", "2", "5", "10", "25", "50", "100", "250", "1000", "+Inf"};
  uint64_t cum = 0;
  for (size_t i = 0; i < m.apply_ms_buckets.size(); ++i) {
    cum += m.apply_ms_buckets[i];
    o += "terril_hub_apply_latency_ms_bucket{le=\"" + std::string(bounds[i]) + "\"} " + std::to_string(cum) + "\n";
  }
  o += "terril_hub_apply_latency_ms_sum " + prom_number(m.apply_ms_sum) + "\n";
  o += "terril_hub_apply_latency_ms_count " + std::to_string(cum) + "\n";
  auto st = store_.stats();
  if (st) {
    prom_metric(o, "terril_hub_seq", "gauge", "Newest hub sequence number.", static_cast<double>(st->hub_cursor));
    prom_metric(o, "terril_hub_db_bytes", "gauge", "Size of the hub's SQLite database file.",
                static_cast<double>(st->db_bytes));
  }
  auto nodes = registry_.list();
  if (nodes && st) {
    std::map<std::string, uint64_t> acked;
    for (const auto& c : hub_.connected()) acked[c.node_id] = c.acked_hub_seq;
    auto rejected = rejections_by_origin(store_);
    prom_head(o, "terril_hub_node_last_seen_timestamp_seconds", "gauge", "Last successful handshake of a node.");
    for (const auto& n : *nodes)
      o += "terril_hub_node_last_seen_timestamp_seconds{node=\"" + prom_label(n.node_id) + "\",centre=\"" +
           prom_label(n.centre_id) + "\"} " + std::to_string(n.last_seen_at_ms / 1000) + "\n";
    prom_head(o, "terril_hub_node_lag_changes", "gauge", "Hub sequence numbers a node has not acknowledged yet.");
    for (const auto& n : *nodes) {
      uint64_t cursor = std::max(n.hub_cursor, acked.count(n.node_id) ? acked[n.node_id] : 0);
      o += "terril_hub_node_lag_changes{node=\"" + prom_label(n.node_id) + "\"} " +
           std::to_string(st->hub_cursor > cursor ? st->hub_cursor - cursor : 0) + "\n";
    }
    if (rejected) {
      prom_head(o, "terril_hub_node_rejected_changes", "gauge", "Changes from a node the hub refused, stored.");
      for (const auto& n : *nodes) {
        auto it = rejected->find(n.node_id);
        o += "terril_hub_node_rejected_changes{node=\"" + prom_label(n.node_id) + "\"} " +
             std::to_string(it == rejected->end() ? 0 : it->second) + "\n";
      }
    }
  }
  prom_metric(o, "terril_hub_store_ok", "gauge", "1 when the hub store answered.", st ? 1 : 0);
  return text_response(200, std::move(o), "text/plain; version=0.0.4; charset=utf-8");
}

// --- Rendering ---------------------------------------------------------------

Result<std::vector<AdminApi::CentreInfo>> AdminApi::centres() {
  std::vector<CentreInfo> out;
  ListQuery q;
  Status s = store_.for_each(Entity::centre, q, [&](const Record& r) {
    out.push_back({r.id, r.text(Field::name).value_or(r.id), r.text(Field::agglomeration).value_or("")});
    return true;
  });
  if (!s) return s;
  return out;
}

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
      auto cap = r.integer(Field::capacity);
      extra["places_left"] = cap ? json(std::max<int64_t>(0, *cap - static_cast<int64_t>(registered))) : json(nullptr);
    }
    items.push_back(record_to_json(r, extra));
  }
  return items;
}

// --- Collections -------------------------------------------------------------

HttpResponse AdminApi::list(const EntitySpec& es, const HttpRequest& req) {
  ListQuery q;
  for (const auto& [k, v] : req.query) {
    if (k == "q") {
      q.search = v;
    } else if (k == "from" || k == "to") {
      if (v.empty()) continue;
      auto ms = parse_filter_date(v, k == "to");
      if (!ms) return bad_date(k);
      (k == "from" ? q.from_ms : q.to_ms) = *ms;
    } else if (k == "include_deleted") {
      auto b = parse_bool_param(v);
      if (!b) return bad_request("bad_format", k, "« include_deleted » vaut true ou false.");
      q.include_deleted = *b;
    } else if (k == "after") {
      q.after = v;
    } else if (k == "limit") {
      auto n = parse_limit(v, 1000);
      if (!n) return bad_request("out_of_range", k, "« limit » doit être un nombre entre 1 et 1000.");
      q.limit = *n;
    } else if (allowed_filter(es.entity, k)) {
      if (v.empty()) continue;  // an empty select in a filter form means "any"
      if (k == "attended") {
        auto b = parse_bool_param(v);
        if (!b) return bad_request("bad_format", k, "« attended » vaut true ou false.");
        q.filters.emplace_back(k, *b ? "true" : "false");
      } else {
        q.filters.emplace_back(k, v);
      }
    } else {
      return bad_request("unknown_filter", k, "Filtre inconnu : « " + k + " ».");
    }
  }
  auto page = store_.list(es.entity, q);
  if (!page) return status_response(page.status());
  json j = {{"items", render_all(page->items)}, {"next", page->next.empty() ? json(nullptr) : json(page->next)}};
  return json_response(200, j);
}

HttpResponse AdminApi::get_one(const EntitySpec& es, const std::string& id) {
  auto rec = store_.get(es.entity, id);
  if (!rec) return status_response(rec.status());
  if (!rec->has_value() || (*rec)->erased) return not_found();
  return json_response(200, render(**rec));
}

Status AdminApi::admin_write(const HttpRequest& req, const LocalWrite& w, std::string_view action) {
  auto written = store_.write(w, now());
  if (!written) return written.status();
  if (written->origin_seq == 0) return Status::ok();  // nothing differed: nothing logged, nothing to send
  hub_.notify_changes();
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

HttpResponse AdminApi::create(const EntitySpec& es, const HttpRequest& req) {
  const Entity e = es.entity;
  auto parsed_body = body_object(req);
  if (!parsed_body) return status_response(parsed_body.status());
  json body = std::move(*parsed_body);
  if (e == Entity::event) body.erase("attended");  // computed key, as read

  std::vector<Status> errors;
  auto parsed = fields_from_json(e, body, /*creating=*/true, &errors);
  std::vector<FieldValue> fields = parsed ? std::move(parsed.value()) : std::vector<FieldValue>{};

  std::string id, centre_id;
  auto given_id = body.find("id");
  auto given_centre = body.find("centre_id");
  if (e == Entity::centre) {
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
  } else {
    if (given_id != body.end() && !given_id->is_null()) {
      if (!given_id->is_string() || !valid_uuid(given_id->get_ref<const std::string&>()))
        errors.push_back(
            field_error("bad_format", "id", "L'identifiant doit être un UUID en minuscules (ex. 0f8f…-…)."));
      else
        id = given_id->get<std::string>();
    }
    if (given_centre == body.end() || given_centre->is_null() || !given_centre->is_string() ||
        given_centre->get_ref<const std::string&>().empty()) {
      errors.push_back(field_error("required", "centre_id",
                                   e == Entity::event ? "Choisissez le centre qui organise l'événement."
                                                      : "Choisissez le centre auquel rattacher la fiche."));
    } else {
      centre_id = given_centre->get<std::string>();
      auto c = store_.get(Entity::centre, centre_id);
      if (!c) return status_response(c.status());
      if (!c->has_value() || (*c)->deleted())
        errors.push_back(field_error("unknown_centre", "centre_id", "Ce centre n'existe pas ou a été supprimé."));
    }
  }
  if (auto it = body.find("created_at"); it != body.end() && !it->is_null())
    errors.push_back(field_error("read_only", "created_at", "La date de création est fixée par le hub."));

  const int64_t t = now();
  auto has = [&](Field f) {
    return std::any_of(fields.begin(), fields.end(), [&](const FieldValue& fv) { return fv.field == f; });
  };
  bool consent_handled = false;
  if (e == Entity::registration) {
    auto it = body.find("consent");
    if (it != body.end() && !it->is_null() && !it->is_boolean()) {
      errors.push_back(field_error("wrong_type", "consent", "Le consentement doit être oui ou non."));
      consent_handled = true;
    } else if (!has(Field::consent_at) && !body.contains("consent_at")) {
      consent_handled = true;
      if (it != body.end() && it->is_boolean() && it->get<bool>())
        fields.push_back(FieldValue{Field::consent_at, t});
      else
        errors.push_back(field_error("required", "consent",
                                     "La personne doit donner son accord pour que ses données soient "
                                     "enregistrées (case « consentement »)."));
    }
  }
  for (const auto& fs : es.fields) {
    if (!fs.required || has(fs.field)) continue;
    if (std::any_of(errors.begin(), errors.end(), [&](const Status& s) { return s.field() == fs.name; })) continue;
    if (fs.field == Field::consent_at && consent_handled) continue;
    errors.push_back(
        field_error("required", fs.name, "Le champ « " + std::string(fs.label_fr) + " » est obligatoire."));
  }
  if (e == Entity::registration) {
    for (const auto& fv : fields) {
      if (fv.field != Field::event_id) continue;
      auto ev = store_.get(Entity::event, std::get<std::string>(fv.value));
      if (!ev) return status_response(ev.status());
      if (!ev->has_value() || (*ev)->deleted())
        errors.push_back(field_error("unknown_event", "event_id", "Cet événement n'existe pas ou a été supprimé."));
    }
  }
  if (!errors.empty()) return invalid_response(errors);
  if (Status s = validate_new_record(e, fields); !s) return status_response(s);

  if (id.empty()) {
    id = uuid_v4(opts_.random16());
  } else {
    auto existing = store_.get(e, id);
    if (!existing) return status_response(existing.status());
    if (existing->has_value()) return error_response(409, "exists", "id", "Une fiche porte déjà cet identifiant.");
  }
  LocalWrite w;
  w.entity = e;
  w.record_id = id;
  w.centre_id = centre_id;
  w.op = Op::upsert;
  w.fields = std::move(fields);
  if (Status s = admin_write(req, w, "record.create"); !s) return status_response(s);
  auto rec = store_.get(e, id);
  if (!rec) return status_response(rec.status());
  if (!rec->has_value()) return status_response(Status(Code::internal, "record vanished after write"));
  return json_response(201, render(**rec));
}

HttpResponse AdminApi::update(const EntitySpec& es, const std::string& id, const HttpRequest& req) {
  const Entity e = es.entity;
  auto got = store_.get(e, id);
  if (!got) return status_response(got.status());
  if (!got->has_value()) return not_found();
  const Record& existing = **got;
  if (existing.erased) return error_response(409, "erased", "", "Les données de cette inscription ont été effacées.");

  auto parsed_body = body_object(req);
  if (!parsed_body) return status_response(parsed_body.status());
  json body = std::move(*parsed_body);
  if (e == Entity::event) body.erase("attended");
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
  if (!errors.empty()) return invalid_response(errors);

  std::vector<FieldValue> changed;
  for (auto& fv : parsed.value())
    if (!same_value(*field_spec(e, fv.field), existing.get(fv.field), fv.value)) changed.push_back(std::move(fv));
  if (changed.empty()) return json_response(200, render(existing));

  for (const auto& fv : changed) {
    if (fv.field == Field::event_id && e == Entity::registration) {
      auto ev = store_.get(Entity::event, std::get<std::string>(fv.value));
      if (!ev) return status_response(ev.status());
      if (!ev->has_value() || (*ev)->deleted())
        return bad_request("unknown_event", "event_id", "Cet événement n'existe pas ou a été supprimé.");
    }
  }
  if (e == Entity::event) {
    auto effective = [&](Field f) -> std::optional<int64_t> {
      for (const auto& fv : changed)
        if (fv.field == f)
          return std::holds_alternative<int64_t>(fv.value) ? std::optional(std::get<int64_t>(fv.value)) : std::nullopt;
      return existing.integer(f);
    };
    auto s = effective(Field::starts_at), en = effective(Field::ends_at);
    if (s && en && *en < *s)
      return bad_request("out_of_range", "ends_at", "La fin de l'événement doit être après son début.");
  }

  LocalWrite w;
  w.entity = e;
  w.record_id = id;
  w.centre_id = existing.centre_id;
  w.op = Op::upsert;
  w.fields = std::move(changed);
  if (Status s = admin_write(req, w, "record.update"); !s) return status_response(s);
  auto rec = store_.get(e, id);
  if (!rec) return status_response(rec.status());
  if (!rec->has_value()) return not_found();
  return json_response(200, render(**rec));
}

HttpResponse AdminApi::remove(const EntitySpec& es, const std::string& id, const HttpRequest& req) {
  const Entity e = es.entity;
  auto got = store_.get(e, id);
  if (!got) return status_response(got.status());
  if (!got->has_value() || (*got)->erased) return not_found();
  const Record& existing = **got;
  if (existing.deleted()) return json_response(200, render(existing));
  if (e == Entity::centre) {
    auto nodes = registry_.list();
    if (!nodes) return status_response(nodes.status());
    for (const auto& n : *nodes)
      if (n.centre_id == id && n.state != NodeState::revoked)
        return error_response(409, "centre_has_node", "",
                              "Ce centre a un boîtier (" + n.node_id + ") : révoquez-le avant de supprimer le centre.");
  }
  LocalWrite w;
  w.entity = e;
  w.record_id = id;
  w.centre_id = existing.centre_id;
  w.op = Op::del;
  if (Status s = admin_write(req, w, "record.delete"); !s) return status_response(s);
  auto rec = store_.get(e, id);
  if (!rec) return status_response(rec.status());
  if (!rec->has_value()) return not_found();
  return json_response(200, render(**rec));
}

HttpResponse AdminApi::erase(const std::string& id, const HttpRequest& req) {
  auto body = body_object(req);
  if (!body) return status_response(body.status());
  auto confirm = body->find("confirm");
  if (confirm == body->end() || !confirm->is_boolean() || !confirm->get<bool>())
    return bad_request("confirm_required", "confirm",
                       "Confirmez l'effacement : il est définitif et efface les données sur le hub et sur tous "
                       "les postes qui en ont une copie.");
  auto got = store_.get(Entity::registration, id);
  if (!got) return status_response(got.status());
  if (!got->has_value()) return not_found();
  const Record& existing = **got;
  json done = {{"id", id}, {"erased", true}};
  if (existing.erased) return json_response(200, done);
  LocalWrite w;
  w.entity = Entity::registration;
  w.record_id = id;
  w.centre_id = existing.centre_id;
  w.op = Op::erase;
  if (Status s = admin_write(req, w, "registration.erase"); !s) return status_response(s);
  return json_response(200, done);
}

// --- Nodes -------------------------------------------------------------------

HttpResponse AdminApi::nodes_list() {
  auto nodes = registry_.list();
  if (!nodes) return status_response(nodes.status());
  auto st = store_.stats();
  if (!st) return status_response(st.status());
  auto rejected = rejections_by_origin(store_);
  if (!rejected) return status_response(rejected.status());
  auto cs = centres();
  if (!cs) return status_response(cs.status());
  std::map<std::string, const CentreInfo*> by_id;
  for (const auto& c : *cs) by_id[c.id] = &c;
  std::map<std::string, SyncHub::Connected> live;
  for (auto& c : hub_.connected()) live[c.node_id] = std::move(c);

  const uint64_t hub_seq = st->hub_cursor;
  json items = json::array();
  for (const auto& n : *nodes) {
    auto conn = live.find(n.node_id);
    const bool connected = conn != live.end();
    const uint64_t cursor = std::max(n.hub_cursor, connected ? conn->second.acked_hub_seq : 0);
    auto received = store_.origin_cursor(n.node_id);
    if (!received) return status_response(received.status());
    auto rej = rejected->find(n.node_id);
    auto c = by_id.find(n.centre_id);
    items.push_back({
        {"node_id", n.node_id},
        {"centre_id", n.centre_id},
        {"centre_name", c == by_id.end() ? json(nullptr) : json(c->second->name)},
        {"agglomeration", c == by_id.end() ? json(nullptr) : json(c->second->agglomeration)},
        {"state", node_state_name(n.state)},
        {"connected", connected},
        {"connected_since", connected ? time_or_null(conn->second.since_ms) : json(nullptr)},
        {"last_seen", time_or_null(n.last_seen_at_ms)},
        {"enrolled_at", time_or_null(n.enrolled_at_ms)},
        {"created_at", time_or_null(n.created_at_ms)},
        {"code_expires_at", time_or_null(n.code_expires_at_ms)},
        {"software_version", connected && !conn->second.software_version.empty()
                                 ? json(conn->second.software_version)
                                 : (n.software_version.empty() ? json(nullptr) : json(n.software_version))},
        {"hub_cursor", cursor},
        {"lag", hub_seq > cursor ? hub_seq - cursor : 0},
        {"changes_received", *received},
        {"rejected", rej == rejected->end() ? 0 : rej->second},
        {"replaced_by", n.replaced_by.empty() ? json(nullptr) : json(n.replaced_by)},
    });
  }
  return json_response(200, json{{"items", std::move(items)}, {"next", nullptr}, {"hub_seq", hub_seq}});
}

json AdminApi::code_json(const HttpRequest& req, const std::string& node_id, const std::string& centre_id,
                         const std::string& code, int64_t expires_at_ms) const {
  std::string url = opts_.public_url;
  if (url.empty()) {
    std::string host = header(req, "host");
    url = std::string(opts_.tls ? "wss://" : "ws://") + (host.empty() ? "ADRESSE-DU-HUB" : host);
  }
  return {{"node_id", node_id},
          {"centre_id", centre_id},
          {"code", code},
          {"expires_at", format_iso8601(expires_at_ms)},
          {"hub_url", url},
          {"hub_fingerprint", opts_.hub_fingerprint.empty() ? json(nullptr) : json(opts_.hub_fingerprint)},
          {"command", "sudo -u terril-node terril-node enrol --hub " + url + " --code " + code}};
}

HttpResponse AdminApi::node_add(const HttpRequest& req) {
  auto body = body_object(req);
  if (!body) return status_response(body.status());
  std::vector<Status> errors;
  std::string node_id, centre_id;
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = body->find(key);
    if (it == body->end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return std::nullopt;
    return it->get<std::string>();
  };
  if (auto v = text("node_id"); !v)
    errors.push_back(field_error("required", "node_id", "Donnez un identifiant au boîtier (ex. lens-centre-1)."));
  else if (!valid_node_id(*v))
    errors.push_back(field_error("bad_format", "node_id",
                                 "L'identifiant du boîtier s'écrit en minuscules, chiffres et tirets (64 au plus), "
                                 "et ne peut pas être « hub »."));
  else
    node_id = *v;
  if (auto v = text("centre_id"); !v) {
    errors.push_back(field_error("required", "centre_id", "Choisissez le centre de ce boîtier."));
  } else {
    auto c = store_.get(Entity::centre, *v);
    if (!c) return status_response(c.status());
    if (!c->has_value() || (*c)->deleted())
      errors.push_back(field_error("unknown_centre", "centre_id", "Ce centre n'existe pas ou a été supprimé."));
    else
      centre_id = *v;
  }
  if (!errors.empty()) return invalid_response(errors);
  auto code = registry_.add(node_id, centre_id, now(), who(req));
  if (!code) {
    if (code.status().code() == Code::conflict)
      return error_response(409, "exists", "node_id",
                            "Un boîtier porte déjà cet identifiant (même révoqué : un identifiant ne sert qu'une "
                            "fois). Choisissez-en un autre.");
    if (code.status().code() == Code::invalid)
      return bad_request("bad_format", "node_id", "Identifiant de boîtier ou de centre invalide.");
    return status_response(code.status());
  }
  spdlog::info("admin: node {} added for centre {}", node_id, centre_id);
  return json_response(201, code_json(req, code->node_id, code->centre_id, code->code, code->expires_at_ms));
}

HttpResponse AdminApi::node_revoke(const std::string& id, const HttpRequest& req) {
  if (Status s = registry_.revoke(id, now(), who(req)); !s) {
    if (s.code() == Code::not_found) return not_found();
    return status_response(s);
  }
  hub_.drop_node(id);
  spdlog::info("admin: node {} revoked", id);
  auto n = registry_.get(id);
  if (!n) return status_response(n.status());
  if (!n->has_value()) return not_found();
  return json_response(200, json{{"node_id", id}, {"state", node_state_name((*n)->state)}});
}

HttpResponse AdminApi::node_replace(const std::string& id, const HttpRequest& req) {
  auto code = registry_.replace(id, now(), who(req));
  if (!code) {
    if (code.status().code() == Code::not_found) return not_found();
    if (code.status().code() == Code::conflict)
      return error_response(409, "already_replaced", "",
                            "Ce boîtier a déjà été remplacé : remplacez plutôt le nouveau boîtier.");
    return status_response(code.status());
  }
  if (code->node_id != id) hub_.drop_node(id);  // the old box is revoked
  spdlog::info("admin: node {} replaced by {}", id, code->node_id);
  json j = code_json(req, code->node_id, code->centre_id, code->code, code->expires_at_ms);
  j["replaced"] = id;
  return json_response(200, j);
}

// --- Reports -----------------------------------------------------------------

HttpResponse AdminApi::report_roles(const HttpRequest& req) {
  ListQuery base;
  for (const auto& [k, v] : req.query) {
    if (v.empty()) continue;
    if (k == "from" || k == "to") {
      auto ms = parse_filter_date(v, k == "to");
      if (!ms) return bad_date(k);
      (k == "from" ? base.from_ms : base.to_ms) = *ms;
    } else if (k == "event_id") {
      base.filters.emplace_back(k, v);
    } else {
      return bad_request("unknown_filter", k, "Filtre inconnu : « " + k + " ».");
    }
  }
  auto cs = centres();
  if (!cs) return status_response(cs.status());
  // Centres with registrations, then one indexed count by role per centre
  // (registrations_centre_name), so the work follows the centres' sizes.
  auto per_centre = store_.count_by(Entity::registration, "centre_id", base);
  if (!per_centre) return status_response(per_centre.status());
  std::map<std::string, uint64_t> has;
  for (const auto& [c, n] : *per_centre) has[c] = n;
  std::vector<CentreInfo> rows = *cs;
  for (const auto& [c, n] : has)
    if (std::none_of(rows.begin(), rows.end(), [&](const CentreInfo& ci) { return ci.id == c; }))
      rows.push_back({c, c, ""});  // a deleted or unknown centre still counts

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
      auto by_role = store_.count_by(Entity::registration, "role", q);
      if (!by_role) return status_response(by_role.status());
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
  json roles = json::array();
  for (auto r : kRoles) roles.push_back(r);
  return json_response(200, json{{"roles", roles},
                                 {"centres", centres_json},
                                 {"agglomerations", agglo_json},
                                 {"total", {{"counts", total_counts}, {"total", total}}},
                                 {"generated_at", format_iso8601(now())}});
}

HttpResponse AdminApi::report_attendance(const HttpRequest& req) {
  ListQuery q;
  for (const auto& [k, v] : req.query) {
    if (v.empty()) continue;
    if (k == "from" || k == "to") {
      auto ms = parse_filter_date(v, k == "to");
      if (!ms) return bad_date(k);
      (k == "from" ? q.from_ms : q.to_ms) = *ms;
    } else if (k == "centre_id" || k == "kind") {
      q.filters.emplace_back(k, v);
    } else {
      return bad_request("unknown_filter", k, "Filtre inconnu : « " + k + " ».");
    }
  }
  auto cs = centres();
  if (!cs) return status_response(cs.status());
  std::map<std::string, std::string> names;
  for (const auto& c : *cs) names[c.id] = c.name;
  struct Row {
    std::string id, title, centre_id, kind;
    int64_t starts_at = 0;
    std::optional<int64_t> capacity;
  };
  std::vector<Row> events;
  Status s = store_.for_each(Entity::event, q, [&](const Record& r) {
    events.push_back({r.id, r.text(Field::title).value_or(""), r.centre_id, r.text(Field::kind).value_or(""),
                      r.integer(Field::starts_at).value_or(0), r.integer(Field::capacity)});
    return true;
  });
  if (!s) return status_response(s);
  std::sort(events.begin(), events.end(), [](const Row& a, const Row& b) {
    return a.starts_at != b.starts_at ? a.starts_at < b.starts_at : a.id < b.id;
  });
  json items = json::array();
  uint64_t total_registered = 0, total_attended = 0;
  for (const auto& ev : events) {
    ListQuery rq;
    rq.filters.emplace_back("event_id", ev.id);
    auto c = store_.count_by(Entity::registration, "attended", rq);
    if (!c) return status_response(c.status());
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
  return json_response(200, json{{"items", std::move(items)},
                                 {"next", nullptr},
                                 {"total", {{"registered", total_registered}, {"attended", total_attended}}},
                                 {"generated_at", format_iso8601(now())}});
}

HttpResponse AdminApi::report_prototypes() {
  auto cs = centres();
  if (!cs) return status_response(cs.status());
  // One count per status (a handful), grouped by centre.
  std::map<std::string, std::map<std::string, uint64_t>> by_centre;  // centre -> status -> n
  json totals = json::object();
  uint64_t total = 0;
  for (auto st : kNoteStatuses) {
    ListQuery q;
    q.filters.emplace_back("status", std::string(st));
    auto c = store_.count_by(Entity::prototype_note, "centre_id", q);
    if (!c) return status_response(c.status());
    uint64_t sum = 0;
    for (const auto& [centre, n] : *c) {
      by_centre[centre][std::string(st)] += n;
      sum += n;
    }
    totals[std::string(st)] = sum;
    total += sum;
  }
  std::vector<CentreInfo> rows = *cs;
  for (const auto& [c, _] : by_centre)
    if (std::none_of(rows.begin(), rows.end(), [&](const CentreInfo& ci) { return ci.id == c; }))
      rows.push_back({c, c, ""});
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
  return json_response(200, json{{"statuses", statuses},
                                 {"centres", centres_json},
                                 {"total", {{"counts", totals}, {"total", total}}},
                                 {"generated_at", format_iso8601(now())}});
}

// --- Export and audit --------------------------------------------------------

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
      return bad_request("unknown_filter", k, "Filtre inconnu : « " + k + " ».");
  }
  const EntitySpec* es = spec_by_name(entity);
  if (!es) return bad_request("bad_format", "entity", "Type de fiche inconnu : « " + entity + " ».");
  if (format != "csv" && format != "json")
    return bad_request("bad_format", "format", "Le format est « csv » ou « json ».");
  // The response body is one string (HttpResponse has no streaming body), so
  // the file is built here; the ostringstream's buffer is moved out, not copied.
  std::ostringstream out;
  Status s = export_records(store_, registry_, es->entity, format, f, who(req), now(), out);
  if (!s) return status_response(s);
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
      return bad_request("unknown_filter", k, "Filtre inconnu : « " + k + " ».");
    }
  }
  auto log = registry_.admin_log(limit);
  if (!log) return status_response(log.status());
  json items = json::array();
  for (const auto& e : *log)
    items.push_back({{"at", time_or_null(e.at_ms)}, {"who", e.who}, {"action", e.action}, {"detail", e.detail}});
  return json_response(200, json{{"items", std::move(items)}, {"next", nullptr}});
}

}  // namespace terril

// The shared HTTP API layer of both daemons: responses, Status -> HTTP,
// query parsing, the filter date rule, staff login and the common routing.
#include "common/net/api_support.h"

#include <sodium.h>

#include <chrono>
#include <cstdlib>

#include "common/core/ids.h"
#include "common/net/json_codec.h"

namespace terril {

using json = nlohmann::json;

namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

std::string who_text(std::string_view who) {
  return std::string(who);
}

}  // namespace

// --- Responses ---------------------------------------------------------------

HttpResponse bad_request(std::string_view code, std::string_view field, std::string_view message_fr) {
  return error_response(400, code, field, message_fr);
}

HttpResponse method_not_allowed(std::string_view allow) {
  HttpResponse res = error_response(405, "method_not_allowed", "", "Méthode non autorisée pour cette adresse.");
  res.headers.emplace_back("Allow", std::string(allow));
  return res;
}

HttpResponse not_found() {
  return error_response(404, "not_found", "", "Cette fiche ou cette adresse n'existe pas.");
}

HttpResponse status_response(const Status& s, std::string_view who) {
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
      return error_response(
          507, "disk_full", "",
          "Le disque " + who_text(who) + " est plein : rien n'a été enregistré. Prévenez le technicien.");
    case Code::unavailable:
      return error_response(503, "unavailable", "", "Service momentanément indisponible. Réessayez.");
    default:
      return error_response(500, "internal", "",
                            "Erreur " + who_text(who) +
                                " : rien n'a été enregistré. Réessayez ; si cela persiste, prévenez le technicien.");
  }
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

// --- Queries -----------------------------------------------------------------

bool allowed_filter(Entity e, std::string_view key) {
  switch (e) {
    case Entity::registration:
      return key == "centre_id" || key == "event_id" || key == "role" || key == "attended" || key == "agglomeration" ||
             key == "person_id" || key == "qpv" || key == "genre";
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

HttpResponse bad_date(const std::string& key) {
  return bad_request("bad_format", key,
                     "La date « " + key + " » n'est pas valide (ex. 2026-11-29 ou 2026-11-29T10:00:00Z).");
}

HttpResponse unknown_filter(const std::string& key) {
  return bad_request("unknown_filter", key, "Filtre inconnu : « " + key + " ».");
}

std::optional<HttpResponse> parse_list_query(Entity e, const HttpRequest& req, ListQuery& q) {
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
    } else if (k == "sort") {
      q.sort = v;  // the store refuses anything but name and date
    } else if (k == "limit") {
      auto n = parse_limit(v, 1000);
      if (!n) return bad_request("out_of_range", k, "« limit » doit être un nombre entre 1 et 1000.");
      q.limit = *n;
    } else if (allowed_filter(e, k)) {
      if (v.empty()) continue;  // an empty select in a filter form means "any"
      if (k == "attended") {
        auto b = parse_bool_param(v);
        if (!b) return bad_request("bad_format", k, "« attended » vaut true ou false.");
        q.filters.emplace_back(k, *b ? "true" : "false");
      } else {
        q.filters.emplace_back(k, v);
      }
    } else {
      return unknown_filter(k);
    }
  }
  return std::nullopt;
}

json page_json(json items, const std::string& next) {
  return json{{"items", std::move(items)}, {"next", next.empty() ? json(nullptr) : json(next)}};
}

json time_or_null(int64_t ms) {
  return ms > 0 ? json(format_iso8601(ms)) : json(nullptr);
}

bool same_value(const FieldSpec& fs, const Value* existing, const Value& v) {
  if (existing && *existing == v) return true;
  return value_to_json(fs, existing ? *existing : Value{}) == value_to_json(fs, v);
}

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- Staff login -------------------------------------------------------------

HttpResponse staff_login(const HttpRequest& req, const StaffLogin& l, int64_t now_ms) {
  if (int64_t wait = l.limiter.retry_after_ms(req.remote_addr, now_ms); wait > 0) return LoginLimiter::too_many(wait);
  auto body = body_object(req);
  if (!body) return json_response(400, error_json(body.status()));
  auto pw = body->find("password");
  if (pw == body->end() || !pw->is_string()) return bad_request("required", "password", "Saisissez le mot de passe.");
  // Stat before reading: if the file changes in between, the session holds
  // the older identity and ends at its first use.
  l.sessions.bind_password_file(l.password_file);
  std::string identity = password_file_identity(l.password_file);
  auto hash = read_password_file(l.password_file);
  if (!hash) {
    if (hash.status().code() == Code::not_found) return error_response(503, "no_password", "", l.no_password_fr);
    return error_response(500, "internal", "", l.unreadable_fr);
  }
  // The argon2 check (tens of ms of CPU, 19 MiB) runs off the loop; the
  // answer is built back on it. References in `l` outlive the call only:
  // the parts that run later capture what they use.
  HttpResponse res;
  res.deferred = [hash = std::move(hash).value(), password = pw->get<std::string>(), &sessions = l.sessions,
                  &limiter = l.limiter, remote = req.remote_addr, old = cookie(req, kSessionCookie),
                  secure = l.secure_cookie, identity = std::move(identity),
                  now_ms]() mutable -> std::function<HttpResponse()> {
    bool ok = verify_password(hash, password);
    sodium_memzero(password.data(), password.size());
    return [ok, &sessions, &limiter, remote, old, secure, identity, now_ms]() {
      if (!ok) {
        limiter.record_failure(remote, now_ms);
        return error_response(401, "bad_password", "password", "Mot de passe incorrect.");
      }
      limiter.record_success(remote);
      if (old) sessions.revoke(*old);
      HttpResponse done = json_response(200, json{{"ok", true}});
      done.headers.emplace_back("Set-Cookie", session_cookie(sessions.create(now_ms, identity), secure));
      return done;
    };
  };
  return deferral_available() ? res : resolve_now(std::move(res));
}

HttpResponse staff_logout(const HttpRequest& req, SessionManager& sessions, bool secure_cookie) {
  if (auto token = cookie(req, kSessionCookie)) sessions.revoke(*token);
  HttpResponse res = json_response(200, json{{"ok", true}});
  res.headers.emplace_back("Set-Cookie", clear_session_cookie(secure_cookie));
  return res;
}

bool has_session(const HttpRequest& req, SessionManager& sessions, int64_t now_ms) {
  auto token = cookie(req, kSessionCookie);
  return token && sessions.touch(*token, now_ms);
}

// --- Routing -----------------------------------------------------------------

namespace {

bool is_get(const std::string& m) {
  return m == "GET" || m == "HEAD";
}

HttpResponse list(ApiHandlers& api, const EntitySpec& es, const HttpRequest& req, std::string_view who) {
  ListQuery q;
  if (auto refused = parse_list_query(es.entity, req, q)) return std::move(*refused);
  auto page = api.records().list(es.entity, q);
  if (!page) return status_response(page.status(), who);
  return json_response(200, page_json(api.render_all(page->items), page->next));
}

HttpResponse get_one(ApiHandlers& api, const EntitySpec& es, const std::string& id, std::string_view who) {
  auto rec = api.records().get(es.entity, id);
  if (!rec) return status_response(rec.status(), who);
  if (!rec->has_value() || (*rec)->erased) return not_found();
  return json_response(200, api.render_all({**rec}).front());
}

HttpResponse route_records(ApiHandlers& api, const std::vector<std::string_view>& segs, const HttpRequest& req,
                           std::string_view who) {
  const EntitySpec* es = nullptr;
  for (const auto& s : entities())
    if (s.path == segs[0]) es = &s;
  if (!es) return not_found();
  const std::string& m = req.method;
  if (segs.size() == 1) {
    if (m == "GET") return list(api, *es, req, who);
    if (m == "POST") return api.create(*es, req);
    return method_not_allowed("GET, POST");
  }
  std::string id(segs[1]);
  if (id.empty()) return not_found();
  if (segs.size() == 2) {
    if (m == "GET") return get_one(api, *es, id, who);
    if (m == "PATCH" || m == "PUT") return api.update(*es, id, req);
    if (m == "DELETE") return api.remove(*es, id, req);
    return method_not_allowed("GET, PATCH, PUT, DELETE");
  }
  if (segs.size() == 3 && es->entity == Entity::registration && segs[2] == "erase") {
    if (m != "POST") return method_not_allowed("POST");
    return api.erase(id, req);
  }
  if (segs.size() == 3 && es->entity == Entity::event && segs[2] == "attendance-sheet") {
    if (m != "GET") return method_not_allowed("GET");
    return api.attendance_sheet(id, req);
  }
  if (segs.size() == 3 && es->entity == Entity::event && segs[2] == "seats") {
    if (m != "GET" && m != "POST") return method_not_allowed("GET, POST");
    return api.seats(id, req);
  }
  return not_found();
}

HttpResponse route(ApiHandlers& api, const HttpRequest& req, std::span<const StaticFile> ui, std::string_view who) {
  const std::string& path = req.path;
  if (req.body.size() > kMaxBodyBytes)
    return error_response(413, "too_large", "", "La requête est trop volumineuse (1 Mio au plus).");
  if (path == "/healthz") {
    if (!is_get(req.method)) return method_not_allowed("GET");
    return text_response(200, "ok\n");
  }
  if (path == "/metrics") {
    if (req.method != "GET") return method_not_allowed("GET");
    if (!api.metrics_allowed(req)) {
      HttpResponse r = error_response(401, "unauthenticated", "", "Veuillez vous connecter.");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    return api.metrics();
  }
  if (path.rfind("/api/", 0) != 0 && path != "/api") {
    if (!is_get(req.method)) return method_not_allowed("GET");
    std::string_view rel = path == "/" ? std::string_view("index.html") : std::string_view(path).substr(1);
    if (rel != "index.html" && rel.rfind("assets/", 0) != 0) return text_response(404, "Page introuvable.\n");
    return serve_embedded(ui, rel);
  }

  if (auto refused = check_csrf(req)) return *refused;
  if (path.rfind(kApiPrefix, 0) != 0) return not_found();
  auto segs = split_path(std::string_view(path).substr(kApiPrefix.size()));
  if (segs.empty() || segs[0].empty()) return not_found();
  if (segs.size() == 1 && (segs[0] == "login" || segs[0] == "logout")) {
    if (req.method != "POST") return method_not_allowed("POST");
    return segs[0] == "login" ? api.login(req) : api.logout(req);
  }
  if (!api.authenticated(req)) return error_response(401, "unauthenticated", "", "Veuillez vous connecter.");
  if (auto own = api.own_route(segs, req)) return std::move(*own);
  return route_records(api, segs, req, who);
}

}  // namespace

HttpResponse written_answer(ApiHandlers& api, const LocalWrite& w, int ok_status, std::string_view who) {
  if (w.op == Op::erase) return json_response(200, json{{"id", w.record_id}, {"erased", true}});
  auto rec = api.records().get(w.entity, w.record_id);
  if (!rec) return status_response(rec.status(), who);
  if (!rec->has_value()) return status_response(Status(Code::internal, "record vanished after write"), who);
  return json_response(ok_status, api.render_all({**rec}).front());
}

HttpResponse serve_api(ApiHandlers& api, const HttpRequest& req, std::span<const StaticFile> ui, std::string_view who,
                       const std::function<void(const HttpRequest&, const char*)>& on_exception) {
  HttpResponse res;
  try {
    if (req.path.empty() && !req.target.empty()) {
      HttpRequest copy = req;
      res = fill_path_and_query(copy) ? route(api, copy, ui, who)
                                      : bad_request("bad_target", "", "Adresse de requête invalide.");
    } else {
      res = route(api, req, ui, who);
    }
  } catch (const std::exception& e) {
    if (on_exception) on_exception(req, e.what());
    res = error_response(500, "internal", "",
                         "Erreur " + who_text(who) + ". Réessayez ; si cela persiste, prévenez le technicien.");
  }
  add_security_headers(res);
  if (!res.header("Cache-Control")) res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

}  // namespace terril

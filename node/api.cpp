#include "node/api.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "common/core/ids.h"
#include "common/core/routing.h"
#include "common/core/validate.h"
#include "common/net/json_codec.h"

#ifndef TERRIL_VERSION
#define TERRIL_VERSION "0.0.0"
#endif

namespace terril {
namespace {

using nlohmann::json;

constexpr std::string_view kApiPrefix = "/api/v1/";
// Plausible corrected time: a node whose clock reads before 2000 has never
// learned the hub's time; it must not stamp consent or creation dates.
constexpr int64_t kMinPlausibleMs = 946684800000LL;

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

// The one place store and core Status values become HTTP answers.
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
                            "Le disque du poste est plein : rien n'a été enregistré. Prévenez le technicien.");
    case Code::unavailable:
      return error_response(503, "unavailable", "", "Service momentanément indisponible. Réessayez.");
    default:
      return error_response(500, "internal", "",
                            "Erreur du poste : rien n'a été enregistré. Réessayez ; si cela persiste, "
                            "prévenez le technicien.");
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

std::optional<int64_t> parse_time_param(const std::string& s) {
  if (auto ms = parse_iso8601(s)) return ms;
  if (s.size() == 10) return parse_iso8601(s + "T00:00:00Z");
  return std::nullopt;
}

std::optional<bool> parse_bool_param(const std::string& s) {
  if (s == "true" || s == "1" || s == "oui") return true;
  if (s == "false" || s == "0" || s == "non") return false;
  return std::nullopt;
}

// Unchanged as a client sees it: an absent flag reads false, absent tags
// read [], so sending back a record as read writes nothing.
bool same_value(const FieldSpec& fs, const Value* existing, const Value& v) {
  if (existing && *existing == v) return true;
  return value_to_json(fs, existing ? *existing : Value{}) == value_to_json(fs, v);
}

std::string prom_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void prom_metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, double value) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += ' ';
  out += prom_number(value);
  out += '\n';
}

json time_or_null(int64_t ms) {
  return ms > 0 ? json(format_iso8601(ms)) : json(nullptr);
}

}  // namespace

NodeApi::NodeApi(Store& store, const SyncState& sync, SessionManager& sessions, LoginLimiter& limiter,
                 std::string password_hash_file, Hooks hooks)
    : store_(store),
      sync_(sync),
      sessions_(sessions),
      limiter_(limiter),
      password_file_(std::move(password_hash_file)),
      hooks_(std::move(hooks)) {
  if (!hooks_.now_ms)
    hooks_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  if (!hooks_.random16)
    hooks_.random16 = [] {
      std::array<uint8_t, 16> r{};
      sodium_ready();
      randombytes_buf(r.data(), r.size());
      return r;
    };
  if (hooks_.version.empty()) hooks_.version = TERRIL_VERSION;
}

int64_t NodeApi::now() const {
  return hooks_.now_ms();
}

int64_t NodeApi::corrected_now() const {
  return now() + store_.clock_offset();
}

void NodeApi::after_write() {
  if (hooks_.on_local_write) hooks_.on_local_write();
}

HttpResponse NodeApi::handle(const HttpRequest& req) {
  HttpResponse res;
  try {
    if (req.path.empty() && !req.target.empty()) {
      HttpRequest copy = req;
      res = fill_path_and_query(copy) ? route(copy) : bad_request("bad_target", "", "Adresse de requête invalide.");
    } else {
      res = route(req);
    }
  } catch (const std::exception&) {
    res = error_response(500, "internal", "", "Erreur du poste. Réessayez ; si cela persiste, prévenez le technicien.");
  }
  add_security_headers(res);
  if (!res.header("Cache-Control")) res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

HttpResponse NodeApi::route(const HttpRequest& req) {
  const std::string& path = req.path;
  if (req.body.size() > kMaxBodyBytes)
    return error_response(413, "too_large", "", "La requête est trop volumineuse (1 Mio au plus).");

  if (path == "/healthz") {
    if (req.method != "GET") return method_not_allowed("GET");
    return text_response(200, "ok\n");
  }
  if (path == "/metrics") {
    if (req.method != "GET") return method_not_allowed("GET");
    return metrics();
  }
  if (path.rfind("/api/", 0) != 0 && path != "/api") {
    if (req.method != "GET") return method_not_allowed("GET");
    std::string_view rel = path == "/" ? std::string_view("index.html") : std::string_view(path).substr(1);
    if (rel != "index.html" && rel.rfind("assets/", 0) != 0) return text_response(404, "Page introuvable.\n");
    return serve_embedded(node_ui_files(), rel);
  }

  if (auto refused = check_csrf(req)) return *refused;
  if (path.rfind(kApiPrefix, 0) != 0) return not_found();
  auto segs = split_path(std::string_view(path).substr(kApiPrefix.size()));
  if (segs.empty() || segs[0].empty()) return not_found();

  if (segs.size() == 1 && segs[0] == "login") {
    if (req.method != "POST") return method_not_allowed("POST");
    return login(req);
  }
  if (segs.size() == 1 && segs[0] == "logout") {
    if (req.method != "POST") return method_not_allowed("POST");
    return logout(req);
  }
  if (!authenticated(req)) return error_response(401, "unauthenticated", "", "Veuillez vous connecter.");

  if (segs.size() == 1 && segs[0] == "status") {
    if (req.method != "GET") return method_not_allowed("GET");
    return status();
  }
  const EntitySpec* es = nullptr;
  for (const auto& s : entities())
    if (s.path == segs[0]) es = &s;
  if (!es) return not_found();
  const std::string& m = req.method;
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
    if (m == "DELETE") return remove(*es, id);
    return method_not_allowed("GET, PATCH, PUT, DELETE");
  }
  if (segs.size() == 3 && es->entity == Entity::registration && segs[2] == "erase") {
    if (m != "POST") return method_not_allowed("POST");
    return erase(id, req);
  }
  return not_found();
}

// --- Sessions --------------------------------------------------------------

bool NodeApi::authenticated(const HttpRequest& req) {
  auto token = cookie(req, kSessionCookie);
  return token && sessions_.touch(*token, now());
}

HttpResponse NodeApi::login(const HttpRequest& req) {
  const int64_t t = now();
  if (int64_t wait = limiter_.retry_after_ms(req.remote_addr, t); wait > 0) return LoginLimiter::too_many(wait);
  auto body = body_object(req);
  if (!body) return status_response(body.status());
  auto pw = body->find("password");
  if (pw == body->end() || !pw->is_string()) return bad_request("required", "password", "Saisissez le mot de passe.");
  auto hash = read_password_file(password_file_);
  if (!hash) {
    if (hash.status().code() == Code::not_found)
      return error_response(503, "no_password", "",
                            "Aucun mot de passe n'est défini sur ce poste : un technicien doit lancer "
                            "« terril-node passwd ».");
    return error_response(500, "internal", "", "Le mot de passe du poste est illisible. Prévenez le technicien.");
  }
  if (!verify_password(*hash, pw->get_ref<const std::string&>())) {
    limiter_.record_failure(req.remote_addr, t);
    return error_response(401, "bad_password", "password", "Mot de passe incorrect.");
  }
  limiter_.record_success(req.remote_addr);
  if (auto old = cookie(req, kSessionCookie)) sessions_.revoke(*old);
  HttpResponse res = json_response(200, json{{"ok", true}});
  res.headers.emplace_back("Set-Cookie", session_cookie(sessions_.create(t), hooks_.secure_cookie));
  return res;
}

HttpResponse NodeApi::logout(const HttpRequest& req) {
  if (auto token = cookie(req, kSessionCookie)) sessions_.revoke(*token);
  HttpResponse res = json_response(200, json{{"ok", true}});
  res.headers.emplace_back("Set-Cookie", clear_session_cookie(hooks_.secure_cookie));
  return res;
}

// --- Status and metrics ----------------------------------------------------

HttpResponse NodeApi::status() {
  auto stats = store_.stats();
  if (!stats) return status_response(stats.status());
  auto rej = store_.rejections(50);
  if (!rej) return status_response(rej.status());
  json rejections = json::array();
  for (const auto& r : *rej)
    rejections.push_back({{"origin", r.origin},
                          {"origin_seq", r.origin_seq},
                          {"code", r.code},
                          {"field", r.field.empty() ? json(nullptr) : json(r.field)},
                          {"message", r.message},
                          {"at", time_or_null(r.at_ms)},
                          {"entity", r.entity},
                          {"record_id", r.record_id}});
  json centre_name = nullptr;
  if (!centre().empty()) {
    auto c = store_.get(Entity::centre, centre());
    if (c && c->has_value())
      if (auto n = (*c)->text(Field::name)) centre_name = *n;
  }
  json j = {
      {"node_id", sync_.node_id},
      {"centre_id", sync_.centre_id},
      {"centre_name", centre_name},
      {"enrolled", sync_.enrolled},
      {"connected", sync_.connected},
      {"hub_url", sync_.hub_url},
      {"last_sync", time_or_null(sync_.last_sync_ms)},
      {"offline_since", time_or_null(sync_.offline_since_ms)},
      {"last_error", sync_.last_error.empty() ? json(nullptr) : json(sync_.last_error)},
      {"pending", stats->pending},
      {"own_seq", stats->own_seq},
      {"acked_seq", stats->acked_seq},
      {"hub_cursor", stats->hub_cursor},
      {"rejections", std::move(rejections)},
      {"rejections_total", stats->rejections},
      {"clock_offset_ms", sync_.clock_offset_ms},
      {"db_bytes", stats->db_bytes},
      {"wal_bytes", stats->wal_bytes},
      {"version", hooks_.version},
      {"now", format_iso8601(now())},
  };
  return json_response(200, j);
}

HttpResponse NodeApi::metrics() {
  std::string out;
  auto stats = store_.stats();
  if (stats) {
    prom_metric(out, "terril_node_pending_changes", "gauge", "Local changes the hub has not acknowledged yet.",
                static_cast<double>(stats->pending));
    prom_metric(out, "terril_node_rejected_changes_total", "counter", "Local changes the hub rejected.",
                static_cast<double>(stats->rejections));
    prom_metric(out, "terril_node_db_bytes", "gauge", "Size of the SQLite database file.",
                static_cast<double>(stats->db_bytes));
    prom_metric(out, "terril_node_wal_bytes", "gauge", "Size of the SQLite write-ahead log.",
                static_cast<double>(stats->wal_bytes));
  }
  prom_metric(out, "terril_node_last_sync_timestamp_seconds", "gauge",
              "Last time the node and the hub were caught up (0 = never).",
              static_cast<double>(sync_.last_sync_ms) / 1000.0);
  prom_metric(out, "terril_node_reconnects_total", "counter", "Reconnections to the hub.",
              static_cast<double>(sync_.reconnects));
  prom_metric(out, "terril_node_bytes_sent_total", "counter", "WebSocket payload bytes sent to the hub.",
              static_cast<double>(sync_.bytes_sent));
  prom_metric(out, "terril_node_bytes_received_total", "counter", "WebSocket payload bytes received from the hub.",
              static_cast<double>(sync_.bytes_received));
  prom_metric(out, "terril_node_connected", "gauge", "1 when the sync link to the hub is up.", sync_.connected ? 1 : 0);
  prom_metric(out, "terril_node_store_ok", "gauge", "1 when the local store answered.", stats ? 1 : 0);
  return text_response(200, std::move(out), "text/plain; version=0.0.4; charset=utf-8");
}

// --- Rendering -------------------------------------------------------------

json NodeApi::render(const Record& r) {
  return render_all({r}).front();
}

json NodeApi::render_all(const std::vector<Record>& records) {
  json items = json::array();
  uint64_t acked = 0;
  std::map<std::string, uint64_t> counts;
  bool need_acked = false, need_counts = false;
  for (const auto& r : records) {
    need_acked = need_acked || r.entity == Entity::registration;
    need_counts = need_counts || r.entity == Entity::event;
  }
  if (need_acked) {
    auto st = store_.stats();
    if (st) acked = st->acked_seq;
  }
  if (need_counts) {
    ListQuery q;
    if (records.size() == 1) q.filters.emplace_back("event_id", records.front().id);
    auto c = store_.count_by(Entity::registration, "event_id", q);
    if (c)
      for (auto& [k, n] : *c) counts[k] = n;
  }
  for (const auto& r : records) {
    json extra = json::object();
    if (r.entity == Entity::registration) {
      auto seq = store_.local_seq(r.entity, r.id);
      extra["synced"] = seq ? *seq <= acked : false;
    } else if (r.entity == Entity::event) {
      auto it = counts.find(r.id);
      uint64_t n = it == counts.end() ? 0 : it->second;
      extra["registered"] = n;
      auto cap = r.integer(Field::capacity);
      extra["places_left"] = cap ? json(std::max<int64_t>(0, *cap - static_cast<int64_t>(n))) : json(nullptr);
    }
    items.push_back(record_to_json(r, extra));
  }
  return items;
}

// --- Collections -----------------------------------------------------------

HttpResponse NodeApi::list(const EntitySpec& es, const HttpRequest& req) {
  ListQuery q;
  for (const auto& [k, v] : req.query) {
    if (k == "q") {
      q.search = v;
    } else if (k == "from" || k == "to") {
      auto ms = parse_time_param(v);
      if (!ms)
        return bad_request("bad_format", k, "La date « " + k + " » n'est pas valide (ex. 2026-11-29T10:00:00Z).");
      (k == "from" ? q.from_ms : q.to_ms) = *ms;
    } else if (k == "include_deleted") {
      auto b = parse_bool_param(v);
      if (!b) return bad_request("bad_format", k, "« include_deleted » vaut true ou false.");
      q.include_deleted = *b;
    } else if (k == "after") {
      q.after = v;
    } else if (k == "limit") {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 1000)
        return bad_request("out_of_range", k, "« limit » doit être un nombre entre 1 et 1000.");
      q.limit = static_cast<size_t>(n);
    } else if (allowed_filter(es.entity, k)) {
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

HttpResponse NodeApi::get_one(const EntitySpec& es, const std::string& id) {
  auto rec = store_.get(es.entity, id);
  if (!rec) return status_response(rec.status());
  if (!rec->has_value() || (*rec)->erased) return not_found();
  return json_response(200, render(**rec));
}

HttpResponse NodeApi::create(const EntitySpec& es, const HttpRequest& req) {
  const Entity e = es.entity;
  if (centre().empty() || sync_.node_id.empty())
    return error_response(503, "not_enrolled", "",
                          "Ce poste n'est pas encore relié au hub : un technicien doit l'inscrire.");
  if (e == Entity::centre)
    return error_response(403, "forbidden", "",
                          "Un poste ne peut pas créer de centre : demandez-le à l'administrateur du hub.");
  auto body = body_object(req);
  if (!body) return status_response(body.status());

  std::vector<Status> errors;
  auto parsed = fields_from_json(e, *body, /*creating=*/true, &errors);
  std::vector<FieldValue> fields = parsed ? std::move(parsed.value()) : std::vector<FieldValue>{};

  std::string id;
  if (auto it = body->find("id"); it != body->end() && !it->is_null()) {
    if (!it->is_string() || !valid_uuid(it->get_ref<const std::string&>()))
      errors.push_back(field_error("bad_format", "id", "L'identifiant doit être un UUID en minuscules (ex. 0f8f…-…)."));
    else
      id = it->get<std::string>();
  }
  if (auto it = body->find("centre_id"); it != body->end() && !it->is_null()) {
    if (!it->is_string() || it->get_ref<const std::string&>() != centre())
      return error_response(403, "forbidden", "centre_id",
                            "Ce poste ne peut créer des fiches que pour son propre centre.");
  }
  if (auto it = body->find("created_at"); it != body->end() && !it->is_null())
    errors.push_back(field_error("read_only", "created_at", "La date de création est fixée par le poste."));

  const int64_t t = corrected_now();
  auto has = [&](Field f) {
    return std::any_of(fields.begin(), fields.end(), [&](const FieldValue& fv) { return fv.field == f; });
  };
  bool consent_handled = false;
  if (e == Entity::registration) {
    auto it = body->find("consent");
    if (it != body->end() && !it->is_null() && !it->is_boolean()) {
      errors.push_back(field_error("wrong_type", "consent", "Le consentement doit être oui ou non."));
      consent_handled = true;
    } else if (!has(Field::consent_at) && !body->contains("consent_at")) {
      consent_handled = true;
      if (it != body->end() && it->is_boolean() && it->get<bool>()) {
        if (t < kMinPlausibleMs)
          return error_response(503, "clock", "",
                                "L'horloge de ce poste n'est pas à l'heure : reliez-le au hub, puis réessayez.");
        fields.push_back(FieldValue{Field::consent_at, t});
      } else
        errors.push_back(field_error("required", "consent",
                                     "La personne doit donner son accord pour que ses données soient "
                                     "enregistrées (case « consentement »)."));
    }
  }
  // Every missing required field, so a form can mark them all at once.
  auto given = [&](const FieldSpec& fs) {
    auto it = body->find(std::string(fs.name));
    return it != body->end() && !it->is_null();
  };
  for (const auto& fs : es.fields) {
    // A field given with a bad value has its own error already; another
    // field's error must not make it look missing.
    if (!fs.required || has(fs.field) || given(fs)) continue;
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
    id = uuid_v4(hooks_.random16());
  } else {
    auto existing = store_.get(e, id);
    if (!existing) return status_response(existing.status());
    if (existing->has_value()) return error_response(409, "exists", "id", "Une fiche porte déjà cet identifiant.");
  }
  // created_at is set by the store from the write's clock stamp.
  LocalWrite w;
  w.entity = e;
  w.record_id = id;
  w.centre_id = centre();
  w.op = Op::upsert;
  w.fields = std::move(fields);
  auto written = store_.write(w, now());
  if (!written) return status_response(written.status());
  after_write();
  auto rec = store_.get(e, id);
  if (!rec) return status_response(rec.status());
  if (!rec->has_value()) return status_response(Status(Code::internal, "record vanished after write"));
  return json_response(201, render(**rec));
}

HttpResponse NodeApi::update(const EntitySpec& es, const std::string& id, const HttpRequest& req) {
  const Entity e = es.entity;
  if (centre().empty() || sync_.node_id.empty())
    return error_response(503, "not_enrolled", "",
                          "Ce poste n'est pas encore relié au hub : un technicien doit l'inscrire.");
  auto got = store_.get(e, id);
  if (!got) return status_response(got.status());
  if (!got->has_value()) return not_found();
  const Record& existing = **got;
  if (existing.erased) return error_response(409, "erased", "", "Les données de cette inscription ont été effacées.");

  auto body = body_object(req);
  if (!body) return status_response(body.status());
  std::vector<Status> errors;
  auto parsed = fields_from_json(e, *body, /*creating=*/false, &errors);
  if (auto it = body->find("id"); it != body->end() && !(it->is_string() && it->get_ref<const std::string&>() == id))
    errors.push_back(field_error("read_only", "id", "L'identifiant d'une fiche ne peut pas être changé."));
  if (auto it = body->find("centre_id");
      it != body->end() && !(it->is_string() && it->get_ref<const std::string&>() == existing.centre_id))
    errors.push_back(
        field_error("read_only", "centre_id", "Le centre propriétaire d'une fiche ne peut pas être changé."));
  if (auto it = body->find("created_at"); it != body->end()) {
    std::optional<int64_t> given = it->is_string() ? parse_iso8601(it->get_ref<const std::string&>()) : std::nullopt;
    if (given != existing.integer(Field::created_at))
      errors.push_back(field_error("read_only", "created_at", "La date de création ne peut pas être changée."));
  }
  if (!errors.empty()) return invalid_response(errors);

  std::vector<FieldValue> changed;
  for (auto& fv : parsed.value())
    if (!same_value(*field_spec(e, fv.field), existing.get(fv.field), fv.value)) changed.push_back(std::move(fv));
  if (changed.empty()) return json_response(200, render(existing));

  std::string host;
  for (const auto& fv : changed) {
    if (fv.field == Field::event_id && e == Entity::registration) {
      auto ev = store_.get(Entity::event, std::get<std::string>(fv.value));
      if (!ev) return status_response(ev.status());
      if (!ev->has_value() || (*ev)->deleted())
        return bad_request("unknown_event", "event_id", "Cet événement n'existe pas ou a été supprimé.");
    }
  }
  if (e == Entity::registration) {
    if (auto ev_id = existing.text(Field::event_id)) {
      auto ev = store_.get(Entity::event, *ev_id);
      if (ev && ev->has_value()) host = (*ev)->centre_id;
    }
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
      return bad_request("out_of_range", "ends_at", "La fin de l'événement doit être après son début.");
  }

  Change c;
  c.origin = sync_.node_id;
  c.entity = e;
  c.record_id = id;
  c.centre_id = existing.centre_id;
  c.op = Op::upsert;
  c.fields = changed;
  PermissionContext ctx{sync_.node_id, centre(), &existing, host};
  if (Status s = check_node_change(ctx, c); !s) return status_response(s);

  LocalWrite w;
  w.entity = e;
  w.record_id = id;
  w.centre_id = existing.centre_id;
  w.op = Op::upsert;
  w.fields = std::move(changed);
  auto written = store_.write(w, now());
  if (!written) return status_response(written.status());
  after_write();
  auto rec = store_.get(e, id);
  if (!rec) return status_response(rec.status());
  if (!rec->has_value()) return not_found();
  return json_response(200, render(**rec));
}

HttpResponse NodeApi::remove(const EntitySpec& es, const std::string& id) {
  const Entity e = es.entity;
  if (centre().empty() || sync_.node_id.empty())
    return error_response(503, "not_enrolled", "",
                          "Ce poste n'est pas encore relié au hub : un technicien doit l'inscrire.");
  auto got = store_.get(e, id);
  if (!got) return status_response(got.status());
  if (!got->has_value() || (*got)->erased) return not_found();
  const Record& existing = **got;
  if (e == Entity::centre)
    return error_response(403, "forbidden", "", "Un centre ne peut pas être supprimé depuis un poste.");
  if (existing.deleted()) return json_response(200, render(existing));

  Change c;
  c.origin = sync_.node_id;
  c.entity = e;
  c.record_id = id;
  c.centre_id = existing.centre_id;
  c.op = Op::del;
  PermissionContext ctx{sync_.node_id, centre(), &existing, ""};
  if (Status s = check_node_change(ctx, c); !s) return status_response(s);

  LocalWrite w;
  w.entity = e;
  w.record_id = id;
  w.centre_id = existing.centre_id;
  w.op = Op::del;
  auto written = store_.write(w, now());
  if (!written) return status_response(written.status());
  after_write();
  auto rec = store_.get(e, id);
  if (!rec) return status_response(rec.status());
  if (!rec->has_value()) return not_found();
  return json_response(200, render(**rec));
}

HttpResponse NodeApi::erase(const std::string& id, const HttpRequest& req) {
  if (centre().empty() || sync_.node_id.empty())
    return error_response(503, "not_enrolled", "",
                          "Ce poste n'est pas encore relié au hub : un technicien doit l'inscrire.");
  auto body = body_object(req);
  if (!body) return status_response(body.status());
  auto confirm = body->find("confirm");
  if (confirm == body->end() || !confirm->is_boolean() || !confirm->get<bool>())
    return bad_request("confirm_required", "confirm",
                       "Confirmez l'effacement : il est définitif et efface les données sur ce poste, "
                       "sur le hub et sur tous les postes qui en ont une copie.");
  auto got = store_.get(Entity::registration, id);
  if (!got) return status_response(got.status());
  if (!got->has_value()) return not_found();
  const Record& existing = **got;
  json done = {{"id", id}, {"erased", true}};
  if (existing.erased) return json_response(200, done);

  Change c;
  c.origin = sync_.node_id;
  c.entity = Entity::registration;
  c.record_id = id;
  c.centre_id = existing.centre_id;
  c.op = Op::erase;
  PermissionContext ctx{sync_.node_id, centre(), &existing, ""};
  if (Status s = check_node_change(ctx, c); !s) return status_response(s);

  LocalWrite w;
  w.entity = Entity::registration;
  w.record_id = id;
  w.centre_id = existing.centre_id;
  w.op = Op::erase;
  auto written = store_.write(w, now());
  if (!written) return status_response(written.status());
  after_write();
  return json_response(200, done);
}

}  // namespace terril

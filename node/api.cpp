// The node's API: what only the node does (its centre, its permissions,
// its status and metrics, the "synced" and "registered" keys) over the
// shared layer of common/net/api_support.h and record_request.h.
#include "node/api.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "common/core/ids.h"
#include "common/core/routing.h"
#include "common/net/attendance_sheet.h"
#include "common/net/seats_api.h"
#include "common/net/json_codec.h"
#include "common/net/prometheus.h"
#include "common/version.h"
#include "node/commands.h"

namespace terril {
namespace {

using nlohmann::json;

constexpr std::string_view kWho = "du poste";
// Plausible corrected time: a node whose clock reads before 2000 has never
// learned the hub's time; it must not stamp consent or creation dates.
constexpr int64_t kMinPlausibleMs = 946684800000LL;

// GET /api/v1/status, whether the server filled req.path or only the target.
bool is_status_path(const HttpRequest& req) {
  constexpr std::string_view kStatus = "/api/v1/status";
  if (!req.path.empty()) return req.path == kStatus;
  auto parsed = parse_target(req.target);
  return parsed && parsed->path == kStatus;
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
  if (!hooks_.now_ms) hooks_.now_ms = wall_clock_ms;
  if (!hooks_.random16) hooks_.random16 = random_id_bytes;
  if (hooks_.version.empty()) hooks_.version = std::string(kVersion);
}

int64_t NodeApi::now() const {
  return hooks_.now_ms();
}

int64_t NodeApi::corrected_now() const {
  return now() + store_.clock_offset();
}

HttpResponse NodeApi::handle(const HttpRequest& req) {
  HttpResponse res = serve_api(*this, req, node_ui_files(), kWho);
  // The login page's one call before a session (its GET /api/v1/status
  // answers 401): the footer shows the certificate fingerprint from it.
  if (res.status == 401 && is_status_path(req)) {
    json body = json::parse(res.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_object()) {
      body["web_fingerprint"] = web_fingerprint_json();
      res.body = body.dump();
    }
  }
  return res;
}

json NodeApi::web_fingerprint_json() const {
  return hooks_.web_fingerprint.empty() ? json(nullptr) : json(hooks_.web_fingerprint);
}

std::optional<HttpResponse> NodeApi::own_route(const std::vector<std::string_view>& segs, const HttpRequest& req) {
  if (segs.size() == 1 && segs[0] == "status") {
    if (req.method != "GET") return method_not_allowed("GET");
    return status();
  }
  if (segs[0] == "people" && segs.size() <= 3) return people_route(segs, req);
  return std::nullopt;
}

// --- Sessions --------------------------------------------------------------

bool NodeApi::authenticated(const HttpRequest& req) {
  return has_session(req, sessions_, now());
}

HttpResponse NodeApi::login(const HttpRequest& req) {
  return staff_login(req,
                     StaffLogin{sessions_, limiter_, password_file_, hooks_.secure_cookie,
                                "Aucun mot de passe n'est défini sur ce poste : un technicien doit lancer "
                                "« terril-node passwd ».",
                                "Le mot de passe du poste est illisible. Prévenez le technicien."},
                     now());
}

HttpResponse NodeApi::logout(const HttpRequest& req) {
  return staff_logout(req, sessions_, hooks_.secure_cookie);
}

// --- Status and metrics ----------------------------------------------------

HttpResponse NodeApi::status() {
  auto stats = store_.stats();
  if (!stats) return status_response(stats.status(), kWho);
  auto rej = store_.rejections(50);
  if (!rej) return status_response(rej.status(), kWho);
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
      {"repair",
       {{"rounds", sync_.repair_rounds},
        {"last_check", time_or_null(sync_.last_check_ms)},
        {"last_repair", time_or_null(sync_.last_repair_ms)},
        {"sent", sync_.last_repair_pushed},
        {"received", sync_.last_repair_pulled},
        {"purged", sync_.last_repair_purged},
        {"renumbered", sync_.renumbered},
        {"hub_lost", sync_.hub_lost}}},
      {"wiped_at", time_or_null(sync_.wiped_at_ms)},
      {"wiped_message", sync_.wiped_at_ms ? json(wiped_notice_fr(sync_.wiped_count)) : json(nullptr)},
      {"erase_checkpoint_pending", stats->erase_checkpoint_pending},
      {"web_fingerprint", web_fingerprint_json()},
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
  prom_metric(out, "terril_node_repair_rounds_total", "counter", "Anti-entropy rounds completed with the hub.",
              static_cast<double>(sync_.repair_rounds));
  prom_metric(out, "terril_node_repaired_records_total", "counter",
              "Records sent, received or purged by anti-entropy repairs.", static_cast<double>(sync_.repaired_total));
  if (stats)
    prom_metric(out, "terril_node_erase_checkpoint_pending", "gauge",
                "1 while an erasure's bytes may remain in the WAL (checkpoint retried).",
                stats->erase_checkpoint_pending ? 1 : 0);
  prom_metric(out, "terril_node_store_ok", "gauge", "1 when the local store answered.", stats ? 1 : 0);
  return prom_response(std::move(out));
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
      extra["seat_at"] = seat_at_json(r);
    } else if (r.entity == Entity::event) {
      auto it = counts.find(r.id);
      uint64_t n = it == counts.end() ? 0 : it->second;
      extra["registered"] = n;
      // With a limit, what reception can promise: the seats held here that
      // nobody has confirmed yet (docs/design.md 9.3).
      json seats = nullptr;
      if (auto s = store_.seat_summary(r.id); s && *s) seats = seats_json(**s, centre());
      extra["seats"] = seats;
      auto cap = r.integer(Field::capacity);
      extra["places_left"] =
          cap && seats.is_object() && seats["here"].is_object() ? json(seats["here"]["free"]) : json(nullptr);
    }
    items.push_back(record_to_json(r, extra));
  }
  return items;
}

// --- Collections -----------------------------------------------------------

std::optional<HttpResponse> NodeApi::refuse_unenrolled() const {
  if (!centre().empty() && !sync_.node_id.empty()) return std::nullopt;
  return error_response(503, "not_enrolled", "",
                        "Ce poste n'est pas encore relié au hub : un technicien doit l'inscrire.");
}

RecordPolicy NodeApi::policy() const {
  RecordPolicy p;
  p.owner = RecordPolicy::Owner::own_centre;
  p.own_centre = centre();
  p.who = kWho;
  p.stamped_by_fr = "le poste";
  p.now_ms = corrected_now();
  p.min_plausible_ms = kMinPlausibleMs;
  p.random16 = hooks_.random16;
  return p;
}

HttpResponse NodeApi::write_and_render(const LocalWrite& w, int ok_status) {
  auto written = store_.write(w, now());
  if (!written) return status_response(written.status(), kWho);
  if (hooks_.on_local_write) hooks_.on_local_write();
  return written_answer(*this, w, ok_status, kWho);
}

HttpResponse NodeApi::create(const EntitySpec& es, const HttpRequest& req) {
  if (auto refused = refuse_unenrolled()) return std::move(*refused);
  if (es.entity == Entity::centre)
    return error_response(403, "forbidden", "",
                          "Un poste ne peut pas créer de centre : demandez-le à l'administrateur du hub.");
  PreparedWrite p = prepare_create(store_, es, req, policy());
  if (p.answer) return std::move(*p.answer);
  return write_and_render(p.write, 201);
}

// The node's one permission rule (check_node_change), then the write.
HttpResponse NodeApi::checked_write(const PreparedWrite& p, const std::string& host, int ok_status) {
  Change c;
  c.origin = sync_.node_id;
  c.entity = p.write.entity;
  c.record_id = p.write.record_id;
  c.centre_id = p.write.centre_id;
  c.op = p.write.op;
  c.fields = p.write.fields;
  PermissionContext ctx{sync_.node_id, centre(), p.existing ? &*p.existing : nullptr, host};
  if (Status s = check_node_change(ctx, c); !s) return status_response(s, kWho);
  return write_and_render(p.write, ok_status);
}

HttpResponse NodeApi::update(const EntitySpec& es, const std::string& id, const HttpRequest& req) {
  if (auto refused = refuse_unenrolled()) return std::move(*refused);
  PreparedWrite p = prepare_update(store_, es, id, req, policy());
  if (p.answer) return std::move(*p.answer);
  const Record& existing = *p.existing;
  if (p.write.fields.empty()) return json_response(200, render(existing));

  // The host of a registration's event may mark attendance.
  std::string host;
  if (es.entity == Entity::registration) {
    if (auto ev_id = existing.text(Field::event_id)) {
      auto ev = store_.get(Entity::event, *ev_id);
      if (ev && ev->has_value()) host = (*ev)->centre_id;
    }
  }
  return checked_write(p, host, 200);
}

HttpResponse NodeApi::remove(const EntitySpec& es, const std::string& id, const HttpRequest&) {
  if (auto refused = refuse_unenrolled()) return std::move(*refused);
  PreparedWrite p = prepare_delete(store_, es, id, kWho);
  if (p.answer) return std::move(*p.answer);
  if (es.entity == Entity::centre)
    return error_response(403, "forbidden", "", "Un centre ne peut pas être supprimé depuis un poste.");
  if (p.existing->deleted()) return json_response(200, render(*p.existing));
  return checked_write(p, "", 200);
}

HttpResponse NodeApi::erase(const std::string& id, const HttpRequest& req) {
  if (auto refused = refuse_unenrolled()) return std::move(*refused);
  PreparedWrite p = prepare_erase(store_, id, req, kWho,
                                  "Confirmez l'effacement : il est définitif et efface les données sur ce poste, sur "
                                  "le hub et sur tous les postes qui en ont une copie.");
  if (p.answer) return std::move(*p.answer);
  return checked_write(p, "", 200);
}

// Only the host holds every registration of its event.
HttpResponse NodeApi::attendance_sheet(const std::string& event_id, const HttpRequest&) {
  return attendance_sheet_response(store_, event_id, kWho, centre());
}

HttpResponse NodeApi::seats(const std::string& event_id, const HttpRequest& req) {
  if (req.method == "GET") return seats_get(store_, event_id, centre(), kWho);
  if (auto refused = refuse_unenrolled()) return std::move(*refused);
  bool wrote = false;
  HttpResponse res =
      seats_post(store_, event_id, req, centre(), kWho, now(), wrote, [this](const Record& r) { return render(r); });
  if (wrote && hooks_.on_local_write) hooks_.on_local_write();
  return res;
}

}  // namespace terril

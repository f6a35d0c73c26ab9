// The hub admin's HTTP face: JSON API under /api/v1 (behind the admin login),
// /healthz, /metrics, and the French dashboard at / (hub/ui, embedded). Also
// the exports shared by the dashboard and `terril-hub export`.
//
// Routes are pure request -> response functions over the store, the
// registry and the sync hub (for live state). Runs on the hub's event-loop
// thread. JSON bodies, French messages; errors are {"code","field","message"}
// as on the node (node/api.h), lists are {"items": [...], "next": cursor|null}.
//
//   GET  /healthz                         200 "ok" (no auth)
//   GET  /metrics                         Prometheus text (no auth, no personal data)
//   GET  /, /index.html, /assets/*        the embedded dashboard (no auth: it shows the login)
//   POST /api/v1/login {"password"}       200 + Set-Cookie terril_session; 401 bad_password;
//                                         429 too_many_attempts (+ Retry-After); 503 no_password
//   POST /api/v1/logout                   200, session revoked, cookie cleared
//   GET  /api/v1/status                   hub id, version, hub seq, connected nodes, db size
//   /api/v1/{registrations,events,prototype-notes,centres}
//     GET    ?centre_id&agglomeration&event_id&role&attended&kind&status&q&from&to
//             &include_deleted&after&limit   -> {"items", "next"}
//     GET    /{id}                        -> record (404 not_found)
//     POST   (create)                     -> 201 record. `centre_id` is required (the owner:
//                                            the host of an event); a centre is created with
//                                            its slug in "id" (its own centre_id)
//     PATCH or PUT /{id} (partial)        -> 200 record (the admin may change any record)
//     DELETE /{id}                        -> 200 record (tombstone); a centre served by a
//                                            pending or active node: 409
//   POST /api/v1/registrations/{id}/erase {"confirm": true} -> 200 {"id","erased":true}
//   GET  /api/v1/nodes                    -> {"items": [node...], "next": null, "hub_seq"}
//   POST /api/v1/nodes {node_id, centre_id} -> 201 {node_id, centre_id, code, expires_at,
//                                            hub_url, hub_fingerprint, command} (code shown once)
//   POST /api/v1/nodes/{id}/revoke        -> 200 node (the live link is cut at once)
//   POST /api/v1/nodes/{id}/replace       -> 200 like POST /nodes, for the replacement box
//   GET  /api/v1/reports/roles            ?from&to&event_id: registrations by role, per
//                                            centre, per agglomeration and in total
//   GET  /api/v1/reports/attendance       ?centre_id&kind&from&to: per event registered,
//                                            attended, capacity
//   GET  /api/v1/reports/prototypes       prototype notes by status per centre
//   GET  /api/v1/export?entity=E&format=csv|json&<export filters>  the file (attachment);
//                                            registrations exports are written to the admin log
//   GET  /api/v1/admin-log?limit=N        the audit log, newest first
// Every other /api path needs a live admin session cookie (401 unauthenticated);
// node credentials open nothing here. Mutating requests pass the CSRF rules of
// common/net/auth.h first.
//
// Computed keys: events carry "registered", "attended" (live registrations,
// present ones) and "places_left"; they are ignored in request bodies.
// Every write goes through Store::write (origin "hub") then
// SyncHub::notify_changes(), and leaves an admin_log row (entity, id, field
// names; never values).
//
// Dates in filters: ISO 8601, or YYYY-MM-DD meaning that day in Paris time;
// `to` is exclusive for a full timestamp and includes the whole day for a date.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/core/brand.h"
#include "common/core/model.h"
#include "common/core/status.h"
#include "common/net/auth.h"
#include "common/net/http.h"

namespace CLI {
class App;
}

namespace terril {

class Store;
class Registry;
class SyncHub;
struct LocalWrite;

// The dashboard compiled into the binary (hub/ui, embedded by hub/ui/embed.cmake).
std::span<const StaticFile> hub_ui_files();


// Filters of an export, from the CLI or the query string.
struct ExportFilters {
  std::string centre_id, agglomeration, event_id, role, attended, from, to, q;
};
void add_export_flags(CLI::App& app, ExportFilters& f);

// Parses a filter date: ISO 8601, or YYYY-MM-DD = Paris midnight of that day
// (`end_of_day`: of the next day, so that `to` includes the day). nullopt if
// neither.
std::optional<int64_t> parse_filter_date(const std::string& s, bool end_of_day);

// Streams the live records of `e` matching `f` as CSV (UTF-8 with BOM, ';',
// French dates, one header row, CRLF, then one row with the FEDER sentence)
// or JSON ({"operation", "feder", "items": [...]}), in bounded memory: one
// record at a time from Store::for_each to `out`. Registration exports are
// written to the admin log first (who, when, filters; never the content, and
// the search text only as "(set)"). Errors: invalid (bad filter, with a French
// message), io (store or output).
Status export_records(Store& store, Registry& registry, Entity e, const std::string& format, const ExportFilters& f,
                      const std::string& who, int64_t now_ms, std::ostream& out);

class AdminApi {
 public:
  struct Options {
    std::string password_file;  // argon2id hash, read at each login (`terril-hub passwd` acts at once)
    bool tls = true;            // cookies get Secure; enrolment URLs are wss://
    std::string version;
    std::function<int64_t()> now_ms;  // wall clock; default: system clock
    // The hub URL for the technician's `terril-node enrol --hub URL`; empty:
    // ws(s):// + the request's Host header.
    std::string public_url;
    std::string hub_fingerprint;                        // shown beside an enrolment code; may be empty
    std::function<std::array<uint8_t, 16>()> random16;  // new record ids; default: OpenSSL
    LoginLimiterOptions login_limits;
  };
  // REQUIRES: store (opened with origin "hub"), registry (on the store's
  // handle) and hub outlive the AdminApi; all are used from this thread only.
  AdminApi(Store& store, Registry& registry, SyncHub& hub, Options opts);

  // Never throws: an unexpected exception becomes 500 {"code":"internal"}.
  // Every response carries the security headers and Cache-Control: no-store
  // (assets: no-cache).
  HttpResponse handle(const HttpRequest& req);

 private:
  struct CentreInfo {
    std::string id, name, agglomeration;
  };

  HttpResponse route(const HttpRequest& req);
  HttpResponse login(const HttpRequest& req);
  HttpResponse logout(const HttpRequest& req);
  HttpResponse status();
  HttpResponse metrics();
  HttpResponse list(const EntitySpec& es, const HttpRequest& req);
  HttpResponse get_one(const EntitySpec& es, const std::string& id);
  HttpResponse create(const EntitySpec& es, const HttpRequest& req);
  HttpResponse update(const EntitySpec& es, const std::string& id, const HttpRequest& req);
  HttpResponse remove(const EntitySpec& es, const std::string& id, const HttpRequest& req);
  HttpResponse erase(const std::string& id, const HttpRequest& req);
  HttpResponse nodes_list();
  HttpResponse node_add(const HttpRequest& req);
  HttpResponse node_revoke(const std::string& id, const HttpRequest& req);
  HttpResponse node_replace(const std::string& id, const HttpRequest& req);
  HttpResponse report_roles(const HttpRequest& req);
  HttpResponse report_attendance(const HttpRequest& req);
  HttpResponse report_prototypes();
  HttpResponse export_http(const HttpRequest& req);
  HttpResponse admin_log(const HttpRequest& req);

  bool authenticated(const HttpRequest& req);
  int64_t now() const;
  std::string who(const HttpRequest& req) const;
  // Live centres in id order (reference data: a few dozen at most).
  Result<std::vector<CentreInfo>> centres();
  nlohmann::json render(const Record& r);
  nlohmann::json render_all(const std::vector<Record>& records);
  nlohmann::json code_json(const HttpRequest& req, const std::string& node_id, const std::string& centre_id,
                           const std::string& code, int64_t expires_at_ms) const;
  // Store::write as the hub, then fan out and audit. Errors as Store::write.
  Status admin_write(const HttpRequest& req, const LocalWrite& w, std::string_view action);

  Store& store_;
  Registry& registry_;
  SyncHub& hub_;
  Options opts_;
  SessionManager sessions_;
  LoginLimiter limiter_;
};

}  // namespace terril

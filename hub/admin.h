// The hub admin's HTTP face: JSON API under /api/v1 (behind the admin login),
// /healthz, /metrics, and the French dashboard at / (hub/ui, embedded).
//
// Routes are pure request -> response functions over the store, the
// registry and the sync hub (for live state). Runs on the hub's event-loop
// thread. Routing, errors, login, filters and the body -> write pipeline are
// the shared layer's (common/net/api_support.h, record_request.h), as on the
// node (node/api.h): errors are {"code","field","message"}, lists are
// {"items": [...], "next": cursor|null}. The AdminApi's code is split by
// role: admin.cpp (routes, sessions, status, records), admin_nodes.cpp (node
// enrolment), metrics.cpp; the reports and exports it serves are
// hub/reports.h and hub/export.h.
//
//   GET  /healthz                         200 "ok" (no auth)
//   GET  /metrics                         Prometheus text (no personal data); open when the
//                                         hub listens on loopback, else the admin session
//                                         cookie or "Authorization: Bearer <metrics_token>"
//                                         (401 unauthenticated)
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
//   GET  /api/v1/events/{id}/attendance-sheet  the event's printable sheet (HTML, names of
//                                            every registration: written to the admin log)
//   GET  /api/v1/nodes                    -> {"items": [node...], "next": null, "hub_seq"}
//   POST /api/v1/nodes {node_id, centre_id} -> 201 {node_id, centre_id, code, expires_at,
//                                            hub_url, hub_fingerprint, command, command_qr_svg}
//                                            (code shown once; the command carries
//                                            --fingerprint, the QR code encodes it)
//   POST /api/v1/nodes/{id}/revoke        -> 200 node (the live link is cut at once)
//   POST /api/v1/nodes/{id}/replace       -> 200 like POST /nodes, for the replacement box
//   GET  /api/v1/reports/roles            ?from&to&event_id: registrations by role, per
//                                            centre, per agglomeration and in total, with
//                                            "persons": distinct people counted the same way
//   GET  /api/v1/reports/indicators       ?from&to[&format=csv]: distinct people by role,
//                                            agglomeration, centre, kind, qpv, genre (hub/people.h)
//   GET  /api/v1/duplicates               ?status=open|same|different|all&after&limit: the
//                                            review queue of possible duplicates, side by side
//   POST /api/v1/duplicates/{id} {"decision": "same"|"different"|"open"} -> 200 {id, status,
//                                            decided_at, decided_by} (admin log)
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
// Dates in filters: the shared rule (common/net/api_support.h): ISO 8601, or
// YYYY-MM-DD meaning that day in Paris time; `to` is exclusive for a full
// timestamp and includes the whole day for a date.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/core/model.h"
#include "common/core/status.h"
#include "common/net/api_support.h"
#include "common/net/auth.h"
#include "common/net/http.h"
#include "common/net/record_request.h"
#include "hub/export.h"

namespace terril {

class Store;
class Registry;
class SyncHub;
struct LocalWrite;

// The dashboard compiled into the binary (hub/ui, embedded by hub/ui/embed.cmake).
std::span<const StaticFile> hub_ui_files();

// The command a technician runs on the box, as the hub prints it (CLI and
// dashboard): `sudo -u terril-node terril-node enrol --hub URL --code CODE
// --fingerprint FP` (no --fingerprint when `fingerprint` is empty: ws://).
std::string enrolment_command(const std::string& hub_url, const std::string& code, const std::string& fingerprint);

class AdminApi : private ApiHandlers {
 public:
  struct Options {
    std::string password_file;  // argon2id hash, read at each login (`terril-hub passwd` acts at once)
    bool tls = true;            // cookies get Secure; enrolment URLs are wss://
    std::string version;
    std::function<int64_t()> now_ms;  // wall clock; default: system clock
    // The hub URL for the technician's `terril-node enrol --hub URL`; empty:
    // ws(s):// + the request's Host header.
    std::string public_url;
    std::string hub_fingerprint;  // in the enrolment command (--fingerprint); empty only without TLS
    std::function<std::array<uint8_t, 16>()> random16;  // new record ids; default: random_id_bytes()
    LoginLimiterOptions login_limits;
    // GET /metrics without login or token (the hub listens on loopback).
    // false: it needs the dashboard's session cookie, or `metrics_token`.
    bool metrics_open = true;
    // Accepted as "Authorization: Bearer TOKEN" on /metrics (compared in
    // constant time); empty: no token, login only.
    std::string metrics_token;
  };
  // REQUIRES: store (opened with origin "hub"), registry (on the store's
  // handle) and hub outlive the AdminApi; all are used from this thread only.
  AdminApi(Store& store, Registry& registry, SyncHub& hub, Options opts);

  // Never throws: an unexpected exception becomes 500 {"code":"internal"}.
  // Every response carries the security headers and Cache-Control: no-store
  // (assets: no-cache).
  HttpResponse handle(const HttpRequest& req);

 private:
  // ApiHandlers (common/net/api_support.h), called by serve_api().
  HttpResponse metrics() override;                        // metrics.cpp
  bool metrics_allowed(const HttpRequest& req) override;  // metrics.cpp
  HttpResponse login(const HttpRequest& req) override;
  HttpResponse logout(const HttpRequest& req) override;
  bool authenticated(const HttpRequest& req) override;
  std::optional<HttpResponse> own_route(const std::vector<std::string_view>& segs, const HttpRequest& req) override;
  Store& records() override { return store_; }
  nlohmann::json render_all(const std::vector<Record>& records) override;
  HttpResponse create(const EntitySpec& es, const HttpRequest& req) override;
  HttpResponse update(const EntitySpec& es, const std::string& id, const HttpRequest& req) override;
  HttpResponse remove(const EntitySpec& es, const std::string& id, const HttpRequest& req) override;
  HttpResponse erase(const std::string& id, const HttpRequest& req) override;
  HttpResponse attendance_sheet(const std::string& event_id, const HttpRequest& req) override;
  HttpResponse seats(const std::string& event_id, const HttpRequest& req) override;

  HttpResponse status();
  HttpResponse reports(std::string_view which, const HttpRequest& req);
  // hub/admin_people.cpp: /duplicates[/{id}] and /reports/indicators.
  HttpResponse duplicates(const std::vector<std::string_view>& segs, const HttpRequest& req);
  HttpResponse indicators(const HttpRequest& req);
  HttpResponse export_http(const HttpRequest& req);
  HttpResponse admin_log(const HttpRequest& req);
  // admin_nodes.cpp
  HttpResponse nodes_list();
  HttpResponse node_add(const HttpRequest& req);
  HttpResponse node_revoke(const std::string& id, const HttpRequest& req);
  HttpResponse node_replace(const std::string& id, const HttpRequest& req);
  nlohmann::json code_json(const HttpRequest& req, const std::string& node_id, const std::string& centre_id,
                           const std::string& code, int64_t expires_at_ms) const;

  // Rejected changes stored per origin (node id). Errors: the store's.
  Result<std::map<std::string, uint64_t>> rejected_by_node();

  static constexpr std::string_view kWho = "du hub";  // status_response's `who`
  int64_t now() const;
  std::string who(const HttpRequest& req) const;
  RecordPolicy policy() const;
  nlohmann::json render(const Record& r);
  // Store::write as the hub, then fan out and audit. Errors as Store::write.
  Status admin_write(const HttpRequest& req, const LocalWrite& w, std::string_view action);
  // admin_write, then answers `ok_status` with the record as stored.
  HttpResponse write_and_render(const HttpRequest& req, const LocalWrite& w, std::string_view action, int ok_status);

  Store& store_;
  Registry& registry_;
  SyncHub& hub_;
  Options opts_;
  SessionManager sessions_;
  LoginLimiter limiter_;
};

}  // namespace terril

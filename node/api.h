// The node's HTTP API and web UI: one pure function from request to
// response over the local Store, the sync client's state and the staff
// sessions. The network server (node/ main) parses the wire and calls
// handle(); nothing here touches a socket or reads the clock.
//
// Routes (JSON bodies, French messages; errors are {"code","field","message"}):
// Routing, errors, login, filters and the body -> write pipeline are the
// shared layer's (common/net/api_support.h, record_request.h); this file
// keeps what only the node does: its centre, its permissions, its status.
//
//   GET  /healthz                      200 "ok" (no auth)
//   GET  /metrics                      Prometheus text (no auth, no personal data)
//   GET  /, /index.html, /assets/*     the embedded web UI (no auth: it shows the login form)
//   POST /api/v1/login {"password"}    200 + Set-Cookie terril_session; 401 bad_password;
//                                      429 too_many_attempts (+ Retry-After); 503 no_password
//   POST /api/v1/logout                200, session revoked, cookie cleared (no auth needed)
//   GET  /api/v1/status                link and store state for the sync banner; without a
//                                      session 401 unauthenticated, whose body also carries
//                                      "web_fingerprint" (below) for the login page's footer
//   /api/v1/{registrations,events,prototype-notes,centres}
//     GET    ?centre_id&event_id&role&kind&status&attended&agglomeration&q&from&to
//             &include_deleted&after&limit   -> {"items":[...], "next": cursor|null}
//     GET    /{id}                     -> record (404 not_found)
//     POST   (create)                  -> 201 record; centre_id is this node's centre
//     PATCH or PUT /{id} (partial)     -> 200 record
//     DELETE /{id}                     -> 200 record (tombstone)
//   POST /api/v1/registrations/{id}/erase {"confirm": true} -> 200 {"id","erased":true}
//   GET  /api/v1/events/{id}/attendance-sheet  the printable sheet (HTML) of an event this
//                                      node's centre hosts; another centre's: 403 not_host
//   GET  /api/v1/people?q=TEXT&limit=N   people of this centre whose name or phone match
//                                      (node/people_api.cpp): {"items": [{"person_id",
//                                      "first_name", "last_name", "phone", "email", "role",
//                                      "commune", "qpv", "genre", "registrations": N,
//                                      "last_event": {"id","title","starts_at"}|null}], "next": null}
//   GET  /api/v1/people/{person_id}     the person, "registrations" here (newest first,
//                                      each with its "event"), "attended": N
//   POST /api/v1/people/{person_id}/erase {"confirm": true} -> {"person_id", "erased": N}
// Every other /api path needs a live session cookie (401 unauthenticated).
// Mutating requests pass the CSRF rules of common/net/auth.h first.
//
// Registrations carry "synced" (the hub holds the last local change) and
// "seat_at" (when the seat rules last set its seat); events carry
// "registered" (live registrations this node knows, waiting ones included), "seats" (seats_json of
// common/net/seats_api.h: the event's seats as this node knows them) and "places_left" (the seats held here nobody has
// confirmed yet, null without capacity).
//   GET|POST /api/v1/events/{id}/seats  the event's seats, a seat move
//                                      (common/net/seats_api.h; only the host)
//
// Body keys beyond the entity's fields: see common/net/record_request.h. On
// create, centre_id may only be this node's centre (else 403); consent is
// stamped with the clock corrected by the hub offset, and refused (503
// clock) while that clock reads before 2000. Dates in filters: the shared
// rule (YYYY-MM-DD is that day in Paris time; `to` includes it).
//
// Permissions mirror check_node_change (common/core/routing.h): this node
// changes only its own centre's records, except `attended` on registrations
// of events its centre hosts; centres cannot be created or deleted here.
//
// Thread safety: handle() is called from one thread at a time (the Store is
// single-threaded); SessionManager and LoginLimiter may be shared.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/net/api_support.h"
#include "common/net/auth.h"
#include "common/net/http.h"
#include "common/net/record_request.h"
#include "common/store/store.h"
#include "node/sync_state.h"

namespace terril {

// The web UI compiled into the binary (node/ui, embedded by node/ui/embed.cmake).
std::span<const StaticFile> node_ui_files();

class NodeApi : private ApiHandlers {
 public:
  struct Hooks {
    std::function<int64_t()> now_ms;                    // wall clock, ms since the epoch
    std::function<std::array<uint8_t, 16>()> random16;  // for new record ids; default: random_id_bytes()
    std::function<void()> on_local_write;               // wake the sync client (may be empty)
    bool secure_cookie = false;                         // the listener is TLS: cookie gets Secure
    // The listener's certificate fingerprint (node/web_tls.h), or empty when
    // it serves plain HTTP: "web_fingerprint" of /api/v1/status (null when
    // empty), also in that path's 401 so the login page shows it. Public: the
    // certificate is sent to anyone in the TLS handshake.
    std::string web_fingerprint;
    std::string version;  // software version for /status; default: build's
  };

  // REQUIRES: store, sync, sessions and limiter outlive the NodeApi. The
  // password hash file (see write_password_file) is read at each login, so
  // `terril-node passwd` takes effect at once.
  NodeApi(Store& store, const SyncState& sync, SessionManager& sessions, LoginLimiter& limiter,
          std::string password_hash_file, Hooks hooks);

  // Never throws: an unexpected exception becomes 500 {"code":"internal"}.
  // Every response carries the security headers (add_security_headers).
  HttpResponse handle(const HttpRequest& req);

 private:
  // ApiHandlers (common/net/api_support.h), called by serve_api().
  HttpResponse metrics() override;
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
  // /api/v1/people[/{id}[/erase]] (node/people_api.cpp).
  HttpResponse people_route(const std::vector<std::string_view>& segs, const HttpRequest& req);
  nlohmann::json web_fingerprint_json() const;  // hooks_.web_fingerprint, null when empty
  int64_t now() const;
  int64_t corrected_now() const;  // wall clock corrected by the hub offset
  std::string centre() const { return sync_.centre_id; }
  // 503 not_enrolled before the node has a centre, else nullopt.
  std::optional<HttpResponse> refuse_unenrolled() const;
  RecordPolicy policy() const;
  // Store::write, then wakes the sync client; answers `ok_status` with the
  // record as stored, or the store error.
  HttpResponse write_and_render(const LocalWrite& w, int ok_status);
  // check_node_change on p.write over p.existing (`host`: the centre hosting
  // a registration's event), then write_and_render.
  HttpResponse checked_write(const PreparedWrite& p, const std::string& host, int ok_status);

  // Record JSON with the computed keys ("synced", "registered"...).
  nlohmann::json render(const Record& r);

  Store& store_;
  const SyncState& sync_;
  SessionManager& sessions_;
  LoginLimiter& limiter_;
  std::string password_file_;
  Hooks hooks_;
};

}  // namespace terril

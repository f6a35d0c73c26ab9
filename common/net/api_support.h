// The HTTP API layer both daemons share (node/api, hub/admin): response
// helpers, the one mapping from Status to HTTP, query and filter parsing with
// one date rule, paging, staff login, and the routing every API has in
// common (health, metrics, the embedded UI, CSRF, login, records). No
// socket and no clock read: times are passed in (wall_clock_ms below is only
// the daemons' default clock). Thread rules: the caller's; the handlers are
// called on the thread that calls serve_api().
//
// Errors are {"code", "field", "message"} with a French message; a form's
// errors add "errors": [every error]. Lists are {"items": [...], "next":
// cursor|null}.
//
// Filter dates (`from`, `to`): ISO 8601, or YYYY-MM-DD meaning that day in
// Paris time; `to` is exclusive for a full timestamp and includes the whole
// Paris day for a date.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/model.h"
#include "common/core/status.h"
#include "common/net/auth.h"
#include "common/net/http.h"
#include "common/store/store.h"

namespace terril {

constexpr std::string_view kApiPrefix = "/api/v1/";

// --- Responses ---------------------------------------------------------------

HttpResponse bad_request(std::string_view code, std::string_view field, std::string_view message_fr);
// 405 with an Allow header ("GET", "GET, POST"...).
HttpResponse method_not_allowed(std::string_view allow);
HttpResponse not_found();

// The one place store, registry and core Status values become HTTP answers:
// invalid 400 (the Status's own code and field), not_found 404, forbidden
// 403, conflict 409, full 507 disk_full, unavailable 503, anything else 500
// internal. `who` names the daemon in the French messages: "du poste" or
// "du hub" ("Le disque du poste est plein...").
HttpResponse status_response(const Status& s, std::string_view who);

// 400 for a form: the first error at the top level, every error in "errors".
// REQUIRES: errors is not empty.
HttpResponse invalid_response(const std::vector<Status>& errors);
// An invalid Status for field `field` with machine code `code` (see
// error_code()) and a French message.
Status field_error(std::string_view code, std::string_view field, std::string fr);

// "a/b/c" -> {"a", "b", "c"}; "" -> {}; views into `rest`.
std::vector<std::string_view> split_path(std::string_view rest);
// The request body as a JSON object. Errors: invalid "bad_json" (French
// message), for anything else.
Result<nlohmann::json> body_object(const HttpRequest& req);

// --- Queries -----------------------------------------------------------------

// Filters each collection accepts, passed to the store as exact matches.
bool allowed_filter(Entity e, std::string_view key);
// true/1/oui, false/0/non; nullopt otherwise.
std::optional<bool> parse_bool_param(const std::string& s);
// A whole number in [1, max], or nullopt.
std::optional<size_t> parse_limit(const std::string& v, size_t max);
// A filter date (rule above): nullopt when it is neither form. `end_of_day`
// for `to`: a YYYY-MM-DD date gives Paris midnight of the next day.
std::optional<int64_t> parse_filter_date(const std::string& s, bool end_of_day);
// 400 bad_format on field `key` for a date parse_filter_date refused.
HttpResponse bad_date(const std::string& key);
HttpResponse unknown_filter(const std::string& key);

// A collection's query string as a ListQuery: q, from, to, include_deleted,
// after, limit (1..1000) and allowed_filter keys. An empty value for a date
// or a filter means "any". nullopt on success (`out` filled), else the 400.
std::optional<HttpResponse> parse_list_query(Entity e, const HttpRequest& req, ListQuery& out);

// {"items": items, "next": next or null}.
nlohmann::json page_json(nlohmann::json items, const std::string& next);
// ISO 8601 for a time > 0, null for 0 ("never").
nlohmann::json time_or_null(int64_t ms);

// Unchanged as a client sees it: an absent flag reads false, absent tags
// read [], so sending back a record as read writes nothing.
bool same_value(const FieldSpec& fs, const Value* existing, const Value& v);

// The system clock in ms since the epoch: the daemons' default now_ms.
// Nothing in this layer calls it.
int64_t wall_clock_ms();

// --- Staff login -------------------------------------------------------------

// What a daemon's login needs; the references outlive the call.
struct StaffLogin {
  SessionManager& sessions;
  LoginLimiter& limiter;
  const std::string& password_file;  // read at each login
  bool secure_cookie;                // the listener is TLS
  std::string_view no_password_fr;   // 503 no_password: how to set one on this daemon
  std::string_view unreadable_fr;    // 500: the password file is unreadable
};
// POST /api/v1/login {"password"}: 200 + Set-Cookie (an older session of the
// request is revoked; the new one is bound to the password file as read);
// 400 required; 401 bad_password (counted by the limiter); 429
// too_many_attempts; 503 no_password; 500 unreadable file. While
// deferral_available() (called by the server), the 200 or 401 is deferred:
// the password check runs on the server's worker thread, and the session
// and limiter are updated back on the loop thread; the caller post-processes
// the final answer with then(). Elsewhere it answers at once.
HttpResponse staff_login(const HttpRequest& req, const StaffLogin& l, int64_t now_ms);
// POST /api/v1/logout: the request's session revoked, the cookie cleared.
HttpResponse staff_logout(const HttpRequest& req, SessionManager& sessions, bool secure_cookie);
// The request carries a live session cookie (extended by this use).
bool has_session(const HttpRequest& req, SessionManager& sessions, int64_t now_ms);

// --- Routing -----------------------------------------------------------------

// The handlers of one daemon's API. serve_api() calls them from the thread
// that calls it.
class ApiHandlers {
 public:
  virtual ~ApiHandlers() = default;
  virtual HttpResponse metrics() = 0;
  // GET /metrics may be answered for `req`; false: 401 unauthenticated
  // (with WWW-Authenticate: Bearer). Default: open (the node, on its LAN).
  virtual bool metrics_allowed(const HttpRequest& req) {
    (void)req;
    return true;
  }
  virtual HttpResponse login(const HttpRequest& req) = 0;
  virtual HttpResponse logout(const HttpRequest& req) = 0;
  virtual bool authenticated(const HttpRequest& req) = 0;
  // The daemon's own authenticated routes (status...), tried before the
  // record routes; nullopt when `segs` (the path after /api/v1/) is not one.
  virtual std::optional<HttpResponse> own_route(const std::vector<std::string_view>& segs, const HttpRequest& req) = 0;
  // The store GET /{entity}[/{id}] reads (serve_api answers those itself),
  // and the records as JSON with the daemon's computed keys.
  virtual Store& records() = 0;
  virtual nlohmann::json render_all(const std::vector<Record>& records) = 0;
  virtual HttpResponse create(const EntitySpec& es, const HttpRequest& req) = 0;
  virtual HttpResponse update(const EntitySpec& es, const std::string& id, const HttpRequest& req) = 0;
  virtual HttpResponse remove(const EntitySpec& es, const std::string& id, const HttpRequest& req) = 0;
  virtual HttpResponse erase(const std::string& id, const HttpRequest& req) = 0;
  // GET /api/v1/events/{id}/attendance-sheet: the printable sheet
  // (common/net/attendance_sheet.h), with the daemon's rule on who prints it.
  virtual HttpResponse attendance_sheet(const std::string& event_id, const HttpRequest& req) = 0;
  // GET|POST /api/v1/events/{id}/seats (common/net/seats_api.h), with the
  // daemon's centre and its wake-up after a move.
  virtual HttpResponse seats(const std::string& event_id, const HttpRequest& req) = 0;
};

// The answer after a successful write `w`: `ok_status` with the record as
// stored now (an erasure: 200 {"id", "erased": true}), or the store error.
HttpResponse written_answer(ApiHandlers& api, const LocalWrite& w, int ok_status, std::string_view who);

// One request, start to end: fills path and query from the target when the
// server did not, then 413 above kMaxBodyBytes; GET|HEAD /healthz; GET
// /metrics; GET|HEAD of the embedded UI (`ui`: /, /index.html, /assets/*);
// the CSRF rules; /api/v1/login and /logout; 401 without a session; then
// own_route and /api/v1/{entity}[/{id}[/erase]] (GET of a list or a record
// answered here: filters of parse_list_query, 404 for an erased record) and
// GET /api/v1/events/{id}/attendance-sheet. Never throws: an exception
// becomes 500 internal (`on_exception`, when set, is told what() first).
// Every response gets the security headers and, unless set, Cache-Control:
// no-store. `who` as in status_response.
HttpResponse serve_api(ApiHandlers& api, const HttpRequest& req, std::span<const StaticFile> ui, std::string_view who,
                       const std::function<void(const HttpRequest&, const char*)>& on_exception = nullptr);

}  // namespace terril

// Pure HTTP request/response values and helpers shared by the node and hub
// servers. No sockets, no Beast: the network server (common/net/ws_server)
// parses the wire into an HttpRequest, calls a handler, and writes the
// HttpResponse.
//
// Routes are pure functions HttpRequest -> HttpResponse (STYLE 19), so they
// are unit-tested without a listener.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace terril {

// Largest request body a handler accepts (413 beyond). The server should stop
// reading at this size too: bounds memory on a 1 GiB Pi.
constexpr size_t kMaxBodyBytes = 1 << 20;

struct HttpRequest {
  std::string method;                                      // "GET", "POST"... (upper case)
  std::string target;                                      // as received: "/api/v1/events?limit=10"
  std::string path;                                        // decoded path, no query: "/api/v1/events"
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::map<std::string, std::string> headers;              // lowercase names
  std::string body;
  std::string remote_addr;  // peer IP address, without port when possible
};

struct HttpResponse;
// Slow work for a response (an argon2 check): runs on a worker thread, and
// returns the function that builds the response back on the server's loop
// thread (where it may touch the daemon's state: sessions, limiter).
using DeferredWork = std::function<std::function<HttpResponse()>()>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  // Extra headers, e.g. {"Set-Cookie", "..."}, {"Retry-After", "30"}.
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the response is the one `deferred` builds: the server runs it
  // (see DeferredWork) and answers with its result, plus the headers set
  // here that it does not set itself (e.g. serve_api's security headers).
  // Only returned while deferral_available(); see resolve_now().
  DeferredWork deferred;

  // The first extra header with this name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// true while a server that runs DeferredWork calls a handler on this thread
// (common/net/ws_server does, within a DeferralScope). Elsewhere (tests and
// tools calling handlers directly), handlers answer synchronously.
bool deferral_available();
class DeferralScope {
 public:
  DeferralScope();
  ~DeferralScope();
  DeferralScope(const DeferralScope&) = delete;
  DeferralScope& operator=(const DeferralScope&) = delete;

 private:
  bool saved_;
};

// `res` itself, or, when deferred, its work run here on the calling thread
// and the result merged as the server does (its headers first, then those
// of `res` it does not set).
HttpResponse resolve_now(HttpResponse res);
// The final response of a deferred `res` from its built result `done`.
HttpResponse merge_deferred(const HttpResponse& res, HttpResponse done);
// Calls `after` on the final response: now when `res` is not deferred, else
// on the loop thread once the deferred response is built.
HttpResponse then(HttpResponse res, std::function<void(HttpResponse&)> after);

struct ParsedTarget {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
};

// Splits a request target into its decoded path and query. Path: %XX
// decoded ('+' stays '+'); query keys and values: %XX decoded and '+' ->
// space. A key without '=' gets the value "". Returns nullopt when the target
// does not start with '/', has a malformed %-escape, or decodes to a NUL byte
// or to invalid UTF-8 (answer 400).
std::optional<ParsedTarget> parse_target(std::string_view target);

// %XX decoding; `plus_is_space` for query strings. nullopt on a malformed
// escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);
// RFC 3986 unreserved characters kept, everything else %XX (for building
// links and tests).
std::string percent_encode(std::string_view s);

// Fills req.path and req.query from req.target. false if the target is bad.
bool fill_path_and_query(HttpRequest& req);

// The value of cookie `name` from the Cookie header(s), or nullopt.
std::optional<std::string> cookie(const HttpRequest& req, std::string_view name);
// A header by lowercase name, or "" when absent.
std::string header(const HttpRequest& req, std::string_view lowercase_name);
// The first query parameter with this key.
std::optional<std::string> query_param(const HttpRequest& req, std::string_view key);

// POST, PUT, PATCH, DELETE.
bool is_mutating(std::string_view method);
// Content-Type is application/json (parameters such as charset allowed).
bool is_json_content_type(std::string_view content_type);

// JSON body, content type application/json; charset=utf-8. Strings that are
// not valid UTF-8 are replaced, never thrown on.
HttpResponse json_response(int status, const nlohmann::json& body);
// {"code": code, "field": field or null, "message": message_fr}.
HttpResponse error_response(int status, std::string_view code, std::string_view field, std::string_view message_fr);
HttpResponse text_response(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");

// Headers every response of a browser-facing server carries: a strict CSP
// (default-src 'self', no framing), nosniff, no referrer. Existing headers
// of the same name are kept.
void add_security_headers(HttpResponse& res);

// --- Static files --------------------------------------------------------

// A file compiled into the binary (see node/ui/embed.cmake).
struct StaticFile {
  std::string_view path;  // "index.html", "assets/app.js" (no leading '/')
  std::string_view data;
};

// "text/html; charset=utf-8" for .html, and so on; application/octet-stream
// when unknown.
std::string_view content_type_for(std::string_view path);

// A relative path safe to look up: no "..", no "." segment, no empty
// segment, no backslash, no NUL, no leading '/'.
bool safe_relative_path(std::string_view rel);

// Serves `rel` (already decoded, no leading '/') from the embedded files.
// 404 when absent or unsafe. Cache-Control: no-cache (files change with the
// binary).
HttpResponse serve_embedded(std::span<const StaticFile> files, std::string_view rel);

// Serves `rel` from the directory `root` (development, or assets on disk).
// 404 when absent, unsafe (".." and friends), not a regular file or larger
// than 16 MiB.
HttpResponse serve_directory(const std::string& root, std::string_view rel);

}  // namespace terril

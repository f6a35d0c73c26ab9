// The hub admin's HTTP face: JSON API under /api/v1 (behind the admin login),
// /healthz, /metrics, and the French dashboard at /. Also the exports shared
// by the dashboard and `terril-hub export`.
//
// Routes are pure request -> response functions over the store, the
// registry and the sync hub (for live state). Runs on the hub's event-loop
// thread.
#pragma once

#include <functional>
#include <ostream>
#include <string>

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

// Filters of an export, from the CLI or the query string.
struct ExportFilters {
  std::string centre_id, agglomeration, event_id, role, attended, from, to, q;
};
void add_export_flags(CLI::App& app, ExportFilters& f);

// Streams the live records of `e` matching `f` as CSV (UTF-8 with BOM, ';',
// French dates, one header row, CRLF) or JSON (an array), in bounded memory.
// Personal-data exports are written to the admin log (who, when, filters;
// never the content). Errors: invalid (bad filter), io.
Status export_records(Store& store, Registry& registry, Entity e, const std::string& format,
                      const ExportFilters& f, const std::string& who, int64_t now_ms, std::ostream& out);

class AdminApi {
 public:
  struct Options {
    std::string password_file;
    bool tls = true;               // cookies get Secure
    std::string version;
    std::function<int64_t()> now_ms;
  };
  AdminApi(Store& store, Registry& registry, SyncHub& hub, Options opts);
  HttpResponse handle(const HttpRequest& req);

 private:
  Store& store_;
  Registry& registry_;
  SyncHub& hub_;
  Options opts_;
  SessionManager sessions_;
  LoginLimiter limiter_;
};

}  // namespace terril

// HTTP request builders and replies for tests of the daemons' APIs
// (NodeApi, AdminApi): requests are plain values, replies keep the parsed
// JSON body beside the raw response. No socket.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/net/http.h"

namespace terril::test {

struct Reply {
  int status = 0;
  nlohmann::json body;  // the parsed body when it is JSON, else null
  HttpResponse raw;
  std::string header(std::string_view name) const {
    const std::string* h = raw.header(name);
    return h ? *h : std::string();
  }
};

inline Reply to_reply(HttpResponse res) {
  Reply r;
  r.status = res.status;
  if (res.content_type.rfind("application/json", 0) == 0 && !res.body.empty()) r.body = nlohmann::json::parse(res.body);
  r.raw = std::move(res);
  return r;
}

// A request as a browser on `host` at `remote` sends it: path and query
// filled from `target`, a JSON body with its content type, the cookie (a
// "name=value" pair, may be empty), then `headers` (lowercase names) last.
// nullopt for a target fill_path_and_query refuses.
inline std::optional<HttpRequest> make_request(std::string method, std::string target,
                                               const std::optional<nlohmann::json>& body, const std::string& cookie,
                                               const std::string& host, const std::string& remote,
                                               const std::map<std::string, std::string>& headers = {}) {
  HttpRequest req;
  req.method = std::move(method);
  req.target = std::move(target);
  if (!fill_path_and_query(req)) return std::nullopt;
  req.headers["host"] = host;
  req.remote_addr = remote;
  if (body) {
    req.body = body->dump();
    req.headers["content-type"] = "application/json";
  }
  for (const auto& [k, v] : headers) req.headers[k] = v;
  if (!cookie.empty()) req.headers["cookie"] = cookie;
  return req;
}

// The "terril_session=..." pair of a login reply's Set-Cookie ("" if none).
inline std::string session_cookie_of(const Reply& login) {
  std::string set = login.header("Set-Cookie");
  return set.substr(0, set.find(';'));
}

}  // namespace terril::test

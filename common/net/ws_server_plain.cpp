// The listener's plain-TCP sessions (http://, ws://): HttpSession<PlainStream>
// instantiated here only, and to_request(), shared with ws_server_tls.cpp.
#include <cctype>

#include "common/net/ws_server_session.h"

namespace terril::ws {

template class HttpSession<PlainStream>;

HttpRequest to_request(const http::request<http::string_body>& r, const std::string& remote) {
  HttpRequest out;
  out.method = std::string(r.method_string());
  out.target = std::string(r.target());
  for (const auto& f : r) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  out.body = r.body();
  // The address alone: rate limits key on it, not on the ephemeral port.
  auto colon = remote.rfind(':');
  out.remote_addr = colon == std::string::npos ? remote : remote.substr(0, colon);
  return out;
}

void run_plain_session(std::shared_ptr<ConnGuard> guard, tcp::socket socket, std::string remote) {
  std::make_shared<HttpSession<PlainStream>>(PlainStream(std::move(socket)), std::move(guard), std::move(remote))
      ->run();
}

}  // namespace terril::ws

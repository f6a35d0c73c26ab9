// The client's entry points (see ws_client.h): URL parsing, and connect_ws()
// choosing the plain or the TLS path. Asio only: the connection code is in
// ws_client_plain.cpp and ws_client_tls.cpp.
#include "common/net/ws_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "common/net/ws_client_impl.h"

namespace terril {

namespace asio = boost::asio;

Result<ParsedUrl> parse_ws_url(const std::string& url) {
  ParsedUrl p;
  std::string rest;
  if (url.rfind("wss://", 0) == 0) {
    p.tls = true;
    rest = url.substr(6);
  } else if (url.rfind("ws://", 0) == 0) {
    p.tls = false;
    rest = url.substr(5);
  } else if (url.rfind("https://", 0) == 0) {
    p.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    p.tls = false;
    rest = url.substr(7);
  } else {
    return Status(Code::invalid, "hub URL '" + url + "' must start with wss:// (or ws:// for tests)");
  }
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  p.path = slash == std::string::npos ? "" : rest.substr(slash);
  if (p.path == "/") p.path.clear();
  if (!hostport.empty() && hostport[0] == '[') {
    auto close = hostport.find(']');
    if (close == std::string::npos) return Status(Code::invalid, "hub URL '" + url + "' has a bad IPv6 address");
    p.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') p.port = hostport.substr(close + 2);
  } else {
    auto colon = hostport.rfind(':');
    p.host = hostport.substr(0, colon);
    if (colon != std::string::npos) p.port = hostport.substr(colon + 1);
  }
  if (p.port.empty()) p.port = p.tls ? "443" : "80";
  if (p.host.empty()) return Status(Code::invalid, "hub URL '" + url + "' has no host");
  return p;
}

std::function<void()> connect_ws(EventLoop& loop, const ClientOptions& opts, std::shared_ptr<Peer> peer,
                                 ConnectDone done) {
  return connect_ws(loop.io(), opts, std::move(peer), std::move(done));
}

std::function<void()> connect_ws(asio::io_context& io, const ClientOptions& opts, std::shared_ptr<Peer> peer,
                                 ConnectDone done) {
  auto url = parse_ws_url(opts.url);
  if (!url) {
    asio::post(io, [done, s = url.status()] { done(s, ""); });
    return [] {};
  }
  if (url->tls) return ws::connect_tls(io, opts, std::move(*url), std::move(peer), std::move(done));
  return ws::connect_plain(io, opts, std::move(*url), std::move(peer), std::move(done));
}

}  // namespace terril

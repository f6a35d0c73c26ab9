// WebSocket client for the node's sync link: ws:// or wss:// with the hub's
// certificate pinned by SHA-256 fingerprint (no CA needed: the hub's
// certificate is self-signed and pinned at enrolment).
//
// Split for build cost (all internal to common/net): ws_client.cpp parses
// the URL and picks a path (Asio only); ws_client_session.h is one
// connection attempt, instantiated for plain TCP in ws_client_plain.cpp and
// for TLS in ws_client_tls.cpp; once open, the link is a WsLink (ws_link.h),
// the same Link the server uses.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/core/status.h"
#include "common/net/event_loop.h"
#include "common/net/link.h"

namespace boost::asio {
class io_context;
}

namespace terril {

struct ClientOptions {
  std::string url;    // ws://host:port or wss://host:port; path /v1/sync appended if absent
  std::string query;  // e.g. "enrol=1"
  std::string pin;    // expected cert fingerprint ("AB:CD:..."); empty = accept any (enrolment)
  int connect_timeout_s = 10;
  int ws_idle_timeout_s = 20;
  size_t ws_message_limit = 16u << 20;
};

// Connection attempt outcome. On success the peer gets on_open; on failure
// `done` is called with the error and the peer never hears anything.
// `seen_fingerprint` is the server certificate's fingerprint (TLS only).
using ConnectDone = std::function<void(Status, const std::string& seen_fingerprint)>;

// Start connecting. Returns a cancel function (closes the link or aborts the
// attempt). REQUIRES: called on the loop's thread.
std::function<void()> connect_ws(EventLoop& loop, const ClientOptions& opts, std::shared_ptr<Peer> peer,
                                 ConnectDone done);
// The same on an io_context of the caller's (tests, tools).
std::function<void()> connect_ws(boost::asio::io_context& io, const ClientOptions& opts, std::shared_ptr<Peer> peer,
                                 ConnectDone done);

// Split "wss://host:port/path" -> parts. Errors: invalid.
struct ParsedUrl {
  bool tls = true;
  std::string host;
  std::string port;
  std::string path;
};
Result<ParsedUrl> parse_ws_url(const std::string& url);

}  // namespace terril

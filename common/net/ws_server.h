// The daemons' listener: HTTP/1.1 on one port, optionally TLS, with
// WebSocket upgrade on one path handed to a Peer factory.
//
// Each accepted connection gets one session object kept alive by
// shared_from_this. Every read has a timeout and a size limit; an HTTP body
// over the limit gets 413. A handler's deferred response (HttpResponse::
// deferred, e.g. a login's argon2 check) runs on the server's one worker
// thread and is written when done, so the loop keeps serving meanwhile.
// Connections are capped in total and per source
// address; when the process is out of file descriptors (EMFILE, ENFILE) the
// accept loop waits 100 ms before trying again. The daemons run their EventLoop on one thread, so
// handlers and peers run there too (no strands needed).
//
// Split for build cost (all internal to common/net): ws_server.cpp binds,
// accepts and sets up TLS (Asio only); ws_server_session.h is the
// per-connection HTTP session, instantiated for plain TCP in
// ws_server_plain.cpp and for TLS in ws_server_tls.cpp; an upgraded
// connection becomes a WsLink (ws_link.h), the same Link the client uses.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/core/status.h"
#include "common/net/event_loop.h"
#include "common/net/http.h"
#include "common/net/link.h"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace terril {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                               // 0 = ephemeral; see Server::port()
  std::shared_ptr<boost::asio::ssl::context> tls;  // null = plain HTTP
  size_t body_limit = 1 << 20;                     // bytes of an HTTP request body
  int header_timeout_s = 10;                       // to receive a whole request
  int keepalive_idle_s = 5;                        // an idle keep-alive connection is closed after it
  std::string ws_path = "/v1/sync";                // empty = no WebSocket
  // Accepted sockets over either cap are refused at once (plain HTTP: a 503
  // with Connection: close; TLS: closed) and counted in Server::refused().
  // Above 90 % of max_connections, responses end keep-alive.
  size_t max_connections = 4096;
  size_t max_connections_per_address = 32;
  // A new WebSocket's read limit (inflated bytes) until its peer calls
  // Link::set_read_limit, e.g. after authenticating the other side. Room
  // for a Hello or an Enrol frame with a garbage code of a few KiB, which
  // the protocol refuses itself (BAD_ENROL_CODE).
  size_t ws_preauth_message_limit = 8u << 10;
  size_t ws_message_limit = 16u << 20;  // set_read_limit's ceiling; the protocol enforces a lower one
  int ws_idle_timeout_s = 20;           // pings at half of it; dead link closed after it
  // Handler responses with DeferredWork (logins) run on one worker thread,
  // in order; beyond this many waiting, the request gets a 503 at once.
  size_t max_deferred_waiting = 8;
};

// Loads the certificate chain and key (PEM files) into `opts.tls`: TLS 1.2
// and later only, TLS 1.2 with ECDHE and AEAD ciphers only (TLS 1.3: the
// library's suites, all AEAD), no renegotiation. Errors: invalid (with the
// file and OpenSSL's reason).
Status load_server_tls(ServerOptions& opts, const std::string& cert_path, const std::string& key_path);

// `host` is a literal loopback address (127.0.0.0/8, ::1). Names are not
// resolved: "localhost" is false.
bool is_loopback_address(const std::string& host);

// Called for a WebSocket upgrade; may return null to refuse (403).
using PeerFactory = std::function<std::shared_ptr<Peer>(const HttpRequest& upgrade)>;

class Server {
 public:
  Server(EventLoop& loop, ServerOptions opts, HttpHandler http, PeerFactory ws);
  // For tests and tools that drive an io_context of their own.
  Server(boost::asio::io_context& io, ServerOptions opts, HttpHandler http, PeerFactory ws);
  ~Server();
  // Bind and listen. Errors: unavailable ("address in use", with the address).
  Status start();
  // Stops accepting; waits for the deferred work already queued (at most
  // max_deferred_waiting logins' checks, tens of ms each), whose answers
  // are then dropped with the loop. Call on the loop's thread.
  void stop();
  uint16_t port() const;
  size_t connections() const;
  // Connections refused so far by the caps (ServerOptions::max_connections*).
  uint64_t refused() const;

  struct Impl;  // public so the per-connection session objects can reach it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace terril

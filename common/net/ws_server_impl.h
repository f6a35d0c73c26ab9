// The listener's shared state, internal to common/net's ws_server*.cpp:
// Server::Impl (options, handlers, acceptor, live count), the connection
// guard, and the two session entry points, one per translation unit so the
// plain and the TLS sessions compile in parallel (ws_server_plain.cpp,
// ws_server_tls.cpp). Asio only: no Beast HTTP or WebSocket here.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "common/net/ws_server.h"

namespace terril {

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  boost::asio::io_context& io;
  ServerOptions opts;
  HttpHandler http_handler;
  PeerFactory ws_factory;
  boost::asio::ip::tcp::acceptor acceptor;
  size_t live = 0;  // connections(): one per accepted socket until its session ends
  bool stopped = false;

  Impl(boost::asio::io_context& io_, ServerOptions o, HttpHandler h, PeerFactory f)
      : io(io_), opts(std::move(o)), http_handler(std::move(h)), ws_factory(std::move(f)), acceptor(io_) {}

  void do_accept();
};

namespace ws {

// Counts one live connection while it exists. Shared by a connection's HTTP
// session and, after an upgrade, its WebSocket link: one count each socket.
struct ConnGuard {
  std::shared_ptr<Server::Impl> srv;
  explicit ConnGuard(std::shared_ptr<Server::Impl> s) : srv(std::move(s)) { ++srv->live; }
  ~ConnGuard() { --srv->live; }
  ConnGuard(const ConnGuard&) = delete;
  ConnGuard& operator=(const ConnGuard&) = delete;
};

// Serve one accepted socket: HTTP/1.1, WebSocket upgrade on opts.ws_path.
void run_plain_session(std::shared_ptr<Server::Impl> srv, boost::asio::ip::tcp::socket socket, std::string remote);
// The same after a TLS handshake with *srv->opts.tls.
void run_tls_session(std::shared_ptr<Server::Impl> srv, boost::asio::ip::tcp::socket socket, std::string remote);

}  // namespace ws
}  // namespace terril

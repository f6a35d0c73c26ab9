// The listener's shared state, internal to common/net's ws_server*.cpp:
// Server::Impl (options, handlers, acceptor, live counts, the accept
// backoff timer, the worker of deferred responses), the connection guard, and the two session entry points, one per
// translation unit so the plain and the TLS sessions compile in parallel (ws_server_plain.cpp, ws_server_tls.cpp). Asio
// only: no Beast HTTP or WebSocket here.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/net/ws_server.h"

namespace terril {

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  boost::asio::io_context& io;
  ServerOptions opts;
  HttpHandler http_handler;
  PeerFactory ws_factory;
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::steady_timer backoff;                    // after EMFILE / ENFILE
  size_t live = 0;                                      // connections(): one per accepted socket until its session ends
  std::unordered_map<std::string, size_t> per_address;  // live connections by source address
  uint64_t refused = 0;                                 // refused(): over a cap
  std::unique_ptr<WorkerThread> worker;                 // deferred responses' work; made at first use
  size_t deferred_waiting = 0;                          // deferred responses queued or running
  bool stopped = false;
  bool in_fd_burst = false;  // in a burst of EMFILE / ENFILE (logged once)

  Impl(boost::asio::io_context& io_, ServerOptions o, HttpHandler h, PeerFactory f)
      : io(io_),
        opts(std::move(o)),
        http_handler(std::move(h)),
        ws_factory(std::move(f)),
        acceptor(io_),
        backoff(io_) {}

  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket s);
  WorkerThread& deferred_worker() {
    if (!worker) worker = std::make_unique<WorkerThread>();
    return *worker;
  }
  // Responses end keep-alive above 90 % of max_connections.
  bool crowded() const { return live * 10 > opts.max_connections * 9; }
};

namespace ws {

// Counts one live connection, in total and for its source address, while it
// exists. Shared by a connection's HTTP session and, after an upgrade, its
// WebSocket link: one count each socket.
struct ConnGuard {
  std::shared_ptr<Server::Impl> srv;
  std::string address;
  ConnGuard(std::shared_ptr<Server::Impl> s, std::string addr) : srv(std::move(s)), address(std::move(addr)) {
    ++srv->live;
    ++srv->per_address[address];
  }
  ~ConnGuard() {
    --srv->live;
    auto it = srv->per_address.find(address);
    if (it != srv->per_address.end() && --it->second == 0) srv->per_address.erase(it);
  }
  ConnGuard(const ConnGuard&) = delete;
  ConnGuard& operator=(const ConnGuard&) = delete;
};

// Serve one accepted socket, counted by `guard`: HTTP/1.1, WebSocket upgrade
// on opts.ws_path.
void run_plain_session(std::shared_ptr<ConnGuard> guard, boost::asio::ip::tcp::socket socket, std::string remote);
// The same after a TLS handshake with *guard->srv->opts.tls.
void run_tls_session(std::shared_ptr<ConnGuard> guard, boost::asio::ip::tcp::socket socket, std::string remote);

}  // namespace ws
}  // namespace terril

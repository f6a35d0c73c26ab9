// The listener (see ws_server.h): bind, accept with the connection caps and
// the out-of-descriptors backoff, start the plain or TLS session of each
// socket, and the TLS context setup.
// Asio only: the sessions are in ws_server_plain.cpp and ws_server_tls.cpp.
#include "common/net/ws_server.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <string_view>

#include "common/net/ws_fail.h"
#include "common/net/ws_server_impl.h"

namespace terril {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The refusal of a connection over a cap, written once without waiting: a
// client that does not read loses it, and the socket is closed at once.
constexpr std::string_view kBusyResponse =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Retry-After: 5\r\n"
    "Connection: close\r\n"
    "Content-Length: 92\r\n"
    "\r\n"
    "Serveur saturé : trop de connexions, réessayez.\n"
    "Server busy: too many connections, retry.\n";

constexpr auto kOutOfFdsBackoff = std::chrono::milliseconds(100);

bool out_of_fds(const boost::system::error_code& ec) {
  return ec == boost::system::errc::too_many_files_open || ec == boost::system::errc::too_many_files_open_in_system;
}

}  // namespace

void Server::Impl::do_accept() {
  acceptor.async_accept(asio::make_strand(io),
                        [self = shared_from_this()](boost::system::error_code ec, tcp::socket s) {
                          if (self->stopped) return;
                          self->on_accept(ec, std::move(s));
                        });
}

void Server::Impl::on_accept(boost::system::error_code ec, tcp::socket s) {
  if (out_of_fds(ec)) {
    // The connection stays in the backlog: accepting again at once would
    // spin. Wait for descriptors to be freed.
    if (!in_fd_burst) spdlog::warn("net: out of file descriptors ({}); accepting again every 100 ms", ec.message());
    in_fd_burst = true;
    backoff.expires_after(kOutOfFdsBackoff);
    backoff.async_wait([self = shared_from_this()](boost::system::error_code wec) {
      if (!wec && !self->stopped) self->do_accept();
    });
    return;
  }
  if (ec) {
    ws::fail(ec, "accept");
    return do_accept();
  }
  if (in_fd_burst) spdlog::info("net: accepting connections again");
  in_fd_burst = false;
  // Small frames both ways (Changes, Ack): without this, a frame that
  // follows one not yet acknowledged waits for the peer's delayed ACK
  // (~40 ms per hop; a promotion measured 51 ms p50 before, 16 after). The
  // client side sets it too (ws_client_session.h).
  boost::system::error_code nec;
  s.set_option(tcp::no_delay(true), nec);
  boost::system::error_code aec;
  auto ep = s.remote_endpoint(aec);
  std::string address = aec ? "?" : ep.address().to_string();
  auto same = per_address.find(address);
  if (live >= opts.max_connections || (same != per_address.end() && same->second >= opts.max_connections_per_address)) {
    ++refused;
    boost::system::error_code ignored;
    if (!opts.tls) {
      s.non_blocking(true, ignored);
      s.write_some(asio::buffer(kBusyResponse), ignored);
      s.shutdown(tcp::socket::shutdown_both, ignored);
    }
    s.close(ignored);
    return do_accept();
  }
  std::string remote = aec ? "?" : address + ":" + std::to_string(ep.port());
  auto guard = std::make_shared<ws::ConnGuard>(shared_from_this(), std::move(address));
  if (opts.tls)
    ws::run_tls_session(std::move(guard), std::move(s), std::move(remote));
  else
    ws::run_plain_session(std::move(guard), std::move(s), std::move(remote));
  do_accept();
}

// TLS 1.2: forward secrecy (ECDHE) and AEAD only. TLS 1.3 keeps OpenSSL's
// suites, all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

Status load_server_tls(ServerOptions& opts, const std::string& cert_path, const std::string& key_path) {
  auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  SSL_CTX* ctx = tls->native_handle();
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1)
    return Status(Code::internal, "TLS: the cipher list is not supported by this OpenSSL");
  boost::system::error_code ec;
  tls->use_certificate_chain_file(cert_path, ec);
  if (!ec) tls->use_private_key_file(key_path, asio::ssl::context::pem, ec);
  if (ec)
    return Status(Code::invalid, "TLS certificate " + cert_path + ": " + ec.message(), {},
                  "Certificat TLS illisible : " + cert_path + ".");
  opts.tls = std::move(tls);
  return {};
}

bool is_loopback_address(const std::string& host) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  return !ec && addr.is_loopback();
}

Server::Server(EventLoop& loop, ServerOptions opts, HttpHandler http, PeerFactory ws)
    : Server(loop.io(), std::move(opts), std::move(http), std::move(ws)) {}

Server::Server(asio::io_context& io, ServerOptions opts, HttpHandler http, PeerFactory ws)
    : impl_(std::make_shared<Impl>(io, std::move(opts), std::move(http), std::move(ws))) {}

Server::~Server() {
  stop();
}

Status Server::start() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(impl_->opts.host, ec);
  if (ec) return Status(Code::invalid, "listen address '" + impl_->opts.host + "' is not an IP address");
  tcp::endpoint ep(addr, impl_->opts.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Status(Code::unavailable, "cannot listen on " + impl_->opts.host + ":" + std::to_string(impl_->opts.port) +
                                         ": " + ec.message());
  impl_->do_accept();
  return Status::ok();
}

void Server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  impl_->backoff.cancel();
  if (impl_->worker) impl_->worker->join();  // its completions are then dropped with the loop
}

uint16_t Server::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

size_t Server::connections() const {
  return impl_->live;
}

uint64_t Server::refused() const {
  return impl_->refused;
}

}  // namespace terril

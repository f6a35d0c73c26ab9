// The listener (see ws_server.h): bind, accept with the connection bound,
// start the plain or TLS session of each socket, and the TLS context setup.
// Asio only: the sessions are in ws_server_plain.cpp and ws_server_tls.cpp.
#include "common/net/ws_server.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>

#include "common/net/ws_fail.h"
#include "common/net/ws_server_impl.h"

namespace terril {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::string endpoint_text(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

void Server::Impl::do_accept() {
  acceptor.async_accept(asio::make_strand(io),
                        [self = shared_from_this()](boost::system::error_code ec, tcp::socket s) {
                          if (self->stopped) return;
                          if (ec) {
                            ws::fail(ec, "accept");
                          } else if (self->live >= self->opts.max_connections) {
                            boost::system::error_code ignored;
                            s.close(ignored);  // over the bound: shed at once
                          } else {
                            std::string remote = endpoint_text(s);
                            if (self->opts.tls)
                              ws::run_tls_session(self, std::move(s), std::move(remote));
                            else
                              ws::run_plain_session(self, std::move(s), std::move(remote));
                          }
                          self->do_accept();
                        });
}

Status load_server_tls(ServerOptions& opts, const std::string& cert_path, const std::string& key_path) {
  auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
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
}

uint16_t Server::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

size_t Server::connections() const {
  return impl_->live;
}

}  // namespace terril

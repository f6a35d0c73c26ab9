// One connection attempt of the WebSocket client, ClientSession<Stream>:
// resolve, connect, TLS handshake with the certificate pinned (TlsStream),
// WebSocket handshake, then the stream's WsLink is handed to the peer.
// Internal to common/net: included by ws_client_plain.cpp and
// ws_client_tls.cpp only, each instantiating one stream type.
#pragma once

#include <openssl/x509.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>

#include "common/net/ws_client_impl.h"
#include "common/net/ws_link.h"

namespace terril::ws {

using tcp = asio::ip::tcp;

// "AB:CD:..." SHA-256 of a certificate; empty if it cannot be computed. In
// ws_client_tls.cpp.
std::string fingerprint_of(X509* cert);

template <class Stream>
class ClientSession : public std::enable_shared_from_this<ClientSession<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  template <class... Args>
  ClientSession(asio::io_context& io, ClientOptions opts, ParsedUrl url, std::shared_ptr<Peer> peer, ConnectDone done,
                Args&&... stream_args)
      : resolver_(io),
        link_(std::make_shared<WsLink<Stream>>(nullptr, std::forward<Args>(stream_args)...)),
        opts_(std::move(opts)),
        url_(std::move(url)),
        peer_(std::move(peer)),
        done_(std::move(done)) {}

  void start();
  // Before the link is open: abort the attempt (`done` hears the error).
  // After: close the link.
  void cancel();

  // The cancel function of connect_ws(): it outlives the attempt, and then
  // reaches the link alone.
  static std::function<void()> canceller(const std::shared_ptr<ClientSession>& s) {
    return [w = std::weak_ptr(s), l = std::weak_ptr(s->link_)] {
      if (auto s = w.lock()) return s->cancel();
      if (auto k = l.lock()) k->close();
    };
  }

 private:
  websocket::stream<Stream>& ws() { return link_->ws(); }
  void fail_connect(beast::error_code ec, const std::string& what);
  void on_resolve(beast::error_code ec, tcp::resolver::results_type results);
  void on_connect(beast::error_code ec, tcp::resolver::results_type::endpoint_type ep);
  void on_tls(beast::error_code ec);
  void on_handshake(beast::error_code ec);

  tcp::resolver resolver_;
  std::shared_ptr<WsLink<Stream>> link_;
  ClientOptions opts_;
  ParsedUrl url_;
  std::shared_ptr<Peer> peer_;  // handed to the link once open
  ConnectDone done_;
  std::string seen_;  // the server certificate's fingerprint (TLS)
  bool open_ = false, failed_ = false, close_on_open_ = false;
};

template <class Stream>
void ClientSession<Stream>::start() {
  if constexpr (kTls) {
    // Verify by pin, not by CA: record the leaf fingerprint, accept or refuse it here.
    auto& tls = ws().next_layer();
    tls.set_verify_mode(asio::ssl::verify_peer);
    tls.set_verify_callback([self = this->weak_from_this()](bool, asio::ssl::verify_context& ctx) {
      auto s = self.lock();
      if (!s) return false;
      int depth = X509_STORE_CTX_get_error_depth(ctx.native_handle());
      if (depth != 0) return true;  // the chain does not matter, the leaf must match
      s->seen_ = fingerprint_of(X509_STORE_CTX_get_current_cert(ctx.native_handle()));
      return s->opts_.pin.empty() || s->seen_ == s->opts_.pin;
    });
    SSL_set_tlsext_host_name(tls.native_handle(), url_.host.c_str());
  }
  beast::get_lowest_layer(ws()).expires_after(std::chrono::seconds(opts_.connect_timeout_s));
  resolver_.async_resolve(url_.host, url_.port,
                          beast::bind_front_handler(&ClientSession::on_resolve, this->shared_from_this()));
}

template <class Stream>
void ClientSession<Stream>::cancel() {
  if (failed_) return;
  if (open_) {
    if (peer_) close_on_open_ = true;  // inside `done`: the link opens next
    return link_->close();
  }
  beast::error_code ec;
  resolver_.cancel();
  beast::get_lowest_layer(ws()).socket().close(ec);
}

template <class Stream>
void ClientSession<Stream>::fail_connect(beast::error_code ec, const std::string& what) {
  if (failed_) return;
  failed_ = true;
  std::string msg = what + ": " + ec.message();
  Code code = Code::unavailable;
  if (kTls && !opts_.pin.empty() && !seen_.empty() && seen_ != opts_.pin) {
    msg = "hub certificate does not match the pinned fingerprint (seen " + seen_ + ")";
    code = Code::forbidden;
  }
  auto d = std::move(done_);
  peer_.reset();
  if (d) d(Status(code, msg), seen_);
}

template <class Stream>
void ClientSession<Stream>::on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
  if (ec) return fail_connect(ec, "resolve " + url_.host);
  beast::get_lowest_layer(ws()).async_connect(
      results, beast::bind_front_handler(&ClientSession::on_connect, this->shared_from_this()));
}

template <class Stream>
void ClientSession<Stream>::on_connect(beast::error_code ec, tcp::resolver::results_type::endpoint_type ep) {
  if (ec) return fail_connect(ec, "connect " + url_.host + ":" + url_.port);
  link_->set_remote(ep.address().to_string() + ":" + std::to_string(ep.port()));
  beast::get_lowest_layer(ws()).socket().set_option(tcp::no_delay(true));
  if constexpr (kTls) {
    beast::get_lowest_layer(ws()).expires_after(std::chrono::seconds(opts_.connect_timeout_s));
    ws().next_layer().async_handshake(asio::ssl::stream_base::client,
                                      beast::bind_front_handler(&ClientSession::on_tls, this->shared_from_this()));
  } else {
    on_tls({});
  }
}

template <class Stream>
void ClientSession<Stream>::on_tls(beast::error_code ec) {
  if (ec) return fail_connect(ec, "TLS handshake with " + link_->remote());
  // 0: the client offers Beast's default deflate window (15 bits). The
  // client trusts the server it pinned: its limit is the large one at once.
  link_->configure(
      {opts_.connect_timeout_s, opts_.ws_idle_timeout_s, opts_.ws_message_limit, opts_.ws_message_limit, 0});
  std::string target = url_.path.empty() ? "/v1/sync" : url_.path;
  if (!opts_.query.empty()) target += "?" + opts_.query;
  ws().async_handshake(url_.host + ":" + url_.port, target,
                       beast::bind_front_handler(&ClientSession::on_handshake, this->shared_from_this()));
}

template <class Stream>
void ClientSession<Stream>::on_handshake(beast::error_code ec) {
  if (ec) return fail_connect(ec, "WebSocket handshake with " + link_->remote());
  open_ = true;
  auto d = std::move(done_);
  if (d) d(Status::ok(), seen_);
  if (failed_ || !peer_) return;
  link_->attach(std::move(peer_));
  link_->open();
  if (close_on_open_) link_->close();
}

}  // namespace terril::ws

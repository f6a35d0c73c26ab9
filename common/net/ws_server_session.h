// One accepted connection of the listener, HttpSession<Stream>: HTTP/1.1
// requests with a read timeout and size limits (413 over the body limit),
// keep-alive with a short idle timeout (none near the connection cap),
// and the WebSocket upgrade handing the stream to a WsLink. Internal to
// common/net: included by ws_server_plain.cpp and ws_server_tls.cpp only,
// each instantiating one stream type (the build's heaviest code, split so
// no translation unit compiles both). Modelled on Beast's
// advanced_server_flex: one object per connection, one write in flight.
#pragma once

#include <spdlog/spdlog.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "common/net/ws_link.h"
#include "common/net/ws_server_impl.h"

namespace terril::ws {

namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr int kTlsHandshakeTimeoutS = 10;
constexpr int kWsHandshakeTimeoutS = 10;
// A hub holds thousands of links: 4 KiB deflate windows each way instead of
// 32 KiB keep a link's compression state small (a change is ~150 bytes, a
// batch compresses within itself); memLevel 4 is Beast's default.
constexpr int kServerWindowBits = 12;
// After answering a request whose body we did not read (413), the rest of
// the body is read and dropped for this long / this much before closing.
// Closing with unread input makes the kernel send a reset, and the client's
// stack may then drop our answer before its application reads it.
constexpr auto kLingerTime = std::chrono::seconds(3);
constexpr auto kLingerIdle = std::chrono::seconds(1);
constexpr size_t kLingerMaxBytes = 8u << 20;

// Beast's request -> HttpRequest (header names lower-cased, the address
// without the port). In ws_server_plain.cpp.
HttpRequest to_request(const http::request<http::string_body>& r, const std::string& remote);

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  HttpSession(Stream&& stream, std::shared_ptr<ConnGuard> guard, std::string remote)
      : stream_(std::move(stream)), guard_(std::move(guard)), remote_(std::move(remote)) {}

  void run() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(kTlsHandshakeTimeoutS));
      stream_.async_handshake(asio::ssl::stream_base::server,
                              beast::bind_front_handler(&HttpSession::on_handshake, this->shared_from_this()));
    } else {
      do_read();
    }
  }

 private:
  const ServerOptions& opts() const { return guard_->srv->opts; }

  void on_handshake(beast::error_code ec) {
    if (ec) return fail(ec, "tls handshake");
    do_read();
  }

  // `idle`: between two requests of a keep-alive connection, which is closed
  // unless the next request starts within keepalive_idle_s (a client cannot
  // hold a slot with a request every few seconds). A request, once started,
  // has header_timeout_s in all.
  void do_read(bool idle = false) {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(opts().body_limit);
    if (idle && buf_.size() == 0) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(opts().keepalive_idle_s));
      return http::async_read_some(stream_, buf_, *parser_,
                                   beast::bind_front_handler(&HttpSession::on_first_bytes, this->shared_from_this()));
    }
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(opts().header_timeout_s));
    http::async_read(stream_, buf_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
  }

  void on_first_bytes(beast::error_code ec, size_t n) {
    if (ec || parser_->is_done()) return on_read(ec, n);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(opts().header_timeout_s));
    http::async_read(stream_, buf_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream) return do_shutdown();
    if (ec == http::error::body_limit) {
      HttpResponse res;
      res.status = 413;
      res.body = R"({"code":"too_large","field":"","message":"La requête est trop volumineuse."})";
      return write(std::move(res), false, /*linger=*/true);
    }
    if (ec) return fail(ec, "http read");
    auto req = parser_->release();
    HttpRequest hr = to_request(req, remote_);
    if (!fill_path_and_query(hr)) {
      HttpResponse res;
      res.status = 400;
      res.body = R"({"code":"bad_target","field":"","message":"Adresse de requête invalide."})";
      return write(std::move(res), false);
    }
    if (websocket::is_upgrade(req)) return upgrade(req, hr);
    HttpResponse res;
    try {
      DeferralScope deferral;
      res = guard_->srv->http_handler(hr);
    } catch (const std::exception& e) {
      spdlog::error("http: handler failed on {} {}: {}", hr.method, hr.path, e.what());
      res = internal_error();
    }
    // Near the connection cap, answered connections are not kept open.
    bool keep_alive = req.keep_alive() && !guard_->srv->crowded();
    if (res.deferred) return defer(std::move(res), keep_alive);
    write(std::move(res), keep_alive);
  }

  static HttpResponse internal_error() {
    HttpResponse res;
    res.status = 500;
    res.body = R"({"code":"internal","field":"","message":"Erreur interne du serveur."})";
    return res;
  }

  // Runs `res.deferred` on the server's worker, then builds and writes the
  // answer on this connection's executor. No read meanwhile (one request at
  // a time). The worker's closure hands its reference to the session over
  // to the loop, so the session (and the server) is never released there.
  void defer(HttpResponse res, bool keep_alive) {
    auto& srv = *guard_->srv;
    if (srv.deferred_waiting >= srv.opts.max_deferred_waiting) {
      HttpResponse busy;
      busy.status = 503;
      busy.body = R"({"code":"busy","field":"","message":"Trop de connexions en cours. Réessayez dans un instant."})";
      busy.headers.emplace_back("Retry-After", "1");
      return write(merge_deferred(res, std::move(busy)), keep_alive);
    }
    ++srv.deferred_waiting;
    auto work = std::move(res.deferred);
    auto ex = stream_.get_executor();
    srv.deferred_worker().post(
        [work = std::move(work), ex, self = this->shared_from_this(), res = std::move(res), keep_alive]() mutable {
          std::function<HttpResponse()> build;
          try {
            build = work();
          } catch (const std::exception& e) {
            spdlog::error("http: deferred work failed: {}", e.what());
          }
          asio::post(ex, [self = std::move(self), build = std::move(build), res = std::move(res), keep_alive]() {
            --self->guard_->srv->deferred_waiting;
            HttpResponse done = internal_error();
            try {
              if (build) done = build();
            } catch (const std::exception& e) {
              spdlog::error("http: deferred response failed: {}", e.what());
            }
            self->write(merge_deferred(res, std::move(done)), keep_alive);
          });
        });
  }

  // The stream moves to a WsLink, which shares this connection's guard; the
  // factory's peer hears on_closed even when the WebSocket accept fails.
  void upgrade(const http::request<http::string_body>& req, const HttpRequest& hr) {
    const auto& o = opts();
    std::shared_ptr<Peer> peer;
    if (!o.ws_path.empty() && hr.path == o.ws_path && guard_->srv->ws_factory) peer = guard_->srv->ws_factory(hr);
    if (!peer) {
      HttpResponse res;
      res.status = hr.path == o.ws_path ? 403 : 404;
      res.body = R"({"code":"no_websocket","field":"","message":"Accès refusé."})";
      return write(std::move(res), false);
    }
    auto link = std::make_shared<WsLink<Stream>>(guard_, std::move(stream_));
    link->set_remote(remote_);
    // Small until the peer has authenticated the other side (set_read_limit).
    link->configure(
        {kWsHandshakeTimeoutS, o.ws_idle_timeout_s, o.ws_preauth_message_limit, o.ws_message_limit, kServerWindowBits});
    link->attach(std::move(peer));
    link->ws().async_accept(req, [link](beast::error_code ec) {
      if (ec) return link->finish(ec, "ws accept");
      link->open();
    });
  }

  // `linger`: the request's body was not read; drain it before closing.
  void write(HttpResponse res, bool keep_alive, bool linger = false) {
    auto msg = std::make_shared<http::response<http::string_body>>();
    msg->version(11);
    msg->result(static_cast<http::status>(res.status));
    msg->set(http::field::server, "terril");
    msg->set(http::field::content_type, res.content_type);
    for (auto& [k, v] : res.headers) msg->insert(k, v);
    msg->body() = std::move(res.body);
    msg->keep_alive(keep_alive);
    msg->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *msg,
                      [self = this->shared_from_this(), msg, keep_alive, linger](beast::error_code ec, size_t) {
                        if (ec) return fail(ec, "http write");
                        if (linger) return self->linger(std::chrono::steady_clock::now() + kLingerTime, 0);
                        if (!keep_alive) return self->do_shutdown();
                        self->do_read(/*idle=*/true);
                      });
  }

  // Read and drop input until the client stops sending (idle), closes, or
  // the bounds are reached; then shut down.
  void linger(std::chrono::steady_clock::time_point until, size_t dropped) {
    auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero() || dropped > kLingerMaxBytes) return do_shutdown();
    beast::get_lowest_layer(stream_).expires_after(std::min<std::chrono::steady_clock::duration>(left, kLingerIdle));
    buf_.consume(buf_.size());
    stream_.async_read_some(buf_.prepare(64 * 1024),
                            [self = this->shared_from_this(), until, dropped](beast::error_code ec, size_t n) {
                              if (ec) return self->do_shutdown();
                              self->linger(until, dropped + n);
                            });
  }

  void do_shutdown() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  Stream stream_;
  std::shared_ptr<ConnGuard> guard_;
  std::string remote_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace terril::ws

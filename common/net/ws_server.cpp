// Beast listener: plain or TLS HTTP sessions, WebSocket upgrade to a Peer.
// Modelled on Beast's advanced_server_flex: one object per connection, one
// write in flight, timeouts on every read.
#include "common/net/ws_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>

namespace terril {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxQueuedFrames = 64;  // a peer that stops reading is dropped
constexpr int kTlsHandshakeTimeoutS = 10;
// After answering a request whose body we did not read (413), the rest of
// the body is read and dropped for this long / this much before closing.
// Closing with unread input makes the kernel send a reset, and the client's
// stack may then drop our answer before its application reads it.
constexpr auto kLingerTime = std::chrono::seconds(3);
constexpr auto kLingerIdle = std::chrono::seconds(1);
constexpr size_t kLingerMaxBytes = 8u << 20;

// Log what is unexpected; stay quiet on the normal ways a connection ends.
void fail(beast::error_code ec, const char* what) {
  if (ec == asio::error::operation_aborted || ec == websocket::error::closed || ec == http::error::end_of_stream ||
      ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
      ec == beast::error::timeout)
    return;
  spdlog::debug("net: {}: {}", what, ec.message());
}

std::string endpoint_text(const tcp::socket& s) {
  beast::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  asio::io_context& io;
  ServerOptions opts;
  HttpHandler http_handler;
  PeerFactory ws_factory;
  tcp::acceptor acceptor;
  size_t live = 0;
  bool stopped = false;

  Impl(asio::io_context& io_, ServerOptions o, HttpHandler h, PeerFactory f)
      : io(io_), opts(std::move(o)), http_handler(std::move(h)), ws_factory(std::move(f)), acceptor(io_) {}

  void do_accept();
};

namespace {

// Counts live connections for the lifetime of a session object.
struct ConnGuard {
  std::shared_ptr<Server::Impl> srv;
  explicit ConnGuard(std::shared_ptr<Server::Impl> s) : srv(std::move(s)) { ++srv->live; }
  ~ConnGuard() { --srv->live; }
  ConnGuard(const ConnGuard&) = delete;
};

template <class Stream>
class WsSession : public Link, public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(Stream&& stream, std::shared_ptr<Server::Impl> srv, std::string remote)
      : ws_(std::move(stream)), guard_(std::move(srv)), remote_(std::move(remote)) {}

  void run(http::request<http::string_body> req, std::shared_ptr<Peer> peer) {
    peer_ = std::move(peer);
    beast::get_lowest_layer(ws_).expires_never();  // the websocket has its own timeouts
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(10);
    t.idle_timeout = std::chrono::seconds(guard_.srv->opts.ws_idle_timeout_s);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    websocket::permessage_deflate pmd;
    pmd.server_enable = true;
    pmd.client_enable = true;
    pmd.msg_size_threshold = 64;  // tiny frames (acks) are not worth deflating
    // A hub holds thousands of links: 4 KiB windows each way instead of 32 KiB
    // keep a link's compression state small (a change is ~150 bytes, a batch
    // compresses within itself); memLevel 4 is Beast's default.
    pmd.server_max_window_bits = 12;
    pmd.client_max_window_bits = 12;
    ws_.set_option(pmd);
    ws_.read_message_max(guard_.srv->opts.ws_message_limit);
    ws_.binary(true);
    ws_.async_accept(req, beast::bind_front_handler(&WsSession::on_accept, this->shared_from_this()));
  }

  // Link
  void send(std::string frame) override {
    if (closing_ || closed_) return;
    if (queue_.size() >= kMaxQueuedFrames) {
      spdlog::warn("net: {} does not read its frames; closing", remote_);
      abort("send queue full");
      return;
    }
    bytes_sent_ += frame.size();
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1) do_write();
  }
  void close() override {
    if (closing_ || closed_) return;
    closing_ = true;
    if (queue_.empty()) do_close();
  }
  size_t queued() const override { return queue_.size(); }
  const std::string& remote() const override { return remote_; }
  uint64_t bytes_sent() const override { return bytes_sent_; }
  uint64_t bytes_received() const override { return bytes_received_; }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return finish(ec, "ws accept");
    peer_->on_open(*this);
    do_read();
  }

  void do_read() {
    if (closed_) return;
    ws_.async_read(buf_, beast::bind_front_handler(&WsSession::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t n) {
    if (ec) return finish(ec, "ws read");
    bytes_received_ += n;
    std::string frame = beast::buffers_to_string(buf_.data());
    buf_.consume(buf_.size());
    if (!closed_) peer_->on_message(frame);
    do_read();
  }

  void do_write() {
    ws_.async_write(asio::buffer(queue_.front()),
                    beast::bind_front_handler(&WsSession::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, size_t) {
    if (ec) return finish(ec, "ws write");
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    if (closing_) do_close();
  }

  void do_close() {
    ws_.async_close(websocket::close_code::normal,
                    [self = this->shared_from_this()](beast::error_code ec) { self->finish(ec, "ws close"); });
  }

  void abort(const char* why) {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    finish({}, why);
  }

  void finish(beast::error_code ec, const char* what) {
    if (closed_) return;
    closed_ = true;
    if (ec) fail(ec, what);
    std::string why = ec ? ec.message() : std::string(what);
    if (peer_) peer_->on_closed(why);
    peer_.reset();
  }

  websocket::stream<Stream> ws_;
  ConnGuard guard_;
  std::string remote_;
  beast::flat_buffer buf_;
  std::deque<std::string> queue_;
  std::shared_ptr<Peer> peer_;
  bool closing_ = false;
  bool closed_ = false;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
};

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

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(Stream&& stream, std::shared_ptr<Server::Impl> srv, std::string remote)
      : stream_(std::move(stream)), guard_(std::move(srv)), remote_(std::move(remote)) {}

  void run() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(kTlsHandshakeTimeoutS));
      stream_.async_handshake(asio::ssl::stream_base::server,
                              beast::bind_front_handler(&HttpSession::on_handshake, this->shared_from_this()));
    } else {
      do_read();
    }
  }

 private:
  void on_handshake(beast::error_code ec) {
    if (ec) return fail(ec, "tls handshake");
    do_read();
  }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(guard_.srv->opts.body_limit);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(guard_.srv->opts.header_timeout_s));
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
    const auto& o = guard_.srv->opts;
    if (websocket::is_upgrade(req)) {
      std::shared_ptr<Peer> peer;
      if (!o.ws_path.empty() && hr.path == o.ws_path && guard_.srv->ws_factory) peer = guard_.srv->ws_factory(hr);
      if (!peer) {
        HttpResponse res;
        res.status = hr.path == o.ws_path ? 403 : 404;
        res.body = R"({"code":"no_websocket","field":"","message":"Accès refusé."})";
        return write(std::move(res), false);
      }
      std::make_shared<WsSession<Stream>>(std::move(stream_), guard_.srv, remote_)->run(std::move(req), peer);
      return;
    }
    HttpResponse res;
    try {
      res = guard_.srv->http_handler(hr);
    } catch (const std::exception& e) {
      spdlog::error("http: handler failed on {} {}: {}", hr.method, hr.path, e.what());
      res = HttpResponse{};
      res.status = 500;
      res.body = R"({"code":"internal","field":"","message":"Erreur interne du serveur."})";
    }
    write(std::move(res), req.keep_alive());
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
                        self->do_read();
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
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  Stream stream_;
  ConnGuard guard_;
  std::string remote_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

void Server::Impl::do_accept() {
  acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
    if (self->stopped) return;
    if (ec) {
      fail(ec, "accept");
    } else if (self->live >= self->opts.max_connections) {
      beast::error_code ignored;
      s.close(ignored);  // over the bound: shed at once
    } else {
      std::string remote = endpoint_text(s);
      if (self->opts.tls) {
        std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(
            beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(s)), *self->opts.tls), self, remote)
            ->run();
      } else {
        std::make_shared<HttpSession<beast::tcp_stream>>(beast::tcp_stream(std::move(s)), self, remote)->run();
      }
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
  beast::error_code ec;
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
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

uint16_t Server::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

size_t Server::connections() const {
  return impl_->live;
}

}  // namespace terril

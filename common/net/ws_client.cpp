// WebSocket client (node -> hub). TLS with the hub's certificate pinned by
// its SHA-256 fingerprint: the chain is not checked against CAs (the hub's
// certificate is self-signed), the leaf certificate must match the pin.
#include "common/net/ws_client.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>

namespace terril {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxQueuedFrames = 64;

std::string fingerprint_of(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!cert || X509_digest(cert, EVP_sha256(), md, &n) != 1) return {};
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    if (i) out += ':';
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

template <class Stream>
class WsClient : public Link, public std::enable_shared_from_this<WsClient<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>;

  template <class... Args>
  WsClient(asio::io_context& io, ClientOptions opts, ParsedUrl url, std::shared_ptr<Peer> peer, ConnectDone done,
           Args&&... stream_args)
      : resolver_(io),
        ws_(std::forward<Args>(stream_args)...),
        opts_(std::move(opts)),
        url_(std::move(url)),
        peer_(std::move(peer)),
        done_(std::move(done)) {}

  void start() {
    if constexpr (kTls) {
      // Verify by pin, not by CA: record the leaf fingerprint, accept or refuse it here.
      ws_.next_layer().set_verify_mode(asio::ssl::verify_peer);
      ws_.next_layer().set_verify_callback([self = this->weak_from_this()](bool, asio::ssl::verify_context& ctx) {
        auto s = self.lock();
        if (!s) return false;
        int depth = X509_STORE_CTX_get_error_depth(ctx.native_handle());
        if (depth != 0) return true;  // the chain does not matter, the leaf must match
        s->seen_ = fingerprint_of(X509_STORE_CTX_get_current_cert(ctx.native_handle()));
        return s->opts_.pin.empty() || s->seen_ == s->opts_.pin;
      });
      SSL_set_tlsext_host_name(ws_.next_layer().native_handle(), url_.host.c_str());
    }
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(opts_.connect_timeout_s));
    resolver_.async_resolve(url_.host, url_.port,
                            beast::bind_front_handler(&WsClient::on_resolve, this->shared_from_this()));
  }

  void cancel() {
    if (closed_) return;
    if (open_) return close();
    beast::error_code ec;
    resolver_.cancel();
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  // Link
  void send(std::string frame) override {
    if (!open_ || closing_ || closed_) return;
    if (queue_.size() >= kMaxQueuedFrames) {
      abort_link("send queue full");
      return;
    }
    bytes_sent_ += frame.size();
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1) do_write();
  }
  void close() override {
    if (closing_ || closed_ || !open_) return;
    closing_ = true;
    if (queue_.empty()) do_close();
  }
  size_t queued() const override { return queue_.size(); }
  const std::string& remote() const override { return remote_; }
  uint64_t bytes_sent() const override { return bytes_sent_; }
  uint64_t bytes_received() const override { return bytes_received_; }

 private:
  void fail_connect(beast::error_code ec, const std::string& what) {
    if (closed_) return;
    closed_ = true;
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

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail_connect(ec, "resolve " + url_.host);
    beast::get_lowest_layer(ws_).async_connect(
        results, beast::bind_front_handler(&WsClient::on_connect, this->shared_from_this()));
  }

  void on_connect(beast::error_code ec, tcp::resolver::results_type::endpoint_type ep) {
    if (ec) return fail_connect(ec, "connect " + url_.host + ":" + url_.port);
    remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
    if constexpr (kTls) {
      beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(opts_.connect_timeout_s));
      ws_.next_layer().async_handshake(asio::ssl::stream_base::client,
                                       beast::bind_front_handler(&WsClient::on_tls, this->shared_from_this()));
    } else {
      on_tls({});
    }
  }

  void on_tls(beast::error_code ec) {
    if (ec) return fail_connect(ec, "TLS handshake with " + remote_);
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(opts_.connect_timeout_s);
    t.idle_timeout = std::chrono::seconds(opts_.ws_idle_timeout_s);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    pmd.server_enable = true;
    pmd.msg_size_threshold = 64;
    ws_.set_option(pmd);
    ws_.read_message_max(opts_.ws_message_limit);
    ws_.binary(true);
    std::string target = url_.path.empty() ? "/v1/sync" : url_.path;
    if (!opts_.query.empty()) target += "?" + opts_.query;
    ws_.async_handshake(url_.host + ":" + url_.port, target,
                        beast::bind_front_handler(&WsClient::on_handshake, this->shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return fail_connect(ec, "WebSocket handshake with " + remote_);
    open_ = true;
    auto d = std::move(done_);
    if (d) d(Status::ok(), seen_);
    if (closed_ || !peer_) return;
    peer_->on_open(*this);
    do_read();
  }

  void do_read() {
    if (closed_) return;
    ws_.async_read(buf_, beast::bind_front_handler(&WsClient::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t n) {
    if (ec) return finish(ec.message());
    bytes_received_ += n;
    std::string frame = beast::buffers_to_string(buf_.data());
    buf_.consume(buf_.size());
    if (peer_) peer_->on_message(frame);
    do_read();
  }

  void do_write() {
    ws_.async_write(asio::buffer(queue_.front()),
                    beast::bind_front_handler(&WsClient::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, size_t) {
    if (ec) return finish(ec.message());
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    if (closing_) do_close();
  }

  void do_close() {
    ws_.async_close(websocket::close_code::normal, [self = this->shared_from_this()](beast::error_code ec) {
      self->finish(ec ? ec.message() : "closed");
    });
  }

  void abort_link(const char* why) {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    finish(why);
  }

  void finish(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    if (peer_) peer_->on_closed(why);
    peer_.reset();
  }

  tcp::resolver resolver_;
  websocket::stream<Stream> ws_;
  ClientOptions opts_;
  ParsedUrl url_;
  std::shared_ptr<Peer> peer_;
  ConnectDone done_;
  std::string remote_ = "?";
  std::string seen_;
  beast::flat_buffer buf_;
  std::deque<std::string> queue_;
  bool open_ = false, closing_ = false, closed_ = false;
  uint64_t bytes_sent_ = 0, bytes_received_ = 0;
};

std::shared_ptr<asio::ssl::context> client_tls_context() {
  static auto ctx = [] {
    auto c = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    c->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
    return c;
  }();
  return ctx;
}

}  // namespace

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
  if (url->tls) {
    auto ctx = client_tls_context();
    auto c = std::make_shared<WsClient<beast::ssl_stream<beast::tcp_stream>>>(io, opts, *url, std::move(peer),
                                                                              std::move(done), io, *ctx);
    c->start();
    return [w = std::weak_ptr(c)] {
      if (auto s = w.lock()) s->cancel();
    };
  }
  auto c = std::make_shared<WsClient<beast::tcp_stream>>(io, opts, *url, std::move(peer), std::move(done), io);
  c->start();
  return [w = std::weak_ptr(c)] {
    if (auto s = w.lock()) s->cancel();
  };
}

}  // namespace terril

// WsLink<Stream>: the one Link over a Beast WebSocket, for the server's
// sessions and the client's connections (plain tcp_stream or TLS ssl_stream).
// Internal to common/net: include it only from the ws_*.cpp files, directly
// or through ws_server_session.h / ws_client_session.h (it pulls Beast;
// every other file sees link.h).
//
// Contract (see link.h): one write in flight, at most kMaxQueuedFrames queued
// (a send past the cap closes the link: a peer that does not read), close()
// after the queued frames, every handler checks `ec` first, and the link ends
// once in finish(), which logs only unexpected errors (fail()).
//
// Life: the owner constructs the link with the stream's constructor
// arguments, drives the handshake on ws() (server: async_accept, client:
// async_handshake), then calls open(). Pending handlers keep the link alive
// (shared_from_this). Threading: one io_context thread, as for every Link.
//
// Build cost: the members are defined in ws_link_impl.h, included only by
// ws_client_plain.cpp (WsLink<PlainStream>) and ws_client_tls.cpp
// (WsLink<TlsStream>), each instantiating one stream type; the extern
// declarations at the end keep every other TU from instantiating them.
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <memory>
#include <string>

#include "common/net/link.h"
#include "common/net/ws_fail.h"

namespace terril::ws {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr size_t kMaxQueuedFrames = 64;  // a peer that stops reading is dropped

// The WebSocket settings both sides share.
struct WsSettings {
  int handshake_timeout_s = 10;
  int idle_timeout_s = 20;               // pings at half of it; dead link closed after it
  size_t message_limit = 16u << 20;      // at open; set_read_limit() changes it
  size_t max_message_limit = 16u << 20;  // set_read_limit()'s ceiling
  int max_window_bits = 0;               // permessage-deflate window, both ways; 0 = Beast's default (15)
};

template <class Stream>
class WsLink : public Link, public std::enable_shared_from_this<WsLink<Stream>> {
 public:
  // `token` is held for the link's lifetime (the server's connection count).
  template <class... Args>
  explicit WsLink(std::shared_ptr<void> token, Args&&... stream_args)
      : ws_(std::forward<Args>(stream_args)...), token_(std::move(token)) {}

  websocket::stream<Stream>& ws() { return ws_; }
  void set_remote(std::string remote) { remote_ = std::move(remote); }

  // Timeouts (the lowest layer's own timer is turned off), permessage-deflate
  // (frames under 64 bytes, the acks, are not deflated), message caps, binary.
  // Call before the handshake.
  void configure(const WsSettings& s);

  // The peer that hears on_open, on_message, on_closed. Attached before the
  // handshake, it also hears a failed handshake (on_closed without on_open).
  void attach(std::shared_ptr<Peer> peer) { peer_ = std::move(peer); }

  // The handshake succeeded: the peer's on_open, then the read loop.
  void open();

  // Ends the link once: closes the socket, logs an unexpected `ec`, and tells
  // the peer why (`ec`'s message, else `step`). Idempotent.
  void finish(beast::error_code ec, const char* step);

  // Link
  void send(std::string frame) override;
  void close() override;
  size_t queued() const override { return queue_.size(); }
  const std::string& remote() const override { return remote_; }
  uint64_t bytes_sent() const override { return bytes_sent_; }
  uint64_t bytes_received() const override { return bytes_received_; }
  void set_reading(bool on) override;
  void set_read_limit(size_t bytes) override;

 private:
  void do_read();
  void on_read(beast::error_code ec, size_t n);
  void do_write();
  void on_write(beast::error_code ec, size_t n);
  void do_close();

  websocket::stream<Stream> ws_;
  std::shared_ptr<void> token_;
  std::string remote_ = "?";
  beast::flat_buffer buf_;
  std::deque<std::string> queue_;
  std::shared_ptr<Peer> peer_;
  bool open_ = false, closing_ = false, closed_ = false;
  bool paused_ = false, read_pending_ = false;  // set_reading(false); an async_read outstanding
  std::shared_ptr<WsLink> keep_;                // while paused: no read holds the link alive
  uint64_t bytes_sent_ = 0, bytes_received_ = 0;
  size_t max_message_limit_ = 16u << 20;
};

extern template class WsLink<PlainStream>;
extern template class WsLink<TlsStream>;

}  // namespace terril::ws

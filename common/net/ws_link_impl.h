// WsLink<Stream>'s member definitions (declared in ws_link.h). Included only
// by ws_client_plain.cpp and ws_client_tls.cpp, which instantiate one stream type
// each, so the WebSocket read, write and close machinery is compiled twice in
// the whole build, not once per user.
#pragma once

#include <spdlog/spdlog.h>

#include <boost/asio/buffer.hpp>
#include <algorithm>
#include <chrono>

#include "common/net/ws_link.h"

namespace terril::ws {

template <class Stream>
void WsLink<Stream>::configure(const WsSettings& s) {
  beast::get_lowest_layer(ws_).expires_never();  // the websocket has its own timeouts
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(s.handshake_timeout_s);
  t.idle_timeout = std::chrono::seconds(s.idle_timeout_s);
  t.keep_alive_pings = true;
  ws_.set_option(t);
  websocket::permessage_deflate pmd;
  pmd.server_enable = true;
  pmd.client_enable = true;
  pmd.msg_size_threshold = 64;  // tiny frames (acks) are not worth deflating
  if (s.max_window_bits) {
    pmd.server_max_window_bits = s.max_window_bits;
    pmd.client_max_window_bits = s.max_window_bits;
  }
  ws_.set_option(pmd);
  max_message_limit_ = s.max_message_limit;
  set_read_limit(s.message_limit);
  ws_.binary(true);
}

// Beast checks read_message_max against each frame header's length and the
// inflated bytes as they come (message_too_big, close code 1009), so a large
// message is refused before it is buffered.
template <class Stream>
void WsLink<Stream>::set_read_limit(size_t bytes) {
  ws_.read_message_max(std::max<size_t>(1, std::min(bytes, max_message_limit_)));
}

template <class Stream>
void WsLink<Stream>::open() {
  if (closed_) return;
  open_ = true;
  if (auto p = peer_) p->on_open(*this);
  do_read();
}

template <class Stream>
void WsLink<Stream>::finish(beast::error_code ec, const char* step) {
  auto hold = std::move(keep_);  // a paused link's self-reference, dropped when this returns
  if (closed_) return;
  closed_ = true;
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
  if (ec) fail(ec, step);
  std::string why = ec ? ec.message() : std::string(step);
  // Moved out first: the peer may drop its last reference to itself here.
  auto p = std::move(peer_);
  if (p) p->on_closed(why);
}

template <class Stream>
void WsLink<Stream>::send(std::string frame) {
  if (!open_ || closing_ || closed_) return;
  if (queue_.size() >= kMaxQueuedFrames) {
    spdlog::warn("net: {} does not read its frames; closing", remote_);
    return finish({}, "send queue full");
  }
  bytes_sent_ += frame.size();
  queue_.push_back(std::move(frame));
  if (queue_.size() == 1) do_write();
}

template <class Stream>
void WsLink<Stream>::close() {
  if (!open_ || closing_ || closed_) return;
  closing_ = true;
  if (queue_.empty()) do_close();
}

template <class Stream>
void WsLink<Stream>::do_read() {
  if (closed_ || paused_ || read_pending_) return;
  read_pending_ = true;
  ws_.async_read(buf_, beast::bind_front_handler(&WsLink::on_read, this->shared_from_this()));
}

template <class Stream>
void WsLink<Stream>::set_reading(bool on) {
  paused_ = !on;
  if (!on) {
    // A link lives as long as its pending operations; with no read pending
    // nothing would hold it, so it holds itself until resumed or finished.
    if (!closed_ && !keep_) keep_ = this->shared_from_this();
    return;
  }
  auto hold = std::move(keep_);
  if (open_) do_read();
}

template <class Stream>
void WsLink<Stream>::on_read(beast::error_code ec, size_t n) {
  read_pending_ = false;
  if (ec) return finish(ec, "ws read");
  bytes_received_ += n;
  std::string frame = beast::buffers_to_string(buf_.data());
  buf_.consume(buf_.size());
  if (auto p = peer_; p && !closed_) p->on_message(frame);
  do_read();
}

template <class Stream>
void WsLink<Stream>::do_write() {
  ws_.async_write(asio::buffer(queue_.front()), beast::bind_front_handler(&WsLink::on_write, this->shared_from_this()));
}

template <class Stream>
void WsLink<Stream>::on_write(beast::error_code ec, size_t) {
  if (ec) return finish(ec, "ws write");
  queue_.pop_front();
  if (!queue_.empty()) return do_write();
  if (closing_) do_close();
}

template <class Stream>
void WsLink<Stream>::do_close() {
  ws_.async_close(websocket::close_code::normal,
                  [self = this->shared_from_this()](beast::error_code ec) { self->finish(ec, "closed"); });
}

}  // namespace terril::ws

// A message link between two protocol peers: one binary message per frame.
//
// The sync protocol's state machines (hub/node_session, node/hub_link)
// implement Peer and talk to a Link; they never see sockets. The WebSocket
// server and client (common/net/ws_server, ws_client) implement Link over
// Beast; tests join two peers with in-memory Links (tests/unit/sync/
// protocol_test.cpp's Wire, tests/unit/hub/admin_test.cpp's MemoryLink).
//
// Threading: every call on a Link and every Peer callback happens on the
// owning EventLoop's single thread (the daemons run one event-loop thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace terril {

class Link {
 public:
  virtual ~Link() = default;
  // Queue one frame; at most one write is in flight. A link whose queue
  // grows past its cap is closed (a peer that does not read).
  virtual void send(std::string frame) = 0;
  // Close after the queued frames are written. Idempotent.
  virtual void close() = 0;
  // Frames queued and not yet written.
  virtual size_t queued() const = 0;
  // "ip:port" of the other side, for logs.
  virtual const std::string& remote() const = 0;
  // Payload bytes sent/received so far (before compression).
  virtual uint64_t bytes_sent() const = 0;
  virtual uint64_t bytes_received() const = 0;
  // Backpressure: with `false`, no frame is read after the one being
  // delivered (the socket's buffers fill and the sender's TCP window
  // closes); `true` resumes. Links that cannot pause (in-memory test links)
  // ignore it.
  virtual void set_reading(bool on) { (void)on; }
  // The largest message accepted from now on, counted after permessage-
  // deflate inflation. A message over it closes the link as soon as its
  // frame header (or the inflated bytes) passes the limit, without buffering
  // the rest: the peer hears on_closed("The WebSocket message exceeded the
  // locally configured limit") and the other side gets close code 1009. Clamped to the link's hard cap
  // (ServerOptions::ws_message_limit, ClientOptions::ws_message_limit).
  // The server's links start at ServerOptions::ws_preauth_message_limit
  // (8 KiB): a peer raises it once the other side is authenticated (the
  // hub after a verified Hello: set_read_limit(4 MiB + slack)). It may also
  // lower it. Takes effect for the next frame read. Links without a limit
  // (in-memory test links) ignore it.
  virtual void set_read_limit(size_t /*bytes*/) {}
};

class Peer {
 public:
  virtual ~Peer() = default;
  // The link is open. `link` stays valid until on_closed returns.
  virtual void on_open(Link& link) = 0;
  // One received frame.
  virtual void on_message(std::string_view frame) = 0;
  // Whatever write is queued, nothing more will be sent or received.
  virtual void on_closed(std::string_view why) = 0;
};

}  // namespace terril

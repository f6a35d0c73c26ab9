// The client's two connect paths, internal to common/net: connect_ws()
// (ws_client.cpp) parses the URL and calls one of them; each lives in its own
// translation unit (ws_client_plain.cpp, ws_client_tls.cpp) so the plain and
// the TLS code compile in parallel. Asio only: no Beast here.
#pragma once

#include <functional>
#include <memory>

#include "common/net/ws_client.h"

namespace terril::ws {

// Start connecting over ws:// (or wss://, the hub's certificate checked
// against opts.pin). Returns the cancel function connect_ws() returns.
std::function<void()> connect_plain(boost::asio::io_context& io, const ClientOptions& opts, ParsedUrl url,
                                    std::shared_ptr<Peer> peer, ConnectDone done);
std::function<void()> connect_tls(boost::asio::io_context& io, const ClientOptions& opts, ParsedUrl url,
                                  std::shared_ptr<Peer> peer, ConnectDone done);

}  // namespace terril::ws

// The client over plain TCP (ws://, tests and loopback tools):
// ClientSession<PlainStream> and WsLink<PlainStream> (server and client
// links) instantiated here only, and fail(), the one filter of the expected
// ways a connection ends, for every ws_*.cpp. (The link's instantiation
// shares this file's parse of Beast rather than paying for one of its own.)
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>

#include "common/net/ws_client_session.h"
#include "common/net/ws_link_impl.h"

namespace terril::ws {

void fail(beast::error_code ec, const char* step) {
  namespace http = beast::http;
  if (ec == asio::error::operation_aborted || ec == websocket::error::closed || ec == http::error::end_of_stream ||
      ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
      ec == beast::error::timeout)
    return;
  spdlog::debug("net: {}: {}", step, ec.message());
}

template class WsLink<PlainStream>;
template class ClientSession<PlainStream>;

std::function<void()> connect_plain(asio::io_context& io, const ClientOptions& opts, ParsedUrl url,
                                    std::shared_ptr<Peer> peer, ConnectDone done) {
  auto c = std::make_shared<ClientSession<PlainStream>>(io, opts, std::move(url), std::move(peer), std::move(done), io);
  c->start();
  return ClientSession<PlainStream>::canceller(c);
}

}  // namespace terril::ws

// WsLink over plain TCP (ws://), instantiated here only, and fail(), the one
// filter of the expected ways a connection ends, for every ws_*.cpp.
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>

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

}  // namespace terril::ws

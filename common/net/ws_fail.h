// fail(): the one place the Beast/Asio edge (common/net/ws_*.cpp) logs a
// failed step. Internal to common/net; defined in ws_client_plain.cpp.
#pragma once

#include <boost/system/error_code.hpp>

namespace terril::ws {

// Logs `step` and `ec` at debug level, unless `ec` is one of the normal ways
// a connection ends: cancelled, closed by either side (WebSocket close, HTTP
// end of stream, EOF, TLS truncation, reset), or a timeout.
void fail(boost::system::error_code ec, const char* step);

}  // namespace terril::ws

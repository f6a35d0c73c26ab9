// WsLink over TLS (wss://), instantiated here only.
#include <boost/beast/websocket/ssl.hpp>

#include "common/net/ws_link_impl.h"

namespace terril::ws {

template class WsLink<TlsStream>;

}  // namespace terril::ws

// The listener's TLS sessions (https://, wss://): HttpSession<TlsStream>
// instantiated here only.
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "common/net/ws_server_session.h"

namespace terril::ws {

template class HttpSession<TlsStream>;

void run_tls_session(std::shared_ptr<ConnGuard> guard, tcp::socket socket, std::string remote) {
  auto& tls = *guard->srv->opts.tls;
  std::make_shared<HttpSession<TlsStream>>(TlsStream(PlainStream(std::move(socket)), tls), std::move(guard),
                                           std::move(remote))
      ->run();
}

}  // namespace terril::ws

// The client over plain TCP (ws://, tests and loopback tools):
// ClientSession<PlainStream> instantiated here only.
#include "common/net/ws_client_session.h"

namespace terril::ws {

template class ClientSession<PlainStream>;

std::function<void()> connect_plain(asio::io_context& io, const ClientOptions& opts, ParsedUrl url,
                                    std::shared_ptr<Peer> peer, ConnectDone done) {
  auto c = std::make_shared<ClientSession<PlainStream>>(io, opts, std::move(url), std::move(peer), std::move(done), io);
  c->start();
  return ClientSession<PlainStream>::canceller(c);
}

}  // namespace terril::ws

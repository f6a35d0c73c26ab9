// The client over TLS (wss://, the node's link to the hub): the hub's
// certificate pinned by its SHA-256 fingerprint. ClientSession<TlsStream>
// and WsLink<TlsStream> (server and client links) instantiated here only.
#include <openssl/evp.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "common/net/ws_client_session.h"
#include "common/net/ws_link_impl.h"

namespace terril::ws {

template class WsLink<TlsStream>;

std::string fingerprint_of(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!cert || X509_digest(cert, EVP_sha256(), md, &n) != 1) return {};
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    if (i) out += ':';
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

template class ClientSession<TlsStream>;

namespace {

// TLS 1.2 and later; no CA store: the pin is the check (ClientSession::start).
std::shared_ptr<asio::ssl::context> client_tls_context() {
  static auto ctx = [] {
    auto c = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    c->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
    return c;
  }();
  return ctx;
}

}  // namespace

std::function<void()> connect_tls(asio::io_context& io, const ClientOptions& opts, ParsedUrl url,
                                  std::shared_ptr<Peer> peer, ConnectDone done) {
  auto ctx = client_tls_context();
  auto c =
      std::make_shared<ClientSession<TlsStream>>(io, opts, std::move(url), std::move(peer), std::move(done), io, *ctx);
  c->start();
  return ClientSession<TlsStream>::canceller(c);
}

}  // namespace terril::ws

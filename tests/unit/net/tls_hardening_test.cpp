// The listener's TLS context (load_server_tls, issue 13, security review L8)
// against a raw OpenSSL client over loopback: TLS 1.2 AEAD suites and TLS 1.3
// are accepted, a CBC-only client is refused, and so is a renegotiation.
// The server's loop runs on its own thread; the client blocks (5 s timeouts).
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "common/net/event_loop.h"
#include "common/net/ws_server.h"
#include "common/ops/tls.h"
#include "tests/support/temp_dir.h"

using namespace terril;

namespace {

// A TLS listener with a fresh self-signed (P-256) certificate, served on a
// thread of its own.
struct TlsServer {
  test::TempDir dir{"terril-tls-hardening"};
  EventLoop loop;
  std::unique_ptr<Server> server;
  std::thread thread;

  TlsServer() {
    REQUIRE(generate_self_signed(dir.file("cert.pem"), dir.file("key.pem"), "terril-test", 2).is_ok());
    ServerOptions o;
    REQUIRE(load_server_tls(o, dir.file("cert.pem"), dir.file("key.pem")).is_ok());
    server = std::make_unique<Server>(
        loop, o,
        [](const HttpRequest&) {
          return HttpResponse{200, "text/plain", "ok", {}};
        },
        nullptr);
    REQUIRE(server->start().is_ok());
    thread = std::thread([this] { loop.run(); });
  }
  ~TlsServer() {
    loop.stop();
    thread.join();
  }
};

// One blocking client connection with its own context.
struct Client {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = nullptr;
  int fd = -1;

  Client(int max_version, const char* ciphers) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, max_version);
    if (ciphers) REQUIRE(SSL_CTX_set_cipher_list(ctx, ciphers) == 1);
  }
  ~Client() {
    if (ssl) SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
  // true when the handshake succeeded.
  bool connect(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    bool ok = SSL_connect(ssl) == 1;
    ERR_clear_error();
    return ok;
  }
  // One GET /healthz over the connection; true on a 200.
  bool healthz() {
    std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    if (SSL_write(ssl, req.data(), int(req.size())) <= 0) return false;
    char buf[512];
    int n = SSL_read(ssl, buf, sizeof buf);
    ERR_clear_error();
    return n > 0 && std::string(buf, size_t(n)).rfind("HTTP/1.1 200", 0) == 0;
  }
};

}  // namespace

TEST_CASE("L8: TLS 1.2 with an ECDHE AEAD suite and TLS 1.3 are served", "[tls]") {
  TlsServer srv;
  Client tls12(TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305");
  REQUIRE(tls12.connect(srv.server->port()));
  CHECK(tls12.healthz());
  Client tls13(TLS1_3_VERSION, nullptr);
  REQUIRE(tls13.connect(srv.server->port()));
  CHECK(std::string(SSL_get_version(tls13.ssl)) == "TLSv1.3");
  CHECK(tls13.healthz());
}

TEST_CASE("L8: a client offering only CBC suites is refused", "[tls]") {
  TlsServer srv;
  Client cbc(TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:AES128-SHA");
  CHECK_FALSE(cbc.connect(srv.server->port()));
}

TEST_CASE("L8: renegotiation is refused", "[tls]") {
  // OpenSSL 3 already refuses client-initiated renegotiation by default; the
  // context says so explicitly, whatever the library's default.
  test::TempDir dir;
  REQUIRE(generate_self_signed(dir.file("cert.pem"), dir.file("key.pem"), "terril-test", 2).is_ok());
  ServerOptions o;
  REQUIRE(load_server_tls(o, dir.file("cert.pem"), dir.file("key.pem")).is_ok());
  CHECK((SSL_CTX_get_options(o.tls->native_handle()) & SSL_OP_NO_RENEGOTIATION) != 0);

  TlsServer srv;
  Client c(TLS1_2_VERSION, nullptr);
  REQUIRE(c.connect(srv.server->port()));
  REQUIRE(SSL_renegotiate(c.ssl) == 1);
  // The server answers the new ClientHello with a no_renegotiation alert:
  // the client's handshake fails (it would complete if the server agreed).
  CHECK(SSL_do_handshake(c.ssl) != 1);
  ERR_clear_error();
  CHECK_FALSE(c.healthz());
}

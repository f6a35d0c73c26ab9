// The listener's limits before authentication (issue 13, security review M1
// and L6), over loopback: the WebSocket read limit before and after the peer
// raises it, the connection caps with their 503, the keep-alive idle timeout,
// and the accept loop's backoff when the process is out of descriptors.
// Raw clients are POSIX sockets driven from the test thread while the
// server's loop runs in run_for() steps.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "common/net/event_loop.h"
#include "common/net/ws_client.h"
#include "common/net/ws_server.h"

using namespace terril;

namespace {

struct RecordingPeer : Peer {
  Link* link = nullptr;
  bool opened = false, closed = false;
  std::string why;
  std::vector<std::string> frames;
  std::function<void(RecordingPeer&, std::string_view)> on_message_do;

  void on_open(Link& l) override {
    link = &l;
    opened = true;
  }
  void on_message(std::string_view f) override {
    frames.emplace_back(f);
    if (on_message_do) on_message_do(*this, f);
  }
  void on_closed(std::string_view w) override {
    closed = true;
    why = std::string(w);
    link = nullptr;
  }
};

struct Fixture {
  EventLoop loop;
  std::shared_ptr<RecordingPeer> server_peer = std::make_shared<RecordingPeer>();
  std::unique_ptr<Server> server;

  explicit Fixture(ServerOptions o = {}) {
    o.host = "127.0.0.1";
    server = std::make_unique<Server>(
        loop, o,
        [](const HttpRequest&) {
          return HttpResponse{200, "text/plain", "ok", {}};
        },
        [this](const HttpRequest&) -> std::shared_ptr<Peer> { return server_peer; });
    REQUIRE(server->start().is_ok());
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(server->port()); }
  template <class F>
  bool run_until(F done, int max_ms = 5000) {
    for (int i = 0; i < max_ms / 10 && !done(); ++i) loop.run_for(10);
    return done();
  }
};

// A non-blocking TCP client of the fixture's server.
struct RawClient {
  int fd = -1;
  std::string in;
  bool eof = false;

  explicit RawClient(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  ~RawClient() {
    if (fd >= 0) ::close(fd);
  }
  void send(std::string_view s) { REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size())); }
  // Reads what is there; true once the peer closed (EOF or reset).
  bool poll() {
    char b[4096];
    for (;;) {
      ssize_t n = ::recv(fd, b, sizeof b, 0);
      if (n > 0) {
        in.append(b, size_t(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) eof = true;
      return eof;
    }
  }
};

const char* kHealthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

// A masked binary frame header announcing `len` payload bytes (64-bit length).
std::string frame_header(uint64_t len) {
  std::string h = {char(0x82), char(0x80 | 127)};
  for (int i = 7; i >= 0; --i) h += char((len >> (8 * i)) & 0xff);
  h += std::string("\x01\x02\x03\x04", 4);  // mask key
  return h;
}

}  // namespace

TEST_CASE("M1: a frame over the pre-authentication limit closes the link, deflated or not", "[limits]") {
  Fixture fx;
  auto client = std::make_shared<RecordingPeer>();
  ClientOptions co;
  co.url = fx.url();
  auto cancel = connect_ws(fx.loop, co, client, [](Status, const std::string&) {});
  REQUIRE(fx.run_until([&] { return client->opened; }));
  SECTION("plain bytes") {
    client->link->send(std::string(9000, 'x'));
  }
  // 1 MiB of zeros deflates to about 1 KiB: the limit is on the inflated size.
  SECTION("deflated zeros") {
    client->link->send(std::string(1u << 20, '\0'));
  }
  REQUIRE(fx.run_until([&] { return fx.server_peer->closed; }));
  CHECK(fx.server_peer->frames.empty());
  INFO("why: " << fx.server_peer->why);
  CHECK(fx.server_peer->why.find("exceeded the locally configured limit") != std::string::npos);
  REQUIRE(fx.run_until([&] { return client->closed; }));
}

TEST_CASE("M1: a frame header over the pre-authentication limit closes the link before its payload arrives",
          "[limits]") {
  Fixture fx;
  RawClient raw(fx.server->port());
  raw.send(
      "GET /v1/sync HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  REQUIRE(fx.run_until([&] {
    raw.poll();
    return raw.in.find("\r\n\r\n") != std::string::npos;
  }));
  REQUIRE(raw.in.rfind("HTTP/1.1 101", 0) == 0);
  raw.in.clear();
  raw.send(frame_header(1u << 20) + std::string(100, 'x'));  // 1 MiB announced, 100 bytes sent
  REQUIRE(fx.run_until([&] { return raw.poll(); }));
  // The server's close frame: opcode 8, status 1009 (message too big).
  REQUIRE(raw.in.size() >= 4);
  CHECK((raw.in[0] & 0x0f) == 0x08);
  CHECK(((unsigned char)raw.in[2] << 8 | (unsigned char)raw.in[3]) == 1009);
  ::close(raw.fd);  // the server waits for our end of the closing handshake
  raw.fd = -1;
  REQUIRE(fx.run_until([&] { return fx.server_peer->closed; }));
  CHECK(fx.server_peer->frames.empty());
}

TEST_CASE("M1: a peer raises its link's read limit after authenticating; the client's limit is large", "[limits]") {
  Fixture fx;
  fx.server_peer->on_message_do = [](RecordingPeer& p, std::string_view f) {
    if (f == "hello") {
      p.link->set_read_limit(1u << 20);
      p.link->send(std::string(100000, 'w'));  // the client reads past 4 KiB at once
    }
  };
  auto client = std::make_shared<RecordingPeer>();
  ClientOptions co;
  co.url = fx.url();
  auto cancel = connect_ws(fx.loop, co, client, [](Status, const std::string&) {});
  REQUIRE(fx.run_until([&] { return client->opened; }));
  client->link->send("hello");
  REQUIRE(fx.run_until([&] { return client->frames.size() == 1; }));
  CHECK(client->frames[0].size() == 100000);
  client->link->send(std::string(500000, 'y'));
  REQUIRE(fx.run_until([&] { return fx.server_peer->frames.size() == 2; }));
  CHECK(fx.server_peer->frames[1].size() == 500000);
  client->link->send(std::string(2u << 20, 'z'));  // over the raised limit
  REQUIRE(fx.run_until([&] { return fx.server_peer->closed; }));
  CHECK(fx.server_peer->frames.size() == 2);
}

TEST_CASE("M1: connections over the per-address or the total cap get a 503 and are counted", "[limits]") {
  ServerOptions o;
  bool per_address = GENERATE(true, false);
  if (per_address) {
    o.max_connections_per_address = 2;
  } else {
    o.max_connections = 2;
  }
  Fixture fx(o);
  auto a = std::make_unique<RawClient>(fx.server->port());
  RawClient b(fx.server->port());
  REQUIRE(fx.run_until([&] { return fx.server->connections() == 2; }));
  RawClient c(fx.server->port());
  REQUIRE(fx.run_until([&] { return c.poll(); }));
  CHECK(c.in.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(c.in.find("Connection: close") != std::string::npos);
  CHECK(c.in.find("Serveur saturé") != std::string::npos);
  CHECK(c.in.find("Server busy") != std::string::npos);
  CHECK(fx.server->refused() == 1);
  CHECK(fx.server->connections() == 2);
  // A slot freed is a slot again.
  a.reset();
  REQUIRE(fx.run_until([&] { return fx.server->connections() == 1; }));
  RawClient d(fx.server->port());
  d.send(kHealthz);
  REQUIRE(fx.run_until([&] {
    d.poll();
    return d.in.find("\r\n\r\nok") != std::string::npos;
  }));
  CHECK(d.in.rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("M1: an idle keep-alive connection is closed after keepalive_idle_s", "[limits]") {
  ServerOptions o;
  o.keepalive_idle_s = 1;
  o.header_timeout_s = 30;
  Fixture fx(o);
  RawClient c(fx.server->port());
  c.send(kHealthz);
  REQUIRE(fx.run_until([&] {
    c.poll();
    return c.in.find("\r\n\r\nok") != std::string::npos;
  }));
  CHECK(c.in.find("Connection: close") == std::string::npos);  // kept alive
  REQUIRE(fx.run_until([&] { return c.poll(); }, 5000));
  REQUIRE(fx.run_until([&] { return fx.server->connections() == 0; }));
}

TEST_CASE("M1: above 90 % of max_connections, responses end keep-alive", "[limits]") {
  ServerOptions o;
  o.max_connections = 20;
  std::vector<std::unique_ptr<RawClient>> held;
  Fixture fx(o);
  for (int i = 0; i < 18; ++i) held.push_back(std::make_unique<RawClient>(fx.server->port()));
  RawClient c(fx.server->port());  // 19 of 20
  REQUIRE(fx.run_until([&] { return fx.server->connections() == 19; }));
  c.send(kHealthz);
  REQUIRE(fx.run_until([&] {
    c.poll();
    return c.in.find("\r\n\r\nok") != std::string::npos;
  }));
  CHECK(c.in.find("Connection: close") != std::string::npos);
  REQUIRE(fx.run_until([&] { return c.poll(); }));
}

TEST_CASE("L6: out of file descriptors, the accept loop backs off instead of spinning", "[limits]") {
  Fixture fx;
  RawClient waiting(fx.server->port());  // in the backlog until accepted
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  rlimit none = saved;
  none.rlim_cur = 0;  // every new descriptor fails with EMFILE
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &none) == 0);
  rusage before{}, after{};
  ::getrusage(RUSAGE_THREAD, &before);
  fx.loop.run_for(500);
  ::getrusage(RUSAGE_THREAD, &after);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
  auto cpu_us = [](const rusage& r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000LL + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
  };
  int64_t spent_ms = (cpu_us(after) - cpu_us(before)) / 1000;
  INFO("CPU over 500 ms out of descriptors: " << spent_ms << " ms");
  CHECK(spent_ms < 50);
  CHECK(fx.server->connections() == 0);
  // Descriptors back: the waiting connection is accepted at the next try.
  REQUIRE(fx.run_until([&] { return fx.server->connections() == 1; }, 2000));
}

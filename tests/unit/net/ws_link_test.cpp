// The WebSocket edge end to end over loopback, plain ws:// (common/net/ws_*):
// the Link contract both sides share through WsLink (frames both ways,
// close, the send-queue cap) and the server's connections() count.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "common/net/event_loop.h"
#include "common/net/ws_client.h"
#include "common/net/ws_server.h"

using namespace terril;

namespace {

// Records what a Link tells it; `on_open_do` runs in on_open.
struct RecordingPeer : Peer {
  Link* link = nullptr;
  bool opened = false, closed = false;
  std::string why;
  std::vector<std::string> frames;
  std::function<void(Link&)> on_open_do;
  std::function<void(RecordingPeer&, std::string_view)> on_message_do;

  void on_open(Link& l) override {
    link = &l;
    opened = true;
    if (on_open_do) on_open_do(l);
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

  Fixture() {
    ServerOptions o;
    o.host = "127.0.0.1";
    server = std::make_unique<Server>(
        loop, o, [](const HttpRequest&) { return HttpResponse{}; },
        [this](const HttpRequest&) -> std::shared_ptr<Peer> { return server_peer; });
    REQUIRE(server->start().is_ok());
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(server->port()); }
  // Runs the loop until `done()` or 5 s.
  template <class F>
  bool run_until(F done) {
    for (int i = 0; i < 500 && !done(); ++i) loop.run_for(10);
    return done();
  }
};

}  // namespace

TEST_CASE("ws link: frames both ways, counted, then a close reaches both peers", "[ws]") {
  Fixture fx;
  fx.server_peer->on_message_do = [](RecordingPeer& p, std::string_view f) { p.link->send("echo:" + std::string(f)); };
  auto client = std::make_shared<RecordingPeer>();
  client->on_open_do = [](Link& l) {
    l.send("one");
    l.send("two");
  };
  Status connected(Code::unavailable, "not yet");
  ClientOptions co;
  co.url = fx.url();
  auto cancel = connect_ws(fx.loop, co, client, [&](Status s, const std::string&) { connected = s; });

  REQUIRE(fx.run_until([&] { return client->frames.size() == 2; }));
  CHECK(connected.is_ok());
  CHECK(client->frames == std::vector<std::string>{"echo:one", "echo:two"});
  CHECK(fx.server_peer->frames == std::vector<std::string>{"one", "two"});
  CHECK(fx.server->connections() == 1);
  REQUIRE(client->link);
  CHECK(client->link->bytes_sent() == 6);
  CHECK(client->link->bytes_received() == 16);
  CHECK(client->link->remote() == "127.0.0.1:" + std::to_string(fx.server->port()));

  cancel();  // open: closes the link after its queue
  REQUIRE(fx.run_until([&] { return client->closed && fx.server_peer->closed; }));
  REQUIRE(fx.run_until([&] { return fx.server->connections() == 0; }));
}

TEST_CASE("ws link: a send past the queue cap closes the link", "[ws]") {
  Fixture fx;
  auto client = std::make_shared<RecordingPeer>();
  size_t queued_at_cap = 0;
  client->on_open_do = [&](Link& l) {
    // The loop does not run inside on_open: nothing is written yet.
    for (int i = 0; i < 64; ++i) l.send(std::string(100, 'x'));
    queued_at_cap = l.queued();
    l.send("one too many");
  };
  ClientOptions co;
  co.url = fx.url();
  auto cancel = connect_ws(fx.loop, co, client, [](Status, const std::string&) {});
  REQUIRE(fx.run_until([&] { return client->closed; }));
  CHECK(queued_at_cap == 64);
  CHECK(client->why == "send queue full");
  REQUIRE(fx.run_until([&] { return fx.server_peer->closed; }));
}

TEST_CASE("ws link: a refused connection reports to done, never to the peer", "[ws]") {
  EventLoop loop;
  auto client = std::make_shared<RecordingPeer>();
  std::optional<Status> result;
  ClientOptions co;
  co.url = "ws://127.0.0.1:1";  // nothing listens on port 1
  auto cancel = connect_ws(loop, co, client, [&](Status s, const std::string&) { result = s; });
  for (int i = 0; i < 500 && !result; ++i) loop.run_for(10);
  REQUIRE(result);
  CHECK(result->code() == Code::unavailable);
  CHECK_FALSE(client->opened);
  CHECK_FALSE(client->closed);
}

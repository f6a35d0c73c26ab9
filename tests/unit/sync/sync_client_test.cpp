// SyncClient's connection state machine (node/sync_client.h): the transition
// table as a table test, and a walk through the states over a real loopback
// hub (plain WebSocket on 127.0.0.1, SyncHub, SQLite stores in a temp folder):
// connect, handshake, stream, lose the link, back off, reconnect, stop.
#include "node/sync_client.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/net/event_loop.h"
#include "common/net/ws_server.h"
#include "common/store/store.h"
#include "common/store/hub_registry.h"
#include "hub/sync_hub.h"
#include "tests/support/temp_dir.h"

using namespace terril;

namespace {

constexpr int64_t kNow = 1795000000000;  // 2026-11-18

TEST_CASE("sync client: the transition table allows exactly its rows", "[sync][client]") {
  using S = LinkState;
  const std::vector<S> all = {S::idle, S::connecting, S::handshaking, S::streaming, S::backoff, S::stopped};
  const std::vector<std::pair<S, S>> rows = {
      {S::idle, S::connecting},       {S::connecting, S::handshaking}, {S::connecting, S::backoff},
      {S::handshaking, S::streaming}, {S::handshaking, S::backoff},    {S::streaming, S::backoff},
      {S::backoff, S::connecting},
  };
  for (S from : all)
    for (S to : all) {
      bool expected = to == S::stopped;  // * -> STOPPED
      for (const auto& r : rows) expected = expected || (r.first == from && r.second == to);
      INFO(link_state_name(from) << " -> " << link_state_name(to));
      CHECK(link_transition_allowed(from, to) == expected);
    }
}

// Runs the loop until `done` or a 10 s deadline (a failing test, not a wait).
bool run_until(EventLoop& loop, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) loop.run_for(10);
  return done();
}

TEST_CASE("sync client: walks connect, handshake, stream, backoff, reconnect, stop over a loopback hub",
          "[sync][client]") {
  test::TempDir dir("terril-client");
  EventLoop loop;
  StoreOptions ho;
  ho.origin = "hub";
  ho.hub = true;
  auto hs = Store::open(dir.file("hub.db"), ho);
  REQUIRE(hs);
  auto hub_store = std::move(hs).value();
  Registry registry(*hub_store);
  SyncHubOptions so;
  so.hub_id = "hub-test";
  so.now_ms = [] { return kNow; };
  so.random_bytes = [](size_t n) { return std::string(n, 'n'); };
  SyncHub hub(*hub_store, registry, so);
  ServerOptions sopts;  // plain WebSocket on an ephemeral loopback port
  Server server(
      loop, sopts, [](const HttpRequest&) { return HttpResponse{}; },
      [&](const HttpRequest& r) { return hub.make_session(r); });
  REQUIRE(server.start());

  auto code = registry.add("node-a", "denain-tonini", kNow);
  REQUIRE(code);
  auto enrolled = registry.enrol(code->code, kNow);
  REQUIRE(enrolled);
  StoreOptions no;
  no.origin = "node-a";
  auto ns = Store::open(dir.file("node.db"), no);
  REQUIRE(ns);
  auto node_store = std::move(ns).value();
  Credentials creds;
  creds.node_id = "node-a";
  creds.node_secret = enrolled->secret;
  creds.centre_id = "denain-tonini";
  creds.hub_id = "hub-test";
  creds.hub_url = "ws://127.0.0.1:" + std::to_string(server.port());

  std::string walk;
  SyncClientOptions co;
  co.software_version = "test";
  co.now_ms = [] { return kNow; };
  co.watchdog_ms = 50;
  co.max_backoff_ms = 20;
  co.on_state = [&](LinkState s) { walk += std::string(walk.empty() ? "" : " ") + link_state_name(s); };
  SyncState state;
  SyncClient client(loop, *node_store, state, creds, co);
  CHECK(client.state() == LinkState::idle);

  client.start();
  REQUIRE(run_until(loop, [&] { return client.state() == LinkState::streaming; }));
  CHECK(state.connected);
  CHECK(hub.connected().size() == 1);

  // The hub cuts the link (as for a revocation by another process): the
  // client backs off and comes back, since the node is still active.
  hub.drop_node("node-a");
  REQUIRE(run_until(loop, [&] { return walk.find("backoff") != std::string::npos; }));
  REQUIRE(run_until(loop, [&] { return client.state() == LinkState::streaming; }));
  CHECK(state.last_error.empty());
  CHECK(state.reconnects == 2);

  client.stop();
  CHECK(client.state() == LinkState::stopped);
  CHECK(walk == "connecting handshaking streaming backoff connecting handshaking streaming stopped");
  run_until(loop, [&] { return hub.connected().empty(); });  // the hub hears the close
  CHECK(hub.connected().empty());
  server.stop();
}

}  // namespace

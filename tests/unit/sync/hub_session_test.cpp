// Hub NodeSession life cycle around the WebSocket opening, in memory with a
// fixed clock. Regression (found by scripts/sanitize.sh: the crash-loop
// scenario's enrolments failed under ASan): a `?enrol=1` session is created
// at the upgrade request but opened only after the WebSocket handshake; a
// hub tick in between saw its Hello deadline start at 0, closed it as
// "no Hello in time", and on_open then turned it into a sync session, so the
// node's Enrol got PROTOCOL_VIOLATION "expected Hello".
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/store/store.h"
#include "common/wire/wire.h"
#include "common/store/hub_registry.h"
#include "hub/sync_hub.h"
#include "terril/v1/sync.pb.h"

using namespace terril;

namespace {

constexpr int64_t kNow = 1795000000000;  // 2026-11-18

class RecordingLink : public Link {
 public:
  void send(std::string frame) override { sent.push_back(std::move(frame)); }
  void close() override { closed = true; }
  size_t queued() const override { return 0; }
  const std::string& remote() const override { return name_; }
  uint64_t bytes_sent() const override { return 0; }
  uint64_t bytes_received() const override { return 0; }

  std::vector<v1::Frame> frames() const {
    std::vector<v1::Frame> out;
    for (const auto& s : sent) {
      v1::Frame f;
      REQUIRE(f.ParseFromString(s));
      out.push_back(f);
    }
    return out;
  }
  std::vector<std::string> sent;
  bool closed = false;

 private:
  std::string name_ = "memory";
};

struct Hub {
  std::string dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<SyncHub> hub;
  int64_t now = kNow;

  Hub() {
    std::string t = (std::filesystem::temp_directory_path() / "terril-session-XXXXXX").string();
    dir = ::mkdtemp(t.data());
    StoreOptions o;
    o.origin = "hub";
    o.hub = true;
    auto s = Store::open(dir + "/hub.db", o);
    REQUIRE(s);
    store = std::move(s).value();
    registry = std::make_unique<Registry>(*store);
    SyncHubOptions so;
    so.hub_id = "hub-test";
    so.now_ms = [this] { return now; };
    so.random_bytes = [](size_t n) { return std::string(n, 'n'); };
    hub = std::make_unique<SyncHub>(*store, *registry, so);
  }
  ~Hub() {
    hub.reset();
    registry.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }

  std::shared_ptr<Peer> upgrade(bool enrol) {
    HttpRequest r;
    r.method = "GET";
    r.target = enrol ? "/v1/sync?enrol=1" : "/v1/sync";
    r.path = "/v1/sync";
    if (enrol) r.query = {{"enrol", "1"}};
    return hub->make_session(r);
  }
};

std::string enrol_frame(const std::string& code) {
  v1::Frame f;
  f.mutable_enrol()->set_code(code);
  return wire::encode_frame(f);
}

}  // namespace

TEST_CASE("session_open_race: an enrol socket opened after a hub tick still enrols", "[unit][sync]") {
  Hub h;
  auto code = h.registry->add("race-node", "denain-tonini", h.now);
  REQUIRE(code);
  auto peer = h.upgrade(/*enrol=*/true);
  h.now += 300;
  h.hub->tick();  // between the upgrade request and the end of the WebSocket handshake
  RecordingLink link;
  h.now += 200;
  peer->on_open(link);
  REQUIRE_FALSE(link.closed);
  peer->on_message(enrol_frame(code->code));
  auto frames = link.frames();
  REQUIRE(frames.size() == 1);
  INFO(frames[0].ShortDebugString());
  CHECK(frames[0].msg_case() == v1::Frame::kEnrolled);
  CHECK(frames[0].enrolled().node_id() == "race-node");
  peer->on_closed("done");
}

TEST_CASE("session_open_race: a sync socket opened after a hub tick gets its Challenge", "[unit][sync]") {
  Hub h;
  auto peer = h.upgrade(/*enrol=*/false);
  h.hub->tick();
  RecordingLink link;
  peer->on_open(link);
  auto frames = link.frames();
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].msg_case() == v1::Frame::kChallenge);
  CHECK_FALSE(link.closed);
  peer->on_closed("done");
}

TEST_CASE("session_open_race: the Hello deadline still closes a silent socket, and only after it", "[unit][sync]") {
  Hub h;
  for (bool enrol : {true, false}) {
    auto peer = h.upgrade(enrol);
    RecordingLink link;
    peer->on_open(link);
    h.now += 9000;
    h.hub->tick();
    CHECK_FALSE(link.closed);
    h.now += 2000;
    h.hub->tick();
    CHECK(link.closed);
    auto frames = link.frames();
    REQUIRE_FALSE(frames.empty());
    CHECK(frames.back().msg_case() == v1::Frame::kError);
    CHECK(frames.back().error().code() == v1::ERROR_CODE_TIMEOUT);
    peer->on_closed("closed");
  }
}

TEST_CASE("session_open_race: a socket whose deadline passed while opening is closed at open", "[unit][sync]") {
  Hub h;
  auto peer = h.upgrade(/*enrol=*/true);
  h.now += 11000;  // the WebSocket handshake took longer than the Hello deadline
  h.hub->tick();
  RecordingLink link;
  peer->on_open(link);
  CHECK(link.closed);
  for (const auto& f : link.frames()) CHECK(f.msg_case() != v1::Frame::kChallenge);
  peer->on_closed("closed");
}

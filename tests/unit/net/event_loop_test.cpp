// EventLoop, Timer and WorkerThread (common/net/event_loop.h): the contract the
// daemons' timers and store thread rely on.
#include "common/net/event_loop.h"

#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using namespace terril;

TEST_CASE("event loop: a timer fires once, in delay order", "[event_loop]") {
  EventLoop loop;
  std::vector<int> order;
  Timer a(loop), b(loop);
  a.start(20, [&] { order.push_back(2); });
  b.start(1, [&] { order.push_back(1); });
  CHECK(a.pending());
  loop.run();  // returns when no work is left
  CHECK(order == std::vector<int>{1, 2});
  CHECK_FALSE(a.pending());
  CHECK_FALSE(b.pending());
}

TEST_CASE("event loop: cancel and restart drop the earlier callback", "[event_loop]") {
  EventLoop loop;
  int fired = 0, second = 0;
  Timer t(loop);
  t.start(0, [&] { ++fired; });
  t.cancel();
  Timer u(loop);
  u.start(0, [&] { ++fired; });
  u.start(1, [&] { ++second; });  // replaces the pending wait
  loop.run();
  CHECK(fired == 0);
  CHECK(second == 1);
}

TEST_CASE("event loop: a timer destroyed before it is due never calls back", "[event_loop]") {
  EventLoop loop;
  bool fired = false;
  {
    Timer t(loop);
    t.start(0, [&] { fired = true; });
  }
  loop.run();
  CHECK_FALSE(fired);
}

TEST_CASE("event loop: post from another thread runs on the loop's thread", "[event_loop]") {
  EventLoop loop;
  std::thread::id ran_on;
  Timer keep(loop);  // keeps run() busy until the post arrives
  keep.start(10000, [] {});
  std::thread other([&] {
    loop.post([&] {
      ran_on = std::this_thread::get_id();
      keep.cancel();
      loop.stop();
    });
  });
  loop.run();
  other.join();
  CHECK(ran_on == std::this_thread::get_id());
}

TEST_CASE("worker thread: posted work runs in order, join drains it", "[event_loop]") {
  std::vector<int> seen;
  std::atomic<int> count{0};
  WorkerThread w;
  for (int i = 0; i < 100; ++i)
    w.post([&, i] {
      seen.push_back(i);
      ++count;
    });
  w.join();
  w.join();  // idempotent
  CHECK(count == 100);
  for (int i = 0; i < 100; ++i) CHECK(seen[i] == i);
}

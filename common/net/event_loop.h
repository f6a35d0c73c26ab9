// The daemons' event loop, timers and worker thread, with Asio kept inside
// common/net: code outside common/net posts work and arms timers through this
// header only (a ctest forbids <boost/...> elsewhere).
//
// Threading: a daemon runs one EventLoop on one thread (run()); every
// connection, Peer callback, Timer callback and posted function runs there,
// so protocol code needs no locks. post() may be called from any thread
// (the hub's store thread hands results back this way). A Timer is used from
// the loop's thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace terril {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs handlers on the calling thread until stop(), or until no work is
  // left (no connection, timer or posted function).
  void run();
  // Runs handlers for at most `ms` milliseconds, or until no work is left.
  void run_for(int64_t ms);
  // Makes run() return as soon as possible; pending handlers are dropped
  // when the loop is destroyed. Thread-safe.
  void stop();
  bool stopped() const;
  // Queues `fn` to run on the loop's thread. Thread-safe.
  void post(std::function<void()> fn);
  // Calls `fn(signal_number)` on the loop's thread at the first SIGINT or
  // SIGTERM (once). The daemons stop their servers and links there.
  void on_stop_signal(std::function<void(int)> fn);

  // The Asio context, for common/net's Beast code (ws_server, ws_client).
  boost::asio::io_context& io();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A one-shot timer on an EventLoop. start() replaces any pending wait;
// cancel() (and the destructor) make sure the callback is not called, even
// if it was already due. The callback runs on the loop's thread.
class Timer {
 public:
  explicit Timer(EventLoop& loop);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void start(int64_t delay_ms, std::function<void()> fn);
  void cancel();
  // A callback is armed and has not run yet.
  bool pending() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// One worker thread that runs posted functions in order, e.g. the hub's
// store thread (group commit). The destructor runs what was posted, then
// joins.
class WorkerThread {
 public:
  WorkerThread();
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Thread-safe.
  void post(std::function<void()> fn);
  // Runs what was posted, then joins the thread. Idempotent.
  void join();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace terril

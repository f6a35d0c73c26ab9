// EventLoop, Timer and WorkerThread over Boost.Asio (see event_loop.h).
#include "common/net/event_loop.h"

#include <csignal>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

namespace terril {

namespace asio = boost::asio;

struct EventLoop::Impl {
  asio::io_context io{1};
  std::unique_ptr<asio::signal_set> signals;
};

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}
EventLoop::~EventLoop() = default;

void EventLoop::run() {
  impl_->io.run();
}
void EventLoop::run_for(int64_t ms) {
  impl_->io.run_for(std::chrono::milliseconds(ms));
}
void EventLoop::stop() {
  impl_->io.stop();
}
bool EventLoop::stopped() const {
  return impl_->io.stopped();
}
void EventLoop::post(std::function<void()> fn) {
  asio::post(impl_->io, std::move(fn));
}
asio::io_context& EventLoop::io() {
  return impl_->io;
}

void EventLoop::on_stop_signal(std::function<void(int)> fn) {
  impl_->signals = std::make_unique<asio::signal_set>(impl_->io, SIGINT, SIGTERM);
  impl_->signals->async_wait([fn = std::move(fn)](boost::system::error_code ec, int sig) {
    if (!ec) fn(sig);
  });
}

// The handler holds a weak reference and the generation it was armed with:
// a cancel() or a later start() bumps the generation, so a handler already
// queued by Asio finds it stale and does nothing.
struct Timer::Impl {
  explicit Impl(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  uint64_t generation = 0;
  bool armed = false;
};

Timer::Timer(EventLoop& loop) : impl_(std::make_shared<Impl>(loop.io())) {}
Timer::~Timer() {
  cancel();
}

void Timer::start(int64_t delay_ms, std::function<void()> fn) {
  uint64_t gen = ++impl_->generation;
  impl_->armed = true;
  impl_->timer.expires_after(std::chrono::milliseconds(delay_ms < 0 ? 0 : delay_ms));
  impl_->timer.async_wait([weak = std::weak_ptr<Impl>(impl_), gen, fn = std::move(fn)](boost::system::error_code) {
    auto self = weak.lock();
    if (!self || self->generation != gen || !self->armed) return;
    self->armed = false;
    fn();
  });
}

void Timer::cancel() {
  ++impl_->generation;
  impl_->armed = false;
  impl_->timer.cancel();
}

bool Timer::pending() const {
  return impl_->armed;
}

struct WorkerThread::Impl {
  asio::thread_pool pool{1};
  bool joined = false;
};

WorkerThread::WorkerThread() : impl_(std::make_unique<Impl>()) {}
WorkerThread::~WorkerThread() {
  join();
}
void WorkerThread::post(std::function<void()> fn) {
  asio::post(impl_->pool, std::move(fn));
}
void WorkerThread::join() {
  if (impl_->joined) return;
  impl_->joined = true;
  impl_->pool.join();
}

}  // namespace terril

// An epoll event loop run on one thread: device backends, timers and (later)
// the API socket. Other threads hand it work with post(); callbacks run on
// the loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "base/error.h"

namespace vessel {

class EventLoop {
 public:
  using FdCallback = std::function<void(uint32_t epoll_events)>;
  using TimerId = uint64_t;  // never kNoTimer; never reused by one loop
  static constexpr TimerId kNoTimer = 0;

  static Expected<std::unique_ptr<EventLoop>> create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` for `events` (EPOLLIN, ...). The loop does not own the fd.
  Status add_fd(int fd, uint32_t events, FdCallback callback);
  Status modify_fd(int fd, uint32_t events);
  void remove_fd(int fd);

  // Calls `fn` on the loop thread every `period` (or once if `periodic` is
  // false). Safe from any thread.
  Expected<TimerId> add_timer(std::chrono::nanoseconds period, bool periodic,
                              std::function<void()> fn);
  // Stops a timer; unknown and fired one-shot ids are ignored. Safe from any
  // thread; from another thread than the loop's, a callback that has just
  // started may still be running or about to run once.
  void remove_timer(TimerId id);

  // Runs `fn` on the loop thread soon. Safe from any thread.
  void post(std::function<void()> fn);

  // Dispatches events until stop(). Call on the loop thread.
  void run();
  // Makes run() return. Safe from any thread.
  void stop();

 private:
  // All timers share one timerfd, set to the earliest deadline: a timer
  // costs no file descriptor, and an id is never handed out again (timers
  // once were a timerfd each, named by its number; a number closed by
  // remove_timer and reused at once by the next add_timer let a callback of
  // the removed timer, already on its way, swallow the new timer's expiry).
  struct Timer {
    uint64_t deadline_ns;  // CLOCK_MONOTONIC
    uint64_t period_ns;    // 0: one-shot
    std::shared_ptr<std::function<void()>> fn;
  };

  EventLoop() = default;
  void drain_posted();
  void run_due_timers();
  void arm_timer_fd_locked();

  int epoll_fd_ = -1;
  int wake_fd_ = -1;   // eventfd for post() and stop()
  int timer_fd_ = -1;  // CLOCK_MONOTONIC timerfd at the earliest deadline
  bool stopping_ = false;
  std::mutex mu_;  // guards everything below, and stopping_
  std::vector<std::function<void()>> posted_;
  std::map<int, std::shared_ptr<FdCallback>> callbacks_;
  TimerId next_timer_ = 1;
  std::map<TimerId, Timer> timers_;
  std::set<std::pair<uint64_t, TimerId>> deadlines_;  // (deadline, id) of every timer
  uint64_t timer_fd_deadline_ = 0;                    // what timer_fd_ is set to; 0: disarmed
};

}  // namespace vessel

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
  using TimerId = int;  // the timer's timerfd

  static Expected<std::unique_ptr<EventLoop>> create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` for `events` (EPOLLIN, ...). The loop does not own the fd.
  Status add_fd(int fd, uint32_t events, FdCallback callback);
  Status modify_fd(int fd, uint32_t events);
  void remove_fd(int fd);

  // Calls `fn` on the loop thread every `period` (or once if `periodic` is false).
  Expected<TimerId> add_timer(std::chrono::nanoseconds period, bool periodic,
                              std::function<void()> fn);
  void remove_timer(TimerId id);

  // Runs `fn` on the loop thread soon. Safe from any thread.
  void post(std::function<void()> fn);

  // Dispatches events until stop(). Call on the loop thread.
  void run();
  // Makes run() return. Safe from any thread.
  void stop();

 private:
  EventLoop() = default;
  void drain_posted();

  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd for post() and stop()
  bool stopping_ = false;
  std::mutex mu_;  // guards posted_, stopping_, callbacks_ and timer_fds_
  std::vector<std::function<void()>> posted_;
  std::map<int, std::shared_ptr<FdCallback>> callbacks_;
  std::set<int> timer_fds_;
};

}  // namespace vessel

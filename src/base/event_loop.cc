#include "base/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/time_source.h"

namespace vessel {

Expected<std::unique_ptr<EventLoop>> EventLoop::create() {
  std::unique_ptr<EventLoop> loop(new EventLoop());
  loop->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (loop->epoll_fd_ < 0) return make_error("epoll_create1: {}", std::strerror(errno));
  loop->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (loop->wake_fd_ < 0) return make_error("eventfd: {}", std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = loop->wake_fd_;
  if (::epoll_ctl(loop->epoll_fd_, EPOLL_CTL_ADD, loop->wake_fd_, &ev) < 0) {
    return make_error("epoll_ctl: {}", std::strerror(errno));
  }
  loop->timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (loop->timer_fd_ < 0) return make_error("timerfd_create: {}", std::strerror(errno));
  ev.data.fd = loop->timer_fd_;
  if (::epoll_ctl(loop->epoll_fd_, EPOLL_CTL_ADD, loop->timer_fd_, &ev) < 0) {
    return make_error("epoll_ctl: {}", std::strerror(errno));
  }
  return loop;
}

EventLoop::~EventLoop() {
  if (timer_fd_ >= 0) ::close(timer_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Status EventLoop::add_fd(int fd, uint32_t events, FdCallback callback) {
  {
    std::lock_guard lock(mu_);
    callbacks_[fd] = std::make_shared<FdCallback>(std::move(callback));
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    int err = errno;
    std::lock_guard lock(mu_);
    callbacks_.erase(fd);
    return make_error("cannot watch fd {}: {}", fd, std::strerror(err));
  }
  return ok_status();
}

Status EventLoop::modify_fd(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) < 0) {
    return make_error("cannot change watch on fd {}: {}", fd, std::strerror(errno));
  }
  return ok_status();
}

void EventLoop::remove_fd(int fd) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  std::lock_guard lock(mu_);
  callbacks_.erase(fd);
}

Expected<EventLoop::TimerId> EventLoop::add_timer(std::chrono::nanoseconds period, bool periodic,
                                                  std::function<void()> fn) {
  uint64_t period_ns = period.count() > 0 ? static_cast<uint64_t>(period.count()) : 1;
  std::lock_guard lock(mu_);
  TimerId id = next_timer_++;
  uint64_t deadline = monotonic_now_ns() + period_ns;
  timers_.emplace(id, Timer{deadline, periodic ? period_ns : 0,
                            std::make_shared<std::function<void()>>(std::move(fn))});
  deadlines_.emplace(deadline, id);
  arm_timer_fd_locked();
  return id;
}

void EventLoop::remove_timer(TimerId id) {
  std::lock_guard lock(mu_);
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  deadlines_.erase({it->second.deadline_ns, id});
  timers_.erase(it);
  // timer_fd_ stays set: an early wake-up finds nothing due and re-arms it.
}

void EventLoop::arm_timer_fd_locked() {
  if (deadlines_.empty()) return;
  uint64_t first = deadlines_.begin()->first;
  if (first == timer_fd_deadline_) return;
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(first / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(first % 1'000'000'000);
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  // A deadline already past makes the fd readable at once.
  if (::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr) == 0) {
    timer_fd_deadline_ = first;
  }
}

void EventLoop::run_due_timers() {
  uint64_t expirations;
  ssize_t unused = ::read(timer_fd_, &expirations, sizeof(expirations));
  (void)unused;
  std::vector<TimerId> due;
  {
    std::lock_guard lock(mu_);
    timer_fd_deadline_ = 0;  // fired (or set later than now): set it again below
    uint64_t now = monotonic_now_ns();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      TimerId id = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      Timer& t = timers_.at(id);
      if (t.period_ns) {
        // Periods missed while the loop was busy are skipped, not made up.
        t.deadline_ns += t.period_ns;
        if (t.deadline_ns <= now) t.deadline_ns = now + t.period_ns;
        deadlines_.emplace(t.deadline_ns, id);
      }
      due.push_back(id);
    }
    arm_timer_fd_locked();
  }
  for (TimerId id : due) {
    std::shared_ptr<std::function<void()>> fn;
    {
      std::lock_guard lock(mu_);
      auto it = timers_.find(id);
      if (it == timers_.end()) continue;  // removed by an earlier callback
      fn = it->second.fn;
      if (!it->second.period_ns) timers_.erase(it);  // one-shot: gone once called
    }
    (*fn)();
  }
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  ssize_t unused = ::write(wake_fd_, &one, sizeof(one));
  (void)unused;
}

void EventLoop::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  uint64_t one = 1;
  ssize_t unused = ::write(wake_fd_, &one, sizeof(one));
  (void)unused;
}

void EventLoop::drain_posted() {
  uint64_t count;
  ssize_t unused = ::read(wake_fd_, &count, sizeof(count));
  (void)unused;
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(mu_);
    work.swap(posted_);
  }
  for (auto& fn : work) fn();
}

void EventLoop::run() {
  constexpr int kMaxEvents = 32;
  epoll_event events[kMaxEvents];
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        drain_posted();
        continue;
      }
      if (fd == timer_fd_) {
        run_due_timers();
        continue;
      }
      std::shared_ptr<FdCallback> cb;
      {
        std::lock_guard lock(mu_);
        auto it = callbacks_.find(fd);
        if (it != callbacks_.end()) cb = it->second;
      }
      if (cb) (*cb)(events[i].events);
    }
  }
}

}  // namespace vessel

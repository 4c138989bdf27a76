#include "base/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
  return loop;
}

EventLoop::~EventLoop() {
  for (int tfd : timer_fds_) ::close(tfd);  // timers are the loop's; other fds are not
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
  int tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (tfd < 0) return make_error("timerfd_create: {}", std::strerror(errno));
  if (period.count() <= 0) period = std::chrono::nanoseconds(1);
  itimerspec spec{};
  spec.it_value.tv_sec = period.count() / 1'000'000'000;
  spec.it_value.tv_nsec = period.count() % 1'000'000'000;
  if (periodic) spec.it_interval = spec.it_value;
  if (::timerfd_settime(tfd, 0, &spec, nullptr) < 0) {
    int err = errno;
    ::close(tfd);
    return make_error("timerfd_settime: {}", std::strerror(err));
  }
  auto status = add_fd(tfd, EPOLLIN, [tfd, fn = std::move(fn)](uint32_t) {
    uint64_t expirations;
    if (::read(tfd, &expirations, sizeof(expirations)) == sizeof(expirations)) fn();
  });
  if (!status.ok()) {
    ::close(tfd);
    return status.error();
  }
  std::lock_guard lock(mu_);
  timer_fds_.insert(tfd);
  return tfd;
}

void EventLoop::remove_timer(TimerId id) {
  remove_fd(id);
  {
    std::lock_guard lock(mu_);
    if (timer_fds_.erase(id) == 0) return;
  }
  ::close(id);
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

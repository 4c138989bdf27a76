#include "net/slirp_backend.h"

#include <slirp/libslirp.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

#include "base/log.h"
#include "base/thread_name.h"

namespace vessel {

struct SlirpBackend::Timer {
  void (*cb)(void*) = nullptr;
  void* cb_opaque = nullptr;
  int64_t expire_ms = -1;  // -1: not armed
};

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SlirpBackend* self(void* opaque) {
  return static_cast<SlirpBackend*>(opaque);
}

extern "C" {

ssize_t cb_send_packet(const void* buf, size_t len, void* opaque) {
  self(opaque)->on_send_packet(buf, len);
  return static_cast<ssize_t>(len);
}

void cb_guest_error(const char* msg, void*) {
  log_info("slirp: guest error: {}", msg);
}

int64_t cb_clock_get_ns(void*) {
  return now_ns();
}

void* cb_timer_new(SlirpTimerCb cb, void* cb_opaque, void* opaque) {
  return self(opaque)->on_timer_new(cb, cb_opaque);
}

void cb_timer_free(void* timer, void* opaque) {
  self(opaque)->on_timer_free(static_cast<SlirpBackend::Timer*>(timer));
}

void cb_timer_mod(void* timer, int64_t expire_ms, void* opaque) {
  self(opaque)->on_timer_mod(static_cast<SlirpBackend::Timer*>(timer), expire_ms);
}

void cb_register_poll_fd(int, void*) {}
void cb_unregister_poll_fd(int, void*) {}
// Called on the slirp thread itself, which polls again right after.
void cb_notify(void*) {}

int cb_add_poll(int fd, int events, void* opaque) {
  return self(opaque)->on_add_poll(fd, events);
}

int cb_get_revents(int idx, void* opaque) {
  return self(opaque)->on_get_revents(idx);
}

}  // extern "C"

in_addr v4(uint32_t host_order) {
  in_addr a{};
  a.s_addr = htonl(host_order);
  return a;
}

in6_addr v6(const char* text) {
  in6_addr a{};
  inet_pton(AF_INET6, text, &a);
  return a;
}

}  // namespace

SlirpBackend::SlirpBackend() : tx_(kTxQueueFrames, kTxQueueBytes) {}

Expected<std::unique_ptr<SlirpBackend>> SlirpBackend::create(
    const std::vector<HostForward>& forwards, uint16_t mtu) {
  std::unique_ptr<SlirpBackend> b(new SlirpBackend());
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return errno_error("user networking: eventfd");
  b->wake_fd_ = OwnedFd(fd);
  b->tx_frame_.reserve(kMaxFrameBytes);
  b->mtu_ = mtu;

  SlirpConfig cfg{};
  cfg.version = 4;
  cfg.restricted = 0;
  cfg.in_enabled = true;
  cfg.vnetwork = v4(slirp_net::kNetwork);
  cfg.vnetmask = v4(slirp_net::kNetmask);
  cfg.vhost = v4(slirp_net::kHost);
  cfg.in6_enabled = true;
  cfg.vprefix_addr6 = v6("fec0::");
  cfg.vprefix_len = 64;
  cfg.vhost6 = v6("fec0::2");
  cfg.vnameserver6 = v6("fec0::3");
  cfg.vdhcp_start = v4(slirp_net::kDhcpStart);
  cfg.vnameserver = v4(slirp_net::kDns);
  cfg.if_mtu = mtu;
  cfg.if_mru = mtu;
  static const SlirpCb callbacks = {
      .send_packet = cb_send_packet,
      .guest_error = cb_guest_error,
      .clock_get_ns = cb_clock_get_ns,
      .timer_new = cb_timer_new,
      .timer_free = cb_timer_free,
      .timer_mod = cb_timer_mod,
      .register_poll_fd = cb_register_poll_fd,
      .unregister_poll_fd = cb_unregister_poll_fd,
      .notify = cb_notify,
      .init_completed = nullptr,
      .timer_new_opaque = nullptr,
  };
  b->slirp_ = slirp_new(&cfg, &callbacks, b.get());
  if (!b->slirp_) return make_error("user networking: libslirp could not start");

  for (const HostForward& f : forwards) {
    errno = 0;
    if (slirp_add_hostfwd(b->slirp_, f.udp, v4(f.host_addr), f.host_port, v4(f.guest_addr),
                          f.guest_port) < 0) {
      int err = errno;
      return make_error(
          "hostfwd {}:{}:{}: cannot listen on the host port{}", f.udp ? "udp" : "tcp",
          format_ipv4(f.host_addr), f.host_port,
          err ? std::string(" (") + std::strerror(err) + ")" : std::string(" (in use?)"));
    }
  }
  return b;
}

SlirpBackend::~SlirpBackend() {
  if (thread_.joinable()) {
    stop_.store(true);
    wake();
    thread_.join();
  }
  if (slirp_) slirp_cleanup(slirp_);
}

Status SlirpBackend::start(EventLoop&) {
  return start_thread();
}

Status SlirpBackend::start_thread() {
  if (thread_.joinable()) return make_error("user networking started twice");
  thread_ = std::thread([this] { run(); });
  return ok_status();
}

void SlirpBackend::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof(one));
}

bool SlirpBackend::can_send() {
  if (!tx_.full()) return true;
  tx_blocked_.store(true);
  // The thread may have drained the queue meanwhile: look again.
  return !tx_.full();
}

bool SlirpBackend::send(std::vector<uint8_t>& frame) {
  bool was_empty = false;
  if (!tx_.push_swap(frame, &was_empty)) {
    tx_drops_++;
    return false;
  }
  if (was_empty) wake();
  return true;
}

// --- the slirp thread ----------------------------------------------------------------

void SlirpBackend::on_send_packet(const void* buf, size_t len) {
  deliver(std::span<const uint8_t>(static_cast<const uint8_t*>(buf), len));
}

SlirpBackend::Timer* SlirpBackend::on_timer_new(void (*cb)(void*), void* cb_opaque) {
  auto t = std::make_unique<Timer>();
  t->cb = cb;
  t->cb_opaque = cb_opaque;
  timers_.push_back(std::move(t));
  return timers_.back().get();
}

void SlirpBackend::on_timer_free(Timer* t) {
  std::erase_if(timers_, [t](const std::unique_ptr<Timer>& p) { return p.get() == t; });
}

void SlirpBackend::on_timer_mod(Timer* t, int64_t expire_ms) {
  t->expire_ms = expire_ms;
}

int SlirpBackend::on_add_poll(int fd, int events) {
  short ev = 0;
  if (events & SLIRP_POLL_IN) ev |= POLLIN;
  if (events & SLIRP_POLL_OUT) ev |= POLLOUT;
  if (events & SLIRP_POLL_PRI) ev |= POLLPRI;
  pollfds_.push_back({fd, ev, 0});
  return static_cast<int>(pollfds_.size() - 1);
}

int SlirpBackend::on_get_revents(int idx) const {
  if (idx < 0 || static_cast<size_t>(idx) >= pollfds_.size()) return 0;
  short r = pollfds_[idx].revents;
  int out = 0;
  if (r & POLLIN) out |= SLIRP_POLL_IN;
  if (r & POLLOUT) out |= SLIRP_POLL_OUT;
  if (r & POLLPRI) out |= SLIRP_POLL_PRI;
  if (r & POLLERR) out |= SLIRP_POLL_ERR;
  if (r & POLLHUP) out |= SLIRP_POLL_HUP;
  return out;
}

uint32_t SlirpBackend::run_timers(uint32_t cap) {
  int64_t now_ms = now_ns() / 1'000'000;
  // A timer callback may arm, re-arm or free timers: find one at a time.
  for (;;) {
    Timer* due = nullptr;
    for (auto& t : timers_) {
      if (t->expire_ms >= 0 && t->expire_ms <= now_ms) {
        due = t.get();
        break;
      }
    }
    if (!due) break;
    due->expire_ms = -1;
    due->cb(due->cb_opaque);
  }
  uint32_t wait = cap;
  for (auto& t : timers_) {
    if (t->expire_ms >= 0) {
      wait = static_cast<uint32_t>(std::clamp<int64_t>(t->expire_ms - now_ms, 0, wait));
    }
  }
  return wait;
}

void SlirpBackend::run() {
  set_thread_name("vessel-slirp");
  while (!stop_.load()) {
    // Frames from the guest, then slirp's timers and sockets.
    while (tx_.pop_swap(tx_frame_)) {
      slirp_input(slirp_, tx_frame_.data(), static_cast<int>(tx_frame_.size()));
    }
    if (tx_blocked_.exchange(false)) tx_ready();
    uint32_t timeout = run_timers(UINT32_MAX);
    pollfds_.clear();
    pollfds_.push_back({wake_fd_.get(), POLLIN, 0});
    slirp_pollfds_fill(slirp_, &timeout, cb_add_poll, this);
    int ms = timeout == UINT32_MAX ? -1 : static_cast<int>(std::min<uint32_t>(timeout, INT_MAX));
    int n = ::poll(pollfds_.data(), pollfds_.size(), ms);
    if (n < 0 && errno != EINTR) {
      log_warn("user networking: poll: {}", std::strerror(errno));
    }
    if (n > 0 && (pollfds_[0].revents & POLLIN)) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_.get(), &count, sizeof(count));
    }
    slirp_pollfds_poll(slirp_, n < 0, cb_get_revents, this);
  }
}

}  // namespace vessel

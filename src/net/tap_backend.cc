#include "net/tap_backend.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/event_loop.h"
#include "base/log.h"

namespace vessel {

Expected<std::unique_ptr<TapBackend>> TapBackend::open(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return make_error("tap '{}': an interface name has 1 to {} characters", name, IFNAMSIZ - 1);
  }
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENODEV || err == ENXIO) {
      return make_error("tap {}: /dev/net/tun is missing (load the tun module)", name);
    }
    return make_error("tap {}: cannot open /dev/net/tun: {}", name, std::strerror(err));
  }
  std::unique_ptr<TapBackend> b(new TapBackend());
  b->fd_ = OwnedFd(fd);
  b->ifname_ = name;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    if (err == EPERM || err == EACCES) {
      return make_error(
          "tap {}: not permitted to attach (needs CAP_NET_ADMIN, or a TAP made with `ip tuntap "
          "add {} mode tap user $USER`)",
          name, name);
    }
    if (err == EBUSY) return make_error("tap {}: the interface is in use by another program", name);
    if (err == EINVAL) {
      return make_error("tap {}: the interface exists but is not a TAP (or has other flags)", name);
    }
    return make_error("tap {}: TUNSETIFF failed: {}", name, std::strerror(err));
  }
  b->buf_.resize(kMaxFrameBytes);
  return b;
}

TapBackend::~TapBackend() {
  if (loop_) loop_->remove_fd(fd_.get());
}

Status TapBackend::start(EventLoop& loop) {
  VESSEL_TRY(loop.add_fd(fd_.get(), EPOLLIN, [this](uint32_t) { read_frames(); }));
  loop_ = &loop;
  return ok_status();
}

void TapBackend::read_frames() {
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && !warned_) {
        warned_ = true;
        log_warn("tap {}: read: {}", ifname_, std::strerror(errno));
      }
      return;
    }
    if (n == 0) return;
    deliver(std::span<const uint8_t>(buf_.data(), static_cast<size_t>(n)));
  }
}

bool TapBackend::send(std::vector<uint8_t>& frame) {
  for (;;) {
    ssize_t n = ::write(fd_.get(), frame.data(), frame.size());
    if (n >= 0) return true;
    if (errno == EINTR) continue;
    // EAGAIN: the interface's queue is full (or it is down): drop.
    if (errno != EAGAIN && !warned_) {
      warned_ = true;
      log_warn("tap {}: write: {}", ifname_, std::strerror(errno));
    }
    tx_drops_++;
    return false;
  }
}

}  // namespace vessel

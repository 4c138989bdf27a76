// A TAP interface of the host (/dev/net/tun, IFF_TAP | IFF_NO_PI): frames
// the guest sends are written to it, frames the host routes to it are read
// on the event loop into the receive backlog. The interface must exist
// already or the process must be allowed to create it (CAP_NET_ADMIN); a
// persistent one made with `ip tuntap add NAME mode tap user USER` needs no
// privileges.
#pragma once

#include <string>
#include <vector>

#include "base/owned_fd.h"
#include "net/net_backend.h"

namespace vessel {

class TapBackend : public NetBackend {
 public:
  // Opens /dev/net/tun and attaches to interface `name`; the error says why
  // not (no /dev/net/tun, no permission, interface busy).
  static Expected<std::unique_ptr<TapBackend>> open(const std::string& name);
  ~TapBackend() override;

  std::string_view name() const override { return "tap"; }
  Status start(EventLoop& loop) override;
  bool send(std::vector<uint8_t>& frame) override;
  // Reads every frame waiting on the TAP (the event loop calls it).
  void read_frames();
  int fd() const { return fd_.get(); }

 private:
  TapBackend() = default;

  OwnedFd fd_;
  std::string ifname_;
  EventLoop* loop_ = nullptr;
  std::vector<uint8_t> buf_;
  bool warned_ = false;
};

}  // namespace vessel

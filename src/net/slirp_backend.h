// User-mode networking through libslirp: the guest sees a NATed network
// with QEMU's well-known addresses (net_options.h, slirp_net): 10.0.2.0/24,
// the gateway and host at 10.0.2.2, DNS at 10.0.2.3, DHCP from 10.0.2.15,
// and IPv6 fec0::/64. Outbound TCP and UDP become host sockets; hostfwd rules
// forward host ports into the guest.
//
// libslirp is not thread-safe, so every slirp call happens on the backend's
// own thread: it polls slirp's sockets and a wake-up eventfd, runs slirp's
// timers, and feeds slirp the frames the guest sent, which send() hands over
// through a bounded FrameQueue. Frames slirp emits go to the receive
// backlog (NetBackend::deliver).
#pragma once

#include <poll.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "base/owned_fd.h"
#include "net/net_backend.h"
#include "net/net_options.h"

struct Slirp;

namespace vessel {

class SlirpBackend : public NetBackend {
 public:
  static constexpr size_t kTxQueueFrames = 256;
  static constexpr size_t kTxQueueBytes = 4u << 20;
  // Large frames cost the guest fewer packets (a 64 MiB download under soft:
  // about 100 MiB/s at 1500, 185 at 16384). Not larger: slirp gives a
  // connection a send buffer of 8 KiB rounded up to whole segments, reads
  // the host socket only while that is under half full, and (BSD's
  // sender-side silly-window avoidance) sends less than a full segment only
  // when that empties the buffer or fills half the largest window the guest
  // offered. At 64 KiB segments, a guest window under half its earlier one
  // (seen early in a connection) left slirp holding data it would neither
  // send nor top up until its persist timer: one 64 MiB download in about
  // twelve stalled for ~10 s. None did in 48 at 16384.
  static constexpr uint16_t kDefaultMtu = 16384;

  // Creates the slirp instance and binds the forwarded host ports (an error
  // names a port that cannot be bound). `mtu` is slirp's interface MTU/MRU.
  static Expected<std::unique_ptr<SlirpBackend>> create(const std::vector<HostForward>& forwards,
                                                        uint16_t mtu = kDefaultMtu);
  ~SlirpBackend() override;

  std::string_view name() const override { return "user"; }
  uint16_t mtu() const override { return mtu_; }
  Status start(EventLoop& loop) override;
  // Starts the slirp thread without an event loop (tests).
  Status start_thread();
  bool can_send() override;
  bool send(std::vector<uint8_t>& frame) override;

  // The slirp callbacks (C linkage trampolines call these; slirp thread).
  struct Timer;
  void on_send_packet(const void* buf, size_t len);
  Timer* on_timer_new(void (*cb)(void*), void* cb_opaque);
  void on_timer_free(Timer* t);
  void on_timer_mod(Timer* t, int64_t expire_ms);
  int on_add_poll(int fd, int events);
  int on_get_revents(int idx) const;

 private:
  SlirpBackend();
  void run();
  void wake();
  // ms until the next timer (or `cap`), and runs the expired ones.
  uint32_t run_timers(uint32_t cap);

  Slirp* slirp_ = nullptr;
  uint16_t mtu_ = kDefaultMtu;
  OwnedFd wake_fd_;
  FrameQueue tx_;
  std::atomic<bool> tx_blocked_{false};  // send() was refused: call tx_ready()
  std::atomic<bool> stop_{false};
  std::thread thread_;
  // Slirp thread only.
  std::vector<pollfd> pollfds_;
  std::vector<std::unique_ptr<Timer>> timers_;
  std::vector<uint8_t> tx_frame_;
};

}  // namespace vessel

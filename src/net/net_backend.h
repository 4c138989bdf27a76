// What virtio-net (virtio/virtio_net.h) needs from the host side of a
// network: a way to send a frame the guest transmitted, and a receive
// backlog the backend fills with frames for the guest.
//
// Receive: the backend copies each frame into rx_backlog() (a bounded
// FrameQueue: frames wait there while the guest has posted no receive
// buffers; beyond its bounds they are dropped and counted) and, when the
// backlog was empty, calls the receive callback, which kicks the device's
// receive queue. The device drains the backlog on the event loop.
//
// Transmit: the device calls send() on the event loop. A backend that queues
// frames for another thread reports can_send() false when its queue is full;
// the device then stops taking frames from the guest and the backend calls
// the transmit-ready callback once there is room again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "net/frame_queue.h"

namespace vessel {

class EventLoop;

class NetBackend {
 public:
  // The largest Ethernet frame (without the virtio-net header) either way.
  static constexpr size_t kMaxFrameBytes = 65550;
  // Receive backlog bounds.
  static constexpr size_t kRxBacklogFrames = 1024;
  static constexpr size_t kRxBacklogBytes = 4u << 20;

  NetBackend() : rx_(kRxBacklogFrames, kRxBacklogBytes) {}
  virtual ~NetBackend() = default;
  NetBackend(const NetBackend&) = delete;
  NetBackend& operator=(const NetBackend&) = delete;

  virtual std::string_view name() const = 0;
  // The largest IP packet the backend carries (the device offers it to the
  // driver as the MTU).
  virtual uint16_t mtu() const { return 1500; }

  // Set once by the device before start(). Both may be called on any thread.
  void set_callbacks(std::function<void()> on_rx, std::function<void()> on_tx_ready) {
    on_rx_ = std::move(on_rx);
    on_tx_ready_ = std::move(on_tx_ready);
  }
  // Starts receiving (registers file descriptors on `loop`, or starts a
  // thread). Called once, before the guest runs.
  virtual Status start(EventLoop& loop) = 0;

  // Whether send() takes a frame now. When false, the backend calls the
  // transmit-ready callback once it does again.
  virtual bool can_send() { return true; }
  // Sends a guest frame. May swap `frame` with another buffer (no copy).
  // False when the frame was dropped.
  virtual bool send(std::vector<uint8_t>& frame) = 0;

  FrameQueue& rx_backlog() { return rx_; }
  uint64_t tx_drops() const { return tx_drops_; }

 protected:
  // Queues a received frame for the guest (any thread); kicks the device
  // when the backlog was empty.
  void deliver(std::span<const uint8_t> frame) {
    bool was_empty = false;
    if (rx_.push(frame, &was_empty) && was_empty && on_rx_) on_rx_();
  }
  void tx_ready() {
    if (on_tx_ready_) on_tx_ready_();
  }

  FrameQueue rx_;
  uint64_t tx_drops_ = 0;

 private:
  std::function<void()> on_rx_;
  std::function<void()> on_tx_ready_;
};

}  // namespace vessel

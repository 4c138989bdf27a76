// What a virtio device type (entropy, block, console, net, ...) provides to a
// transport (virtio_pci.h): its type, feature bits, queues and configuration
// space, and the processing of a queue the driver notified. The transport
// owns feature negotiation, device status, reset, the queues' set-up and the
// interrupts; a device sees only started queues and negotiated features.
//
// Threading: the transport calls every method under its own lock, the queue
// processing on the event-loop thread (never a vCPU thread), the rest from
// whichever thread touched the registers. Work that completes later (host
// I/O on another thread, input from a backend) is handed back through
// VirtioHost::kick(): the device returns the finished chains from its next
// process_queue(), so a Virtqueue is only ever touched under the lock.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "virtio/virtqueue.h"

namespace vessel {

class EventLoop;

// What the transport offers its device, for work that does not start with a
// driver notification: a backend with new input (a received packet, console
// input) or a finished host I/O. Both calls are safe from any thread, the
// transport's lock held or not, and only schedule work on the event loop.
class VirtioHost {
 public:
  virtual ~VirtioHost() = default;
  // Has process_queue(q) run soon, as if the driver had notified queue q.
  virtual void kick(uint16_t q) = 0;
  // The device configuration changed: the transport bumps config_generation
  // and sends a configuration-change interrupt.
  virtual void config_changed() = 0;
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  virtual std::string_view name() const = 0;
  // virtio device type (virtio_spec.h: kDeviceEntropy, ...).
  virtual uint16_t device_type() const = 0;
  // PCI class code (class << 16 | subclass << 8 | prog-if).
  virtual uint32_t pci_class() const { return 0xFF0000; }
  // Device-type feature bits; the transport adds VERSION_1, INDIRECT_DESC
  // and EVENT_IDX.
  virtual uint64_t device_features() const { return 0; }
  virtual uint16_t num_queues() const = 0;
  // The largest size of queue `q` (a power of two).
  virtual uint16_t queue_max_size(uint16_t /*q*/) const { return 256; }

  // Device-specific configuration space; bytes past config_size() read 0.
  virtual uint32_t config_size() const { return 0; }
  virtual void config_read(uint32_t /*offset*/, std::span<uint8_t> data) {
    for (auto& b : data) b = 0;
  }
  virtual void config_write(uint32_t /*offset*/, std::span<const uint8_t> /*data*/) {}

  // The driver set DRIVER_OK having accepted `features`.
  virtual void activate(uint64_t /*features*/) {}
  // Device reset: forget every request and negotiated state.
  virtual void reset() {}

  // The driver notified queue `q` (started, on the event loop): take chains
  // with vq.pop(), return them with vq.push(). An Error means the driver
  // broke the rules; the transport then marks the device as needing reset.
  // Interrupts for the pushed chains are the transport's business.
  virtual Status process_queue(uint16_t q, Virtqueue& vq) = 0;

  // Statistics for the management API, as (name, value) pairs; safe from any
  // thread (the values are Counters, base/counter.h).
  virtual std::vector<std::pair<std::string, uint64_t>> counters() const { return {}; }

  // Called once by the transport when it takes the device, before anything
  // else: the device keeps `host` for kick() and config_changed().
  virtual void attach_host(VirtioHost& host) { host_ = &host; }
  // Called once before the guest runs when the transport is put on an event
  // loop: backends that wait on file descriptors or timers register them.
  virtual Status attach_event_loop(EventLoop& /*loop*/) { return ok_status(); }

 protected:
  VirtioHost* host_ = nullptr;
};

}  // namespace vessel

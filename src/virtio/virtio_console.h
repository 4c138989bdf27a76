// virtio-console (virtio 1.1, 5.3) with a single port and no MULTIPORT: the
// guest's hvc0. Queue 0 (receiveq0) takes host input: the driver posts
// device-writable buffers there and the device fills them. Queue 1
// (transmitq0) carries guest output: device-readable buffers whose bytes go to
// the output sink (vessel's stdout).
//
// Input arrives from a backend (StdioConsole) through offer_input() on any
// thread. It is kept in a bounded backlog (kMaxBacklog bytes; offer_input()
// takes what fits and the backend offers the rest again later) until the
// guest has receive buffers; offer_input() kicks the receive queue, and a
// driver notification on it (new buffers) delivers what is waiting. Receive
// buffers are only taken while input is waiting, so a guest's posted buffers
// stay on the available ring until there is something to put in them. The
// backlog belongs to the host side and survives a device reset (input typed
// while the guest's driver is starting is not lost).
//
// Configuration space: cols u16, rows u16, max_nr_ports u32 (1). With a
// terminal size given, F_SIZE is offered and cols/rows are that size; else
// they read 0. EMERG_WRITE is not offered.
//
// A receive chain with a device-readable buffer or a transmit chain with a
// device-writable one breaks the rules: process_queue() returns an Error and
// the transport marks the device as needing a reset.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "virtio/virtio_device.h"

namespace vessel {

class VirtioConsole : public VirtioDevice {
 public:
  static constexpr uint16_t kReceiveQueue = 0;
  static constexpr uint16_t kTransmitQueue = 1;
  static constexpr uint16_t kQueueSize = 128;
  static constexpr size_t kMaxBacklog = 16 * 1024;
  static constexpr uint64_t kFeatureSize = 1ull << 0;        // VIRTIO_CONSOLE_F_SIZE
  static constexpr uint64_t kFeatureMultiport = 1ull << 1;   // not offered
  static constexpr uint64_t kFeatureEmergWrite = 1ull << 2;  // not offered
  static constexpr uint32_t kConfigSize = 8;

  struct WindowSize {
    uint16_t cols = 0;
    uint16_t rows = 0;
  };
  using OutputSink = std::function<void(std::span<const uint8_t>)>;

  // `sink` receives the guest's output (on the event-loop thread, under the
  // transport's lock). `size`: the terminal's size for F_SIZE, if known.
  explicit VirtioConsole(OutputSink sink, std::optional<WindowSize> size = std::nullopt);

  std::string_view name() const override { return "console"; }
  uint16_t device_type() const override;
  uint32_t pci_class() const override { return 0x078000; }  // communication, other
  uint64_t device_features() const override { return size_ ? kFeatureSize : 0; }
  uint16_t num_queues() const override { return 2; }
  uint16_t queue_max_size(uint16_t) const override { return kQueueSize; }
  uint32_t config_size() const override { return kConfigSize; }
  void config_read(uint32_t offset, std::span<uint8_t> data) override;
  Status process_queue(uint16_t q, Virtqueue& vq) override;

  // Host input for the guest, from any thread: appends as much as the backlog
  // has room for and returns how many bytes it took.
  size_t offer_input(std::span<const uint8_t> bytes);

  // For tests and statistics.
  size_t backlog() const;
  uint64_t bytes_received() const { return bytes_received_.load(); }
  uint64_t bytes_sent() const { return bytes_sent_.load(); }
  std::vector<std::pair<std::string, uint64_t>> counters() const override {
    return {{"rx_bytes", bytes_received()}, {"tx_bytes", bytes_sent()}};
  }

 private:
  Status receive(Virtqueue& vq);
  Status transmit(Virtqueue& vq);

  OutputSink sink_;
  std::optional<WindowSize> size_;
  DescChain chain_;
  // Statistics, read from any thread.
  std::atomic<uint64_t> bytes_received_{0};  // host input delivered to the guest
  std::atomic<uint64_t> bytes_sent_{0};      // guest output given to the sink

  mutable std::mutex mu_;  // guards backlog_ (offer_input runs on any thread)
  std::string backlog_;
};

}  // namespace vessel

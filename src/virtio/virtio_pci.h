// The virtio 1.x PCI transport, modern (non-transitional) only (virtio 1.1,
// 4.1): a PciDevice with vendor 0x1AF4, device 0x1040 + the device type,
// revision 1, and one 64-bit memory BAR (BAR 0, 32 KiB) holding
//
//   0x0000  common configuration (struct virtio_pci_common_cfg)
//   0x1000  ISR status (reading it clears it and lowers INTx)
//   0x2000  device-specific configuration (when the device has one)
//   0x3000  notifications: queue q at 0x3000 + q * 4 (notify_off_multiplier 4)
//   0x4000  MSI-X table (one vector per queue + one for configuration)
//   0x6000  MSI-X pending bits
//
// each announced by a vendor-specific capability (common, notify, ISR,
// device). Feature negotiation goes through the select windows; FEATURES_OK
// is kept only for a subset of the offered features that includes VERSION_1.
// Writing 0 to device_status resets the device. Queue registers apply to
// queue_select's queue and are frozen once it is enabled; enabling checks the
// ring layout. Interrupts: MSI-X (msix_config, queue_msix_vector; a vector the
// table does not have reads back as NO_VECTOR) while MSI-X is enabled, else
// INTx with the ISR bits.
//
// A queue notification (an MMIO write on a vCPU thread) only sets the queue's
// pending bit and signals an eventfd; the event loop (attach_event_loop) then
// runs process_notifications(), where the device processes the queue. A
// device's VirtioHost::kick() and config_changed() go the same way. Tests
// without a loop call process_notifications() themselves.
//
// A driver that breaks a queue (virtqueue.h) or enables an impossible ring
// makes the device set DEVICE_NEEDS_RESET and send a configuration-change
// interrupt; its queues are left alone until the driver resets the device.
// Vessel logs the first such error of each device.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "base/error.h"
#include "base/event_loop.h"
#include "irq/irq_chip.h"
#include "memory/guest_memory.h"
#include "pci/pci_device.h"
#include "virtio/virtio_device.h"
#include "virtio/virtio_spec.h"
#include "virtio/virtqueue.h"

namespace vessel {

class VirtioPciDevice : public PciDevice, private VirtioHost {
 public:
  // BAR 0 layout.
  static constexpr int kBar = 0;
  static constexpr uint64_t kBarSize = 0x8000;
  static constexpr uint64_t kCommonOffset = 0x0000;
  static constexpr uint64_t kIsrOffset = 0x1000;
  static constexpr uint64_t kDeviceCfgOffset = 0x2000;
  static constexpr uint64_t kNotifyOffset = 0x3000;
  static constexpr uint64_t kMsixTableOffset = 0x4000;
  static constexpr uint64_t kMsixPbaOffset = 0x6000;
  static constexpr uint32_t kNotifyMultiplier = 4;
  static constexpr uint32_t kMaxQueues = 256;  // notify area 0x3000..0x3fff

  static Expected<std::shared_ptr<VirtioPciDevice>> create(std::unique_ptr<VirtioDevice> device,
                                                           GuestMemory& mem, IrqChip& irq);
  ~VirtioPciDevice() override;

  // Processes notifications on `loop` from now on (before the guest runs).
  Status attach_event_loop(EventLoop& loop);
  // Processes every queue notified since the last call. Event-loop thread.
  void process_notifications();

  // For tests and statistics.
  uint8_t device_status() const;
  uint64_t driver_features() const;
  VirtioDevice& device() { return *device_; }

 protected:
  void bar_read(int bar, uint64_t offset, std::span<uint8_t> data) override;
  void bar_write(int bar, uint64_t offset, std::span<const uint8_t> data) override;

 private:
  struct Queue {
    explicit Queue(GuestMemory& mem) : vq(mem) {}
    uint16_t size = 0;  // what the driver chose (starts at the maximum)
    uint16_t max_size = 0;
    uint16_t msix_vector = virtio::kMsiNoVector;
    bool enabled = false;
    uint64_t desc = 0, driver = 0, device = 0;
    Virtqueue vq;
  };

  VirtioPciDevice(std::unique_ptr<VirtioDevice> device, GuestMemory& mem, const PciIds& ids);
  uint64_t offered_features() const;
  void common_image_locked(uint8_t* image) const;
  void common_write_locked(uint64_t offset, std::span<const uint8_t> data);
  void apply_common_field_locked(uint32_t field, uint64_t value);
  void write_status_locked(uint8_t value);
  void enable_queue_locked(uint16_t q);
  void reset_locked();
  void process_queue_locked(uint16_t q);
  void mark_broken_locked(uint16_t q, const Error& error);
  void signal_queue_locked(uint16_t q);
  void signal_config_locked();
  void raise_isr_locked(uint8_t bits);
  void notify(uint16_t q);
  // VirtioHost
  void kick(uint16_t q) override { notify(q); }
  void config_changed() override;

  std::unique_ptr<VirtioDevice> device_;
  GuestMemory& mem_;
  mutable std::mutex mu_;  // guards everything below but pending_ and event_fd_
  uint32_t device_feature_select_ = 0;
  uint32_t driver_feature_select_ = 0;
  uint64_t driver_features_ = 0;
  uint16_t msix_config_ = virtio::kMsiNoVector;
  uint8_t status_ = 0;
  uint8_t config_generation_ = 0;
  uint16_t queue_select_ = 0;
  uint8_t isr_ = 0;
  bool warned_ = false;
  std::vector<std::unique_ptr<Queue>> queues_;

  std::unique_ptr<std::atomic<bool>[]> pending_;  // one per queue
  std::atomic<bool> config_pending_{false};       // config_changed() not yet signalled
  int event_fd_ = -1;
  EventLoop* loop_ = nullptr;
};

}  // namespace vessel

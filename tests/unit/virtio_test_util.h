// Helpers for the virtio tests: a split ring laid out in a GuestMemory that
// the test fills the way a driver would (descriptors, available ring, the
// event fields) and whose used ring it reads back.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>

#include "bus/io_bus.h"
#include "memory/guest_memory.h"
#include "pci_test_util.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_spec.h"
#include "virtio/virtqueue.h"

namespace vessel::testing {

class TestRing {
 public:
  // A ring of `size` entries (at most 256) with its parts at `base`,
  // base + 0x1000 (available) and base + 0x2000 (used), all zeroed.
  TestRing(GuestMemory& mem, uint16_t size, uint64_t base = 0x10000)
      : mem_(mem), size_(size), desc_(base), avail_(base + 0x1000), used_(base + 0x2000) {
    EXPECT_TRUE(mem_.fill(base, 0, 0x3000).ok());
  }

  Virtqueue::Layout layout() const { return {size_, desc_, avail_, used_}; }
  uint64_t desc_addr() const { return desc_; }
  uint64_t avail_addr() const { return avail_; }
  uint64_t used_addr() const { return used_; }

  // Descriptor `i` of the table at `table` (default: the ring's own table).
  void set_desc(uint32_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0,
                uint64_t table = 0) {
    uint64_t at = (table ? table : desc_) + uint64_t{i} * 16;
    EXPECT_TRUE(mem_.write_obj<uint64_t>(at, addr).ok());
    EXPECT_TRUE(mem_.write_obj<uint32_t>(at + 8, len).ok());
    EXPECT_TRUE(mem_.write_obj<uint16_t>(at + 12, flags).ok());
    EXPECT_TRUE(mem_.write_obj<uint16_t>(at + 14, next).ok());
  }
  // Makes chain `head` available and publishes the new index.
  void publish(uint16_t head) {
    EXPECT_TRUE(mem_.write_obj<uint16_t>(avail_ + 4 + 2 * (avail_idx_ % size_), head).ok());
    set_avail_idx(static_cast<uint16_t>(avail_idx_ + 1));
  }
  void set_avail_idx(uint16_t idx) {
    avail_idx_ = idx;
    EXPECT_TRUE(mem_.write_obj<uint16_t>(avail_ + 2, idx).ok());
  }
  void set_avail_flags(uint16_t flags) { EXPECT_TRUE(mem_.write_obj(avail_, flags).ok()); }
  void set_used_event(uint16_t v) { EXPECT_TRUE(mem_.write_obj(avail_ + 4 + 2 * size_, v).ok()); }

  uint16_t used_idx() const { return read16(used_ + 2); }
  uint16_t avail_event() const { return read16(used_ + 4 + 8 * size_); }
  uint32_t used_id(uint16_t slot) const { return read32(used_ + 4 + 8 * (slot % size_)); }
  uint32_t used_len(uint16_t slot) const { return read32(used_ + 8 + 8 * (slot % size_)); }

 private:
  uint16_t read16(uint64_t gpa) const {
    auto v = mem_.read_obj<uint16_t>(gpa);
    return v.ok() ? *v : 0xDEAD;
  }
  uint32_t read32(uint64_t gpa) const {
    auto v = mem_.read_obj<uint32_t>(gpa);
    return v.ok() ? *v : 0xDEADBEEF;
  }

  GuestMemory& mem_;
  uint16_t size_;
  uint64_t desc_, avail_, used_;
  uint16_t avail_idx_ = 0;
};

// A driver's steps on the BAR 0 (at `bar` on `io`) of a VirtioPciDevice.
class VirtioBarDriver {
 public:
  VirtioBarDriver(IoBus& io, uint64_t bar) : io_(io), bar_(bar) {}

  uint64_t rd(uint64_t off, size_t size) { return mmio_read(io_, bar_ + off, size); }
  void wr(uint64_t off, size_t size, uint64_t v) { mmio_write(io_, bar_ + off, size, v); }
  uint8_t status() { return static_cast<uint8_t>(rd(virtio::common::kDeviceStatus, 1)); }
  uint64_t device_features() {
    wr(virtio::common::kDeviceFeatureSelect, 4, 0);
    uint64_t lo = rd(virtio::common::kDeviceFeature, 4);
    wr(virtio::common::kDeviceFeatureSelect, 4, 1);
    return lo | rd(virtio::common::kDeviceFeature, 4) << 32;
  }
  // ACKNOWLEDGE, DRIVER, the feature words, FEATURES_OK.
  void negotiate(uint64_t features) {
    namespace c = virtio::common;
    wr(c::kDeviceStatus, 1, virtio::kStatusAcknowledge);
    wr(c::kDeviceStatus, 1, virtio::kStatusAcknowledge | virtio::kStatusDriver);
    wr(c::kDriverFeatureSelect, 4, 0);
    wr(c::kDriverFeature, 4, features & 0xFFFF'FFFF);
    wr(c::kDriverFeatureSelect, 4, 1);
    wr(c::kDriverFeature, 4, features >> 32);
    wr(c::kDeviceStatus, 1,
       virtio::kStatusAcknowledge | virtio::kStatusDriver | virtio::kStatusFeaturesOk);
  }
  // Queue q on `ring` with `size` entries and MSI-X `vector`, enabled. The
  // driver area goes in two dword writes, as some drivers do.
  void setup_queue(uint16_t q, const TestRing& ring, uint16_t size,
                   uint16_t vector = virtio::kMsiNoVector) {
    namespace c = virtio::common;
    wr(c::kQueueSelect, 2, q);
    wr(c::kQueueSize, 2, size);
    wr(c::kQueueMsixVector, 2, vector);
    wr(c::kQueueDesc, 8, ring.desc_addr());
    wr(c::kQueueDriver, 4, ring.avail_addr() & 0xFFFF'FFFF);
    wr(c::kQueueDriver + 4, 4, ring.avail_addr() >> 32);
    wr(c::kQueueDevice, 8, ring.used_addr());
    wr(c::kQueueEnable, 2, 1);
  }
  void driver_ok() {
    wr(virtio::common::kDeviceStatus, 1,
       virtio::kStatusAcknowledge | virtio::kStatusDriver | virtio::kStatusFeaturesOk |
           virtio::kStatusDriverOk);
  }
  void notify(uint16_t q) {
    wr(VirtioPciDevice::kNotifyOffset + q * VirtioPciDevice::kNotifyMultiplier, 2, q);
  }

 private:
  IoBus& io_;
  uint64_t bar_;
};

}  // namespace vessel::testing

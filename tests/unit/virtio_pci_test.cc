#include "virtio/virtio_pci.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "base/event_loop.h"
#include "device_fakes.h"
#include "pci/pci_bus.h"
#include "pci_test_util.h"
#include "virtio/virtio_rng.h"
#include "virtio/virtio_spec.h"
#include "virtio_test_util.h"

namespace vessel {
namespace {

using testing::cfg_read;
using testing::cfg_write;
using testing::FakeIrqChip;
using testing::mmio_read;
using testing::mmio_write;
using testing::TestRing;
using Msi = FakeIrqChip::Msi;
namespace c = virtio::common;

constexpr uint64_t kMemSize = 4 << 20;

// A device with two queues and 8 bytes of configuration that answers each
// chain by writing its readable bytes, reversed, into its writable buffers.
class EchoDevice : public VirtioDevice {
 public:
  std::string_view name() const override { return "echo"; }
  uint16_t device_type() const override { return 9; }
  uint64_t device_features() const override { return 1ull << 3; }
  uint16_t num_queues() const override { return 2; }
  uint16_t queue_max_size(uint16_t) const override { return 16; }
  uint32_t config_size() const override { return 8; }
  void config_read(uint32_t offset, std::span<uint8_t> data) override {
    for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(0x50 + offset + i);
  }
  void activate(uint64_t features) override { activated_with = features; }
  void reset() override { resets++; }
  Status process_queue(uint16_t q, Virtqueue& vq) override {
    processed[q]++;
    thread = std::this_thread::get_id();
    for (;;) {
      auto got = vq.pop(chain);
      if (!got.ok()) return got.error();
      if (!*got) return ok_status();
      std::vector<uint8_t> bytes(chain.readable_bytes());
      VESSEL_TRY(chain.read_from(vq.memory(), 0, bytes));
      std::reverse(bytes.begin(), bytes.end());
      auto n = chain.write_to(vq.memory(), 0, bytes);
      if (!n.ok()) return n.error();
      VESSEL_TRY(vq.push(chain.head(), static_cast<uint32_t>(*n)));
    }
  }

  VirtioHost* host() const { return host_; }

  DescChain chain;
  std::map<uint16_t, int> processed;
  uint64_t activated_with = 0;
  int resets = 0;
  std::thread::id thread;
};

class VirtioPciTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::create(kMemSize);
    ASSERT_TRUE(m.ok());
    mem = std::move(*m);
    auto d = std::make_unique<EchoDevice>();
    echo = d.get();
    make(std::move(d));
  }
  void make(std::unique_ptr<VirtioDevice> device) {
    pci_bus = std::make_unique<PciBus>(io, irq);
    auto dev = VirtioPciDevice::create(std::move(device), *mem, irq);
    ASSERT_TRUE(dev.ok()) << dev.error().message;
    vdev = *dev;
    auto s = pci_bus->add(vdev);
    ASSERT_TRUE(s.ok());
    slot = *s;
    ASSERT_TRUE(vdev->bar_mapping(0).has_value());
    bar = *vdev->bar_mapping(0);
  }
  testing::VirtioBarDriver driver() { return {io, bar}; }
  uint64_t rd(uint64_t off, size_t size) { return driver().rd(off, size); }
  void wr(uint64_t off, size_t size, uint64_t v) { driver().wr(off, size, v); }
  uint8_t status() { return driver().status(); }

  // The vendor capabilities: cfg_type -> config-space offset.
  std::map<uint8_t, uint32_t> virtio_caps() {
    std::map<uint8_t, uint32_t> caps;
    uint32_t at = cfg_read(*vdev, pci::kCapabilitiesPointer, 1);
    for (int n = 0; at && n < 16; n++) {
      if (cfg_read(*vdev, at, 1) == pci::kCapVendor) caps[cfg_read(*vdev, at + 3, 1)] = at;
      at = cfg_read(*vdev, at + 1, 1);
    }
    return caps;
  }
  uint32_t msix_cap() {
    uint32_t at = cfg_read(*vdev, pci::kCapabilitiesPointer, 1);
    for (int n = 0; at && n < 16; n++) {
      if (cfg_read(*vdev, at, 1) == pci::kCapMsix) return at;
      at = cfg_read(*vdev, at + 1, 1);
    }
    return 0;
  }
  void enable_msix() {
    uint32_t cap = msix_cap();
    ASSERT_NE(cap, 0u);
    cfg_write(*vdev, cap + pci::kMsixControl, 2, pci::kMsixControlEnable);
    for (uint32_t v = 0; v < 3; v++) {
      uint64_t e = bar + VirtioPciDevice::kMsixTableOffset + v * 16;
      mmio_write(io, e, 8, 0xFEE0'0000 + v * 0x1000);
      mmio_write(io, e + 8, 4, 0x40 + v);
      mmio_write(io, e + 12, 4, 0);  // unmasked
    }
  }
  // ACKNOWLEDGE, DRIVER, features, FEATURES_OK, as a driver does.
  void negotiate(uint64_t features) { driver().negotiate(features); }
  void setup_queue(uint16_t q, const TestRing& ring, uint16_t size, uint16_t vector) {
    driver().setup_queue(q, ring, size, vector);
  }
  void driver_ok() { driver().driver_ok(); }
  void kick(uint16_t q) { driver().notify(q); }
  // Queue 0 running with MSI-X vector 1 (config vector 0) and one chain
  // "abc" -> 8 writable bytes made available.
  void running_echo(TestRing& ring, bool msix = true) {
    if (msix) enable_msix();
    negotiate(virtio::kFeatureVersion1 | virtio::kFeatureEventIdx);
    wr(c::kMsixConfig, 2, msix ? 0 : virtio::kMsiNoVector);
    setup_queue(0, ring, 8, msix ? 1 : virtio::kMsiNoVector);
    driver_ok();
    ASSERT_TRUE(mem->write(0x20000, "abc", 3).ok());
    ring.set_desc(0, 0x20000, 3, virtio::kDescFlagNext, 1);
    ring.set_desc(1, 0x21000, 8, virtio::kDescFlagWrite);
    ring.publish(0);
  }

  std::unique_ptr<GuestMemory> mem;
  IoBus io;
  FakeIrqChip irq;
  std::unique_ptr<PciBus> pci_bus;
  std::shared_ptr<VirtioPciDevice> vdev;
  EchoDevice* echo = nullptr;
  uint32_t slot = 0;
  uint64_t bar = 0;
};

TEST_F(VirtioPciTest, IdentityAndCapabilities) {
  EXPECT_EQ(cfg_read(*vdev, pci::kVendorId, 2), 0x1AF4u);
  EXPECT_EQ(cfg_read(*vdev, pci::kDeviceId, 2), 0x1040u + 9);
  EXPECT_EQ(cfg_read(*vdev, pci::kRevision, 1), 1u);
  EXPECT_GE(cfg_read(*vdev, pci::kSubsystemId, 2), 0x40u);
  EXPECT_EQ(cfg_read(*vdev, pci::kInterruptPin, 1), 1u);
  EXPECT_EQ(vdev->bar_kind(0), PciBarKind::kMemory64);
  auto caps = virtio_caps();
  ASSERT_EQ(caps.size(), 4u);
  struct Want {
    uint8_t type;
    uint32_t offset, length;
  };
  for (Want w :
       {Want{virtio::kPciCapCommonCfg, 0x0000, 0x38}, Want{virtio::kPciCapNotifyCfg, 0x3000, 8},
        Want{virtio::kPciCapIsrCfg, 0x1000, 1}, Want{virtio::kPciCapDeviceCfg, 0x2000, 8}}) {
    ASSERT_TRUE(caps.count(w.type)) << int(w.type);
    uint32_t at = caps[w.type];
    EXPECT_EQ(cfg_read(*vdev, at + 2, 1), w.type == virtio::kPciCapNotifyCfg ? 20u : 16u);
    EXPECT_EQ(cfg_read(*vdev, at + 4, 1), 0u);  // BAR 0
    EXPECT_EQ(cfg_read(*vdev, at + 8, 4), w.offset);
    EXPECT_EQ(cfg_read(*vdev, at + 12, 4), w.length);
  }
  EXPECT_EQ(cfg_read(*vdev, caps[virtio::kPciCapNotifyCfg] + 16, 4), 4u);
  EXPECT_NE(msix_cap(), 0u);
  EXPECT_EQ(cfg_read(*vdev, msix_cap() + pci::kMsixControl, 2) & pci::kMsixControlTableSize, 2u);
  // The device configuration through the BAR.
  EXPECT_EQ(rd(VirtioPciDevice::kDeviceCfgOffset + 2, 2), 0x5352u);
  EXPECT_EQ(rd(c::kNumQueues, 2), 2u);
}

TEST_F(VirtioPciTest, FeatureWindows) {
  wr(c::kDeviceFeatureSelect, 4, 0);
  uint32_t low = static_cast<uint32_t>(rd(c::kDeviceFeature, 4));
  wr(c::kDeviceFeatureSelect, 4, 1);
  uint32_t high = static_cast<uint32_t>(rd(c::kDeviceFeature, 4));
  wr(c::kDeviceFeatureSelect, 4, 2);
  EXPECT_EQ(rd(c::kDeviceFeature, 4), 0u);
  uint64_t offered = (uint64_t{high} << 32) | low;
  EXPECT_EQ(offered, (1ull << 3) | virtio::kFeatureVersion1 | virtio::kFeatureIndirectDesc |
                         virtio::kFeatureEventIdx);
}

TEST_F(VirtioPciTest, FeaturesOkOnlyForAModernSubset) {
  negotiate(virtio::kFeatureVersion1 | (1ull << 3));
  EXPECT_TRUE(status() & virtio::kStatusFeaturesOk);
  EXPECT_EQ(vdev->driver_features(), virtio::kFeatureVersion1 | (1ull << 3));
  // Frozen now.
  wr(c::kDriverFeatureSelect, 4, 0);
  wr(c::kDriverFeature, 4, 0);
  EXPECT_EQ(vdev->driver_features(), virtio::kFeatureVersion1 | (1ull << 3));

  wr(c::kDeviceStatus, 1, 0);
  negotiate(1ull << 3);  // no VERSION_1: legacy drivers are refused
  EXPECT_FALSE(status() & virtio::kStatusFeaturesOk);
  wr(c::kDeviceStatus, 1, 0);
  negotiate(virtio::kFeatureVersion1 | (1ull << 5));  // not offered
  EXPECT_FALSE(status() & virtio::kStatusFeaturesOk);
  EXPECT_EQ(status(), virtio::kStatusAcknowledge | virtio::kStatusDriver);
}

TEST_F(VirtioPciTest, ResetClearsEverything) {
  TestRing ring(*mem, 8);
  running_echo(ring);
  EXPECT_EQ(echo->activated_with, virtio::kFeatureVersion1 | virtio::kFeatureEventIdx);
  wr(c::kQueueSelect, 2, 0);
  EXPECT_EQ(rd(c::kQueueEnable, 2), 1u);
  EXPECT_EQ(rd(c::kQueueSize, 2), 8u);
  wr(c::kDeviceStatus, 1, 0);
  EXPECT_EQ(status(), 0u);
  EXPECT_EQ(echo->resets, 1);
  EXPECT_EQ(vdev->driver_features(), 0u);
  EXPECT_EQ(rd(c::kMsixConfig, 2), virtio::kMsiNoVector);
  wr(c::kQueueSelect, 2, 0);
  EXPECT_EQ(rd(c::kQueueEnable, 2), 0u);
  EXPECT_EQ(rd(c::kQueueSize, 2), 16u);  // back to the maximum
  EXPECT_EQ(rd(c::kQueueMsixVector, 2), virtio::kMsiNoVector);
  EXPECT_EQ(rd(c::kQueueDesc, 8), 0u);
  // A notification after reset does nothing.
  kick(0);
  vdev->process_notifications();
  EXPECT_EQ(echo->processed[0], 0);
}

TEST_F(VirtioPciTest, QueueRegisters) {
  wr(c::kQueueSelect, 2, 1);
  EXPECT_EQ(rd(c::kQueueSize, 2), 16u);
  EXPECT_EQ(rd(c::kQueueNotifyOff, 2), 1u);
  wr(c::kQueueDesc, 8, 0x1234'5678'9000);
  EXPECT_EQ(rd(c::kQueueDesc, 8), 0x1234'5678'9000u);
  EXPECT_EQ(rd(c::kQueueDesc + 4, 4), 0x1234u);
  wr(c::kQueueSelect, 2, 2);  // no such queue
  EXPECT_EQ(rd(c::kQueueSize, 2), 0u);
  wr(c::kQueueSize, 2, 4);
  EXPECT_EQ(rd(c::kQueueSize, 2), 0u);
  // Vectors the MSI-X table lacks read back as NO_VECTOR.
  wr(c::kQueueSelect, 2, 0);
  wr(c::kQueueMsixVector, 2, 2);
  EXPECT_EQ(rd(c::kQueueMsixVector, 2), 2u);
  wr(c::kQueueMsixVector, 2, 3);
  EXPECT_EQ(rd(c::kQueueMsixVector, 2), virtio::kMsiNoVector);
  wr(c::kMsixConfig, 2, 0x7FF);
  EXPECT_EQ(rd(c::kMsixConfig, 2), virtio::kMsiNoVector);
  // An enabled queue's ring registers are frozen.
  TestRing ring(*mem, 8);
  negotiate(virtio::kFeatureVersion1);
  setup_queue(0, ring, 8, virtio::kMsiNoVector);
  EXPECT_EQ(rd(c::kQueueEnable, 2), 1u);
  wr(c::kQueueSize, 2, 4);
  wr(c::kQueueDesc, 8, 0x90000);
  EXPECT_EQ(rd(c::kQueueSize, 2), 8u);
  EXPECT_EQ(rd(c::kQueueDesc, 8), ring.desc_addr());
}

TEST_F(VirtioPciTest, NotifyProcessesAndSendsTheQueueMsi) {
  TestRing ring(*mem, 8);
  running_echo(ring);
  irq.msis.clear();
  kick(0);
  EXPECT_EQ(echo->processed[0], 0);  // nothing happens on the vCPU's write
  vdev->process_notifications();
  EXPECT_EQ(echo->processed[0], 1);
  EXPECT_EQ(ring.used_idx(), 1);
  EXPECT_EQ(ring.used_len(0), 3u);
  char out[4] = {};
  ASSERT_TRUE(mem->read(0x21000, out, 3).ok());
  EXPECT_STREQ(out, "cba");
  ASSERT_EQ(irq.msis.size(), 1u);
  EXPECT_EQ(irq.msis[0], (Msi{0xFEE0'1000, 0x41}));   // vector 1
  EXPECT_EQ(rd(VirtioPciDevice::kIsrOffset, 1), 0u);  // MSI-X: no ISR bits
  // Nothing pending: no processing, no interrupt.
  vdev->process_notifications();
  EXPECT_EQ(echo->processed[0], 1);
  EXPECT_EQ(irq.msis.size(), 1u);
}

TEST_F(VirtioPciTest, HostKickAndConfigChangeFromAnotherThread) {
  TestRing ring(*mem, 8);
  running_echo(ring);
  vdev->process_notifications();
  ASSERT_NE(echo->host(), nullptr);
  irq.msis.clear();
  uint8_t generation = static_cast<uint8_t>(rd(c::kConfigGeneration, 1));
  // A backend thread hands work back; nothing runs until the loop's turn.
  std::thread([&] {
    echo->host()->kick(0);
    echo->host()->config_changed();
  }).join();
  EXPECT_EQ(echo->processed[0], 1);
  EXPECT_EQ(rd(c::kConfigGeneration, 1), generation);
  vdev->process_notifications();
  EXPECT_EQ(echo->processed[0], 2);
  EXPECT_EQ(rd(c::kConfigGeneration, 1), static_cast<uint8_t>(generation + 1));
  ASSERT_EQ(irq.msis.size(), 1u);
  EXPECT_EQ(irq.msis[0], (Msi{0xFEE0'0000, 0x40}));  // the configuration vector
}

TEST_F(VirtioPciTest, IntxAndIsrWithoutMsix) {
  TestRing ring(*mem, 8);
  running_echo(ring, /*msix=*/false);
  uint32_t gsi = PciBus::intx_gsi(slot, 1);
  kick(0);
  vdev->process_notifications();
  EXPECT_EQ(ring.used_idx(), 1);
  EXPECT_TRUE(irq.level(gsi));
  EXPECT_TRUE(irq.msis.empty());
  EXPECT_EQ(cfg_read(*vdev, pci::kStatus, 2) & pci::kStatusInterrupt, pci::kStatusInterrupt);
  EXPECT_EQ(rd(VirtioPciDevice::kIsrOffset, 1), virtio::kIsrQueue);
  EXPECT_FALSE(irq.level(gsi));  // reading the ISR acknowledged it
  EXPECT_EQ(rd(VirtioPciDevice::kIsrOffset, 1), 0u);
}

TEST_F(VirtioPciTest, NotifiedBeforeDriverOkIsProcessedAtDriverOk) {
  TestRing ring(*mem, 8);
  negotiate(virtio::kFeatureVersion1);
  setup_queue(0, ring, 8, virtio::kMsiNoVector);
  ring.set_desc(0, 0x21000, 8, virtio::kDescFlagWrite);
  ring.publish(0);
  kick(0);
  vdev->process_notifications();
  EXPECT_EQ(echo->processed[0], 0);
  driver_ok();
  vdev->process_notifications();
  EXPECT_EQ(echo->processed[0], 1);
  EXPECT_EQ(ring.used_idx(), 1);
}

TEST_F(VirtioPciTest, BrokenRingNeedsResetAndSendsConfigInterrupt) {
  TestRing ring(*mem, 8);
  running_echo(ring);
  ring.set_desc(1, 0x21000, 8, virtio::kDescFlagNext, 0);  // 0 -> 1 -> 0: a loop
  irq.msis.clear();
  kick(0);
  vdev->process_notifications();
  EXPECT_TRUE(status() & virtio::kStatusNeedsReset);
  ASSERT_EQ(irq.msis.size(), 1u);
  EXPECT_EQ(irq.msis[0], (Msi{0xFEE0'0000, 0x40}));  // the config vector
  EXPECT_EQ(ring.used_idx(), 0);
  // The driver cannot clear the bit, and the queue is left alone.
  wr(c::kDeviceStatus, 1, status() & ~virtio::kStatusNeedsReset);
  EXPECT_TRUE(status() & virtio::kStatusNeedsReset);
  kick(0);
  vdev->process_notifications();
  EXPECT_EQ(echo->processed[0], 1);
  EXPECT_EQ(irq.msis.size(), 1u);
  // Reset repairs it: the same driver dance works again.
  wr(c::kDeviceStatus, 1, 0);
  EXPECT_EQ(status(), 0u);
  TestRing fresh(*mem, 8, 0x60000);
  running_echo(fresh);
  kick(0);
  vdev->process_notifications();
  EXPECT_EQ(fresh.used_idx(), 1);
  EXPECT_FALSE(status() & virtio::kStatusNeedsReset);
}

TEST_F(VirtioPciTest, BrokenRingWithIntxSetsTheConfigIsrBit) {
  TestRing ring(*mem, 8);
  running_echo(ring, /*msix=*/false);
  ring.set_avail_idx(200);
  kick(0);
  vdev->process_notifications();
  EXPECT_TRUE(status() & virtio::kStatusNeedsReset);
  EXPECT_TRUE(irq.level(PciBus::intx_gsi(slot, 1)));
  EXPECT_EQ(rd(VirtioPciDevice::kIsrOffset, 1), virtio::kIsrConfig);
}

TEST_F(VirtioPciTest, EnablingAnImpossibleRingNeedsReset) {
  negotiate(virtio::kFeatureVersion1);
  wr(c::kQueueSelect, 2, 0);
  wr(c::kQueueSize, 2, 8);
  wr(c::kQueueDesc, 8, kMemSize - 16);  // the table runs past RAM
  wr(c::kQueueDriver, 8, 0x11000);
  wr(c::kQueueDevice, 8, 0x12000);
  wr(c::kQueueEnable, 2, 1);
  EXPECT_EQ(rd(c::kQueueEnable, 2), 0u);
  EXPECT_TRUE(status() & virtio::kStatusNeedsReset);
  wr(c::kDeviceStatus, 1, 0);
  negotiate(virtio::kFeatureVersion1);
  wr(c::kQueueSize, 2, 32);  // larger than the device's 16
  wr(c::kQueueEnable, 2, 1);
  EXPECT_EQ(rd(c::kQueueEnable, 2), 0u);
  EXPECT_TRUE(status() & virtio::kStatusNeedsReset);
}

TEST_F(VirtioPciTest, OddAccessesNeverCrash) {
  for (uint64_t off = 0; off < VirtioPciDevice::kBarSize; off += 3) {
    for (size_t size : {1, 2, 4, 8}) {
      if (off >= VirtioPciDevice::kMsixTableOffset) break;
      (void)rd(off, size);
      if (off != c::kDeviceStatus && off != c::kQueueEnable) wr(off, size, 0xFFFF'FFFF'FFFF'FFFF);
    }
  }
  vdev->process_notifications();
  EXPECT_EQ(rd(c::kNumQueues, 2), 2u);
}

TEST_F(VirtioPciTest, TheEventLoopProcessesNotifications) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  ASSERT_TRUE(vdev->attach_event_loop(**loop).ok());
  std::thread::id loop_id;
  std::thread loop_thread([&] {
    loop_id = std::this_thread::get_id();
    (*loop)->run();
  });
  TestRing ring(*mem, 8);
  running_echo(ring);
  kick(0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ring.used_idx() != 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  (*loop)->stop();
  loop_thread.join();
  EXPECT_EQ(ring.used_idx(), 1);
  EXPECT_EQ(echo->thread, loop_id);  // processed on the loop's thread
  EXPECT_NE(echo->thread, std::this_thread::get_id());
  vdev.reset();  // leaves the loop before it goes
  pci_bus.reset();
}

// --- virtio-rng through the transport ---------------------------------------------

class VirtioRngTest : public VirtioPciTest {
 protected:
  void SetUp() override {
    auto m = GuestMemory::create(kMemSize);
    ASSERT_TRUE(m.ok());
    mem = std::move(*m);
    make(std::make_unique<VirtioRng>());
  }
};

TEST_F(VirtioRngTest, FillsWritableBuffers) {
  EXPECT_EQ(cfg_read(*vdev, pci::kDeviceId, 2), 0x1044u);
  EXPECT_EQ(virtio_caps().count(virtio::kPciCapDeviceCfg), 0u);  // no configuration
  EXPECT_EQ(rd(c::kNumQueues, 2), 1u);
  TestRing ring(*mem, 8);
  enable_msix();
  negotiate(virtio::kFeatureVersion1 | virtio::kFeatureIndirectDesc);
  setup_queue(0, ring, 8, 1);
  driver_ok();
  ASSERT_TRUE(mem->fill(0x20000, 0, 0x1000).ok());
  ring.set_desc(0, 0x20000, 32, virtio::kDescFlagWrite | virtio::kDescFlagNext, 1);
  ring.set_desc(1, 0x20800, 32, virtio::kDescFlagWrite);
  ring.publish(0);
  kick(0);
  vdev->process_notifications();
  ASSERT_EQ(ring.used_idx(), 1);
  EXPECT_EQ(ring.used_len(0), 64u);
  uint8_t a[32], b[32], zero[32] = {};
  ASSERT_TRUE(mem->read(0x20000, a, 32).ok());
  ASSERT_TRUE(mem->read(0x20800, b, 32).ok());
  EXPECT_NE(std::memcmp(a, zero, 32), 0);  // 2^-256 to fail by chance
  EXPECT_NE(std::memcmp(b, zero, 32), 0);
  EXPECT_NE(std::memcmp(a, b, 32), 0);
  EXPECT_EQ(static_cast<VirtioRng&>(vdev->device()).bytes_served(), 64u);
  EXPECT_EQ(vdev->device().counters(),
            (std::vector<std::pair<std::string, uint64_t>>{{"requests", 1}, {"bytes", 64}}));
  EXPECT_EQ(irq.msis.size(), 1u);
  // A huge request gets at most kMaxRequestBytes.
  ring.set_desc(2, 0x100000, 1 << 20, virtio::kDescFlagWrite);
  ring.publish(2);
  kick(0);
  vdev->process_notifications();
  ASSERT_EQ(ring.used_idx(), 2);
  EXPECT_EQ(ring.used_len(1), VirtioRng::kMaxRequestBytes);
}

TEST_F(VirtioRngTest, AReadableBufferNeedsReset) {
  TestRing ring(*mem, 8);
  negotiate(virtio::kFeatureVersion1);
  setup_queue(0, ring, 8, virtio::kMsiNoVector);
  driver_ok();
  ring.set_desc(0, 0x20000, 32, 0);  // device-readable: wrong for entropy
  ring.publish(0);
  kick(0);
  vdev->process_notifications();
  EXPECT_EQ(ring.used_idx(), 0);
  EXPECT_TRUE(status() & virtio::kStatusNeedsReset);
  EXPECT_EQ(rd(VirtioPciDevice::kIsrOffset, 1), virtio::kIsrConfig);
}

}  // namespace
}  // namespace vessel

// virtio-balloon through the PCI transport: inflated pages are discarded
// (read back as zeros), deflated pages are counted, statistics are parsed and
// re-requested by returning the buffer, free page reports are discarded, the
// queue numbering follows the negotiated features, a new target raises a
// configuration interrupt, and hostile PFNs / lengths never break the device.
// Also GuestMemory::discard's checks and the --balloon option parser.
#include "virtio/virtio_balloon.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "base/event_loop.h"
#include "device_fakes.h"
#include "pci/pci_bus.h"
#include "pci_test_util.h"
#include "virtio/balloon_options.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_spec.h"
#include "virtio_test_util.h"

namespace vessel {
namespace {

using testing::cfg_read;
using testing::FakeIrqChip;
using testing::TestRing;
namespace c = virtio::common;
using Kind = VirtioBalloon::QueueKind;

constexpr uint64_t kMemSize = 8 << 20;
constexpr uint64_t kCfg = VirtioPciDevice::kDeviceCfgOffset;
constexpr uint64_t kAllFeatures = virtio::kFeatureVersion1 | VirtioBalloon::kFeatureStatsVq |
                                  VirtioBalloon::kFeaturePageReporting;

class VirtioBalloonTest : public ::testing::Test {
 protected:
  static std::unique_ptr<GuestMemory> make_memory() {
    auto m = GuestMemory::create(kMemSize);
    if (!m.ok()) std::abort();
    return std::move(*m);
  }

  // Without an event loop (most tests) there is no stats timer.
  void make(VirtioBalloon::Options options = {}, bool timer = false) {
    if (!timer) options.stats_period = std::chrono::seconds(0);
    pci_bus = std::make_unique<PciBus>(io, irq);
    auto d = std::make_unique<VirtioBalloon>(options);
    balloon = d.get();
    auto dev = VirtioPciDevice::create(std::move(d), *mem, irq);
    ASSERT_TRUE(dev.ok()) << dev.error().message;
    vdev = *dev;
    ASSERT_TRUE(pci_bus->add(vdev).ok());
    ASSERT_TRUE(vdev->bar_mapping(0).has_value());
    bar = *vdev->bar_mapping(0);
  }
  testing::VirtioBarDriver driver() { return {io, bar}; }
  uint64_t rd(uint64_t off, size_t size) { return driver().rd(off, size); }
  void wr(uint64_t off, size_t size, uint64_t v) { driver().wr(off, size, v); }
  // All four queues up (the first `queues` of them), with `features`.
  void start(uint64_t features = kAllFeatures, int queues = 4) {
    driver().negotiate(features);
    TestRing* rings[] = {&q0, &q1, &q2, &q3};
    for (int i = 0; i < queues; i++) driver().setup_queue(static_cast<uint16_t>(i), *rings[i], 8);
    driver().driver_ok();
    vdev->process_notifications();
  }
  void kick(uint16_t q) {
    driver().notify(q);
    vdev->process_notifications();
  }
  // Writes PFNs at `gpa` and makes them chain `head` of `ring`.
  void offer_pfns(TestRing& ring, uint16_t head, uint64_t gpa, std::vector<uint32_t> pfns,
                  uint32_t len = 0) {
    ASSERT_TRUE(mem->write(gpa, pfns.data(), pfns.size() * 4).ok());
    ring.set_desc(head, gpa, len ? len : static_cast<uint32_t>(pfns.size() * 4), 0);
    ring.publish(head);
  }
  bool page_is_zero(uint64_t gpa) {
    std::vector<uint8_t> b(4096);
    EXPECT_TRUE(mem->read(gpa, b.data(), b.size()).ok());
    for (uint8_t x : b) {
      if (x) return false;
    }
    return true;
  }
  uint8_t status() { return driver().status(); }

  std::unique_ptr<GuestMemory> mem = make_memory();
  IoBus io;
  FakeIrqChip irq;
  std::unique_ptr<PciBus> pci_bus;
  std::shared_ptr<VirtioPciDevice> vdev;
  VirtioBalloon* balloon = nullptr;
  uint64_t bar = 0;
  TestRing q0{*mem, 8, 0x10000};
  TestRing q1{*mem, 8, 0x20000};
  TestRing q2{*mem, 8, 0x30000};
  TestRing q3{*mem, 8, 0x40000};
};

TEST_F(VirtioBalloonTest, IdentityFeaturesAndQueues) {
  make();
  EXPECT_EQ(cfg_read(*vdev, pci::kDeviceId, 2), 0x1045u);
  EXPECT_EQ(rd(c::kNumQueues, 2), 4u);
  uint64_t f = driver().device_features();
  EXPECT_NE(f & VirtioBalloon::kFeatureStatsVq, 0u);
  EXPECT_NE(f & VirtioBalloon::kFeaturePageReporting, 0u);
  EXPECT_EQ(f & VirtioBalloon::kFeatureDeflateOnOom, 0u);
  EXPECT_EQ(f & VirtioBalloon::kFeatureMustTellHost, 0u);
  EXPECT_EQ(f & VirtioBalloon::kFeatureFreePageHint, 0u);
  EXPECT_EQ(f & VirtioBalloon::kFeaturePagePoison, 0u);
}

TEST_F(VirtioBalloonTest, OptionsChangeTheFeatures) {
  VirtioBalloon::Options o;
  o.deflate_on_oom = true;
  o.free_page_reporting = false;
  make(o);
  uint64_t f = driver().device_features();
  EXPECT_NE(f & VirtioBalloon::kFeatureDeflateOnOom, 0u);
  EXPECT_EQ(f & VirtioBalloon::kFeaturePageReporting, 0u);
}

TEST_F(VirtioBalloonTest, QueueNumbersFollowTheNegotiatedFeatures) {
  make();
  start(kAllFeatures);
  EXPECT_EQ(balloon->queue_kind(0), Kind::kInflate);
  EXPECT_EQ(balloon->queue_kind(1), Kind::kDeflate);
  EXPECT_EQ(balloon->queue_kind(2), Kind::kStats);
  EXPECT_EQ(balloon->queue_kind(3), Kind::kReporting);
  // Without STATS_VQ the reporting queue moves up to index 2.
  wr(c::kDeviceStatus, 1, 0);
  start(virtio::kFeatureVersion1 | VirtioBalloon::kFeaturePageReporting, 3);
  EXPECT_EQ(balloon->queue_kind(2), Kind::kReporting);
  EXPECT_EQ(balloon->queue_kind(3), Kind::kNone);
  wr(c::kDeviceStatus, 1, 0);
  start(virtio::kFeatureVersion1, 2);
  EXPECT_EQ(balloon->queue_kind(2), Kind::kNone);
}

TEST_F(VirtioBalloonTest, InflateDiscardsThePagesDeflateCountsThem) {
  make();
  start();
  // The guest wrote to three pages, then gives them to the balloon.
  for (uint64_t gpa : {0x200000, 0x201000, 0x205000}) ASSERT_TRUE(mem->fill(gpa, 0xAB, 4096).ok());
  ASSERT_TRUE(mem->fill(0x202000, 0xCD, 4096).ok());  // not inflated
  offer_pfns(q0, 0, 0x80000, {0x200, 0x201, 0x205});
  kick(0);
  EXPECT_EQ(q0.used_idx(), 1u);
  EXPECT_EQ(q0.used_id(0), 0u);
  EXPECT_EQ(q0.used_len(0), 0u);
  EXPECT_TRUE(page_is_zero(0x200000));
  EXPECT_TRUE(page_is_zero(0x201000));
  EXPECT_TRUE(page_is_zero(0x205000));
  EXPECT_FALSE(page_is_zero(0x202000));
  EXPECT_EQ(balloon->balloon_counters().inflated_pages, 3u);

  offer_pfns(q1, 0, 0x81000, {0x200, 0x201});
  kick(1);
  EXPECT_EQ(q1.used_idx(), 1u);
  EXPECT_EQ(balloon->balloon_counters().deflated_pages, 2u);
  auto named = balloon->counters();
  EXPECT_NE(
      std::find(named.begin(), named.end(), std::pair<std::string, uint64_t>{"inflated_pages", 3}),
      named.end());
  EXPECT_NE(
      std::find(named.begin(), named.end(), std::pair<std::string, uint64_t>{"deflated_pages", 2}),
      named.end());
  EXPECT_EQ(balloon->balloon_counters().rejected, 0u);
  // A deflated page is ordinary memory again.
  ASSERT_TRUE(mem->fill(0x200000, 0x11, 4096).ok());
  EXPECT_FALSE(page_is_zero(0x200000));
}

TEST_F(VirtioBalloonTest, HostilePfnsAndLengthsAreSkippedNotFatal) {
  make();
  start();
  ASSERT_TRUE(mem->fill(0x300000, 0xAB, 4096).ok());
  // A PFN past the end of RAM, one in the MMIO hole, one good one.
  offer_pfns(q0, 0, 0x80000, {0xFFFFFFFF, 0xFEE00, 0x300});
  // 6 bytes: one PFN and half of another.
  offer_pfns(q0, 1, 0x81000, {0x301, 0x302}, 6);
  // Zero-length buffer.
  q0.set_desc(2, 0x82000, 0, 0);
  q0.publish(2);
  kick(0);
  EXPECT_EQ(q0.used_idx(), 3u);
  EXPECT_TRUE(page_is_zero(0x300000));
  auto counters = balloon->balloon_counters();
  EXPECT_EQ(counters.inflated_pages, 2u);  // 0x300 and 0x301
  EXPECT_GE(counters.rejected, 3u);
  EXPECT_EQ(status() & virtio::kStatusNeedsReset, 0);
  // Deflating PFNs outside RAM is rejected too.
  offer_pfns(q1, 0, 0x83000, {0x7FFFFFFF});
  kick(1);
  EXPECT_EQ(q1.used_idx(), 1u);
  EXPECT_EQ(balloon->balloon_counters().deflated_pages, 0u);
  EXPECT_EQ(status() & virtio::kStatusNeedsReset, 0);
}

// Writes (tag, value) statistics at `gpa`, packed 10 bytes each.
void write_stats(GuestMemory& mem, uint64_t gpa,
                 const std::vector<std::pair<uint16_t, uint64_t>>& stats) {
  std::vector<uint8_t> raw(stats.size() * VirtioBalloon::kStatSize);
  for (size_t i = 0; i < stats.size(); i++) {
    std::memcpy(raw.data() + i * 10, &stats[i].first, 2);
    std::memcpy(raw.data() + i * 10 + 2, &stats[i].second, 8);
  }
  ASSERT_TRUE(mem.write(gpa, raw.data(), raw.size()).ok());
}

TEST_F(VirtioBalloonTest, StatisticsAreKeptAndRequestedByReturningTheBuffer) {
  make();
  start();
  EXPECT_FALSE(balloon->stats().valid);
  write_stats(*mem, 0x90000,
              {{VirtioBalloon::kStatFreeMemory, 100 << 20},
               {VirtioBalloon::kStatTotalMemory, 250 << 20},
               {VirtioBalloon::kStatMajorFaults, 7},
               {200, 5}});  // unknown tag: ignored
  q2.set_desc(0, 0x90000, 40, 0);
  q2.publish(0);
  kick(2);
  // The device holds the buffer until it wants fresh values.
  EXPECT_EQ(q2.used_idx(), 0u);
  auto s = balloon->stats();
  ASSERT_TRUE(s.valid);
  EXPECT_EQ(s.values[VirtioBalloon::kStatFreeMemory], uint64_t{100} << 20);
  EXPECT_EQ(s.values[VirtioBalloon::kStatTotalMemory], uint64_t{250} << 20);
  EXPECT_EQ(s.values[VirtioBalloon::kStatMajorFaults], 7u);
  EXPECT_FALSE(s.values[VirtioBalloon::kStatSwapIn].has_value());
  EXPECT_LT(s.age, std::chrono::seconds(5));

  balloon->request_stats();
  vdev->process_notifications();
  ASSERT_EQ(q2.used_idx(), 1u);
  EXPECT_EQ(q2.used_id(0), 0u);
  // The driver answers with the same buffer refilled.
  write_stats(*mem, 0x90000, {{VirtioBalloon::kStatFreeMemory, 50 << 20}});
  q2.set_desc(0, 0x90000, 10, 0);
  q2.publish(0);
  kick(2);
  s = balloon->stats();
  EXPECT_EQ(s.values[VirtioBalloon::kStatFreeMemory], uint64_t{50} << 20);
  EXPECT_FALSE(s.values[VirtioBalloon::kStatTotalMemory].has_value());
  EXPECT_EQ(q2.used_idx(), 1u);  // held again
  EXPECT_EQ(VirtioBalloon::stat_name(VirtioBalloon::kStatFreeMemory), "free-memory");
  EXPECT_EQ(VirtioBalloon::stat_name(999), "");
}

TEST_F(VirtioBalloonTest, OddStatisticsBufferIsNotFatal) {
  make();
  start();
  write_stats(*mem, 0x90000, {{VirtioBalloon::kStatFreeMemory, 1234}});
  q2.set_desc(0, 0x90000, 15, 0);  // one and a half statistics
  q2.publish(0);
  kick(2);
  EXPECT_EQ(balloon->stats().values[VirtioBalloon::kStatFreeMemory], 1234u);
  EXPECT_GE(balloon->balloon_counters().rejected, 1u);
  // A second buffer while one is held returns the first.
  q2.set_desc(1, 0x91000, 10, 0);
  q2.publish(1);
  kick(2);
  EXPECT_EQ(q2.used_idx(), 1u);
  EXPECT_EQ(q2.used_id(0), 0u);
  EXPECT_EQ(status() & virtio::kStatusNeedsReset, 0);
}

TEST_F(VirtioBalloonTest, FreePageReportsAreDiscarded) {
  make();
  start();
  ASSERT_TRUE(mem->fill(0x400000, 0xAB, 0x3000).ok());
  q3.set_desc(0, 0x400000, 0x2000, virtio::kDescFlagWrite);  // Linux: device-writable
  q3.publish(0);
  kick(3);
  EXPECT_EQ(q3.used_idx(), 1u);
  EXPECT_EQ(q3.used_len(0), 0u);
  EXPECT_TRUE(page_is_zero(0x400000));
  EXPECT_TRUE(page_is_zero(0x401000));
  EXPECT_FALSE(page_is_zero(0x402000));
  EXPECT_EQ(balloon->balloon_counters().reported_pages, 2u);
  // Unaligned and partial ranges are rejected, the chain still returned.
  q3.set_desc(1, 0x402800, 0x1000, virtio::kDescFlagWrite);
  q3.publish(1);
  kick(3);
  EXPECT_EQ(q3.used_idx(), 2u);
  EXPECT_FALSE(page_is_zero(0x402000));
  EXPECT_EQ(balloon->balloon_counters().reported_pages, 2u);
  EXPECT_EQ(balloon->balloon_counters().rejected, 1u);
  EXPECT_EQ(status() & virtio::kStatusNeedsReset, 0);
}

TEST_F(VirtioBalloonTest, TargetChangeRaisesAConfigInterrupt) {
  make();
  start();
  EXPECT_EQ(rd(kCfg + VirtioBalloon::kConfigNumPages, 4), 0u);
  uint64_t generation = rd(c::kConfigGeneration, 1);
  rd(VirtioPciDevice::kIsrOffset, 1);  // clear
  balloon->set_target_bytes(64 << 20);
  vdev->process_notifications();
  EXPECT_EQ(rd(kCfg + VirtioBalloon::kConfigNumPages, 4), 16384u);
  EXPECT_NE(rd(c::kConfigGeneration, 1), generation);
  EXPECT_NE(rd(VirtioPciDevice::kIsrOffset, 1) & virtio::kIsrConfig, 0u);
  EXPECT_EQ(balloon->balloon_counters().target_pages, 16384u);
  // Rounded down to whole pages.
  balloon->set_target_bytes(4096 * 3 + 100);
  EXPECT_EQ(rd(kCfg + VirtioBalloon::kConfigNumPages, 4), 3u);
}

TEST_F(VirtioBalloonTest, DriverWritesActualButNotNumPages) {
  make();
  balloon->set_target_bytes(8 << 20);
  start();
  wr(kCfg + VirtioBalloon::kConfigActual, 4, 1500);
  EXPECT_EQ(rd(kCfg + VirtioBalloon::kConfigActual, 4), 1500u);
  EXPECT_EQ(balloon->balloon_counters().actual_pages, 1500u);
  wr(kCfg + VirtioBalloon::kConfigNumPages, 4, 7);
  EXPECT_EQ(rd(kCfg + VirtioBalloon::kConfigNumPages, 4), 2048u);
  // A byte write into actual.
  wr(kCfg + VirtioBalloon::kConfigActual + 1, 1, 0);
  EXPECT_EQ(balloon->balloon_counters().actual_pages, 1500u & 0xFF);
  // Reset forgets actual, keeps the host's target.
  wr(c::kDeviceStatus, 1, 0);
  EXPECT_EQ(balloon->balloon_counters().actual_pages, 0u);
  EXPECT_EQ(balloon->balloon_counters().target_pages, 2048u);
}

// On an event-loop thread: the stats timer returns the held buffer every
// period, and a target set from another thread reaches the driver.
TEST_F(VirtioBalloonTest, StatsTimerAndTargetFromAnotherThread) {
  VirtioBalloon::Options o;
  o.stats_period = std::chrono::seconds(1);
  make(o, /*timer=*/true);
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  ASSERT_TRUE(vdev->attach_event_loop(**loop).ok());
  std::thread loop_thread([&] { (*loop)->run(); });
  driver().negotiate(kAllFeatures);
  TestRing* rings[] = {&q0, &q1, &q2, &q3};
  for (uint16_t i = 0; i < 4; i++) driver().setup_queue(i, *rings[i], 8);
  driver().driver_ok();
  write_stats(*mem, 0x90000, {{VirtioBalloon::kStatTotalMemory, 1 << 30}});
  q2.set_desc(0, 0x90000, 10, 0);
  q2.publish(0);
  driver().notify(2);
  std::thread other([&] { balloon->set_target_bytes(16 << 20); });
  other.join();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto returned = [&] { return mem->read_obj<uint16_t>(q2.used_addr() + 2); };
  while ((!returned().ok() || *returned() == 0) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  (*loop)->stop();
  loop_thread.join();
  EXPECT_EQ(q2.used_idx(), 1u);  // the timer asked for fresh statistics
  EXPECT_EQ(balloon->stats().values[VirtioBalloon::kStatTotalMemory], uint64_t{1} << 30);
  EXPECT_EQ(rd(kCfg + VirtioBalloon::kConfigNumPages, 4), 4096u);
  EXPECT_NE(rd(VirtioPciDevice::kIsrOffset, 1) & virtio::kIsrConfig, 0u);
  vdev.reset();  // leaves the loop before it goes
  pci_bus.reset();
}

TEST(GuestMemoryDiscardTest, ChecksTheRange) {
  auto m = GuestMemory::create(4 << 20);
  ASSERT_TRUE(m.ok());
  GuestMemory& mem = **m;
  ASSERT_TRUE(mem.fill(0x1000, 0x5A, 0x2000).ok());
  EXPECT_FALSE(mem.discard(0x1000, 0).ok());
  EXPECT_FALSE(mem.discard(0x1800, 0x1000).ok());
  EXPECT_FALSE(mem.discard(0x1000, 0x800).ok());
  EXPECT_FALSE(mem.discard((4 << 20) - 0x1000, 0x2000).ok());
  EXPECT_FALSE(mem.discard(4 << 20, 0x1000).ok());
  EXPECT_FALSE(mem.discard(UINT64_MAX & ~0xFFFull, 0x1000).ok());
  auto byte = mem.read_obj<uint8_t>(0x1000);
  ASSERT_TRUE(byte.ok());
  EXPECT_EQ(*byte, 0x5A);  // nothing discarded by the failures
  ASSERT_TRUE(mem.discard(0x1000, 0x1000).ok());
  EXPECT_EQ(*mem.read_obj<uint8_t>(0x1000), 0);
  EXPECT_EQ(*mem.read_obj<uint8_t>(0x2000), 0x5A);
}

TEST(BalloonOptionsTest, Defaults) {
  auto o = parse_balloon_options("");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->size_bytes, 0u);
  EXPECT_FALSE(o->deflate_on_oom);
  EXPECT_TRUE(o->free_page_reporting);
  EXPECT_EQ(o->stats_period_s, 5u);
}

TEST(BalloonOptionsTest, AllKeys) {
  auto o =
      parse_balloon_options("size=256M,deflate_on_oom=on,free_page_reporting=off,stats_period=0");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->size_bytes, 256u << 20);
  EXPECT_TRUE(o->deflate_on_oom);
  EXPECT_FALSE(o->free_page_reporting);
  EXPECT_EQ(o->stats_period_s, 0u);
  auto bytes = parse_balloon_options("size=8192");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size_bytes, 8192u);
}

TEST(BalloonOptionsTest, BadForms) {
  for (const char* bad :
       {"size", "=1", "size=", "size=1x", "size=100", "size=64M,size=64M", "size=64M,", ",size=64M",
        "deflate_on_oom=yes", "free_page_reporting=", "stats_period=-1", "stats_period=3601",
        "stats_period=abc", "colour=blue", "size=64M,,deflate_on_oom=on", "size=32T"}) {
    auto o = parse_balloon_options(bad);
    EXPECT_FALSE(o.ok()) << bad;
    if (!o.ok()) {
      EXPECT_NE(o.error().message.find("--balloon"), std::string::npos) << bad;
    }
  }
}

}  // namespace
}  // namespace vessel

// virtio-net through the PCI transport with a fake backend: transmit,
// receive with and without mergeable buffers, the receive backlog, the
// hostile chains; the --net option parser; libslirp answering DHCP and ARP.
#include "virtio/virtio_net.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <random>
#include <thread>

#include "device_fakes.h"
#include "net/net_options.h"
#include "net/slirp_backend.h"
#include "net/tap_backend.h"
#include "pci/pci_bus.h"
#include "pci_test_util.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_spec.h"
#include "virtio_test_util.h"

namespace vessel {
namespace {

using testing::cfg_read;
using testing::FakeIrqChip;
using testing::mmio_read;
using testing::mmio_write;
using testing::TestRing;
namespace c = virtio::common;
namespace vn = virtio_net;

constexpr uint64_t kMemSize = 4 << 20;
constexpr uint64_t kBase = virtio::kFeatureVersion1 | vn::kFeatureMac | vn::kFeatureStatus;

class FakeBackend : public NetBackend {
 public:
  std::string_view name() const override { return "fake"; }
  Status start(EventLoop&) override { return ok_status(); }
  bool can_send() override { return accept; }
  bool send(std::vector<uint8_t>& frame) override {
    sent.push_back(frame);
    return true;
  }
  void inject(std::span<const uint8_t> frame) { deliver(frame); }
  void ready() { tx_ready(); }

  bool accept = true;
  std::vector<std::vector<uint8_t>> sent;
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return v;
}

class VirtioNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::create(kMemSize);
    ASSERT_TRUE(m.ok());
    mem = std::move(*m);
    auto b = std::make_unique<FakeBackend>();
    backend = b.get();
    pci_bus = std::make_unique<PciBus>(io, irq);
    auto dev = VirtioPciDevice::create(
        std::make_unique<VirtioNet>(std::move(b), MacAddress{0x52, 0x54, 0, 0x12, 0x34, 0x56}),
        *mem, irq);
    ASSERT_TRUE(dev.ok()) << dev.error().message;
    vdev = *dev;
    ASSERT_TRUE(pci_bus->add(vdev).ok());
    bar = *vdev->bar_mapping(0);
    rx.emplace(*mem, 16, 0x10000);
    tx.emplace(*mem, 16, 0x20000);
  }
  VirtioNet& net() { return static_cast<VirtioNet&>(vdev->device()); }
  testing::VirtioBarDriver driver() { return {io, bar}; }
  uint64_t rd(uint64_t off, size_t size) { return driver().rd(off, size); }
  void wr(uint64_t off, size_t size, uint64_t v) { driver().wr(off, size, v); }
  uint8_t status() { return driver().status(); }
  void kick(uint16_t q) {
    driver().notify(q);
    vdev->process_notifications();
  }
  // Negotiates `features` and starts rx (ring at 0x10000) and tx (0x20000).
  void start(uint64_t features) {
    driver().negotiate(features);
    ASSERT_TRUE(status() & virtio::kStatusFeaturesOk);
    setup(0, *rx);
    setup(1, *tx);
    driver().driver_ok();
  }
  void setup(uint16_t q, const TestRing& ring) { driver().setup_queue(q, ring, 16); }
  // A one-descriptor receive chain of `len` writable bytes at descriptor `d`.
  void post_rx(uint16_t d, uint64_t gpa, uint32_t len) {
    rx->set_desc(d, gpa, len, virtio::kDescFlagWrite);
    rx->publish(d);
  }
  // A transmit chain: the header in descriptor d, the frame split in two.
  void post_tx(uint16_t d, uint64_t gpa, std::span<const uint8_t> frame) {
    uint8_t hdr[vn::kHeaderSize] = {};
    ASSERT_TRUE(mem->write(gpa, hdr, sizeof(hdr)).ok());
    ASSERT_TRUE(mem->write(gpa + 0x100, frame.data(), frame.size()).ok());
    size_t half = frame.size() / 2;
    tx->set_desc(d, gpa, vn::kHeaderSize, virtio::kDescFlagNext, d + 1);
    tx->set_desc(d + 1, gpa + 0x100, static_cast<uint32_t>(half), virtio::kDescFlagNext, d + 2);
    tx->set_desc(d + 2, gpa + 0x100 + half, static_cast<uint32_t>(frame.size() - half), 0);
    tx->publish(d);
  }
  std::vector<uint8_t> read(uint64_t gpa, size_t n) {
    std::vector<uint8_t> v(n);
    EXPECT_TRUE(mem->read(gpa, v.data(), n).ok());
    return v;
  }
  uint16_t num_buffers(uint64_t gpa) { return *mem->read_obj<uint16_t>(gpa + 10); }

  std::unique_ptr<GuestMemory> mem;
  IoBus io;
  FakeIrqChip irq;
  std::unique_ptr<PciBus> pci_bus;
  std::shared_ptr<VirtioPciDevice> vdev;
  uint64_t bar = 0;
  FakeBackend* backend = nullptr;
  std::optional<TestRing> rx, tx;
};

TEST_F(VirtioNetTest, IdentityFeaturesAndConfig) {
  EXPECT_EQ(cfg_read(*vdev, pci::kDeviceId, 2), 0x1041u);
  EXPECT_EQ(cfg_read(*vdev, pci::kClassCode, 3), 0x020000u);
  EXPECT_EQ(rd(c::kNumQueues, 2), 2u);
  wr(c::kDeviceFeatureSelect, 4, 0);
  uint32_t f = static_cast<uint32_t>(rd(c::kDeviceFeature, 4));
  EXPECT_TRUE(f & vn::kFeatureMac);
  EXPECT_TRUE(f & vn::kFeatureStatus);
  EXPECT_TRUE(f & vn::kFeatureMrgRxbuf);
  EXPECT_TRUE(f & vn::kFeatureMtu);
  uint64_t cfg = VirtioPciDevice::kDeviceCfgOffset;
  EXPECT_EQ(rd(cfg + 0, 4), 0x12005452u);  // 52:54:00:12
  EXPECT_EQ(rd(cfg + 4, 2), 0x5634u);      // :34:56
  EXPECT_EQ(rd(cfg + vn::kConfigStatus, 2), vn::kStatusLinkUp);
  EXPECT_EQ(rd(cfg + vn::kConfigMtu, 2), 1500u);
}

TEST_F(VirtioNetTest, TransmitsAFrameGatheredFromSeveralBuffers) {
  start(kBase);
  auto frame = pattern(1514, 3);
  post_tx(0, 0x40000, frame);
  kick(1);
  ASSERT_EQ(backend->sent.size(), 1u);
  EXPECT_EQ(backend->sent[0], frame);
  EXPECT_EQ(tx->used_idx(), 1);
  EXPECT_EQ(tx->used_id(0), 0u);
  EXPECT_EQ(tx->used_len(0), 0u);
  EXPECT_EQ(net().stats().tx_frames, 1u);
  EXPECT_EQ(net().stats().tx_bytes, 1514u);
}

// The Internet checksum computed the plain way, for comparison.
uint16_t reference_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i < n; i++) sum += (i % 2 == 0) ? p[i] << 8 : p[i];
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

TEST_F(VirtioNetTest, TransmitCompletesAPartialChecksum) {
  start(kBase | vn::kFeatureCsum);
  auto frame = pattern(201, 4);  // odd length on purpose
  frame[14 + 16] = 0x12;         // the pseudo-header sum the driver left
  frame[14 + 17] = 0x34;
  post_tx(0, 0x40000, frame);
  // NEEDS_CSUM, csum_start 14, csum_offset 16 (TCP's checksum field).
  uint8_t hdr[vn::kHeaderSize] = {vn::kHdrFlagNeedsCsum, 0, 0, 0, 0, 0, 14, 0, 16, 0, 0, 0};
  ASSERT_TRUE(mem->write(0x40000, hdr, sizeof(hdr)).ok());
  kick(1);
  ASSERT_EQ(backend->sent.size(), 1u);
  uint16_t want = reference_checksum(frame.data() + 14, frame.size() - 14);
  if (want == 0) want = 0xFFFF;
  auto expect = frame;
  expect[14 + 16] = static_cast<uint8_t>(want >> 8);
  expect[14 + 17] = static_cast<uint8_t>(want);
  EXPECT_EQ(backend->sent[0], expect);
  // With the checksum in place, the range plus the pseudo-header's sum
  // (which a receiver adds) checks out: what is missing is exactly 0x1234.
  EXPECT_EQ(reference_checksum(expect.data() + 14, expect.size() - 14), 0x1234);
}

TEST_F(VirtioNetTest, ABadChecksumRequestIsDropped) {
  start(kBase | vn::kFeatureCsum);
  auto frame = pattern(100, 4);
  post_tx(0, 0x40000, frame);
  uint8_t hdr[vn::kHeaderSize] = {vn::kHdrFlagNeedsCsum, 0, 0, 0, 0, 0, 90, 0, 16, 0, 0, 0};
  ASSERT_TRUE(mem->write(0x40000, hdr, sizeof(hdr)).ok());  // field past the end
  kick(1);
  EXPECT_EQ(tx->used_idx(), 1);
  EXPECT_TRUE(backend->sent.empty());
  EXPECT_EQ(net().stats().tx_dropped, 1u);
  EXPECT_FALSE(status() & virtio::kStatusNeedsReset);
}

TEST_F(VirtioNetTest, AChecksumRequestWithoutTheFeatureIsDropped) {
  start(kBase);
  auto frame = pattern(100, 4);
  post_tx(0, 0x40000, frame);
  uint8_t hdr[vn::kHeaderSize] = {vn::kHdrFlagNeedsCsum, 0, 0, 0, 0, 0, 14, 0, 16, 0, 0, 0};
  ASSERT_TRUE(mem->write(0x40000, hdr, sizeof(hdr)).ok());
  kick(1);
  EXPECT_TRUE(backend->sent.empty());
  EXPECT_EQ(net().stats().tx_dropped, 1u);
}

TEST_F(VirtioNetTest, ReceivedFramesAreMarkedDataValidWithGuestCsum) {
  start(kBase | vn::kFeatureMrgRxbuf | vn::kFeatureGuestCsum);
  post_rx(0, 0x40000, 2048);
  backend->inject(pattern(60, 1));
  vdev->process_notifications();
  ASSERT_EQ(rx->used_idx(), 1);
  EXPECT_EQ(*mem->read_obj<uint8_t>(0x40000), vn::kHdrFlagDataValid);
}

TEST_F(VirtioNetTest, HostileTransmitChainsAreReturnedUnsent) {
  start(kBase);
  // A writable buffer in a transmit chain.
  tx->set_desc(0, 0x40000, 64, virtio::kDescFlagWrite);
  tx->publish(0);
  // Shorter than the header.
  tx->set_desc(1, 0x40000, 8, 0);
  tx->publish(1);
  // A frame over the limit (header + 65551 bytes).
  tx->set_desc(2, 0x40000, vn::kHeaderSize + NetBackend::kMaxFrameBytes + 1, 0);
  tx->publish(2);
  // Then a good one.
  auto frame = pattern(60, 9);
  post_tx(3, 0x80000, frame);
  kick(1);
  EXPECT_EQ(tx->used_idx(), 4);
  for (uint16_t i = 0; i < 4; i++) EXPECT_EQ(tx->used_len(i), 0u);
  ASSERT_EQ(backend->sent.size(), 1u);
  EXPECT_EQ(backend->sent[0], frame);
  EXPECT_EQ(net().stats().tx_dropped, 3u);
  EXPECT_FALSE(status() & virtio::kStatusNeedsReset);
}

TEST_F(VirtioNetTest, TransmitWaitsWhileTheBackendIsFull) {
  start(kBase);
  backend->accept = false;
  auto frame = pattern(100, 1);
  post_tx(0, 0x40000, frame);
  kick(1);
  EXPECT_EQ(tx->used_idx(), 0);  // left on the ring
  EXPECT_TRUE(backend->sent.empty());
  backend->accept = true;
  backend->ready();  // kicks the transmit queue
  vdev->process_notifications();
  EXPECT_EQ(tx->used_idx(), 1);
  ASSERT_EQ(backend->sent.size(), 1u);
  EXPECT_EQ(backend->sent[0], frame);
}

TEST_F(VirtioNetTest, MergeableReceiveSpansSeveralChains) {
  start(kBase | vn::kFeatureMrgRxbuf);
  post_rx(0, 0x40000, 1000);
  post_rx(1, 0x41000, 1000);
  post_rx(2, 0x42000, 1000);
  post_rx(3, 0x43000, 1000);
  kick(0);  // nothing to deliver yet
  EXPECT_EQ(rx->used_idx(), 0);
  auto frame = pattern(2500, 5);
  backend->inject(frame);  // kicks queue 0
  vdev->process_notifications();
  ASSERT_EQ(rx->used_idx(), 3);
  EXPECT_EQ(rx->used_id(0), 0u);
  EXPECT_EQ(rx->used_len(0), 1000u);
  EXPECT_EQ(rx->used_id(1), 1u);
  EXPECT_EQ(rx->used_len(1), 1000u);
  EXPECT_EQ(rx->used_id(2), 2u);
  EXPECT_EQ(rx->used_len(2), 2512u - 2000u);
  EXPECT_EQ(num_buffers(0x40000), 3u);
  EXPECT_EQ(*mem->read_obj<uint8_t>(0x40000), 0);  // no DATA_VALID without GUEST_CSUM
  std::vector<uint8_t> got = read(0x40000 + vn::kHeaderSize, 1000 - vn::kHeaderSize);
  auto b = read(0x41000, 1000);
  got.insert(got.end(), b.begin(), b.end());
  auto c2 = read(0x42000, 512);
  got.insert(got.end(), c2.begin(), c2.end());
  EXPECT_EQ(got, frame);
  EXPECT_EQ(net().stats().rx_frames, 1u);
  // A small frame takes the fourth chain alone.
  auto small = pattern(60, 77);
  backend->inject(small);
  vdev->process_notifications();
  ASSERT_EQ(rx->used_idx(), 4);
  EXPECT_EQ(rx->used_len(3), 72u);
  EXPECT_EQ(num_buffers(0x43000), 1u);
  EXPECT_EQ(read(0x43000 + vn::kHeaderSize, 60), small);
}

TEST_F(VirtioNetTest, AMergedFrameWaitsForEnoughChains) {
  start(kBase | vn::kFeatureMrgRxbuf);
  post_rx(0, 0x40000, 1000);
  auto frame = pattern(1500, 2);
  backend->inject(frame);
  vdev->process_notifications();
  EXPECT_EQ(rx->used_idx(), 0);  // one chain taken and held, not returned
  post_rx(1, 0x41000, 1000);
  kick(0);
  ASSERT_EQ(rx->used_idx(), 2);
  EXPECT_EQ(num_buffers(0x40000), 2u);
  EXPECT_EQ(rx->used_len(0) + rx->used_len(1), 1512u);
}

TEST_F(VirtioNetTest, FramesWaitInTheBacklogUntilBuffersArrive) {
  start(kBase | vn::kFeatureMrgRxbuf);
  auto a = pattern(100, 1), b = pattern(200, 2), c3 = pattern(300, 3);
  backend->inject(a);
  backend->inject(b);
  backend->inject(c3);
  vdev->process_notifications();
  EXPECT_EQ(rx->used_idx(), 0);
  EXPECT_EQ(backend->rx_backlog().frames(), 2u);  // one taken by the device, waiting
  post_rx(0, 0x40000, 2048);
  post_rx(1, 0x41000, 2048);
  post_rx(2, 0x42000, 2048);
  kick(0);
  ASSERT_EQ(rx->used_idx(), 3);
  EXPECT_EQ(read(0x40000 + 12, 100), a);
  EXPECT_EQ(read(0x41000 + 12, 200), b);
  EXPECT_EQ(read(0x42000 + 12, 300), c3);
  EXPECT_EQ(backend->rx_backlog().frames(), 0u);
}

TEST_F(VirtioNetTest, TheBacklogIsBoundedAndCountsDrops) {
  // No driver at all: frames pile up to the bound, then are dropped.
  auto f = pattern(64, 0);
  for (size_t i = 0; i < NetBackend::kRxBacklogFrames + 5; i++) backend->inject(f);
  EXPECT_EQ(backend->rx_backlog().frames(), NetBackend::kRxBacklogFrames);
  EXPECT_EQ(backend->rx_backlog().drops(), 5u);
  bool reported = false;
  for (const auto& [name, value] : net().counters()) {
    if (name == "rx_backlog_dropped") {
      EXPECT_EQ(value, 5u);
      reported = true;
    }
  }
  EXPECT_TRUE(reported) << "the drops are one of the device's counters";
}

TEST_F(VirtioNetTest, WithoutMergeableBuffersATooBigFrameIsDropped) {
  start(kBase);
  post_rx(0, 0x40000, 512);
  auto big = pattern(1000, 1), small = pattern(100, 2);
  backend->inject(big);
  backend->inject(small);
  vdev->process_notifications();
  ASSERT_EQ(rx->used_idx(), 1);  // the chain went to the small frame
  EXPECT_EQ(rx->used_len(0), 112u);
  EXPECT_EQ(num_buffers(0x40000), 1u);
  EXPECT_EQ(read(0x40000 + 12, 100), small);
  EXPECT_EQ(net().stats().rx_dropped, 1u);
}

TEST_F(VirtioNetTest, AReadableReceiveBufferNeedsReset) {
  start(kBase | vn::kFeatureMrgRxbuf);
  rx->set_desc(0, 0x40000, 1000, 0);
  rx->publish(0);
  backend->inject(pattern(60, 1));
  vdev->process_notifications();
  EXPECT_EQ(rx->used_idx(), 0);
  EXPECT_TRUE(status() & virtio::kStatusNeedsReset);
}

TEST_F(VirtioNetTest, AReceiveChainSmallerThanTheHeaderNeedsReset) {
  start(kBase | vn::kFeatureMrgRxbuf);
  post_rx(0, 0x40000, 8);
  backend->inject(pattern(60, 1));
  vdev->process_notifications();
  EXPECT_EQ(rx->used_idx(), 0);
  EXPECT_TRUE(status() & virtio::kStatusNeedsReset);
}

TEST_F(VirtioNetTest, ResetForgetsHeldChainsAndTheBacklog) {
  start(kBase | vn::kFeatureMrgRxbuf);
  post_rx(0, 0x40000, 1000);
  backend->inject(pattern(1500, 1));  // holds chain 0, waits for another
  backend->inject(pattern(60, 2));
  vdev->process_notifications();
  EXPECT_EQ(rx->used_idx(), 0);
  wr(c::kDeviceStatus, 1, 0);
  EXPECT_EQ(backend->rx_backlog().frames(), 0u);
  // Start again on fresh rings: a new frame lands in the first new chain.
  rx.emplace(*mem, 16, 0x10000);
  tx.emplace(*mem, 16, 0x20000);
  start(kBase | vn::kFeatureMrgRxbuf);
  post_rx(0, 0x50000, 1000);
  auto f = pattern(80, 9);
  backend->inject(f);
  vdev->process_notifications();
  ASSERT_EQ(rx->used_idx(), 1);
  EXPECT_EQ(read(0x50000 + 12, 80), f);
}

// Random descriptors on both queues (addresses anywhere, lengths up to past
// RAM, any flags, chained at random) with frames arriving: the device never
// crashes or touches memory outside RAM; it returns chains or needs a reset.
TEST_F(VirtioNetTest, RandomRingsNeverCrashTheDevice) {
  std::mt19937 rng(1234);
  int broken = 0;
  for (int round = 0; round < 200; round++) {
    wr(c::kDeviceStatus, 1, 0);  // reset
    rx.emplace(*mem, 16, 0x10000);
    tx.emplace(*mem, 16, 0x20000);
    start(kBase | (round % 2 ? vn::kFeatureMrgRxbuf : 0) | vn::kFeatureCsum |
          vn::kFeatureGuestCsum | virtio::kFeatureIndirectDesc);
    for (TestRing* ring : {&*rx, &*tx}) {
      // Mostly what a driver would post, with a wild value now and then.
      const uint16_t usual = ring == &*rx ? virtio::kDescFlagWrite : 0;
      for (uint16_t d = 0; d < 16; d++) {
        uint64_t addr = rng() % 32 == 0 ? rng() : 0x40000 + rng() % 0x100000;
        uint32_t len = rng() % 32 == 0 ? static_cast<uint32_t>(rng()) : rng() % 5000;
        uint16_t flags = rng() % 32 == 0 ? static_cast<uint16_t>(rng() % 8)
                                         : static_cast<uint16_t>(usual | (rng() % 4 == 0));
        ring->set_desc(d, addr, len, flags, static_cast<uint16_t>(rng() % 16));
      }
      for (int i = 0; i < 8; i++) ring->publish(static_cast<uint16_t>(rng() % 16));
    }
    // Random headers in the buffers the transmit descriptors point at.
    for (int i = 0; i < 32; i++) {
      uint32_t v = static_cast<uint32_t>(rng());
      ASSERT_TRUE(mem->write(0x40000 + (rng() % 0x100000), &v, sizeof(v)).ok());
    }
    for (int i = 0; i < 4; i++)
      backend->inject(pattern(rng() % 9000 + 14, static_cast<uint8_t>(i)));
    kick(0);
    kick(1);
    vdev->process_notifications();
    EXPECT_LE(rx->used_idx(), 16);
    EXPECT_LE(tx->used_idx(), 16);
    if (status() & virtio::kStatusNeedsReset) broken++;
  }
  // The random rings reach both outcomes: frames moved, and rule violations.
  EXPECT_GT(net().stats().rx_frames + net().stats().tx_frames + net().stats().tx_dropped, 0u);
  EXPECT_GT(broken, 0);
  EXPECT_LT(broken, 200);
}

// --- the --net option ----------------------------------------------------------------

TEST(NetOptions, GoodForms) {
  auto u = parse_net_options("user");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(u->kind, NetOptions::Kind::kUser);
  EXPECT_EQ(format_mac(u->mac), "52:54:00:12:34:56");
  EXPECT_TRUE(u->forwards.empty());

  auto f = parse_net_options(
      "user,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp::5353-10.0.2.20:53,mac=52:54:00:AB:cd:01");
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_EQ(f->forwards.size(), 2u);
  EXPECT_FALSE(f->forwards[0].udp);
  EXPECT_EQ(f->forwards[0].host_addr, 0x7F000001u);
  EXPECT_EQ(f->forwards[0].host_port, 8080);
  EXPECT_EQ(f->forwards[0].guest_addr, slirp_net::kDhcpStart);
  EXPECT_EQ(f->forwards[0].guest_port, 80);
  EXPECT_TRUE(f->forwards[1].udp);
  EXPECT_EQ(f->forwards[1].host_addr, 0u);
  EXPECT_EQ(f->forwards[1].guest_addr, 0x0A000214u);
  EXPECT_EQ(format_mac(f->mac), "52:54:00:ab:cd:01");

  EXPECT_EQ(f->mtu, 0);  // the backend's default
  auto m = parse_net_options("user,mtu=1500");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->mtu, 1500);

  auto noproto = parse_hostfwd(":127.0.0.1:2222-:22");
  ASSERT_TRUE(noproto.ok());
  EXPECT_FALSE(noproto->udp);

  auto t = parse_net_options("tap=tap0,mac=02:00:00:00:00:01");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->kind, NetOptions::Kind::kTap);
  EXPECT_EQ(t->tap_name, "tap0");
  EXPECT_EQ(t->mac[0], 0x02);
}

TEST(NetOptions, BadFormsSayWhatIsWrong) {
  struct Case {
    const char* text;
    const char* expect;  // a piece of the message
  };
  const Case cases[] = {
      {"", "want user"},
      {"bogus", "want user"},
      {"user=1", "takes no value"},
      {"user,", "KEY=VALUE"},
      {"user,mac", "KEY=VALUE"},
      {"user,colour=red", "unknown key 'colour'"},
      {"user,mac=52:54:00:12:34", "MAC address"},
      {"user,mac=52:54:00:12:34:5g", "malformed"},
      {"user,mac=52-54-00-12-34-56", "malformed"},
      {"user,mac=01:00:5e:00:00:01", "multicast"},
      {"user,mac=00:00:00:00:00:00", "all zero"},
      {"user,mac=52:54:00:12:34:56,mac=52:54:00:12:34:57", "twice"},
      {"user,hostfwd=tcp:127.0.0.1:8080", "no '-'"},
      {"user,hostfwd=sctp:127.0.0.1:8080-:80", "unknown protocol"},
      {"user,hostfwd=tcp:8080-:80", "lacks ADDR:PORT"},
      {"user,hostfwd=8080-:80", "lacks PROTO"},
      {"user,hostfwd=tcp:127.0.0.1:0-:80", "host port"},
      {"user,hostfwd=tcp:127.0.0.1:65536-:80", "host port"},
      {"user,hostfwd=tcp:127.0.0.1:80x-:80", "host port"},
      {"user,hostfwd=tcp:127.0.0.1:8080-80", "guest side lacks"},
      {"user,hostfwd=tcp:127.0.0.1:8080-:", "guest port"},
      {"user,hostfwd=tcp:127.0.0.1:8080-:99999", "guest port"},
      {"user,hostfwd=tcp:127.0.0.256:8080-:80", "IPv4"},
      {"user,hostfwd=tcp:127.0.0:8080-:80", "IPv4"},
      {"user,hostfwd=tcp:localhost:8080-:80", "IPv4"},
      {"user,hostfwd=tcp::8080-192.168.1.5:80", "outside the guest network"},
      {"user,hostfwd=tcp::8080-:80,hostfwd=tcp::8080-:81", "forwarded twice"},
      {"tap", "tap=NAME"},
      {"tap=", "tap=NAME"},
      {"tap=averyveryverylongname", "tap=NAME"},
      {"tap=a/b", "tap=NAME"},
      {"tap=tap0,hostfwd=tcp::80-:80", "user networking only"},
      {"tap=tap0,mtu=9000", "user networking only"},
      {"user,mtu=575", "576 to 65520"},
      {"user,mtu=65521", "576 to 65520"},
      {"user,mtu=big", "576 to 65520"},
      {"user,mtu=", "576 to 65520"},
  };
  for (const Case& k : cases) {
    auto r = parse_net_options(k.text);
    ASSERT_FALSE(r.ok()) << k.text;
    EXPECT_NE(r.error().message.find(k.expect), std::string::npos)
        << k.text << " -> " << r.error().message;
  }
}

TEST(NetOptions, Ipv4AndMacRoundTrip) {
  EXPECT_EQ(*parse_ipv4("10.0.2.15"), 0x0A00020Fu);
  EXPECT_EQ(format_ipv4(0x0A00020F), "10.0.2.15");
  EXPECT_FALSE(parse_ipv4("1.2.3.4.5").ok());
  EXPECT_FALSE(parse_ipv4("1..3.4").ok());
  EXPECT_FALSE(parse_ipv4("1.2.3.").ok());
  auto mac = parse_mac("52:54:00:12:34:56");
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(format_mac(*mac), "52:54:00:12:34:56");
}

TEST(TapBackend, BadNamesAreRefused) {
  EXPECT_FALSE(TapBackend::open("").ok());
  auto r = TapBackend::open("this-name-is-too-long");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("characters"), std::string::npos);
}

// --- libslirp without a guest -------------------------------------------------------

uint16_t ip_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void put16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

const uint8_t kGuestMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

// A DHCPDISCOVER from kGuestMac: Ethernet + IPv4 + UDP 68->67 + BOOTP.
std::vector<uint8_t> dhcp_discover() {
  std::vector<uint8_t> f(14 + 20 + 8 + 240 + 4, 0);
  std::memset(f.data(), 0xFF, 6);
  std::memcpy(f.data() + 6, kGuestMac, 6);
  put16(f, 12, 0x0800);
  uint8_t* ip = f.data() + 14;
  size_t ip_len = f.size() - 14;
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(ip_len >> 8);
  ip[3] = static_cast<uint8_t>(ip_len);
  ip[8] = 64;
  ip[9] = 17;                     // UDP
  std::memset(ip + 16, 0xFF, 4);  // to 255.255.255.255 from 0.0.0.0
  uint16_t sum = ip_checksum(ip, 20);
  ip[10] = static_cast<uint8_t>(sum >> 8);
  ip[11] = static_cast<uint8_t>(sum);
  uint8_t* udp = ip + 20;
  udp[0] = 0, udp[1] = 68, udp[2] = 0, udp[3] = 67;
  size_t udp_len = ip_len - 20;
  udp[4] = static_cast<uint8_t>(udp_len >> 8);
  udp[5] = static_cast<uint8_t>(udp_len);  // checksum 0: none
  uint8_t* bootp = udp + 8;
  bootp[0] = 1;  // BOOTREQUEST
  bootp[1] = 1;  // Ethernet
  bootp[2] = 6;
  bootp[4] = 0x12, bootp[5] = 0x34, bootp[6] = 0x56, bootp[7] = 0x78;  // xid
  std::memcpy(bootp + 28, kGuestMac, 6);
  uint8_t* opt = bootp + 236;
  opt[0] = 99, opt[1] = 130, opt[2] = 83, opt[3] = 99;  // magic cookie
  opt[4] = 53, opt[5] = 1, opt[6] = 1;                  // DHCPDISCOVER
  opt[7] = 255;
  return f;
}

std::vector<uint8_t> arp_request(uint32_t target) {
  std::vector<uint8_t> f(42, 0);
  std::memset(f.data(), 0xFF, 6);
  std::memcpy(f.data() + 6, kGuestMac, 6);
  put16(f, 12, 0x0806);
  put16(f, 14, 1);
  put16(f, 16, 0x0800);
  f[18] = 6, f[19] = 4;
  put16(f, 20, 1);  // request
  std::memcpy(f.data() + 22, kGuestMac, 6);
  uint32_t sender = htonl(slirp_net::kDhcpStart), t = htonl(target);
  std::memcpy(f.data() + 28, &sender, 4);
  std::memcpy(f.data() + 38, &t, 4);
  return f;
}

// Waits up to 5 s for a frame of `ethertype` from slirp, skipping others
// (IPv6 router advertisements).
bool wait_frame(NetBackend& b, uint16_t ethertype, std::vector<uint8_t>& out) {
  for (int i = 0; i < 500; i++) {
    while (b.rx_backlog().pop_swap(out)) {
      if (out.size() >= 14 && (out[12] << 8 | out[13]) == ethertype) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(SlirpBackend, AnswersDhcpAndArpWithTheWellKnownAddresses) {
  auto b = SlirpBackend::create({});
  ASSERT_TRUE(b.ok()) << b.error().message;
  std::atomic<int> kicks{0};
  (*b)->set_callbacks([&] { kicks++; }, [] {});
  ASSERT_TRUE((*b)->start_thread().ok());

  auto discover = dhcp_discover();
  ASSERT_TRUE((*b)->send(discover));
  std::vector<uint8_t> f;
  ASSERT_TRUE(wait_frame(**b, 0x0800, f));
  EXPECT_GE(kicks.load(), 1);
  ASSERT_GE(f.size(), 14u + 20 + 8 + 240);
  const uint8_t bcast[6] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  EXPECT_TRUE(std::memcmp(f.data(), kGuestMac, 6) == 0 || std::memcmp(f.data(), bcast, 6) == 0);
  const uint8_t* ip = f.data() + 14;
  EXPECT_EQ(ip[9], 17);  // UDP
  EXPECT_EQ((ip[12] << 24 | ip[13] << 16 | ip[14] << 8 | ip[15]),
            static_cast<int>(slirp_net::kHost));  // from 10.0.2.2
  const uint8_t* udp = ip + (ip[0] & 0xF) * 4;
  EXPECT_EQ(udp[1], 67);
  EXPECT_EQ(udp[3], 68);
  const uint8_t* bootp = udp + 8;
  EXPECT_EQ(bootp[0], 2);  // BOOTREPLY
  uint32_t yiaddr =
      static_cast<uint32_t>(bootp[16] << 24 | bootp[17] << 16 | bootp[18] << 8 | bootp[19]);
  EXPECT_EQ(yiaddr, slirp_net::kDhcpStart);  // 10.0.2.15
  // Options: message type OFFER (2), router 10.0.2.2, DNS 10.0.2.3.
  const uint8_t* opt = bootp + 240;
  const uint8_t* end = f.data() + f.size();
  int type = 0;
  uint32_t router = 0, dns = 0;
  while (opt < end && *opt != 255) {
    if (*opt == 0) {
      opt++;
      continue;
    }
    uint8_t code = opt[0], len = opt[1];
    if (code == 53) type = opt[2];
    if (code == 3 && len >= 4)
      router = static_cast<uint32_t>(opt[2] << 24 | opt[3] << 16 | opt[4] << 8 | opt[5]);
    if (code == 6 && len >= 4)
      dns = static_cast<uint32_t>(opt[2] << 24 | opt[3] << 16 | opt[4] << 8 | opt[5]);
    opt += 2 + len;
  }
  EXPECT_EQ(type, 2);
  EXPECT_EQ(router, slirp_net::kHost);
  EXPECT_EQ(dns, slirp_net::kDns);

  // ARP for the gateway gets a reply.
  auto arp = arp_request(slirp_net::kHost);
  ASSERT_TRUE((*b)->send(arp));
  ASSERT_TRUE(wait_frame(**b, 0x0806, f));
  ASSERT_GE(f.size(), 42u);
  EXPECT_EQ(std::memcmp(f.data(), kGuestMac, 6), 0);  // to the guest
  EXPECT_EQ(f[20] << 8 | f[21], 2);                   // reply
  EXPECT_EQ(f[28] << 24 | f[29] << 16 | f[30] << 8 | f[31], static_cast<int>(slirp_net::kHost));
}

TEST(SlirpBackend, OffersItsMtuToTheDevice) {
  auto b = SlirpBackend::create({}, 1500);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ((*b)->mtu(), 1500);
  auto d = SlirpBackend::create({});
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ((*d)->mtu(), SlirpBackend::kDefaultMtu);
  VirtioNet net(std::move(*d), MacAddress{0x52, 0x54, 0, 1, 2, 3});
  uint8_t mtu[2];
  net.config_read(vn::kConfigMtu, mtu);
  EXPECT_EQ(mtu[0] | mtu[1] << 8, SlirpBackend::kDefaultMtu);
}

TEST(SlirpBackend, AHostPortInUseIsAClearError) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(s, 1), 0);
  socklen_t len = sizeof(a);
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  HostForward f;
  f.host_addr = INADDR_LOOPBACK;
  f.host_port = ntohs(a.sin_port);
  f.guest_addr = slirp_net::kDhcpStart;
  f.guest_port = 80;
  auto b = SlirpBackend::create({f});
  ::close(s);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("cannot listen"), std::string::npos) << b.error().message;
  EXPECT_NE(b.error().message.find(std::to_string(f.host_port)), std::string::npos);
}

}  // namespace
}  // namespace vessel

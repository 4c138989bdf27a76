// virtio-blk through the PCI transport, on real image files, with rings the
// test builds in guest memory (TestRing): every request type with both
// engines and every cache mode, misaligned guest buffers under cache=none,
// and the hostile-driver cases.
#include "virtio/virtio_blk.h"

#include <gtest/gtest.h>

#include <cstring>
#include <tuple>

#include "block_test_util.h"
#include "device_fakes.h"
#include "pci/pci_bus.h"
#include "pci_test_util.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_spec.h"
#include "virtio_test_util.h"

namespace vessel {
namespace {

using testing::disk_byte;
using testing::FakeIrqChip;
using testing::mmio_read;
using testing::mmio_write;
using testing::TempImage;
using testing::TestRing;
namespace c = virtio::common;
namespace vb = virtio_blk;

constexpr uint64_t kMemSize = 4 << 20;
constexpr uint64_t kDiskSize = 1 << 20;  // 2048 sectors
constexpr uint64_t kHdr = 0x20000;       // request headers
constexpr uint64_t kStatus = 0x30000;    // status bytes
constexpr uint64_t kData = 0x40000;      // data buffers

struct Buf {
  uint64_t gpa;
  uint32_t len;
  bool writable;
};

struct Answer {
  uint8_t status = 0xFF;
  uint32_t used = 0;
};

class VirtioBlkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::create(kMemSize);
    ASSERT_TRUE(m.ok());
    mem = std::move(*m);
  }
  void make(CacheMode cache = CacheMode::kWriteback, AioMode aio = AioMode::kThreads,
            bool read_only = false, std::optional<DirectAlign> align = std::nullopt,
            std::string id = "vessel-disk0") {
    BlockOpenOptions o;
    o.path = file.path();
    o.format = BlockFormat::kRaw;
    o.cache = cache;
    o.read_only = read_only;
    auto img = open_block_image(o);
    ASSERT_TRUE(img.ok()) << img.error().message;
    IoEngineOptions eo;
    eo.mode = aio;
    eo.align = align;
    auto dev = VirtioBlk::create(std::move(*img), eo, id);
    ASSERT_TRUE(dev.ok()) << dev.error().message;
    blk = dev->get();
    features = blk->device_features();
    pci_bus = std::make_unique<PciBus>(io, irq);
    auto pci = VirtioPciDevice::create(std::move(*dev), *mem, irq);
    ASSERT_TRUE(pci.ok()) << pci.error().message;
    vdev = *pci;
    ASSERT_TRUE(pci_bus->add(vdev).ok());
    ASSERT_TRUE(vdev->bar_mapping(0).has_value());
    bar = *vdev->bar_mapping(0);
    start_driver();
  }
  void start_driver() {
    used_seen = 0;
    ring = std::make_unique<TestRing>(*mem, 16);
    driver().negotiate(features | virtio::kFeatureVersion1);
    driver().setup_queue(0, *ring, 16);
    driver().driver_ok();
    ASSERT_EQ(status(), virtio::kStatusAcknowledge | virtio::kStatusDriver |
                            virtio::kStatusFeaturesOk | virtio::kStatusDriverOk);
  }
  testing::VirtioBarDriver driver() { return {io, bar}; }
  uint64_t rd(uint64_t off, size_t size) { return driver().rd(off, size); }
  void wr(uint64_t off, size_t size, uint64_t v) { driver().wr(off, size, v); }
  uint8_t status() { return driver().status(); }
  uint64_t cfg(uint32_t off, size_t size) {
    return rd(VirtioPciDevice::kDeviceCfgOffset + off, size);
  }

  void header(uint64_t gpa, uint32_t type, uint64_t sector) {
    ASSERT_TRUE(mem->write_obj<uint32_t>(gpa, type).ok());
    ASSERT_TRUE(mem->write_obj<uint32_t>(gpa + 4, 0).ok());
    ASSERT_TRUE(mem->write_obj<uint64_t>(gpa + 8, sector).ok());
  }
  // Publishes a chain at descriptors first.. and notifies.
  uint16_t post(const std::vector<Buf>& bufs, uint16_t first = 0) {
    for (size_t i = 0; i < bufs.size(); i++) {
      uint16_t flags = (bufs[i].writable ? virtio::kDescFlagWrite : 0) |
                       (i + 1 < bufs.size() ? virtio::kDescFlagNext : 0);
      ring->set_desc(first + i, bufs[i].gpa, bufs[i].len, flags, uint16_t(first + i + 1));
    }
    ring->publish(first);
    wr(VirtioPciDevice::kNotifyOffset, 2, 0);
    vdev->process_notifications();
    return first;
  }
  // Runs one chain to completion; the status is the last writable byte.
  Answer request(const std::vector<Buf>& bufs) {
    uint16_t head = post(bufs);
    blk->wait_for_io();
    vdev->process_notifications();
    Answer a;
    EXPECT_EQ(ring->used_idx(), uint16_t(used_seen + 1)) << "the chain did not come back";
    if (ring->used_idx() != uint16_t(used_seen + 1)) return a;
    EXPECT_EQ(ring->used_id(used_seen), head);
    a.used = ring->used_len(used_seen);
    used_seen++;
    for (auto it = bufs.rbegin(); it != bufs.rend(); ++it) {
      if (it->writable && it->len > 0) {
        a.status = *mem->read_obj<uint8_t>(it->gpa + it->len - 1);
        break;
      }
    }
    return a;
  }
  Answer rw(uint32_t type, uint64_t sector, std::vector<Buf> data) {
    header(kHdr, type, sector);
    std::vector<Buf> bufs{{kHdr, 16, false}};
    for (auto& d : data) bufs.push_back(d);
    bufs.push_back({kStatus, 1, true});
    return request(bufs);
  }
  // Discard / write-zeroes segments {sector, count, flags}.
  Answer segments(uint32_t type, std::vector<std::tuple<uint64_t, uint32_t, uint32_t>> segs) {
    uint64_t at = kData + 0x10000;
    for (size_t i = 0; i < segs.size(); i++) {
      EXPECT_TRUE(mem->write_obj<uint64_t>(at + i * 16, std::get<0>(segs[i])).ok());
      EXPECT_TRUE(mem->write_obj<uint32_t>(at + i * 16 + 8, std::get<1>(segs[i])).ok());
      EXPECT_TRUE(mem->write_obj<uint32_t>(at + i * 16 + 12, std::get<2>(segs[i])).ok());
    }
    return rw(type, 0, {{at, uint32_t(segs.size() * 16), false}});
  }
  std::vector<uint8_t> guest(uint64_t gpa, size_t len) {
    std::vector<uint8_t> out(len);
    EXPECT_TRUE(mem->read(gpa, out.data(), len).ok());
    return out;
  }
  void fill(uint64_t gpa, size_t len, uint8_t seed) {
    std::vector<uint8_t> b(len);
    for (size_t i = 0; i < len; i++) b[i] = static_cast<uint8_t>(seed + i * 11);
    ASSERT_TRUE(mem->write(gpa, b.data(), len).ok());
  }
  bool file_is_original(uint64_t offset, size_t len) {
    auto got = file.read(offset, len);
    for (size_t i = 0; i < len; i++) {
      if (got[i] != disk_byte(offset + i)) return false;
    }
    return true;
  }

  TempImage file{kDiskSize};
  std::unique_ptr<GuestMemory> mem;
  IoBus io;
  FakeIrqChip irq;
  std::unique_ptr<PciBus> pci_bus;
  std::shared_ptr<VirtioPciDevice> vdev;
  VirtioBlk* blk = nullptr;
  uint64_t features = 0;
  uint64_t bar = 0;
  std::unique_ptr<TestRing> ring;
  uint16_t used_seen = 0;
};

class VirtioBlkModes : public VirtioBlkTest,
                       public ::testing::WithParamInterface<std::tuple<AioMode, CacheMode>> {
 protected:
  void make_param(std::optional<DirectAlign> align = std::nullopt) {
    make(std::get<1>(GetParam()), std::get<0>(GetParam()), false, align);
  }
};

TEST_P(VirtioBlkModes, ReadWriteFlushGetId) {
  make_param();
  fill(kData, 1024, 1);
  fill(kData + 0x1000, 512, 2);
  Answer w = rw(vb::kTypeOut, 5, {{kData, 1024, false}, {kData + 0x1000, 512, false}});
  EXPECT_EQ(w.status, vb::kStatusOk);
  EXPECT_EQ(w.used, 1u);
  auto disk = file.read(5 * 512, 1536);
  EXPECT_EQ(std::vector<uint8_t>(disk.begin(), disk.begin() + 1024), guest(kData, 1024));
  EXPECT_EQ(std::vector<uint8_t>(disk.begin() + 1024, disk.end()), guest(kData + 0x1000, 512));
  EXPECT_TRUE(file_is_original(4 * 512, 512));
  EXPECT_TRUE(file_is_original(8 * 512, 512));

  Answer r = rw(vb::kTypeIn, 4, {{kData + 0x2000, 512, true}, {kData + 0x3000, 1536, true}});
  EXPECT_EQ(r.status, vb::kStatusOk);
  EXPECT_EQ(r.used, 2049u);
  EXPECT_EQ(guest(kData + 0x2000, 512), file.read(4 * 512, 512));
  EXPECT_EQ(guest(kData + 0x3000, 1536), disk);

  EXPECT_EQ(rw(vb::kTypeFlush, 0, {}).status, vb::kStatusOk);

  fill(kData + 0x4000, 20, 0xAA);
  Answer id = rw(vb::kTypeGetId, 0, {{kData + 0x4000, 20, true}});
  EXPECT_EQ(id.status, vb::kStatusOk);
  EXPECT_EQ(id.used, 21u);
  std::vector<uint8_t> want(20, 0);
  std::memcpy(want.data(), "vessel-disk0", 12);
  EXPECT_EQ(guest(kData + 0x4000, 20), want);
  EXPECT_FALSE(status() & virtio::kStatusNeedsReset);
  EXPECT_EQ(blk->in_flight(), 0u);
}

TEST_P(VirtioBlkModes, WriteZeroesAndDiscard) {
  make_param();
  Answer z = segments(vb::kTypeWriteZeroes, {{8, 8, vb::kSegmentUnmap}, {100, 1, 0}});
  EXPECT_EQ(z.status, vb::kStatusOk);
  EXPECT_EQ(file.read(8 * 512, 4096), std::vector<uint8_t>(4096, 0));
  EXPECT_EQ(file.read(100 * 512, 512), std::vector<uint8_t>(512, 0));
  EXPECT_TRUE(file_is_original(7 * 512, 512));
  EXPECT_TRUE(file_is_original(101 * 512, 512));
  fill(kData, 4096, 9);
  EXPECT_EQ(rw(vb::kTypeIn, 8, {{kData, 4096, true}}).status, vb::kStatusOk);
  EXPECT_EQ(guest(kData, 4096), std::vector<uint8_t>(4096, 0));
  // Discarded bytes read as before or as zero; the request succeeds.
  EXPECT_EQ(segments(vb::kTypeDiscard, {{16, 16, 0}}).status, vb::kStatusOk);
  EXPECT_TRUE(file_is_original(32 * 512, 512));
  EXPECT_EQ(file.read(15 * 512, 512), std::vector<uint8_t>(512, 0));  // still zeroed
}

// Chains that continue the read (or write) before them, available at one
// notification, become one host transfer; each chain is answered.
TEST_P(VirtioBlkModes, AdjacentRequestsShareOneTransfer) {
  make_param();
  auto merged = [&] {
    for (const auto& [name, value] : blk->counters())
      if (name == "merged_ops") return value;
    ADD_FAILURE() << "no merged_ops counter";
    return uint64_t{0};
  };
  // Chain i at descriptors 3i..3i+2: header, 1 KiB of data, status.
  auto chain = [&](uint16_t i, uint32_t type, uint64_t sector) {
    uint64_t hdr = kHdr + i * 16, data = kData + i * 0x1000, st = kStatus + i;
    header(hdr, type, sector);
    bool in = type == vb::kTypeIn;
    if (!in) fill(data, 1024, static_cast<uint8_t>(0x30 + i));
    ring->set_desc(3 * i, hdr, 16, virtio::kDescFlagNext, 3 * i + 1);
    ring->set_desc(3 * i + 1, data, 1024, virtio::kDescFlagNext | (in ? virtio::kDescFlagWrite : 0),
                   3 * i + 2);
    ring->set_desc(3 * i + 2, st, 1, virtio::kDescFlagWrite, 0);
    ring->publish(3 * i);
  };
  // Reads of sectors 10-11 and 12-13 (merged), 20-21 (not adjacent), then
  // writes of 40-41 and 42-43 (merged; a read does not join a write).
  chain(0, vb::kTypeIn, 10);
  chain(1, vb::kTypeIn, 12);
  chain(2, vb::kTypeIn, 20);
  chain(3, vb::kTypeOut, 40);
  chain(4, vb::kTypeOut, 42);
  wr(VirtioPciDevice::kNotifyOffset, 2, 0);
  vdev->process_notifications();
  blk->wait_for_io();
  vdev->process_notifications();
  ASSERT_EQ(ring->used_idx(), 5);
  std::vector<bool> answered(5);
  for (uint16_t k = 0; k < 5; ++k) {
    uint16_t i = ring->used_id(k) / 3;
    ASSERT_LT(i, 5);
    answered[i] = true;
    EXPECT_EQ(ring->used_len(k), i < 3 ? 1025u : 1u) << "chain " << i;
    EXPECT_EQ(*mem->read_obj<uint8_t>(kStatus + i), vb::kStatusOk) << "chain " << i;
  }
  EXPECT_EQ(answered, std::vector<bool>(5, true));
  EXPECT_EQ(merged(), 2u);
  EXPECT_EQ(guest(kData, 1024), file.read(10 * 512, 1024));
  EXPECT_EQ(guest(kData + 0x1000, 1024), file.read(12 * 512, 1024));
  EXPECT_EQ(guest(kData + 0x2000, 1024), file.read(20 * 512, 1024));
  EXPECT_EQ(file.read(40 * 512, 1024), guest(kData + 0x3000, 1024));
  EXPECT_EQ(file.read(42 * 512, 1024), guest(kData + 0x4000, 1024));
  EXPECT_TRUE(file_is_original(44 * 512, 512));
}

TEST_P(VirtioBlkModes, MisalignedGuestBuffers) {
  // cache=none with a 4 KiB direct-I/O alignment: odd guest addresses and
  // 512-byte sectors must bounce, never fail.
  make_param(DirectAlign{4096, 4096});
  fill(kData + 1, 1024, 5);
  EXPECT_EQ(rw(vb::kTypeOut, 3, {{kData + 1, 512, false}, {kData + 0x1001, 512, false}}).status,
            vb::kStatusOk);
  EXPECT_EQ(rw(vb::kTypeIn, 2, {{kData + 0x8003, 2048, true}}).status, vb::kStatusOk);
  auto back = guest(kData + 0x8003, 2048);
  EXPECT_EQ(back, file.read(2 * 512, 2048));
  EXPECT_EQ(std::vector<uint8_t>(back.begin() + 512, back.begin() + 1024), guest(kData + 1, 512));
  EXPECT_EQ(std::vector<uint8_t>(back.begin() + 1024, back.begin() + 1536),
            guest(kData + 0x1001, 512));
  EXPECT_TRUE(file_is_original(0, 1024));
  EXPECT_TRUE(file_is_original(5 * 512, 4096));
}

std::string mode_name(const ::testing::TestParamInfo<VirtioBlkModes::ParamType>& info) {
  return std::string(aio_mode_name(std::get<0>(info.param))) + "_" +
         std::string(cache_mode_name(std::get<1>(info.param)));
}

INSTANTIATE_TEST_SUITE_P(
    AllModes, VirtioBlkModes,
    ::testing::Combine(::testing::Values(AioMode::kThreads, AioMode::kIoUring),
                       ::testing::Values(CacheMode::kNone, CacheMode::kWriteback,
                                         CacheMode::kWritethrough, CacheMode::kUnsafe)),
    mode_name);

TEST_F(VirtioBlkTest, IdentityFeaturesAndConfig) {
  make();
  EXPECT_EQ(testing::cfg_read(*vdev, pci::kDeviceId, 2), 0x1042u);
  EXPECT_EQ(cfg(vb::kCfgCapacity, 8), kDiskSize / 512);
  EXPECT_EQ(cfg(vb::kCfgBlkSize, 4), 512u);
  EXPECT_EQ(cfg(vb::kCfgSegMax, 4), VirtioBlk::kSegMax);
  EXPECT_EQ(cfg(vb::kCfgSizeMax, 4), VirtioBlk::kSizeMax);
  EXPECT_EQ(cfg(vb::kCfgMaxDiscardSeg, 4), VirtioBlk::kMaxDiscardSegments);
  EXPECT_EQ(cfg(vb::kCfgMaxWriteZeroesSectors, 4), VirtioBlk::kMaxDiscardSectors);
  EXPECT_EQ(cfg(vb::kCfgWriteZeroesMayUnmap, 1), 1u);
  EXPECT_EQ(cfg(vb::kConfigSize, 4), 0u);
  EXPECT_TRUE(features & vb::kFeatureFlush);
  EXPECT_TRUE(features & vb::kFeatureDiscard);
  EXPECT_TRUE(features & vb::kFeatureWriteZeroes);
  EXPECT_FALSE(features & vb::kFeatureRo);
}

TEST_F(VirtioBlkTest, ReadOnlyDiskRefusesWrites) {
  make(CacheMode::kWriteback, AioMode::kIoUring, /*read_only=*/true);
  EXPECT_TRUE(features & vb::kFeatureRo);
  EXPECT_FALSE(features & vb::kFeatureDiscard);
  EXPECT_FALSE(features & vb::kFeatureWriteZeroes);
  fill(kData, 512, 3);
  EXPECT_EQ(rw(vb::kTypeOut, 0, {{kData, 512, false}}).status, vb::kStatusIoErr);
  EXPECT_EQ(segments(vb::kTypeWriteZeroes, {{0, 8, 0}}).status, vb::kStatusIoErr);
  EXPECT_EQ(segments(vb::kTypeDiscard, {{0, 8, 0}}).status, vb::kStatusIoErr);
  EXPECT_TRUE(file_is_original(0, 8192));
  EXPECT_EQ(rw(vb::kTypeIn, 0, {{kData, 512, true}}).status, vb::kStatusOk);
  EXPECT_EQ(guest(kData, 512), file.read(0, 512));
  EXPECT_EQ(rw(vb::kTypeFlush, 0, {}).status, vb::kStatusOk);
}

TEST_F(VirtioBlkTest, SerialAnswersGetId) {
  make(CacheMode::kWriteback, AioMode::kThreads, false, std::nullopt,
       "0123456789abcdefghij");  // exactly 20 bytes, no terminator
  Answer id = rw(vb::kTypeGetId, 0, {{kData, 64, true}});
  EXPECT_EQ(id.status, vb::kStatusOk);
  EXPECT_EQ(id.used, 21u);
  auto got = guest(kData, 20);
  EXPECT_EQ(std::string(got.begin(), got.end()), "0123456789abcdefghij");
  BlockOpenOptions o;
  o.path = file.path();
  auto img = open_block_image(o);
  ASSERT_TRUE(img.ok());
  EXPECT_FALSE(VirtioBlk::create(std::move(*img), {}, std::string(21, 'x')).ok());
}

TEST_F(VirtioBlkTest, HostileRequestsAnswerIoErr) {
  make();
  fill(kData, 8192, 7);
  auto ioerr = [&](Answer a) { EXPECT_EQ(a.status, vb::kStatusIoErr); };
  // A header shorter than 16 bytes, and one in a writable buffer.
  header(kHdr, vb::kTypeIn, 0);
  ioerr(request({{kHdr, 8, false}, {kStatus, 1, true}}));
  ioerr(request({{kHdr, 16, true}, {kStatus, 1, true}}));
  // Data buffers in the wrong direction.
  ioerr(rw(vb::kTypeIn, 0, {{kData, 512, false}, {kData + 512, 512, true}}));
  ioerr(rw(vb::kTypeOut, 0, {{kData, 512, false}, {kData + 512, 512, true}}));
  ioerr(rw(vb::kTypeFlush, 0, {{kData, 512, true}}));
  ioerr(rw(vb::kTypeGetId, 0, {}));
  ioerr(rw(vb::kTypeGetId, 0, {{kData, 16, false}, {kData + 512, 20, true}}));
  // Lengths that are not whole sectors.
  ioerr(rw(vb::kTypeOut, 0, {{kData, 100, false}}));
  ioerr(rw(vb::kTypeIn, 0, {{kData, 513, true}}));
  // Sectors past the end or overflowing.
  ioerr(rw(vb::kTypeIn, 2048, {{kData, 512, true}}));
  ioerr(rw(vb::kTypeOut, 2047, {{kData, 1024, false}}));
  ioerr(rw(vb::kTypeIn, ~0ull, {{kData, 512, true}}));
  ioerr(rw(vb::kTypeOut, ~0ull / 512 + 1, {{kData, 512, false}}));
  // Malformed and oversized discard / write-zeroes segments.
  ioerr(rw(vb::kTypeDiscard, 0, {{kData, 8, false}}));
  ioerr(rw(vb::kTypeDiscard, 0, {}));
  ioerr(segments(vb::kTypeDiscard, {{2040, 16, 0}}));
  ioerr(segments(vb::kTypeWriteZeroes, {{~0ull, 2, 0}}));
  ioerr(segments(vb::kTypeWriteZeroes, {{0, VirtioBlk::kMaxDiscardSectors + 1, 0}}));
  std::vector<std::tuple<uint64_t, uint32_t, uint32_t>> many(VirtioBlk::kMaxDiscardSegments + 1,
                                                             {0, 1, 0});
  ioerr(segments(vb::kTypeWriteZeroes, many));
  // Unknown flags and types: UNSUPP.
  EXPECT_EQ(segments(vb::kTypeDiscard, {{0, 8, vb::kSegmentUnmap}}).status, vb::kStatusUnsupp);
  EXPECT_EQ(segments(vb::kTypeWriteZeroes, {{0, 8, 2}}).status, vb::kStatusUnsupp);
  EXPECT_EQ(rw(99, 0, {}).status, vb::kStatusUnsupp);
  // Nothing was written, and the device still works.
  EXPECT_TRUE(file_is_original(0, kDiskSize));
  EXPECT_FALSE(status() & virtio::kStatusNeedsReset);
  EXPECT_EQ(rw(vb::kTypeIn, 1, {{kData, 512, true}}).status, vb::kStatusOk);
  EXPECT_EQ(guest(kData, 512), file.read(512, 512));
}

TEST_F(VirtioBlkTest, TooLargeRequestIsIoErr) {
  make();
  // More than kMaxRequestBytes of data: the guest RAM is only 4 MiB, so nine
  // overlapping 2 MiB buffers stand in (the device never reads them).
  static_assert(9 * (2 << 20) > VirtioBlk::kMaxRequestBytes);
  header(kHdr, vb::kTypeIn, 0);
  std::vector<Buf> bufs{{kHdr, 16, false}};
  for (int i = 0; i < 9; i++) bufs.push_back({0x100000, 2 << 20, true});
  bufs.push_back({kStatus, 1, true});
  EXPECT_EQ(request(bufs).status, vb::kStatusIoErr);
}

TEST_F(VirtioBlkTest, NoStatusByteNeedsReset) {
  make();
  header(kHdr, vb::kTypeIn, 0);
  post({{kHdr, 16, false}, {kData, 512, false}});
  EXPECT_TRUE(status() & virtio::kStatusNeedsReset);
  // Reset, and the device works again.
  wr(c::kDeviceStatus, 1, 0);
  start_driver();
  EXPECT_EQ(rw(vb::kTypeIn, 0, {{kData, 512, true}}).status, vb::kStatusOk);
}

class VirtioBlkReset : public VirtioBlkTest, public ::testing::WithParamInterface<AioMode> {};

TEST_P(VirtioBlkReset, WaitsForRequestsInFlight) {
  {
    make(CacheMode::kNone, GetParam());
    // Four 64 KiB reads in flight, nobody waiting for them.
    for (uint16_t i = 0; i < 4; i++) {
      header(kHdr + i * 16, vb::kTypeIn, i * 128);
      ring->set_desc(i * 3, kHdr + i * 16, 16, virtio::kDescFlagNext, uint16_t(i * 3 + 1));
      ring->set_desc(i * 3 + 1, kData + i * 0x10000, 0x10000,
                     virtio::kDescFlagNext | virtio::kDescFlagWrite, uint16_t(i * 3 + 2));
      ring->set_desc(i * 3 + 2, kStatus + i, 1, virtio::kDescFlagWrite);
      ring->publish(uint16_t(i * 3));
    }
    wr(VirtioPciDevice::kNotifyOffset, 2, 0);
    vdev->process_notifications();
    wr(c::kDeviceStatus, 1, 0);  // reset
    EXPECT_EQ(blk->in_flight(), 0u);
    EXPECT_EQ(status(), 0u);
    // After the reset the old requests never come back; new ones work.
    start_driver();
    vdev->process_notifications();
    EXPECT_EQ(ring->used_idx(), 0u);
    EXPECT_EQ(rw(vb::kTypeIn, 0, {{kData, 512, true}}).status, vb::kStatusOk);
    EXPECT_EQ(guest(kData, 512), file.read(0, 512));
  }
}

INSTANTIATE_TEST_SUITE_P(BothEngines, VirtioBlkReset,
                         ::testing::Values(AioMode::kThreads, AioMode::kIoUring),
                         [](const auto& info) { return std::string(aio_mode_name(info.param)); });

}  // namespace
}  // namespace vessel

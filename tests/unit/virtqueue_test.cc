#include "virtio/virtqueue.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "virtio/virtio_spec.h"
#include "virtio_test_util.h"

namespace vessel {
namespace {

using testing::TestRing;
using virtio::kDescFlagIndirect;
using virtio::kDescFlagNext;
using virtio::kDescFlagWrite;

constexpr uint64_t kMemSize = 4 << 20;
constexpr uint64_t kAllFeatures =
    virtio::kFeatureVersion1 | virtio::kFeatureIndirectDesc | virtio::kFeatureEventIdx;

class VirtqueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::create(kMemSize);
    ASSERT_TRUE(m.ok());
    mem = std::move(*m);
    ring = std::make_unique<TestRing>(*mem, 8);
    vq = std::make_unique<Virtqueue>(*mem);
  }
  void start(uint64_t features = kAllFeatures) {
    auto st = vq->start(ring->layout(), features);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  // Pops expecting the driver's error; returns its message. The queue is
  // broken afterwards: pop and push fail too, and the used ring is untouched.
  std::string expect_broken() {
    auto got = vq->pop(chain);
    EXPECT_FALSE(got.ok());
    if (got.ok()) return "";
    EXPECT_TRUE(vq->broken());
    EXPECT_FALSE(vq->pop(chain).ok());
    EXPECT_FALSE(vq->push(0, 0).ok());
    EXPECT_EQ(ring->used_idx(), 0);
    return got.error().message;
  }

  std::unique_ptr<GuestMemory> mem;
  std::unique_ptr<TestRing> ring;
  std::unique_ptr<Virtqueue> vq;
  DescChain chain;
};

TEST_F(VirtqueueTest, StartChecksTheLayout) {
  Virtqueue::Layout l = ring->layout();
  l.size = 6;  // not a power of two
  EXPECT_FALSE(vq->start(l, kAllFeatures).ok());
  l.size = 0;
  EXPECT_FALSE(vq->start(l, kAllFeatures).ok());
  l = ring->layout();
  l.desc += 8;  // descriptors are 16-byte aligned
  EXPECT_FALSE(vq->start(l, kAllFeatures).ok());
  l = ring->layout();
  l.used += 2;  // the used ring is 4-byte aligned
  EXPECT_FALSE(vq->start(l, kAllFeatures).ok());
  l = ring->layout();
  l.avail = kMemSize - 8;  // runs past the end of RAM
  EXPECT_FALSE(vq->start(l, kAllFeatures).ok());
  l = ring->layout();
  l.desc = 0xFFFF'FFFF'FFFF'FFF0;  // wraps
  EXPECT_FALSE(vq->start(l, kAllFeatures).ok());
  EXPECT_FALSE(vq->started());
  EXPECT_TRUE(vq->start(ring->layout(), kAllFeatures).ok());
  EXPECT_TRUE(vq->started());
}

TEST_F(VirtqueueTest, ReadableThenWritableChain) {
  start();
  ring->set_desc(3, 0x20000, 16, kDescFlagNext, 5);
  ring->set_desc(5, 0x21000, 100, kDescFlagNext | kDescFlagWrite, 1);
  ring->set_desc(1, 0x22000, 28, kDescFlagWrite);
  ring->publish(3);
  auto got = vq->pop(chain);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(*got);
  EXPECT_EQ(chain.head(), 3);
  ASSERT_EQ(chain.buffers().size(), 3u);
  EXPECT_EQ(chain.readable().size(), 1u);
  EXPECT_EQ(chain.writable().size(), 2u);
  EXPECT_EQ(chain.readable_bytes(), 16u);
  EXPECT_EQ(chain.writable_bytes(), 128u);
  EXPECT_EQ(chain.writable()[1].gpa, 0x22000u);
  got = vq->pop(chain);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);  // empty now

  ASSERT_TRUE(vq->push(3, 128).ok());
  EXPECT_EQ(ring->used_idx(), 1);
  EXPECT_EQ(ring->used_id(0), 3u);
  EXPECT_EQ(ring->used_len(0), 128u);
  auto need = vq->need_interrupt();
  ASSERT_TRUE(need.ok());
  EXPECT_TRUE(*need);
  need = vq->need_interrupt();  // nothing new
  ASSERT_TRUE(need.ok());
  EXPECT_FALSE(*need);
}

TEST_F(VirtqueueTest, CopiesAcrossBuffers) {
  start();
  const char text[] = "hello, virtqueue";  // 16 bytes + NUL
  ASSERT_TRUE(mem->write(0x20000, text, 6).ok());
  ASSERT_TRUE(mem->write(0x20100, text + 6, 11).ok());
  ring->set_desc(0, 0x20000, 6, kDescFlagNext, 1);
  ring->set_desc(1, 0x20100, 11, kDescFlagNext, 2);
  ring->set_desc(2, 0x30000, 4, kDescFlagWrite | kDescFlagNext, 3);
  ring->set_desc(3, 0x30100, 100, kDescFlagWrite);
  ring->publish(0);
  auto got = vq->pop(chain);
  ASSERT_TRUE(got.ok() && *got);
  char buf[32] = {};
  auto n = chain.read_from(*mem, 2, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf), 32));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 15u);
  EXPECT_STREQ(buf, "llo, virtqueue");
  auto w = chain.write_to(
      *mem, 0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text), sizeof(text)));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, sizeof(text));
  char back[32] = {};
  ASSERT_TRUE(mem->read(0x30000, back, 4).ok());
  ASSERT_TRUE(mem->read(0x30100, back + 4, sizeof(text) - 4).ok());
  EXPECT_STREQ(back, text);
}

TEST_F(VirtqueueTest, AvailFlagNoInterruptSuppressesInterrupts) {
  start(virtio::kFeatureVersion1);
  ring->set_desc(0, 0x20000, 8, kDescFlagWrite);
  ring->publish(0);
  ring->set_avail_flags(virtio::kAvailFlagNoInterrupt);
  ASSERT_TRUE(vq->pop(chain).ok());
  ASSERT_TRUE(vq->push(0, 8).ok());
  auto need = vq->need_interrupt();
  ASSERT_TRUE(need.ok());
  EXPECT_FALSE(*need);
}

TEST_F(VirtqueueTest, IndirectTable) {
  start();
  constexpr uint64_t table = 0x40000;
  ring->set_desc(0, 0x20000, 10, kDescFlagNext, 2, table);
  ring->set_desc(2, 0x21000, 20, kDescFlagWrite | kDescFlagNext, 1, table);
  ring->set_desc(1, 0x22000, 30, kDescFlagWrite, 0, table);
  ring->set_desc(6, table, 4 * 16, kDescFlagIndirect);  // the 4th entry is unused
  ring->publish(6);
  auto got = vq->pop(chain);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(*got);
  EXPECT_EQ(chain.head(), 6);
  ASSERT_EQ(chain.buffers().size(), 3u);
  EXPECT_EQ(chain.readable_bytes(), 10u);
  EXPECT_EQ(chain.writable_bytes(), 50u);
  EXPECT_EQ(chain.writable()[1].gpa, 0x22000u);
}

TEST_F(VirtqueueTest, DirectDescriptorsBeforeAnIndirectOne) {
  start();
  constexpr uint64_t table = 0x40000;
  ring->set_desc(0, 0x22000, 30, kDescFlagWrite, 0, table);
  ring->set_desc(4, 0x20000, 10, kDescFlagNext, 5);
  ring->set_desc(5, table, 16, kDescFlagIndirect);
  ring->publish(4);
  auto got = vq->pop(chain);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ(chain.buffers().size(), 2u);
  EXPECT_EQ(chain.readable_bytes(), 10u);
  EXPECT_EQ(chain.writable_bytes(), 30u);
}

TEST_F(VirtqueueTest, EventIdx) {
  start();
  // Empty: the device asks to be notified at entry 0.
  ring->set_used_event(0);
  auto got = vq->pop(chain);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);
  EXPECT_EQ(ring->avail_event(), 0);
  for (uint16_t i = 0; i < 6; i++) {
    ring->set_desc(i, 0x20000 + i * 0x100, 8, kDescFlagWrite);
    ring->publish(i);
  }
  for (int i = 0; i < 6; i++) {
    got = vq->pop(chain);
    ASSERT_TRUE(got.ok() && *got);
  }
  got = vq->pop(chain);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(*got);
  EXPECT_EQ(ring->avail_event(), 6);  // next notification after entry 6 is added

  // used_event 0: the first used entry crosses it, the second does not.
  ASSERT_TRUE(vq->push(0, 8).ok());
  EXPECT_TRUE(*vq->need_interrupt());
  ASSERT_TRUE(vq->push(1, 8).ok());
  EXPECT_FALSE(*vq->need_interrupt());
  // used_event 4: used index 2 -> 4 does not pass it, 4 -> 5 does.
  ring->set_used_event(4);
  ASSERT_TRUE(vq->push(2, 8).ok());
  ASSERT_TRUE(vq->push(3, 8).ok());
  EXPECT_FALSE(*vq->need_interrupt());
  ASSERT_TRUE(vq->push(4, 8).ok());
  ASSERT_TRUE(vq->push(5, 8).ok());
  EXPECT_TRUE(*vq->need_interrupt());  // 4 is in [4, 6)
  // The NO_INTERRUPT flag is ignored with event idx.
  ring->set_avail_flags(virtio::kAvailFlagNoInterrupt);
  ring->set_used_event(6);
  ring->set_desc(0, 0x20000, 8, kDescFlagWrite);
  ring->publish(0);
  ASSERT_TRUE(vq->pop(chain).ok());
  ASSERT_TRUE(vq->push(0, 8).ok());
  EXPECT_TRUE(*vq->need_interrupt());
}

TEST_F(VirtqueueTest, IndicesWrapAround) {
  ring = std::make_unique<TestRing>(*mem, 2);
  start();
  ring->set_desc(0, 0x20000, 8, kDescFlagWrite);
  ring->set_desc(1, 0x20100, 8, kDescFlagWrite);
  for (uint32_t i = 0; i < 70000; i++) {
    ring->publish(static_cast<uint16_t>(i & 1));
    auto got = vq->pop(chain);
    ASSERT_TRUE(got.ok() && *got) << "at " << i;
    ASSERT_EQ(chain.head(), i & 1);
    ASSERT_TRUE(vq->push(chain.head(), 8).ok());
  }
  EXPECT_EQ(ring->used_idx(), static_cast<uint16_t>(70000));
  EXPECT_EQ(vq->last_avail(), static_cast<uint16_t>(70000));
  EXPECT_EQ(ring->used_id(static_cast<uint16_t>(69999)), 1u);
}

TEST_F(VirtqueueTest, ResetRepairsABrokenQueue) {
  start();
  ring->set_avail_idx(100);
  expect_broken();
  vq->reset();
  EXPECT_FALSE(vq->broken());
  EXPECT_FALSE(vq->started());
  ring = std::make_unique<TestRing>(*mem, 8);
  start();
  ring->set_desc(0, 0x20000, 8, kDescFlagWrite);
  ring->publish(0);
  auto got = vq->pop(chain);
  ASSERT_TRUE(got.ok() && *got);
}

// --- Hostile rings: each is caught, the queue breaks, nothing crashes. ---------

TEST_F(VirtqueueTest, HostileDescriptorLoop) {
  start();
  ring->set_desc(0, 0x20000, 8, kDescFlagNext, 1);
  ring->set_desc(1, 0x20000, 8, kDescFlagNext, 0);
  ring->publish(0);
  EXPECT_NE(expect_broken().find("longer than"), std::string::npos);
}

TEST_F(VirtqueueTest, HostileSelfLoop) {
  start();
  ring->set_desc(2, 0x20000, 8, kDescFlagNext | kDescFlagWrite, 2);
  ring->publish(2);
  EXPECT_NE(expect_broken().find("loop"), std::string::npos);
}

TEST_F(VirtqueueTest, HostileChainLongerThanTheQueue) {
  // Every descriptor of the queue in one chain, and the last links back to the
  // second: 8 descriptors visited are fine, a 9th means the chain never ends.
  start();
  for (uint16_t i = 0; i < 8; i++)
    ring->set_desc(i, 0x20000, 8, kDescFlagNext, (i + 1) % 8 ? i + 1 : 1);
  ring->publish(0);
  EXPECT_NE(expect_broken().find("longer than its queue of 8"), std::string::npos);
}

TEST_F(VirtqueueTest, HostileNextOutsideTheQueue) {
  start();
  ring->set_desc(0, 0x20000, 8, kDescFlagNext, 8);
  ring->publish(0);
  EXPECT_NE(expect_broken().find("outside"), std::string::npos);
}

TEST_F(VirtqueueTest, HostileHeadOutsideTheQueue) {
  start();
  ring->publish(0xFFFF);
  EXPECT_NE(expect_broken().find("head 65535"), std::string::npos);
}

TEST_F(VirtqueueTest, HostileBufferOutsideRam) {
  start();
  ring->set_desc(0, 0x1'0000'0000'0000, 8, kDescFlagWrite);
  ring->publish(0);
  EXPECT_NE(expect_broken().find("outside guest RAM"), std::string::npos);
}

TEST_F(VirtqueueTest, HostileBufferRunningPastRam) {
  start();
  ring->set_desc(0, kMemSize - 8, 16, 0);
  ring->publish(0);
  expect_broken();
}

TEST_F(VirtqueueTest, HostileBufferLengthOverflows) {
  start();
  ring->set_desc(0, 0xFFFF'FFFF'FFFF'FF00, 0x200, kDescFlagWrite);
  ring->publish(0);
  expect_broken();
}

TEST_F(VirtqueueTest, HostileReadableAfterWritable) {
  start();
  ring->set_desc(0, 0x20000, 8, kDescFlagWrite | kDescFlagNext, 1);
  ring->set_desc(1, 0x21000, 8, 0);
  ring->publish(0);
  EXPECT_NE(expect_broken().find("device-readable buffer after a device-writable"),
            std::string::npos);
}

TEST_F(VirtqueueTest, HostileAvailIndexJump) {
  start();
  ring->set_desc(0, 0x20000, 8, kDescFlagWrite);
  ring->set_avail_idx(9);  // 9 new entries in a queue of 8
  EXPECT_NE(expect_broken().find("jumped"), std::string::npos);
}

TEST_F(VirtqueueTest, HostileIndirectWithoutTheFeature) {
  start(virtio::kFeatureVersion1 | virtio::kFeatureEventIdx);
  ring->set_desc(0, 0x40000, 16, kDescFlagIndirect);
  ring->publish(0);
  EXPECT_NE(expect_broken().find("VIRTIO_F_INDIRECT_DESC"), std::string::npos);
}

TEST_F(VirtqueueTest, HostileNestedIndirect) {
  start();
  ring->set_desc(0, 0x50000, 16, kDescFlagIndirect, 0, 0x40000);
  ring->set_desc(0, 0x40000, 16, kDescFlagIndirect);
  ring->publish(0);
  EXPECT_NE(expect_broken().find("nested"), std::string::npos);
}

TEST_F(VirtqueueTest, HostileIndirectWithNext) {
  start();
  ring->set_desc(0, 0x40000, 16, kDescFlagIndirect | kDescFlagNext, 1);
  ring->set_desc(1, 0x20000, 8, kDescFlagWrite);
  ring->publish(0);
  EXPECT_NE(expect_broken().find("both indirect and chained"), std::string::npos);
}

TEST_F(VirtqueueTest, HostileIndirectTableLengths) {
  for (uint32_t len : {0u, 20u, 16u * (virtio::kMaxQueueSize + 1)}) {
    SetUp();
    start();
    ring->set_desc(0, 0x40000, len, kDescFlagIndirect);
    ring->publish(0);
    EXPECT_NE(expect_broken().find("bad length"), std::string::npos) << len;
  }
}

TEST_F(VirtqueueTest, HostileIndirectTableOutsideRam) {
  start();
  ring->set_desc(0, kMemSize - 32, 64, kDescFlagIndirect);
  ring->publish(0);
  EXPECT_NE(expect_broken().find("outside RAM"), std::string::npos);
}

TEST_F(VirtqueueTest, HostileLoopInsideAnIndirectTable) {
  start();
  ring->set_desc(0, 0x20000, 8, kDescFlagNext, 1, 0x40000);
  ring->set_desc(1, 0x20000, 8, kDescFlagNext, 0, 0x40000);
  ring->set_desc(0, 0x40000, 2 * 16, kDescFlagIndirect);
  ring->publish(0);
  EXPECT_NE(expect_broken().find("indirect table of 2"), std::string::npos);
}

TEST_F(VirtqueueTest, HostileNextOutsideAnIndirectTable) {
  start();
  ring->set_desc(0, 0x20000, 8, kDescFlagNext, 2, 0x40000);  // the table has 2 entries
  ring->set_desc(0, 0x40000, 2 * 16, kDescFlagIndirect);
  ring->publish(0);
  EXPECT_NE(expect_broken().find("outside its indirect table"), std::string::npos);
}

}  // namespace
}  // namespace vessel

namespace vessel {
namespace {

// Random bytes for the descriptor table, the available ring and an indirect
// area, with addresses and lengths biased towards RAM so that chains get
// walked deep: every pop ends in a chain, an empty ring or a broken queue,
// and every chain found is inside RAM with readable buffers first.
TEST(VirtqueueFuzz, RandomRingsNeverEscapeRam) {
  auto m = GuestMemory::create(kMemSize);
  ASSERT_TRUE(m.ok());
  GuestMemory& mem = **m;
  std::mt19937_64 rng(12345);
  int chains = 0, broken = 0;
  for (int round = 0; round < 3000; round++) {
    TestRing ring(mem, 16);
    Virtqueue vq(mem);
    ASSERT_TRUE(vq.start(ring.layout(), kAllFeatures).ok());
    for (uint32_t i = 0; i < 16; i++) {
      uint64_t r = rng();
      uint16_t flags = static_cast<uint16_t>(r & 7);
      uint64_t addr = (r >> 8) % 4 == 0 ? rng() : 0x40000 + (rng() % 0x400) * 16;
      uint32_t len = (r >> 12) % 4 == 0 ? static_cast<uint32_t>(rng())
                                        : static_cast<uint32_t>(rng() % 0x100) * 16;
      ring.set_desc(i, addr, len, flags, static_cast<uint16_t>(rng() % 20));
      ring.set_desc(i, addr, len, static_cast<uint16_t>(rng() & 7),
                    static_cast<uint16_t>(rng() % 20), 0x40000 + (rng() % 0x400) * 16);
    }
    for (int i = 0; i < 4; i++) ring.publish(static_cast<uint16_t>(rng() % 18));
    if (rng() % 8 == 0) ring.set_avail_idx(static_cast<uint16_t>(rng()));
    DescChain chain;
    for (int i = 0; i < 6; i++) {
      auto got = vq.pop(chain);
      if (!got.ok()) {
        ASSERT_TRUE(vq.broken());
        broken++;
        break;
      }
      if (!*got) break;
      chains++;
      bool seen_writable = false;
      for (const VirtqBuffer& b : chain.buffers()) {
        ASSERT_TRUE(b.len == 0 || mem.contains(b.gpa, b.len));
        ASSERT_FALSE(seen_writable && !b.writable);
        seen_writable |= b.writable;
      }
      ASSERT_TRUE(vq.push(chain.head(), 0).ok());
    }
  }
  // Both outcomes happen: the generator reaches the checks and valid chains.
  EXPECT_GT(chains, 100);
  EXPECT_GT(broken, 100);
}

}  // namespace
}  // namespace vessel

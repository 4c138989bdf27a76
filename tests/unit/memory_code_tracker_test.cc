// GuestMemory's code tracker (memory/code_tracker.h): which pages hold cached
// code, the notices a store into them queues for each vCPU, and, end to end,
// a soft vCPU running a loop whose code a "device" thread overwrites through
// GuestMemory: the new bytes run, and only the overlapping block is dropped.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "accel/soft/soft_accelerator.h"
#include "memory/code_tracker.h"
#include "memory/guest_memory.h"

namespace vessel {
namespace {

struct Range {
  uint64_t gpa;
  uint64_t len;
};

std::unique_ptr<GuestMemory> make_memory() {
  auto m = GuestMemory::create(4 << 20);
  EXPECT_TRUE(m.ok());
  return m.ok() ? std::move(*m) : nullptr;
}

TEST(CodeTracker, OnlyWritesToWatchedPagesAreReported) {
  auto mem = make_memory();
  ASSERT_TRUE(mem);
  CodeTracker& t = mem->code_tracker();
  CodeWriteQueue q;
  t.add_queue(&q);
  uint8_t bytes[16] = {1, 2, 3};
  ASSERT_TRUE(mem->write(0x3000, bytes, 4).ok());
  EXPECT_FALSE(q.pending().load());

  t.watch(0x3000);
  EXPECT_TRUE(t.watched(0x3FFF));
  EXPECT_FALSE(t.watched(0x4000));
  // A write spanning three pages: only the watched one's part is queued.
  ASSERT_TRUE(mem->fill(0x2FF0, 0xCC, 0x1020).ok());
  EXPECT_TRUE(q.pending().load());
  std::vector<Range> got;
  EXPECT_TRUE(q.take(got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].gpa, 0x3000u);
  EXPECT_EQ(got[0].len, 0x1000u);
  EXPECT_FALSE(q.pending().load());

  // Adjacent writes merge; a write through a span is reported by note_write.
  ASSERT_TRUE(mem->write(0x3100, bytes, 8).ok());
  ASSERT_TRUE(mem->write(0x3108, bytes, 8).ok());
  auto span = mem->span(0x3200, 4);
  ASSERT_TRUE(span.ok());
  (*span)[0] = 0x90;
  mem->note_write(0x3200, 4);
  got.clear();
  EXPECT_TRUE(q.take(got));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].gpa, 0x3100u);
  EXPECT_EQ(got[0].len, 16u);
  EXPECT_EQ(got[1].gpa, 0x3200u);

  // Two watchers: the page stays watched until both let go.
  t.watch(0x3000);
  t.unwatch(0x3000);
  EXPECT_TRUE(t.watched(0x3000));
  t.unwatch(0x3000);
  EXPECT_FALSE(t.watched(0x3000));
  ASSERT_TRUE(mem->write(0x3000, bytes, 4).ok());
  EXPECT_FALSE(q.pending().load());
  // Outside RAM: ignored.
  t.watch(0xFEE00000);
  EXPECT_FALSE(t.watched(0xFEE00000));
  t.remove_queue(&q);
}

TEST(CodeTracker, OverflowAsksForAFullFlushAndRemovedQueuesHearNothing) {
  auto mem = make_memory();
  ASSERT_TRUE(mem);
  CodeTracker& t = mem->code_tracker();
  CodeWriteQueue a, b;
  t.add_queue(&a);
  t.add_queue(&b);
  t.watch(0x5000);
  uint8_t byte = 0;
  for (uint64_t k = 0; k < CodeWriteQueue::kCapacity + 5; ++k)
    ASSERT_TRUE(mem->write(0x5000 + 2 * k, &byte, 1).ok());  // not adjacent: no merging
  std::vector<Range> got;
  EXPECT_FALSE(a.take(got));  // lost some
  EXPECT_EQ(got.size(), CodeWriteQueue::kCapacity);
  got.clear();
  EXPECT_TRUE(a.take(got));  // the overflow is reported once
  EXPECT_TRUE(got.empty());
  t.remove_queue(&b);
  ASSERT_TRUE(mem->write(0x5800, &byte, 1).ok());
  EXPECT_TRUE(a.pending().load());
  got.clear();
  EXPECT_FALSE(b.take(got));  // still holding its earlier overflow
  got.clear();
  EXPECT_TRUE(b.take(got));
  EXPECT_TRUE(got.empty());
  t.remove_queue(&a);
}

class CountingIo : public IoHandler {
 public:
  void pio_read(uint16_t, std::span<uint8_t> data) override {
    for (auto& b : data) b = 0;
  }
  void pio_write(uint16_t port, std::span<const uint8_t> data) override {
    if (port != 0x80) return;
    last.store(data[0]);
    if (data[0] == 0x11) ++old_seen;
    if (data[0] == 0x22) ++new_seen;
  }
  void mmio_read(uint64_t, std::span<uint8_t> data) override {
    for (auto& b : data) b = 0;
  }
  void mmio_write(uint64_t, std::span<const uint8_t>) override {}
  std::atomic<uint8_t> last{0};
  std::atomic<uint64_t> old_seen{0}, new_seen{0};
};

bool wait_for(const std::function<bool()>& done) {
  for (int k = 0; k < 5000 && !done(); ++k)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return done();
}

// Real mode at 0x7C00: loop: mov al, 0x11; out 0x80, al; jmp loop. While it
// spins on its vCPU thread, another thread writes through GuestMemory: first
// a byte elsewhere in the code page (no block overlaps it: nothing dropped),
// then 0x22 over the MOV's immediate (its block dropped, the new byte runs).
TEST(CodeTracker, DeviceWriteOverCachedCodeRunsTheNewBytes) {
  auto mem = make_memory();
  ASSERT_TRUE(mem);
  SoftAccelerator accel;
  ASSERT_TRUE(accel.map_memory(*mem).ok());
  CountingIo io;
  auto v = accel.create_vcpu(0, io);
  ASSERT_TRUE(v.ok());
  Vcpu& vcpu = **v;
  const uint8_t code[] = {0xB0, 0x11, 0xE6, 0x80, 0xEB, 0xFA};
  ASSERT_TRUE(mem->write(0x7C00, code, sizeof(code)).ok());
  CpuState s = *vcpu.state();
  s.cs.selector = 0;
  s.cs.base = 0;
  s.rip = 0x7C00;
  ASSERT_TRUE(vcpu.set_state(s).ok());

  std::thread runner([&] { EXPECT_TRUE(vcpu.run().ok()); });
  EXPECT_TRUE(wait_for([&] { return io.old_seen.load() > 100; }));
  EXPECT_TRUE(mem->code_tracker().watched(0x7C00));
  uint8_t other = 0xF4;
  ASSERT_TRUE(mem->write(0x7E00, &other, 1).ok());  // same page, no code there
  std::thread device([&] {
    uint8_t imm = 0x22;
    EXPECT_TRUE(mem->write(0x7C01, &imm, 1).ok());
  });
  device.join();
  EXPECT_TRUE(wait_for([&] { return io.new_seen.load() > 100; }));
  vcpu.kick();
  runner.join();
  EXPECT_EQ(io.last.load(), 0x22);

  auto& soft = static_cast<SoftVcpu&>(vcpu);
  // Exactly the block holding the immediate was dropped (once).
  EXPECT_EQ(soft.cpu().block_cache().stats().invalidations, 1u);
}

}  // namespace
}  // namespace vessel

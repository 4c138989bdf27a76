// The block cache: exact invalidation on stores into cached code (same page,
// the running block, an instruction crossing a page), lookups keyed by mode,
// and its size accounting.
#include <gtest/gtest.h>

#include <array>

#include "cpu/decode/block_cache.h"
#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

using testing::TestBus;

BlockPtr make_block(uint64_t gpa, uint32_t len1, DecodeMode mode, uint64_t gpa2 = 0,
                    uint32_t len2 = 0) {
  BlockPtr b = Block::create(std::array<Insn, 3>{});
  b->gpa = gpa;
  b->key = BlockCache::key_of(gpa, mode);
  b->len1 = len1;
  b->gpa2 = gpa2;
  b->len2 = len2;
  return b;
}

TEST(CpuBlockCache, InvalidatesExactlyTheOverlappingBlocks) {
  BlockCache cache;
  cache.insert(make_block(0x1000, 0x10, DecodeMode::k32));
  cache.insert(make_block(0x1020, 0x10, DecodeMode::k32));
  EXPECT_TRUE(cache.page_has_code(0x1000));
  EXPECT_EQ(cache.stats().blocks, 2u);
  EXPECT_EQ(cache.stats().records, 6u);
  EXPECT_GT(cache.stats().bytes, 6 * sizeof(Insn));
  EXPECT_FALSE(cache.invalidate(0x1010, 4));  // between the blocks
  EXPECT_FALSE(cache.invalidate(0x0FFC, 4));  // just before, other page
  EXPECT_NE(cache.find(0x1000, DecodeMode::k32), nullptr);
  EXPECT_TRUE(cache.invalidate(0x100E, 4));  // last two bytes of the first block
  EXPECT_EQ(cache.find(0x1000, DecodeMode::k32), nullptr);
  EXPECT_NE(cache.find(0x1020, DecodeMode::k32), nullptr);
  EXPECT_EQ(cache.stats().invalidations, 1u);
  EXPECT_EQ(cache.stats().blocks, 1u);
  cache.retire();
}

TEST(CpuBlockCache, CrossPageBlockDiesByAStoreToItsSecondPage) {
  BlockCache cache;
  cache.insert(make_block(0x1FFD, 3, DecodeMode::k32, 0x7000, 2));
  EXPECT_TRUE(cache.page_has_code(0x7000));
  EXPECT_FALSE(cache.invalidate(0x7002, 1));
  EXPECT_TRUE(cache.invalidate(0x7001, 1));
  EXPECT_EQ(cache.find(0x1FFD, DecodeMode::k32), nullptr);
  EXPECT_FALSE(cache.page_has_code(0x7000));
  EXPECT_FALSE(cache.page_has_code(0x1000));
}

TEST(CpuBlockCache, ModesAreSeparateAndFlushEmpties) {
  BlockCache cache;
  Block* b32 = cache.insert(make_block(0x3000, 4, DecodeMode::k32));
  EXPECT_EQ(cache.find(0x3000, DecodeMode::k64), nullptr);
  EXPECT_EQ(cache.find(0x3000, DecodeMode::k32), b32);
  Block* b64 = cache.insert(make_block(0x3000, 4, DecodeMode::k64));
  EXPECT_EQ(cache.find(0x3000, DecodeMode::k64), b64);
  EXPECT_EQ(cache.find(0x3000, DecodeMode::k32), b32);
  cache.flush();
  EXPECT_EQ(cache.stats().blocks, 0u);
  EXPECT_EQ(cache.stats().bytes, 0u);
  EXPECT_FALSE(cache.page_has_code(0x3000));
}

class CpuSelfModifying : public ::testing::Test {
 protected:
  void SetUp() override { testing::enter_protected32(cpu, bus); }
  TestBus bus;
  Cpu cpu{bus};
};

TEST_F(CpuSelfModifying, StoreIntoTheRunningBlockTakesEffect) {
  // 0x2000: mov byte [0x2008], 0x42 (the imm8 of the next instruction); mov al, 0; hlt
  bus.put(0x2000, {0xC6, 0x05, 0x08, 0x20, 0x00, 0x00, 0x42, 0xB0, 0x00, 0xF4});
  cpu.rip = 0x2000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax] & 0xFF, 0x42u);
  EXPECT_GE(cpu.block_cache().stats().invalidations, 1u);
}

TEST_F(CpuSelfModifying, PatchedImmediateOnLaterRuns) {
  // 0x3000: mov eax, 1; hlt.  Run, patch the immediate through the guest, run again.
  bus.put(0x3000, {0xB8, 0x01, 0x00, 0x00, 0x00, 0xF4});
  cpu.rip = 0x3000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 1u);
  // 0x4000: mov dword [0x3001], 7; jmp 0x3000
  bus.put(0x4000, {0xC7, 0x05, 0x01, 0x30, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0xE9});
  bus.put_obj<int32_t>(0x400B, 0x3000 - 0x400F);
  cpu.rip = 0x4000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 7u);
}

TEST_F(CpuSelfModifying, InstructionCrossingAPageIsInvalidatedByEitherPage) {
  // mov eax, 0x11111111 at 0x1FFD..0x2001, hlt at 0x2002.
  bus.put(0x1FFD, {0xB8, 0x11, 0x11, 0x11, 0x11, 0xF4});
  cpu.rip = 0x1FFD;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 0x11111111u);
  // 0x5000: mov byte [0x2000], 0x22; jmp 0x1FFD  (the imm's third byte, on the second page)
  bus.put(0x5000, {0xC6, 0x05, 0x00, 0x20, 0x00, 0x00, 0x22, 0xE9});
  bus.put_obj<int32_t>(0x5008, 0x1FFD - 0x500C);
  cpu.rip = 0x5000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 0x11221111u);
  // And through the first page: mov byte [0x1FFE], 0x33; jmp 0x1FFD
  bus.put(0x6000, {0xC6, 0x05, 0xFE, 0x1F, 0x00, 0x00, 0x33, 0xE9});
  bus.put_obj<int32_t>(0x6008, 0x1FFD - 0x600C);
  cpu.rip = 0x6000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 0x11221133u);
}

TEST_F(CpuSelfModifying, StoresToDataOnACodePageKeepOtherBlocks) {
  // Code at 0x7000 (mov eax, 5; hlt), data at 0x7800 on the same page.
  bus.put(0x7000, {0xB8, 0x05, 0x00, 0x00, 0x00, 0xF4});
  cpu.rip = 0x7000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  uint64_t invalidations = cpu.block_cache().stats().invalidations;
  ASSERT_TRUE(cpu.write_linear(0x7800, 4, 0x1234));
  EXPECT_EQ(cpu.block_cache().stats().invalidations, invalidations);
  EXPECT_NE(cpu.block_cache().find(0x7000, DecodeMode::k32), nullptr);
}

}  // namespace
}  // namespace vessel::cpu

namespace vessel::cpu {
namespace {

TEST(CpuBlockChaining, RemappedCodePageRunsTheNewCode) {
  testing::TestBus bus;
  Cpu cpu(bus);
  testing::enter_long64(cpu, bus);
  constexpr uint64_t kBase = 0x8000000000ull, kPdpt = 0x110000, kPd = 0x111000, kPt = 0x112000;
  bus.put_obj<uint64_t>(testing::kPml4 + 8, kPdpt | 7);
  bus.put_obj<uint64_t>(kPdpt, kPd | 7);
  bus.put_obj<uint64_t>(kPd, kPt | 7);
  bus.put_obj<uint64_t>(kPt, 0x200000 | 7);
  bus.put(0x200000, {0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3});  // mov eax, 1; ret
  bus.put(0x205000, {0xB8, 0x02, 0x00, 0x00, 0x00, 0xC3});  // mov eax, 2; ret
  // movabs rbx, kBase; call rbx; hlt
  bus.put(0x2000, {0x48, 0xBB});
  bus.put_obj<uint64_t>(0x2002, kBase);
  bus.put(0x200A, {0xFF, 0xD3, 0xF4});
  cpu.gpr[kRsp] = 0x9000;
  for (int round = 0; round < 3; ++round) {
    cpu.rip = 0x2000;
    ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
    EXPECT_EQ(cpu.gpr[kRax], 1u);
  }
  bus.put_obj<uint64_t>(kPt, 0x205000 | 7);
  cpu.flush_tlb_page(kBase);  // what INVLPG does
  cpu.rip = 0x2000;
  ASSERT_EQ(testing::run(cpu), CpuExit::kHalted);
  EXPECT_EQ(cpu.gpr[kRax], 2u);
}

}  // namespace
}  // namespace vessel::cpu

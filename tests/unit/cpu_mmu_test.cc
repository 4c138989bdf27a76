// Page walk and TLB: 4-level, PAE and 32-bit paging, large pages, exact #PF
// error codes and CR2, accessed/dirty bits, and TLB hits, staleness and
// INVLPG.
#include <gtest/gtest.h>

#include "cpu_test_util.h"

namespace vessel::cpu {
namespace {

using testing::TestBus;

constexpr uint64_t kBase = 0x8000000000ull;  // PML4 slot 1
constexpr uint64_t kPdpt = 0x110000, kPd = 0x111000, kPt = 0x112000;
constexpr uint64_t P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, NX = 1ull << 63;

class CpuMmu : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::enter_long64(cpu, bus);
    bus.put_obj<uint64_t>(testing::kPml4 + 8, kPdpt | P | RW | US);
    bus.put_obj<uint64_t>(kPdpt, kPd | P | RW | US);
    bus.put_obj<uint64_t>(kPdpt + 8, 0x40000000 | P | RW | PS);  // 1 GiB page
    bus.put_obj<uint64_t>(kPd, kPt | P | RW | US);
    bus.put_obj<uint64_t>(kPd + 8, 0x400000 | P | RW | US | PS);  // 2 MiB page
    bus.put_obj<uint64_t>(kPt + 0 * 8, 0x200000 | P | RW | US);
    bus.put_obj<uint64_t>(kPt + 1 * 8, 0x201000 | P);  // read-only, supervisor
    bus.put_obj<uint64_t>(kPt + 3 * 8, 0x203000 | P | RW | US | NX);
    bus.put_obj<uint64_t>(kPt + 4 * 8, 0x204000 | P | (1ull << 45));  // reserved bit
    cpu.flush_tlb();
  }
  // Translates; returns the #PF error code (or -1 when it succeeded).
  int64_t walk(uint64_t linear, Access kind, bool user, uint64_t* gpa = nullptr) {
    uint64_t g = 0;
    cpu.set_pending(-1, kNoErrorCode);
    if (cpu.translate(linear, kind, user, &g)) {
      if (gpa) *gpa = g;
      return -1;
    }
    EXPECT_EQ(cpu.pending_vector(), kPf);
    EXPECT_EQ(cpu.cr2, linear);
    int64_t e = cpu.pending_error();
    cpu.set_pending(-1, kNoErrorCode);
    return e;
  }
  TestBus bus;
  Cpu cpu{bus};
};

TEST_F(CpuMmu, FourLevelTranslationSetsAccessedThenDirty) {
  uint64_t gpa;
  EXPECT_EQ(walk(kBase + 0x123, Access::kRead, false, &gpa), -1);
  EXPECT_EQ(gpa, 0x200123u);
  EXPECT_TRUE(bus.get<uint64_t>(testing::kPml4 + 8) & A);
  EXPECT_TRUE(bus.get<uint64_t>(kPdpt) & A);
  EXPECT_TRUE(bus.get<uint64_t>(kPd) & A);
  EXPECT_TRUE(bus.get<uint64_t>(kPt) & A);
  EXPECT_FALSE(bus.get<uint64_t>(kPt) & D);
  EXPECT_FALSE(bus.get<uint64_t>(kPd) & D);
  EXPECT_EQ(walk(kBase + 0x123, Access::kWrite, true, &gpa), -1);
  EXPECT_TRUE(bus.get<uint64_t>(kPt) & D);
  EXPECT_FALSE(bus.get<uint64_t>(kPd) & D);  // dirty only on the final entry
}

TEST_F(CpuMmu, LargePages) {
  uint64_t gpa;
  EXPECT_EQ(walk(kBase + 0x200000 + 0x1234, Access::kRead, false, &gpa), -1);
  EXPECT_EQ(gpa, 0x401234u);
  EXPECT_EQ(walk(kBase + (1ull << 30) + 0x5678, Access::kRead, false, &gpa), -1);
  EXPECT_EQ(gpa, 0x40005678u);
}

TEST_F(CpuMmu, NotPresentErrorCodes) {
  EXPECT_EQ(walk(kBase + 0x2000, Access::kRead, false), 0);
  EXPECT_EQ(walk(kBase + 0x2000, Access::kWrite, false), 2);
  EXPECT_EQ(walk(kBase + 0x2000, Access::kWrite, true), 6);
  EXPECT_EQ(walk(kBase + 0x2000, Access::kExec, false), 0x10);
  EXPECT_EQ(walk(0x0000010000000000ull, Access::kRead, true), 4);  // PML4 slot 2 absent
}

TEST_F(CpuMmu, ProtectionErrorCodes) {
  // Read-only supervisor page: supervisor writes pass unless CR0.WP.
  EXPECT_EQ(walk(kBase + 0x1000, Access::kWrite, false), -1);
  cpu.cr0 |= cr0::kWp;
  EXPECT_EQ(walk(kBase + 0x1000, Access::kWrite, false), 3);
  EXPECT_EQ(walk(kBase + 0x1000, Access::kRead, true), 5);
  EXPECT_EQ(walk(kBase + 0x1000, Access::kWrite, true), 7);
  // NX page: execution faults with I/D set; reading is fine.
  EXPECT_EQ(walk(kBase + 0x3000, Access::kRead, true), -1);
  EXPECT_EQ(walk(kBase + 0x3000, Access::kExec, false), 0x11);
  EXPECT_EQ(walk(kBase + 0x3000, Access::kExec, true), 0x15);
  // A reserved bit: P | RSVD.
  EXPECT_EQ(walk(kBase + 0x4000, Access::kRead, false), 9);
}

TEST_F(CpuMmu, NxBitIsReservedWithoutEferNxe) {
  cpu.efer &= ~efer::kNxe;
  EXPECT_EQ(walk(kBase + 0x3000, Access::kRead, false), 9);
}

TEST_F(CpuMmu, ThirtyTwoBitPagingWithPse) {
  Cpu legacy(bus);
  testing::enter_protected32(legacy, bus);
  constexpr uint64_t kDir = 0x120000, kTable = 0x121000;
  bus.put_obj<uint32_t>(kDir + 0 * 4, kTable | P | RW);
  bus.put_obj<uint32_t>(kDir + 1 * 4, 0x800000 | P | RW | PS);  // 4 MiB page
  bus.put_obj<uint32_t>(kTable + 5 * 4, 0x300000 | P);
  legacy.cr3 = kDir;
  legacy.cr4 = cr4::kPse;
  legacy.cr0 |= cr0::kPg | cr0::kWp;
  uint64_t gpa = 0;
  ASSERT_TRUE(legacy.translate(0x5123, Access::kRead, false, &gpa));
  EXPECT_EQ(gpa, 0x300123u);
  ASSERT_TRUE(legacy.translate(0x401234, Access::kRead, false, &gpa));
  EXPECT_EQ(gpa, 0x801234u);
  EXPECT_FALSE(legacy.translate(0x5123, Access::kWrite, false, &gpa));
  EXPECT_EQ(legacy.pending_error(), 3u);
  EXPECT_TRUE(bus.get<uint32_t>(kTable + 5 * 4) & A);
}

TEST_F(CpuMmu, PaePaging) {
  Cpu pae(bus);
  testing::enter_protected32(pae, bus);
  constexpr uint64_t kPdpte = 0x130000, kDir = 0x131000;
  bus.put_obj<uint64_t>(kPdpte + 8, kDir | P);  // second GiB
  bus.put_obj<uint64_t>(kDir + 2 * 8, 0x600000 | P | RW | PS);
  pae.cr3 = kPdpte;
  pae.cr4 = cr4::kPae;
  pae.cr0 |= cr0::kPg;
  uint64_t gpa = 0;
  ASSERT_TRUE(pae.translate(0x40400010, Access::kRead, false, &gpa));
  EXPECT_EQ(gpa, 0x600010u);
  EXPECT_FALSE(pae.translate(0x00000010, Access::kRead, false, &gpa));
  EXPECT_EQ(pae.pending_error(), 0u);
}

TEST_F(CpuMmu, TlbHitsStaysStaleUntilInvlpg) {
  uint64_t v;
  bus.put_obj<uint32_t>(0x200010, 0x11111111);
  bus.put_obj<uint32_t>(0x205010, 0x22222222);
  ASSERT_TRUE(cpu.read_linear(kBase + 0x10, 4, &v, Access::kRead));
  EXPECT_EQ(v, 0x11111111u);
  uint64_t hits = cpu.stats().tlb_hits, misses = cpu.stats().tlb_misses;
  ASSERT_TRUE(cpu.read_linear(kBase + 0x10, 4, &v, Access::kRead));
  EXPECT_EQ(cpu.stats().tlb_hits, hits + 1);
  EXPECT_EQ(cpu.stats().tlb_misses, misses);
  bus.put_obj<uint64_t>(kPt, 0x205000 | P | RW | US);  // remap without INVLPG
  ASSERT_TRUE(cpu.read_linear(kBase + 0x10, 4, &v, Access::kRead));
  EXPECT_EQ(v, 0x11111111u);  // the TLB still holds the old translation
  cpu.flush_tlb_page(kBase);
  ASSERT_TRUE(cpu.read_linear(kBase + 0x10, 4, &v, Access::kRead));
  EXPECT_EQ(v, 0x22222222u);
}

// A CR3 load drops the TLB's entries except global ones (CR4.PGE and the
// G bit), as a CPU does; a CR4 write drops those too.
TEST_F(CpuMmu, GlobalEntriesSurviveCr3Loads) {
  constexpr uint64_t G = 0x100;
  ASSERT_TRUE(cpu.write_cr(4, cpu.cr4 | cr4::kPge));
  bus.put_obj<uint64_t>(kPt + 0 * 8, 0x200000 | P | RW | G);
  bus.put_obj<uint64_t>(kPt + 2 * 8, 0x202000 | P | RW);
  bus.put_obj<uint32_t>(0x200010, 0x11111111);
  bus.put_obj<uint32_t>(0x202010, 0x22222222);
  bus.put_obj<uint32_t>(0x205010, 0x55555555);
  uint64_t v;
  ASSERT_TRUE(cpu.read_linear(kBase + 0x10, 4, &v, Access::kRead));
  ASSERT_TRUE(cpu.read_linear(kBase + 0x2010, 4, &v, Access::kRead));
  // Both remapped without INVLPG, then CR3 reloaded.
  bus.put_obj<uint64_t>(kPt + 0 * 8, 0x205000 | P | RW | G);
  bus.put_obj<uint64_t>(kPt + 2 * 8, 0x205000 | P | RW);
  ASSERT_TRUE(cpu.write_cr(3, cpu.cr3));
  ASSERT_TRUE(cpu.read_linear(kBase + 0x10, 4, &v, Access::kRead));
  EXPECT_EQ(v, 0x11111111u);  // global: the old translation
  ASSERT_TRUE(cpu.read_linear(kBase + 0x2010, 4, &v, Access::kRead));
  EXPECT_EQ(v, 0x55555555u);  // not global: walked again
  ASSERT_TRUE(cpu.write_cr(4, cpu.cr4));
  ASSERT_TRUE(cpu.read_linear(kBase + 0x10, 4, &v, Access::kRead));
  EXPECT_EQ(v, 0x55555555u);
}

TEST_F(CpuMmu, CrossPageAccessNeedsBothPages) {
  // The last 2 bytes of page 0 and the first 2 of page 1 (read-only): a
  // supervisor write with WP faults on the second page and writes nothing.
  cpu.cr0 |= cr0::kWp;
  bus.put_obj<uint32_t>(0x200FFE, 0);
  EXPECT_FALSE(cpu.write_linear(kBase + 0xFFE, 4, 0xAABBCCDD));
  EXPECT_EQ(cpu.pending_error(), 3u);
  EXPECT_EQ(cpu.cr2, kBase + 0x1000);
  EXPECT_EQ(bus.get<uint16_t>(0x200FFE), 0);
  cpu.set_pending(-1, kNoErrorCode);
  bus.put_obj<uint32_t>(0x201000, 0x5566);
  uint64_t v;
  ASSERT_TRUE(cpu.read_linear(kBase + 0xFFF, 2, &v, Access::kRead));
  EXPECT_EQ(v, 0x6600u);
}

TEST_F(CpuMmu, MmioFallsThroughToTheBus) {
  // Identity-mapped address beyond RAM: no TLB entry, every access reaches the bus.
  bus.put_obj<uint64_t>(kPt + 6 * 8, 0xD0000000 | P | RW);
  bus.mmio_value = 0x4C535356;
  uint64_t v;
  ASSERT_TRUE(cpu.read_linear(kBase + 0x6000, 4, &v, Access::kRead));
  ASSERT_TRUE(cpu.read_linear(kBase + 0x6000, 4, &v, Access::kRead));
  EXPECT_EQ(v, 0x4C535356u);
  EXPECT_EQ(bus.mmio_reads.size(), 2u);
  ASSERT_TRUE(cpu.write_linear(kBase + 0x6004, 2, 0xBEEF));
  EXPECT_EQ(bus.mmio_writes[0xD0000004], 0xBEEFu);
}

}  // namespace
}  // namespace vessel::cpu

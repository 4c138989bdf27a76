#include <gtest/gtest.h>

#include "base/pc_layout.h"
#include "boot/boot_gdt.h"
#include "boot/boot_image.h"
#include "boot/page_tables.h"
#include "boot_test_util.h"

namespace vessel {
namespace {

using test::guest;

void expect_flat(const Segment& s, uint16_t selector, uint8_t type) {
  EXPECT_EQ(s.selector, selector);
  EXPECT_EQ(s.base, 0u);
  EXPECT_EQ(s.limit, 0xFFFFFFFFu);
  EXPECT_EQ(s.type, type);
  EXPECT_EQ(s.s, 1);
  EXPECT_EQ(s.present, 1);
  EXPECT_EQ(s.dpl, 0);
  EXPECT_EQ(s.g, 1);
  EXPECT_EQ(s.unusable, 0);
}

TEST(BootGdt, DescriptorsDecodeToFlatSegments) {
  Segment c64 = boot_gdt::segment(boot_gdt::kCode64Selector);
  expect_flat(c64, 0x08, 0xB);
  EXPECT_EQ(c64.l, 1);
  EXPECT_EQ(c64.db, 0);
  Segment c32 = boot_gdt::segment(boot_gdt::kCode32Selector);
  expect_flat(c32, 0x10, 0xB);
  EXPECT_EQ(c32.l, 0);
  EXPECT_EQ(c32.db, 1);
  Segment data = boot_gdt::segment(boot_gdt::kDataSelector);
  expect_flat(data, 0x18, 0x3);
  EXPECT_EQ(data.db, 1);
}

TEST(BootGdt, DecodeSplitsBaseAndLimit) {
  // base 0x12345678, limit 0xABCDE, byte granular, type 0x3, DPL 3, present.
  uint64_t d = 0x124A'F334'5678'BCDEull;
  Segment s = boot_gdt::decode(0x2B, d);
  EXPECT_EQ(s.base, 0x12345678u);
  EXPECT_EQ(s.limit, 0xABCDEu);
  EXPECT_EQ(s.dpl, 3);
  EXPECT_EQ(s.type, 0x3);
  EXPECT_EQ(s.g, 0);
  EXPECT_EQ(s.db, 1);
  EXPECT_EQ(s.selector, 0x2B);
}

TEST(BootGdt, WrittenToGuestMemory) {
  auto mem = test::make_memory(2 << 20);
  ASSERT_TRUE(mem->fill(layout::kBootIdt, 0xCC, 8).ok());
  ASSERT_TRUE(boot_gdt::write(*mem).ok());
  EXPECT_EQ(guest<uint64_t>(*mem, layout::kBootGdt), 0u);
  EXPECT_EQ(guest<uint64_t>(*mem, layout::kBootGdt + 0x08), 0x00AF9B000000FFFFull);
  EXPECT_EQ(guest<uint64_t>(*mem, layout::kBootGdt + 0x10), 0x00CF9B000000FFFFull);
  EXPECT_EQ(guest<uint64_t>(*mem, layout::kBootGdt + 0x18), 0x00CF93000000FFFFull);
  EXPECT_EQ(guest<uint64_t>(*mem, layout::kBootIdt), 0u);
}

// Walks the identity tables the way the MMU does (4-level, 2 MiB leaves).
uint64_t translate(const GuestMemory& m, uint64_t cr3, uint64_t va) {
  uint64_t pml4e = guest<uint64_t>(m, cr3 + ((va >> 39) & 511) * 8);
  EXPECT_TRUE(pml4e & 1);
  uint64_t pdpte = guest<uint64_t>(m, (pml4e & ~0xFFFull) + ((va >> 30) & 511) * 8);
  EXPECT_TRUE(pdpte & 1);
  EXPECT_FALSE(pdpte & 0x80);
  uint64_t pde = guest<uint64_t>(m, (pdpte & ~0xFFFull) + ((va >> 21) & 511) * 8);
  EXPECT_TRUE(pde & 1);
  EXPECT_TRUE(pde & 2);
  EXPECT_TRUE(pde & 0x80);
  return (pde & ~0x1FFFFFull & ((1ull << 52) - 1)) | (va & 0x1FFFFF);
}

TEST(PageTables, IdentityMapFirst4GiB) {
  auto mem = test::make_memory(2 << 20);
  ASSERT_TRUE(write_identity_page_tables(*mem).ok());
  for (uint64_t va :
       {0x0ull, 0x123456ull, 0x1000000ull, 0xBFFFFFFFull, 0xFEE00000ull, 0xFFFFFFFFull}) {
    EXPECT_EQ(translate(*mem, layout::kPml4, va), va) << std::hex << va;
  }
  // Nothing above 4 GiB is mapped.
  EXPECT_EQ(guest<uint64_t>(*mem, layout::kPdpt + 4 * 8), 0u);
  EXPECT_EQ(guest<uint64_t>(*mem, layout::kPml4 + 8), 0u);
}

BootImage image_with(CpuMode mode, uint64_t entry) {
  BootImage image;
  image.mode = mode;
  image.entry = entry;
  image.gpr[kRax] = 0x2BADB002;
  image.gpr[kRbx] = 0x7000;
  image.gpr[kRsi] = 0x1234;
  return image;
}

CpuState dirty_state() {
  CpuState s;
  s.rflags = 0x246;
  s.cr0 = 0x80000011;
  s.cr3 = 0x5000;
  s.cr4 = 0x20;
  s.efer = 0x500;
  s.gpr[kRdi] = 99;
  return s;
}

TEST(ApplyEntry, RealModeSplitsEntryIntoSegmentAndOffset) {
  CpuState s = dirty_state();
  apply_entry(image_with(CpuMode::kReal16, 0x12345), s);
  EXPECT_EQ(s.cs.selector, 0x1234);
  EXPECT_EQ(s.cs.base, 0x12340u);
  EXPECT_EQ(s.cs.limit, 0xFFFFu);
  EXPECT_EQ(s.cs.type, 0xB);
  EXPECT_EQ(s.cs.s, 1);
  EXPECT_EQ(s.cs.present, 1);
  EXPECT_EQ(s.cs.db, 0);
  EXPECT_EQ(s.rip, 5u);
  for (const Segment* seg : {&s.ds, &s.es, &s.fs, &s.gs, &s.ss}) {
    EXPECT_EQ(seg->selector, 0);
    EXPECT_EQ(seg->base, 0u);
    EXPECT_EQ(seg->limit, 0xFFFFu);
    EXPECT_EQ(seg->type, 0x3);
    EXPECT_EQ(seg->present, 1);
  }
  EXPECT_EQ(s.cr0 & (kCr0Pe | kCr0Pg), 0u);
  EXPECT_EQ(s.efer, 0u);
  EXPECT_EQ(s.cr4, 0u);
  EXPECT_EQ(s.rflags, 0x2u);
  EXPECT_EQ(s.idt.limit, 0x3FF);
  EXPECT_EQ(s.gpr[kRdi], 0u);  // gprs come from the image
}

TEST(ApplyEntry, RealModeBootSectorAddress) {
  CpuState s;
  apply_entry(image_with(CpuMode::kReal16, 0x7C00), s);
  EXPECT_EQ(s.cs.selector, 0x7C0);
  EXPECT_EQ(s.cs.base, 0x7C00u);
  EXPECT_EQ(s.rip, 0u);
}

TEST(ApplyEntry, Protected32IsFlatWithoutPaging) {
  CpuState s = dirty_state();
  apply_entry(image_with(CpuMode::kProtected32, 0x100020), s);
  expect_flat(s.cs, boot_gdt::kCode32Selector, 0xB);
  EXPECT_EQ(s.cs.db, 1);
  EXPECT_EQ(s.cs.l, 0);
  for (const Segment* seg : {&s.ds, &s.es, &s.fs, &s.gs, &s.ss}) {
    expect_flat(*seg, boot_gdt::kDataSelector, 0x3);
  }
  EXPECT_EQ(s.rip, 0x100020u);
  EXPECT_EQ(s.cr0 & kCr0Pe, kCr0Pe);
  EXPECT_EQ(s.cr0 & kCr0Pg, 0u);
  EXPECT_EQ(s.cr4, 0u);
  EXPECT_EQ(s.efer, 0u);
  EXPECT_EQ(s.rflags, 0x2u);
  EXPECT_EQ(s.gpr[kRax], 0x2BADB002u);
  EXPECT_EQ(s.gpr[kRbx], 0x7000u);
  EXPECT_EQ(s.gdt.base, layout::kBootGdt);
  EXPECT_EQ(s.gdt.limit, 0x1F);
  EXPECT_EQ(s.idt.base, layout::kBootIdt);
  EXPECT_EQ(s.tr.type, 0xB);
  EXPECT_EQ(s.tr.present, 1);
  EXPECT_EQ(s.tr.s, 0);
}

TEST(ApplyEntry, Long64EnablesPagingAndLongMode) {
  CpuState s;
  apply_entry(image_with(CpuMode::kLong64, 0x200200), s);
  expect_flat(s.cs, boot_gdt::kCode64Selector, 0xB);
  EXPECT_EQ(s.cs.l, 1);
  EXPECT_EQ(s.cs.db, 0);
  expect_flat(s.ss, boot_gdt::kDataSelector, 0x3);
  EXPECT_EQ(s.rip, 0x200200u);
  EXPECT_EQ(s.cr0 & (kCr0Pe | kCr0Pg), kCr0Pe | kCr0Pg);
  EXPECT_EQ(s.cr4 & kCr4Pae, kCr4Pae);
  EXPECT_EQ(s.efer & (kEferLme | kEferLma), kEferLme | kEferLma);
  EXPECT_EQ(s.cr3, layout::kPml4);
  EXPECT_EQ(s.gpr[kRsi], 0x1234u);
}

}  // namespace
}  // namespace vessel

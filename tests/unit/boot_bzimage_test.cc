#include <gtest/gtest.h>

#include "base/pc_layout.h"
#include "boot/loader.h"
#include "boot_test_util.h"

namespace vessel {
namespace {

using test::Buf;
using test::guest;
using test::guest_bytes;
using test::peek;
using test::poke;

constexpr uint64_t kMiB = 1ull << 20;

// A synthetic bzImage: 4 setup sectors with a boot protocol 2.15 header, then
// `pm_size` bytes of "protected-mode kernel".
struct BzOptions {
  uint16_t version = 0x020F;
  uint16_t xloadflags = 0x3;  // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
  uint8_t relocatable = 1;
  uint32_t alignment = 0x200000;
  uint64_t pref_address = 0x1000000;
  uint32_t init_size = 0x800000;
  uint32_t initrd_addr_max = 0x7FFFFFFF;
  uint32_t cmdline_size = 2047;
  uint8_t setup_sects = 4;
  size_t pm_size = 0x3000;
  uint32_t magic = 0x53726448;
};

Buf make_bzimage(const BzOptions& o) {
  size_t setup = ((o.setup_sects ? o.setup_sects : 4) + 1) * 512;
  Buf b(setup, 0);
  b[0x1f1] = o.setup_sects;
  poke<uint16_t>(b, 0x1fa, 0xFFFF);  // vid_mode: normal
  poke<uint16_t>(b, 0x1fe, 0xAA55);
  b[0x200] = 0xEB;  // jmp short
  b[0x201] = 0x66;  // header ends at 0x268
  poke<uint32_t>(b, 0x202, o.magic);
  poke<uint16_t>(b, 0x206, o.version);
  b[0x211] = 0x01;  // LOADED_HIGH
  poke<uint32_t>(b, 0x214, 0x100000);
  poke<uint32_t>(b, 0x22c, o.initrd_addr_max);
  poke<uint32_t>(b, 0x230, o.alignment);
  b[0x234] = o.relocatable;
  b[0x235] = 21;
  poke<uint16_t>(b, 0x236, o.xloadflags);
  poke<uint32_t>(b, 0x238, o.cmdline_size);
  poke<uint64_t>(b, 0x258, o.pref_address);
  poke<uint32_t>(b, 0x260, o.init_size);
  poke<uint32_t>(b, 0x264, 0x190);   // handover_offset: copied through untouched
  poke<uint32_t>(b, 0x23c, 3);       // hardware_subarch: the loader's to set
  poke<uint64_t>(b, 0x250, 0x5000);  // setup_data: likewise
  Buf pm = test::pattern(o.pm_size, 0x42);
  b.insert(b.end(), pm.begin(), pm.end());
  return b;
}

struct Loaded {
  Expected<BootImage> image;
  std::unique_ptr<GuestMemory> mem;
};

Loaded load(const Buf& kernel, uint64_t mem_size, const std::string& cmdline = "",
            const Buf* initrd = nullptr) {
  test::TempFile kf(kernel);
  std::unique_ptr<test::TempFile> inf;
  BootSpec spec;
  spec.kernel_path = kf.path();
  spec.cmdline = cmdline;
  if (initrd) {
    inf = std::make_unique<test::TempFile>(*initrd);
    spec.initrd_path = inf->path();
  }
  auto mem = test::make_memory(mem_size);
  auto image = load_kernel(*mem, spec);
  return {std::move(image), std::move(mem)};
}

TEST(BzImage, ZeroPageAndEntry) {
  BzOptions o;
  Buf kernel = make_bzimage(o);
  Buf initrd = test::pattern(3 * 4096 + 100, 0x17);
  auto [image, mem] = load(kernel, 256 * kMiB, "console=ttyS0 quiet", &initrd);
  ASSERT_TRUE(image.ok()) << image.error().message;

  EXPECT_EQ(image->format, "bzImage");
  EXPECT_EQ(image->mode, CpuMode::kLong64);
  EXPECT_EQ(image->entry, 0x200000u + 0x200);  // 1 MiB rounded up to kernel_alignment
  EXPECT_EQ(image->gpr[kRsi], layout::kBootParams);

  // The protected-mode part sits at the load address.
  EXPECT_EQ(guest_bytes(*mem, 0x200000, o.pm_size), Buf(kernel.begin() + 5 * 512, kernel.end()));

  Buf zp = guest_bytes(*mem, layout::kBootParams, 4096);
  // Header fields copied from the file.
  EXPECT_EQ(peek<uint32_t>(zp, 0x202), 0x53726448u);
  EXPECT_EQ(peek<uint16_t>(zp, 0x206), 0x020F);
  EXPECT_EQ(zp[0x1f1], 4);
  EXPECT_EQ(peek<uint16_t>(zp, 0x1fe), 0xAA55);
  EXPECT_EQ(peek<uint32_t>(zp, 0x260), o.init_size);
  EXPECT_EQ(peek<uint32_t>(zp, 0x264), 0x190u);
  EXPECT_EQ(peek<uint16_t>(zp, 0x1fa), 0xFFFF);
  // Fields the loader sets.
  EXPECT_EQ(zp[0x210], 0xFF);                       // type_of_loader
  EXPECT_EQ(zp[0x211] & 0x81, 0x81);                // CAN_USE_HEAP | LOADED_HIGH
  EXPECT_NE(peek<uint16_t>(zp, 0x224), 0);          // heap_end_ptr
  EXPECT_EQ(peek<uint32_t>(zp, 0x214), 0x200000u);  // code32_start
  EXPECT_EQ(peek<uint32_t>(zp, 0x228), layout::kCmdline);
  EXPECT_EQ(peek<uint32_t>(zp, 0x23c), 0u);
  EXPECT_EQ(peek<uint64_t>(zp, 0x250), 0u);
  EXPECT_EQ(test::guest_string(*mem, layout::kCmdline), "console=ttyS0 quiet");
  // Nothing outside the header and the fields below is set.
  EXPECT_EQ(zp[0x1ef], 0);  // sentinel
  EXPECT_EQ(zp[0x268], 0);

  // The initrd: page-aligned, as high as possible in RAM, above the kernel.
  uint32_t rd = peek<uint32_t>(zp, 0x218);
  EXPECT_EQ(peek<uint32_t>(zp, 0x21c), initrd.size());
  EXPECT_EQ(rd % 4096, 0u);
  EXPECT_EQ(rd, (256 * kMiB - initrd.size()) & ~0xFFFull);
  EXPECT_GE(rd, 0x1000000u + o.init_size);
  EXPECT_EQ(guest_bytes(*mem, rd, initrd.size()), initrd);

  // e820 map: 3 entries for 256 MiB, then the reserved PCI ECAM window.
  ASSERT_EQ(zp[0x1e8], 4);
  EXPECT_EQ(peek<uint64_t>(zp, 0x2d0), 0u);
  EXPECT_EQ(peek<uint64_t>(zp, 0x2d8), 0x9FC00u);
  EXPECT_EQ(peek<uint32_t>(zp, 0x2e0), 1u);
  EXPECT_EQ(peek<uint64_t>(zp, 0x2d0 + 20), 0x9FC00u);
  EXPECT_EQ(peek<uint32_t>(zp, 0x2d0 + 20 + 16), 2u);
  EXPECT_EQ(peek<uint64_t>(zp, 0x2d0 + 40), kMiB);
  EXPECT_EQ(peek<uint64_t>(zp, 0x2d0 + 48), 255 * kMiB);
  EXPECT_EQ(peek<uint64_t>(zp, 0x2d0 + 60), layout::kPciEcamBase);
  EXPECT_EQ(peek<uint32_t>(zp, 0x2d0 + 60 + 16), 2u);

  // RSDP address, and the RSDP is there.
  uint64_t rsdp = peek<uint64_t>(zp, 0x070);
  EXPECT_EQ(rsdp, layout::kAcpiTables);
  Buf sig = guest_bytes(*mem, rsdp, 8);
  EXPECT_EQ(std::string(sig.begin(), sig.end()), "RSD PTR ");

  // Identity page tables and GDT are in place for the 64-bit entry.
  EXPECT_EQ(guest<uint64_t>(*mem, layout::kPml4) & ~0xFFFull, layout::kPdpt);
  EXPECT_EQ(guest<uint64_t>(*mem, layout::kBootGdt + 8), 0x00AF9B000000FFFFull);
}

TEST(BzImage, NoInitrdLeavesRamdiskFieldsZero) {
  auto [image, mem] = load(make_bzimage({}), 64 * kMiB);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(guest<uint32_t>(*mem, layout::kBootParams + 0x218), 0u);
  EXPECT_EQ(guest<uint32_t>(*mem, layout::kBootParams + 0x21c), 0u);
  EXPECT_EQ(test::guest_string(*mem, layout::kCmdline), "");
}

TEST(BzImage, InitrdRespectsInitrdAddrMax) {
  BzOptions o;
  o.initrd_addr_max = 0x3FFFFFF;  // 64 MiB - 1
  Buf initrd = test::pattern(10000, 1);
  auto [image, mem] = load(make_bzimage(o), 256 * kMiB, "", &initrd);
  ASSERT_TRUE(image.ok()) << image.error().message;
  uint32_t rd = guest<uint32_t>(*mem, layout::kBootParams + 0x218);
  EXPECT_EQ(rd, (64 * kMiB - 10000) & ~0xFFFull);
}

TEST(BzImage, NonRelocatableKernelGoesToPrefAddress) {
  BzOptions o;
  o.relocatable = 0;
  o.pref_address = 0x400000;
  auto [image, mem] = load(make_bzimage(o), 64 * kMiB);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->entry, 0x400200u);
  EXPECT_EQ(guest<uint8_t>(*mem, 0x400000), test::pattern(1, 0x42)[0]);
}

TEST(BzImage, SetupSectsZeroMeansFour) {
  BzOptions o;
  o.setup_sects = 0;
  Buf kernel = make_bzimage(o);
  auto [image, mem] = load(kernel, 64 * kMiB);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(guest_bytes(*mem, 0x200000, 64),
            Buf(kernel.begin() + 5 * 512, kernel.begin() + 5 * 512 + 64));
}

void expect_error(const Loaded& r, const std::string& needle) {
  ASSERT_FALSE(r.image.ok());
  EXPECT_NE(r.image.error().message.find(needle), std::string::npos) << r.image.error().message;
  EXPECT_NE(r.image.error().message.find("vessel-boot-test-"), std::string::npos)
      << "error does not name the file: " << r.image.error().message;
}

TEST(BzImageErrors, BadMagicIsNotAKernel) {
  BzOptions o;
  o.magic = 0x53726449;
  expect_error(load(make_bzimage(o), 64 * kMiB), "not a kernel Vessel recognises");
}

TEST(BzImageErrors, OldProtocol) {
  BzOptions o;
  o.version = 0x020B;
  expect_error(load(make_bzimage(o), 64 * kMiB), "2.11 is too old");
}

TEST(BzImageErrors, No64BitEntry) {
  BzOptions o;
  o.xloadflags = 0x2;
  expect_error(load(make_bzimage(o), 64 * kMiB), "64-bit entry not supported by this kernel");
}

TEST(BzImageErrors, KernelTooBigForMemory) {
  BzOptions o;
  o.init_size = 0x2000000;  // 32 MiB from 16 MiB: needs 48 MiB
  expect_error(load(make_bzimage(o), 32 * kMiB), "kernel needs guest memory");
}

TEST(BzImageErrors, FileBiggerThanMemory) {
  BzOptions o;
  o.pm_size = 3 * kMiB;
  expect_error(load(make_bzimage(o), 2 * kMiB), "too big for guest memory");
}

TEST(BzImageErrors, CommandLineTooLong) {
  BzOptions o;
  o.cmdline_size = 10;
  EXPECT_TRUE(load(make_bzimage(o), 64 * kMiB, "0123456789").image.ok());
  expect_error(load(make_bzimage(o), 64 * kMiB, "0123456789a"), "command line is 11 bytes");
}

TEST(BzImageErrors, InitrdDoesNotFit) {
  // Kernel runs at 16 MiB with init_size 8 MiB: 24 MiB of 32 are taken.
  Buf initrd(9 * kMiB, 0x5A);
  Loaded r = load(make_bzimage({}), 32 * kMiB, "", &initrd);
  expect_error(r, "does not fit in guest memory");
  Buf small(7 * kMiB, 0x5A);
  EXPECT_TRUE(load(make_bzimage({}), 32 * kMiB, "", &small).image.ok());
}

TEST(BzImageErrors, BadKernelAlignment) {
  BzOptions o;
  o.alignment = 0x300000;
  expect_error(load(make_bzimage(o), 64 * kMiB), "kernel_alignment");
}

TEST(BzImageErrors, TruncatedSetup) {
  Buf kernel = make_bzimage({});
  kernel.resize(5 * 512);  // no protected-mode part
  expect_error(load(kernel, 64 * kMiB), "ends inside the real-mode setup");
}

}  // namespace
}  // namespace vessel

#include <gtest/gtest.h>

#include "base/pc_layout.h"
#include "boot/loader.h"
#include "boot/multiboot.h"
#include "boot_test_util.h"

namespace vessel {
namespace {

using test::Buf;
using test::guest;
using test::guest_bytes;
using test::poke;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint32_t kMagic = 0x1BADB002;

void put_header(Buf& b, size_t off, uint32_t flags) {
  poke<uint32_t>(b, off, kMagic);
  poke<uint32_t>(b, off + 4, flags);
  poke<uint32_t>(b, off + 8, static_cast<uint32_t>(0u - kMagic - flags));
}

struct Aout {
  size_t header_offset = 0;
  uint32_t header_addr = 0x100000;
  uint32_t load_addr = 0x100000;
  uint32_t load_end_addr = 0;
  uint32_t bss_end_addr = 0;
  uint32_t entry_addr = 0x100040;
  uint32_t flags = 0x00010003;
  size_t size = 0x2000;
};

Buf make_aout(const Aout& a) {
  Buf b = test::pattern(a.size, 0x33);
  put_header(b, a.header_offset, a.flags);
  poke<uint32_t>(b, a.header_offset + 12, a.header_addr);
  poke<uint32_t>(b, a.header_offset + 16, a.load_addr);
  poke<uint32_t>(b, a.header_offset + 20, a.load_end_addr);
  poke<uint32_t>(b, a.header_offset + 24, a.bss_end_addr);
  poke<uint32_t>(b, a.header_offset + 28, a.entry_addr);
  return b;
}

struct Loaded {
  Expected<BootImage> image;
  std::unique_ptr<GuestMemory> mem;
};

Loaded load(const Buf& kernel, uint64_t mem_size, const Buf* initrd = nullptr,
            const std::string& cmdline = "") {
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
  EXPECT_TRUE(mem->fill(2 * kMiB, 0xCC, 2 * kMiB).ok());  // to see BSS being cleared
  auto image = load_kernel(*mem, spec);
  return {std::move(image), std::move(mem)};
}

TEST(Multiboot, FindsHeaderOnlyWithValidChecksumAndAlignment) {
  Buf b(0x3000, 0);
  EXPECT_FALSE(find_multiboot_header(b).has_value());
  put_header(b, 0x102, 0);  // not 4-aligned
  EXPECT_FALSE(find_multiboot_header(b).has_value());
  put_header(b, 0x204, 0);
  poke<uint32_t>(b, 0x20c, 0);  // bad checksum
  EXPECT_FALSE(find_multiboot_header(b).has_value());
  put_header(b, 0x1FF4, 0);  // last slot whose 12 bytes are inside 8 KiB
  EXPECT_EQ(find_multiboot_header(b), 0x1FF4u);
  Buf late(0x3000, 0);
  put_header(late, 0x2000, 0);  // beyond the first 8192 bytes
  EXPECT_FALSE(find_multiboot_header(late).has_value());
}

TEST(Multiboot, AoutKludgeLoadsImageAndBuildsInfo) {
  Aout a;
  a.bss_end_addr = 0x100000 + 0x2000 + 0x1000;
  a.load_addr = 0x200000;
  a.header_addr = 0x200000;
  a.bss_end_addr = 0x200000 + 0x2000 + 0x1000;
  a.entry_addr = 0x200040;
  Buf kernel = make_aout(a);
  Buf initrd = test::pattern(5000, 9);
  auto [image, mem] = load(kernel, 16 * kMiB, &initrd, "root=/dev/ram0");
  ASSERT_TRUE(image.ok()) << image.error().message;

  EXPECT_EQ(image->format, "multiboot");
  EXPECT_EQ(image->mode, CpuMode::kProtected32);
  EXPECT_EQ(image->entry, 0x200040u);
  EXPECT_EQ(image->gpr[kRax], 0x2BADB002u);
  uint64_t info = image->gpr[kRbx];
  EXPECT_EQ(info, layout::kBootParams);

  EXPECT_EQ(guest_bytes(*mem, 0x200000, kernel.size()), kernel);
  EXPECT_EQ(guest_bytes(*mem, 0x202000, 0x1000), Buf(0x1000, 0));  // BSS
  EXPECT_EQ(guest<uint8_t>(*mem, 0x203000), 0xCC);                 // beyond BSS untouched

  uint32_t flags = guest<uint32_t>(*mem, info);
  EXPECT_EQ(flags & 0x24D, 0x24Du);  // mem, cmdline, mods, mmap, loader name
  EXPECT_EQ(guest<uint32_t>(*mem, info + 4), 639u);
  EXPECT_EQ(guest<uint32_t>(*mem, info + 8), 15u * 1024);
  EXPECT_EQ(test::guest_string(*mem, guest<uint32_t>(*mem, info + 16)), "root=/dev/ram0");
  EXPECT_EQ(test::guest_string(*mem, guest<uint32_t>(*mem, info + 64)), "vessel");

  // Module 0: the initrd, page-aligned, high in memory.
  ASSERT_EQ(guest<uint32_t>(*mem, info + 20), 1u);
  uint32_t mods = guest<uint32_t>(*mem, info + 24);
  uint32_t start = guest<uint32_t>(*mem, mods);
  uint32_t end = guest<uint32_t>(*mem, mods + 4);
  EXPECT_EQ(start % 4096, 0u);
  EXPECT_EQ(end - start, initrd.size());
  EXPECT_EQ(start, (16 * kMiB - initrd.size()) & ~0xFFFull);
  EXPECT_EQ(guest_bytes(*mem, start, initrd.size()), initrd);

  // mmap: e820 entries with a size field of 20.
  uint32_t mmap_len = guest<uint32_t>(*mem, info + 44);
  uint32_t mmap = guest<uint32_t>(*mem, info + 48);
  ASSERT_EQ(mmap_len, 4u * 24);  // the fourth: the reserved PCI ECAM window
  EXPECT_EQ(guest<uint32_t>(*mem, mmap), 20u);
  EXPECT_EQ(guest<uint64_t>(*mem, mmap + 4), 0u);
  EXPECT_EQ(guest<uint64_t>(*mem, mmap + 12), 0x9FC00u);
  EXPECT_EQ(guest<uint32_t>(*mem, mmap + 20), 1u);
  EXPECT_EQ(guest<uint32_t>(*mem, mmap + 24 + 20), 2u);
  EXPECT_EQ(guest<uint64_t>(*mem, mmap + 48 + 4), kMiB);
  EXPECT_EQ(guest<uint64_t>(*mem, mmap + 48 + 12), 15 * kMiB);
}

TEST(Multiboot, AoutHeaderInsideImageAndExplicitLoadEnd) {
  Aout a;
  a.header_offset = 0x100;
  a.header_addr = 0x100100;
  a.load_addr = 0x100000;
  a.load_end_addr = 0x101000;  // load only the first 4 KiB of the file
  Buf kernel = make_aout(a);
  auto [image, mem] = load(kernel, 16 * kMiB);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(guest_bytes(*mem, 0x100000, 0x1000), Buf(kernel.begin(), kernel.begin() + 0x1000));
  EXPECT_EQ(guest<uint32_t>(*mem, layout::kBootParams) & (1u << 3), 0u);  // no modules
}

Buf multiboot_elf(bool is64, uint64_t paddr, uint64_t entry) {
  Buf code = test::pattern(0x200, 0x61);
  put_header(code, 0x10, 0x00000002);  // memory info, no address fields
  return test::make_elf(is64, entry, {{1, paddr, code, 0x3000}});
}

TEST(Multiboot, Elf32ProgramHeaders) {
  Buf kernel = multiboot_elf(false, 0x200000, 0x200010);
  auto [image, mem] = load(kernel, 16 * kMiB);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->format, "multiboot");
  EXPECT_EQ(image->entry, 0x200010u);
  Buf code = guest_bytes(*mem, 0x200000, 0x200);
  EXPECT_EQ(test::peek<uint32_t>(code, 0x10), kMagic);
  EXPECT_EQ(guest_bytes(*mem, 0x200200, 0x2E00), Buf(0x2E00, 0));  // memsz beyond filesz
}

TEST(Multiboot, Elf64ProgramHeaders) {
  Buf kernel = multiboot_elf(true, 0x300000, 0x300000);
  auto [image, mem] = load(kernel, 16 * kMiB);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->entry, 0x300000u);
  EXPECT_EQ(guest<uint32_t>(*mem, 0x300010), kMagic);
}

void expect_error(const Loaded& r, const std::string& needle) {
  ASSERT_FALSE(r.image.ok());
  EXPECT_NE(r.image.error().message.find(needle), std::string::npos) << r.image.error().message;
}

TEST(MultibootErrors, VideoModeRequired) {
  Aout a;
  a.flags = 0x00010007;
  expect_error(load(make_aout(a), 16 * kMiB), "video mode");
}

TEST(MultibootErrors, UnknownRequiredFlag) {
  Aout a;
  a.flags = 0x00010103;
  expect_error(load(make_aout(a), 16 * kMiB), "flags 0x100");
}

TEST(MultibootErrors, LoadAddrAfterHeaderAddr) {
  Aout a;
  a.load_addr = 0x100100;
  expect_error(load(make_aout(a), 16 * kMiB), "before the file start");
}

TEST(MultibootErrors, LoadEndBeyondFile) {
  Aout a;
  a.load_end_addr = 0x100000 + 0x3000;
  expect_error(load(make_aout(a), 16 * kMiB), "outside the file");
}

TEST(MultibootErrors, BssBelowLoadEnd) {
  Aout a;
  a.load_end_addr = 0x101000;
  a.bss_end_addr = 0x100800;
  expect_error(load(make_aout(a), 16 * kMiB), "bss_end_addr");
}

TEST(MultibootErrors, SegmentOverBootData) {
  Aout a;
  a.header_addr = a.load_addr = 0x8000;
  expect_error(load(make_aout(a), 16 * kMiB), "overlaps Vessel's boot data");
}

TEST(MultibootErrors, KernelBeyondMemory) {
  Aout a;
  a.header_addr = a.load_addr = 0x100000;
  a.bss_end_addr = 0x100000 + 20 * kMiB;
  expect_error(load(make_aout(a), 16 * kMiB), "does not fit in guest RAM");
}

TEST(MultibootErrors, NoAddressFieldsAndNotElf) {
  Aout a;
  a.flags = 0x3;
  expect_error(load(make_aout(a), 16 * kMiB), "not ELF");
}

}  // namespace
}  // namespace vessel

#include <gtest/gtest.h>

#include "base/pc_layout.h"
#include "boot/loader.h"
#include "boot_test_util.h"

namespace vessel {
namespace {

using test::Buf;
using test::guest;
using test::guest_bytes;
using test::TestSegment;

constexpr uint64_t kMiB = 1ull << 20;

Buf le(uint64_t v, size_t n) {
  Buf b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(v >> (8 * i));
  return b;
}

Buf pvh_elf(bool is64, uint64_t entry, size_t desc_size = 8) {
  Buf notes = test::make_note("GNU", 3, Buf(20, 0xAB));  // a build-id note first
  Buf xen_other = test::make_note("Xen", 6, le(0x1234, 4));
  Buf xen = test::make_note("Xen", 18, le(entry, desc_size));
  notes.insert(notes.end(), xen_other.begin(), xen_other.end());
  notes.insert(notes.end(), xen.begin(), xen.end());
  return test::make_elf(is64, 0xFFFFFFFF81000000ull & (is64 ? ~0ull : 0xFFFFFFFFull),
                        {
                            {1, 0x1000000, test::pattern(0x1000, 5), 0x4000},
                            {4, 0, notes, 0},
                            {1, 0x1200000, test::pattern(0x800, 6), 0},
                        });
}

struct Loaded {
  Expected<BootImage> image;
  std::unique_ptr<GuestMemory> mem;
};

Loaded load(const Buf& kernel, uint64_t mem_size, const Buf* initrd = nullptr,
            const std::string& cmdline = "", KernelFormat format = KernelFormat::kAuto,
            uint64_t flat_addr = 0x7C00) {
  test::TempFile kf(kernel);
  std::unique_ptr<test::TempFile> inf;
  BootSpec spec;
  spec.kernel_path = kf.path();
  spec.cmdline = cmdline;
  spec.format = format;
  spec.flat_load_addr = flat_addr;
  if (initrd) {
    inf = std::make_unique<test::TempFile>(*initrd);
    spec.initrd_path = inf->path();
  }
  auto mem = test::make_memory(mem_size);
  auto image = load_kernel(*mem, spec);
  return {std::move(image), std::move(mem)};
}

void expect_error(const Loaded& r, const std::string& needle) {
  ASSERT_FALSE(r.image.ok());
  EXPECT_NE(r.image.error().message.find(needle), std::string::npos) << r.image.error().message;
}

TEST(Pvh, LoadsSegmentsAndBuildsStartInfo) {
  Buf initrd = test::pattern(12345, 3);
  auto [image, mem] = load(pvh_elf(true, 0x1000040), 64 * kMiB, &initrd, "console=hvc0");
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->format, "pvh");
  EXPECT_EQ(image->mode, CpuMode::kProtected32);
  EXPECT_EQ(image->entry, 0x1000040u);
  uint64_t si = image->gpr[kRbx];
  EXPECT_EQ(si, layout::kBootParams);

  EXPECT_EQ(guest_bytes(*mem, 0x1000000, 0x1000), test::pattern(0x1000, 5));
  EXPECT_EQ(guest_bytes(*mem, 0x1001000, 0x3000), Buf(0x3000, 0));
  EXPECT_EQ(guest_bytes(*mem, 0x1200000, 0x800), test::pattern(0x800, 6));

  EXPECT_EQ(guest<uint32_t>(*mem, si), 0x336ec578u);
  EXPECT_EQ(guest<uint32_t>(*mem, si + 4), 1u);
  EXPECT_EQ(test::guest_string(*mem, guest<uint64_t>(*mem, si + 24)), "console=hvc0");
  EXPECT_EQ(guest<uint64_t>(*mem, si + 32), layout::kAcpiTables);  // rsdp_paddr

  ASSERT_EQ(guest<uint32_t>(*mem, si + 12), 1u);  // nr_modules
  uint64_t mod = guest<uint64_t>(*mem, si + 16);
  uint64_t rd = guest<uint64_t>(*mem, mod);
  EXPECT_EQ(guest<uint64_t>(*mem, mod + 8), initrd.size());
  EXPECT_EQ(rd % 4096, 0u);
  EXPECT_GE(rd, 0x1200800u);
  EXPECT_EQ(guest_bytes(*mem, rd, initrd.size()), initrd);

  uint64_t memmap = guest<uint64_t>(*mem, si + 40);
  ASSERT_EQ(guest<uint32_t>(*mem, si + 48), 4u);  // the fourth: reserved PCI ECAM
  EXPECT_EQ(guest<uint64_t>(*mem, memmap + 8), 0x9FC00u);
  EXPECT_EQ(guest<uint32_t>(*mem, memmap + 16), 1u);
  EXPECT_EQ(guest<uint32_t>(*mem, memmap + 24 + 16), 2u);
  EXPECT_EQ(guest<uint64_t>(*mem, memmap + 48), kMiB);
  EXPECT_EQ(guest<uint64_t>(*mem, memmap + 48 + 8), 63 * kMiB);
}

TEST(Pvh, Elf32WithFourByteNote) {
  auto [image, mem] = load(pvh_elf(false, 0x1000010, 4), 64 * kMiB);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->entry, 0x1000010u);
  EXPECT_EQ(guest<uint32_t>(*mem, layout::kBootParams + 12), 0u);  // no modules
}

TEST(PvhErrors, ElfWithoutNote) {
  Buf kernel = test::make_elf(true, 0x1000000, {{1, 0x1000000, test::pattern(64, 1), 0}});
  expect_error(load(kernel, 64 * kMiB), "without a Xen PVH entry note");
}

TEST(PvhErrors, BadNoteDescriptorSize) {
  expect_error(load(pvh_elf(true, 0x1000000, 2), 64 * kMiB), "expected 4 or 8");
}

TEST(PvhErrors, EntryAbove4GiB) {
  expect_error(load(pvh_elf(true, 0x100000000ull), 64 * kMiB), "32-bit protected mode");
}

TEST(PvhErrors, NoteRunsPastSegment) {
  Buf note = test::make_note("Xen", 18, le(0x1000000, 8));
  test::poke<uint32_t>(note, 4, 0x1000);  // descsz far beyond the segment
  Buf kernel = test::make_elf(true, 0, {{1, 0x1000000, Buf(16, 0), 0}, {4, 0, note, 0}});
  expect_error(load(kernel, 64 * kMiB), "runs past its PT_NOTE segment");
}

TEST(PvhErrors, ProgramHeadersOutsideFile) {
  Buf kernel = pvh_elf(true, 0x1000000);
  test::poke<uint64_t>(kernel, 32, kernel.size() - 8);  // e_phoff
  expect_error(load(kernel, 64 * kMiB), "program headers");
}

TEST(PvhErrors, SegmentOutsideFile) {
  Buf kernel = pvh_elf(true, 0x1000000);
  test::poke<uint64_t>(kernel, 64 + 32, 0x100000);  // first segment's p_filesz
  expect_error(load(kernel, 64 * kMiB), "lies outside the file");
}

TEST(PvhErrors, SegmentAboveMemory) {
  expect_error(load(pvh_elf(true, 0x1000000), 16 * kMiB), "does not fit in guest RAM");
}

TEST(Flat, LoadsAtAddressInRealMode) {
  Buf bin = test::pattern(512, 0x90);
  auto [image, mem] = load(bin, 16 * kMiB, nullptr, "", KernelFormat::kFlat);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->format, "flat");
  EXPECT_EQ(image->mode, CpuMode::kReal16);
  EXPECT_EQ(image->entry, 0x7C00u);
  EXPECT_EQ(guest_bytes(*mem, 0x7C00, 512), bin);
}

TEST(Flat, OtherAddressAndUpTo1MiB) {
  Buf bin = test::pattern(0x1000, 1);
  auto [image, mem] = load(bin, 16 * kMiB, nullptr, "", KernelFormat::kFlat, 0xFF000);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->entry, 0xFF000u);
  EXPECT_EQ(guest_bytes(*mem, 0xFF000, 0x1000), bin);
}

TEST(Flat, MustEndBelow1MiB) {
  Buf bin(0x1001, 0x90);
  expect_error(load(bin, 16 * kMiB, nullptr, "", KernelFormat::kFlat, 0xFF000),
               "does not fit below 1 MiB");
  expect_error(load(bin, 16 * kMiB, nullptr, "", KernelFormat::kFlat, 0x200000),
               "does not fit below 1 MiB");
}

TEST(Flat, RejectsInitrd) {
  Buf bin(16, 0x90), initrd(16, 1);
  expect_error(load(bin, 16 * kMiB, &initrd, "", KernelFormat::kFlat), "initrd");
}

TEST(KernelFile, RandomBytesAreNotAKernel) {
  Buf junk = test::pattern(100000, 77);
  Loaded r = load(junk, 16 * kMiB);
  expect_error(r, "not a kernel Vessel recognises");
  EXPECT_NE(r.image.error().message.find("vessel-boot-test-"), std::string::npos)
      << r.image.error().message;
}

TEST(KernelFile, MissingEmptyAndDirectory) {
  auto mem = test::make_memory(16 * kMiB);
  BootSpec spec;
  spec.kernel_path = "/nonexistent/vmlinuz";
  auto r = load_kernel(*mem, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'/nonexistent/vmlinuz' does not exist"), std::string::npos)
      << r.error().message;

  test::TempFile empty(Buf{});
  spec.kernel_path = empty.path();
  r = load_kernel(*mem, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("is empty"), std::string::npos) << r.error().message;

  spec.kernel_path = "/";
  r = load_kernel(*mem, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a regular file"), std::string::npos) << r.error().message;
}

TEST(KernelFile, MissingInitrdIsNamed) {
  auto mem = test::make_memory(16 * kMiB);
  test::TempFile kernel(test::pattern(64, 1));
  BootSpec spec;
  spec.kernel_path = kernel.path();
  spec.initrd_path = "/nonexistent/initrd.img";
  auto r = load_kernel(*mem, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("initrd file '/nonexistent/initrd.img' does not exist"),
            std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace vessel

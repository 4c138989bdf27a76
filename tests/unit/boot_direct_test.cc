// Direct kernel loading: a bzImage whose payload (compressed here) is a
// vmlinux with a PVH note is decompressed on the host and entered through
// PVH; the header's payload fields are checked; auto falls back to the
// bzImage's own decompressor when direct loading is not possible. And the
// real guest kernel, when `make assets` has built it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "base/pc_layout.h"
#include "boot/bzimage_payload.h"
#include "boot/elf.h"
#include "boot/loader.h"
#include "boot/pvh.h"
#include "boot_test_util.h"
#include "compress_util.h"

// GCC 12 at -O3 (Release) reports false -Warray-bounds and
// -Wstringop-overread inside the vector::insert of make_bzimage.
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overread"

namespace vessel {
namespace {

using test::Buf;
using test::guest;
using test::guest_bytes;
using test::kMiB;
using test::poke;

constexpr uint64_t kKernelAddr = 0x1000000;
constexpr uint64_t kPvhEntry = kKernelAddr + 0x40;
constexpr size_t kPayloadOffset = 0x200;  // inside the protected-mode part

// A vmlinux: one PT_LOAD at 16 MiB (code + BSS) and the Xen PVH note.
Buf make_vmlinux(bool with_pvh_note) {
  std::vector<test::TestSegment> segs;
  segs.push_back({1, kKernelAddr, test::pattern(0x3000, 0x11), 0x5000});
  Buf note = test::make_note("GNU", 3, Buf(20, 0xAB));
  if (with_pvh_note) {
    Buf entry;
    poke<uint32_t>(entry, 0, static_cast<uint32_t>(kPvhEntry));
    Buf xen = test::make_note("Xen", kXenElfnotePhys32Entry, entry);
    note.insert(note.end(), xen.begin(), xen.end());
  }
  segs.push_back({4, 0, note, 0});
  return test::make_elf(true, kKernelAddr, segs);
}

// What the kernel build appends to every payload: compressed data, then the
// uncompressed size as LE32 (for gzip, its own trailer is that field).
Buf make_payload(Compression c, const Buf& vmlinux) {
  Buf p = test::compress(c, vmlinux);
  if (c != Compression::kGzip) poke<uint32_t>(p, p.size(), static_cast<uint32_t>(vmlinux.size()));
  return p;
}

struct BzFields {
  uint16_t version = 0x020F;
  uint32_t init_size = 0x800000;
  int64_t payload_offset = kPayloadOffset;
  int64_t payload_length = -1;  // -1: the payload's size
};

Buf make_bzimage(const Buf& payload, const BzFields& f = {}) {
  constexpr size_t kSetup = 5 * 512;  // setup_sects = 4
  Buf b(kSetup + kPayloadOffset, 0);
  b[0x1f1] = 4;
  poke<uint16_t>(b, 0x1fe, 0xAA55);
  b[0x200] = 0xEB;
  b[0x201] = 0x66;  // header ends at 0x268
  poke<uint32_t>(b, 0x202, 0x53726448);
  poke<uint16_t>(b, 0x206, f.version);
  b[0x211] = 0x01;
  poke<uint32_t>(b, 0x22c, 0x7FFFFFFF);
  poke<uint32_t>(b, 0x230, 0x200000);
  b[0x234] = 1;
  poke<uint16_t>(b, 0x236, 0x3);
  poke<uint32_t>(b, 0x238, 2047);
  poke<uint32_t>(b, 0x248, static_cast<uint32_t>(f.payload_offset));
  poke<uint32_t>(b, 0x24c,
                 static_cast<uint32_t>(f.payload_length < 0 ? payload.size() : f.payload_length));
  poke<uint64_t>(b, 0x258, 0x1000000);
  poke<uint32_t>(b, 0x260, f.init_size);
  // resize + memcpy rather than insert: GCC 12 at -O3 reports a false
  // -Warray-bounds on the inlined insert.
  size_t at = b.size();
  b.resize((at + payload.size() + 511) & ~size_t{511});
  if (!payload.empty()) std::memcpy(b.data() + at, payload.data(), payload.size());
  return b;
}

Expected<BootImage> load(GuestMemory& mem, const Buf& kernel, KernelFormat format,
                         const Buf* initrd = nullptr) {
  test::TempFile k(kernel);
  std::unique_ptr<test::TempFile> i;
  BootSpec spec;
  spec.kernel_path = k.path();
  if (initrd) {
    i = std::make_unique<test::TempFile>(*initrd);
    spec.initrd_path = i->path();
  }
  spec.cmdline = "console=ttyS0";
  spec.format = format;
  return load_kernel(mem, spec);
}

void expect_error(const Expected<BootImage>& r, const std::string& part) {
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
}

class DirectLoadTest : public ::testing::TestWithParam<Compression> {};

INSTANTIATE_TEST_SUITE_P(Formats, DirectLoadTest,
                         ::testing::Values(Compression::kGzip, Compression::kLz4Legacy,
                                           Compression::kXz, Compression::kZstd));

TEST_P(DirectLoadTest, AutoLoadsThePayloadThroughPvh) {
  Buf vmlinux = make_vmlinux(true);
  Buf initrd = test::pattern(5000, 0x77);
  auto mem = test::make_memory(64 * kMiB);
  auto image =
      load(*mem, make_bzimage(make_payload(GetParam(), vmlinux)), KernelFormat::kAuto, &initrd);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_NE(image->format.find("direct"), std::string::npos) << image->format;
  EXPECT_EQ(image->mode, CpuMode::kProtected32);
  EXPECT_EQ(image->entry, kPvhEntry);
  EXPECT_EQ(image->gpr[kRbx], layout::kBootParams);
  EXPECT_EQ(guest<uint32_t>(*mem, layout::kBootParams), kHvmStartMagic);
  EXPECT_EQ(guest_bytes(*mem, kKernelAddr, 0x3000), test::pattern(0x3000, 0x11));
  EXPECT_EQ(guest<uint32_t>(*mem, layout::kBootParams + 12), 1u);  // nr_modules: the initrd
  uint64_t initrd_addr = guest<uint64_t>(*mem, guest<uint64_t>(*mem, layout::kBootParams + 16));
  EXPECT_EQ(guest_bytes(*mem, initrd_addr, initrd.size()), initrd);
}

TEST_P(DirectLoadTest, ExtractGivesTheVmlinuxBack) {
  Buf vmlinux = make_vmlinux(true);
  auto v = extract_vmlinux(make_bzimage(make_payload(GetParam(), vmlinux)), 64 * kMiB);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->compression, GetParam());
  EXPECT_TRUE(test::same(v->elf, vmlinux));
}

TEST(DirectLoad, BzImageFormatKeepsTheKernelsOwnDecompressor) {
  auto mem = test::make_memory(64 * kMiB);
  auto image = load(*mem, make_bzimage(make_payload(Compression::kLz4Legacy, make_vmlinux(true))),
                    KernelFormat::kBzImage);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->format, "bzImage");
  EXPECT_EQ(image->mode, CpuMode::kLong64);
  EXPECT_EQ(image->entry, 0x200000u + 0x200);  // startup_64 at the first 2 MiB-aligned address
}

TEST(DirectLoad, AutoFallsBackWithoutAPvhNoteAndDirectRefuses) {
  Buf bz = make_bzimage(make_payload(Compression::kGzip, make_vmlinux(false)));
  auto mem = test::make_memory(64 * kMiB);
  auto image = load(*mem, bz, KernelFormat::kAuto);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->format, "bzImage");
  auto mem2 = test::make_memory(64 * kMiB);
  expect_error(load(*mem2, bz, KernelFormat::kDirect), "no Xen PVH entry note");
}

TEST(DirectLoad, AutoFallsBackWhenThePayloadIsNotAnElf) {
  Buf bz = make_bzimage(make_payload(Compression::kZstd, test::pattern(4096, 3)));
  auto mem = test::make_memory(64 * kMiB);
  auto image = load(*mem, bz, KernelFormat::kAuto);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->format, "bzImage");
  auto mem2 = test::make_memory(64 * kMiB);
  expect_error(load(*mem2, bz, KernelFormat::kDirect), "decompressed payload: not an ELF file");
}

TEST(DirectLoad, PlainVmlinuxLoadsWithAutoAndDirectButNotBzImage) {
  Buf vmlinux = make_vmlinux(true);
  for (KernelFormat f : {KernelFormat::kAuto, KernelFormat::kDirect}) {
    auto mem = test::make_memory(64 * kMiB);
    auto image = load(*mem, vmlinux, f);
    ASSERT_TRUE(image.ok()) << image.error().message;
    EXPECT_EQ(image->entry, kPvhEntry);
    EXPECT_EQ(image->mode, CpuMode::kProtected32);
  }
  auto mem = test::make_memory(64 * kMiB);
  expect_error(load(*mem, vmlinux, KernelFormat::kBzImage), "no 'HdrS' setup header");
}

TEST(DirectLoad, HeaderFieldsOutOfRangeAreErrors) {
  Buf payload = make_payload(Compression::kLz4Legacy, make_vmlinux(true));
  auto expect_payload_error = [](const Buf& bz, const std::string& part) {
    auto p = extract_vmlinux(bz, 64 * kMiB);
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().message.find(part), std::string::npos) << p.error().message;
  };
  expect_payload_error(make_bzimage(payload, {.payload_offset = 0x7FFFFFFF}), "lies outside");
  expect_payload_error(make_bzimage(payload, {.payload_offset = 0xFFFFFFFF}), "lies outside");
  expect_payload_error(make_bzimage(payload, {.payload_length = 0xFFFFFFFF}), "lies outside");
  expect_payload_error(make_bzimage(payload, {.payload_length = 0x100000}), "lies outside");
  expect_payload_error(make_bzimage(payload, {.version = 0x0207}), "2.08");
  expect_payload_error(make_bzimage(payload, {.payload_offset = 0}), "not a gzip, xz");
  expect_payload_error(make_bzimage(payload, {.payload_length = 3}), "too short");
  // The recorded size is more than init_size, or than the guest's memory.
  expect_payload_error(make_bzimage(payload, {.init_size = 0x1000}), "init_size");
  auto small = extract_vmlinux(make_bzimage(payload), 0x1000);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("guest's memory"), std::string::npos);
}

TEST(DirectLoad, ARecordedSizeThatDisagreesIsAnError) {
  Buf vmlinux = make_vmlinux(true);
  Buf payload = make_payload(Compression::kLz4Legacy, vmlinux);
  ASSERT_EQ(vmlinux.size(), 12520u);
  poke<uint32_t>(payload, payload.size() - 4, static_cast<uint32_t>(vmlinux.size() - 1));
  auto v = extract_vmlinux(make_bzimage(payload), 64 * kMiB);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("records 12519 bytes"), std::string::npos) << v.error().message;
  poke<uint32_t>(payload, payload.size() - 4, static_cast<uint32_t>(vmlinux.size() + 100));
  v = extract_vmlinux(make_bzimage(payload), 64 * kMiB);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("records"), std::string::npos) << v.error().message;
}

TEST(DirectLoad, CorruptPayloadFailsDirectAndFallsBackInAuto) {
  Buf payload = make_payload(Compression::kXz, make_vmlinux(true));
  std::fill(payload.begin() + 24, payload.end() - 40, 0x5A);
  Buf bz = make_bzimage(payload);
  auto mem = test::make_memory(64 * kMiB);
  expect_error(load(*mem, bz, KernelFormat::kDirect), "xz payload");
  auto mem2 = test::make_memory(64 * kMiB);
  auto image = load(*mem2, bz, KernelFormat::kAuto);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_EQ(image->format, "bzImage");
}

TEST(DirectLoad, ParsesKernelFormatNames) {
  EXPECT_EQ(*parse_kernel_format("auto"), KernelFormat::kAuto);
  EXPECT_EQ(*parse_kernel_format("bzimage"), KernelFormat::kBzImage);
  EXPECT_EQ(*parse_kernel_format("direct"), KernelFormat::kDirect);
  EXPECT_EQ(*parse_kernel_format("flat"), KernelFormat::kFlat);
  EXPECT_FALSE(parse_kernel_format("elf").ok());
  EXPECT_FALSE(parse_kernel_format("").ok());
}

// The Debian cloud kernel from scripts/build-guest-assets.sh.
TEST(DirectLoadGuestKernel, DebianKernelDecompressesToAPvhVmlinux) {
  const char* dir = getenv("VESSEL_GUEST_DIR");
  std::filesystem::path path =
      std::filesystem::path(dir ? dir : VESSEL_BUILD_DIR "/guest") / "vmlinuz";
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << path << " does not exist (run 'make assets', or set VESSEL_GUEST_DIR)";
  }
  std::ifstream in(path, std::ios::binary);
  Buf file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto payload = find_bzimage_payload(file);
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  EXPECT_LE(payload->size, payload->init_size);

  auto start = std::chrono::steady_clock::now();
  auto v = extract_vmlinux(file, 1ull << 30);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  ASSERT_TRUE(v.ok()) << v.error().message;
  std::printf("  %s payload: %zu -> %zu bytes in %.1f ms\n",
              std::string(compression_name(v->compression)).c_str(),
              static_cast<size_t>(v->compressed_size), v->elf.size(), ms.count());
  EXPECT_EQ(v->elf.size(), payload->size);

  auto elf = parse_elf(v->elf);
  ASSERT_TRUE(elf.ok()) << elf.error().message;
  EXPECT_TRUE(elf->is64);
  auto entry = find_pvh_entry(v->elf, *elf);
  ASSERT_TRUE(entry.ok()) << entry.error().message;
  ASSERT_TRUE(entry->has_value()) << "no PVH note: kernel built without CONFIG_PVH";
  // The entry lies inside a loaded segment, and the image fits its init_size.
  bool inside = false;
  uint64_t lo = ~0ull, hi = 0;
  for (const ElfSegment& s : elf->segments) {
    if (s.type != kPtLoad) continue;
    inside |= **entry >= s.paddr && **entry < s.paddr + s.filesz;
    lo = std::min(lo, s.paddr);
    hi = std::max(hi, s.paddr + s.memsz);
  }
  EXPECT_TRUE(inside) << "PVH entry " << **entry;
  EXPECT_LE(hi - lo, payload->init_size);

  auto mem = test::make_memory(256 * kMiB);
  auto image = load(*mem, file, KernelFormat::kAuto);
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_NE(image->format.find("direct"), std::string::npos) << image->format;
  EXPECT_EQ(image->entry, **entry);
}

}  // namespace
}  // namespace vessel

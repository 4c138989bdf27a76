#include "boot/multiboot.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "base/pc_layout.h"
#include "boot/e820.h"
#include "boot/elf.h"
#include "boot/le_bytes.h"

namespace vessel {

namespace {

// The multiboot header (spec 3.1.1).
constexpr size_t kSearchLimit = 8192;
constexpr size_t kHdrFlags = 4, kHdrChecksum = 8, kHdrHeaderAddr = 12, kHdrLoadAddr = 16,
                 kHdrLoadEndAddr = 20, kHdrBssEndAddr = 24, kHdrEntryAddr = 28;
constexpr size_t kHeaderMinSize = 12, kHeaderAoutSize = 32;
constexpr uint32_t kFlagPageAlignModules = 1u << 0;
constexpr uint32_t kFlagMemoryInfo = 1u << 1;
constexpr uint32_t kFlagVideoMode = 1u << 2;
constexpr uint32_t kFlagAoutKludge = 1u << 16;
constexpr uint32_t kRequiredFlagsMask = 0xFFFF;

// The multiboot information structure (spec 3.3).
constexpr size_t kInfoSize = 0x80;
constexpr size_t kInfoFlags = 0, kInfoMemLower = 4, kInfoMemUpper = 8, kInfoCmdline = 16,
                 kInfoModsCount = 20, kInfoModsAddr = 24, kInfoMmapLength = 44, kInfoMmapAddr = 48,
                 kInfoBootLoaderName = 64;
constexpr uint32_t kInfoHasMem = 1u << 0, kInfoHasCmdline = 1u << 2, kInfoHasMods = 1u << 3,
                   kInfoHasMmap = 1u << 6, kInfoHasLoaderName = 1u << 9;
constexpr size_t kMmapEntrySize =
    24;  // u32 size (20, not counting itself), u64 base, u64 length, u32 type
constexpr size_t kModuleSize = 16;  // u32 mod_start, u32 mod_end, u32 string, u32 reserved

// Where the pieces go inside the boot-parameters page.
constexpr uint64_t kInfoAddr = layout::kBootParams;
constexpr uint64_t kMmapAddr = layout::kBootParams + 0x100;
constexpr size_t kMmapMaxEntries = 0x300 / kMmapEntrySize;
constexpr uint64_t kModsAddr = layout::kBootParams + 0x400;
constexpr uint64_t kModStringAddr = layout::kBootParams + 0x480;
constexpr uint64_t kLoaderNameAddr = layout::kBootParams + 0x600;
constexpr std::string_view kModString = "initrd";
constexpr std::string_view kLoaderName = "vessel";

constexpr uint64_t k4GiB = 1ull << 32;

Status write_string(GuestMemory& memory, uint64_t addr, std::string_view s) {
  VESSEL_TRY(memory.write(addr, s.data(), s.size()));
  return memory.fill(addr + s.size(), 0, 1);
}

struct Loaded {
  uint64_t entry = 0;
  uint64_t end = 0;  // end of the highest byte the kernel occupies
};

// Loads through the header's address fields (the "a.out kludge").
Expected<Loaded> load_aout(GuestMemory& memory, std::span<const uint8_t> file, size_t hdr) {
  if (!in_bounds(file.size(), hdr, kHeaderAoutSize)) {
    return make_error("multiboot header at {:#x} is truncated (address fields missing)", hdr);
  }
  uint32_t header_addr = get_le<uint32_t>(file, hdr + kHdrHeaderAddr);
  uint32_t load_addr = get_le<uint32_t>(file, hdr + kHdrLoadAddr);
  uint32_t load_end_addr = get_le<uint32_t>(file, hdr + kHdrLoadEndAddr);
  uint32_t bss_end_addr = get_le<uint32_t>(file, hdr + kHdrBssEndAddr);
  if (load_addr > header_addr || header_addr - load_addr > hdr) {
    return make_error(
        "multiboot load_addr {:#x} and header_addr {:#x} put the image start before the file "
        "start",
        load_addr, header_addr);
  }
  uint64_t file_offset = hdr - (header_addr - load_addr);
  uint64_t load_end = load_end_addr ? load_end_addr : load_addr + (file.size() - file_offset);
  if (load_end < load_addr || !in_bounds(file.size(), file_offset, load_end - load_addr)) {
    return make_error("multiboot load_end_addr {:#x} lies outside the file (load_addr {:#x})",
                      load_end_addr, load_addr);
  }
  uint64_t mem_end = load_end;
  if (bss_end_addr != 0) {
    if (bss_end_addr < load_end) {
      return make_error("multiboot bss_end_addr {:#x} is below load_end_addr {:#x}", bss_end_addr,
                        load_end);
    }
    mem_end = bss_end_addr;
  }
  VESSEL_TRY(load_segment(memory, load_addr, file.subspan(file_offset, load_end - load_addr),
                          mem_end - load_addr));
  return Loaded{get_le<uint32_t>(file, hdr + kHdrEntryAddr), mem_end};
}

Expected<Loaded> load_elf(GuestMemory& memory, std::span<const uint8_t> file) {
  if (!is_elf(file)) {
    return make_error(
        "multiboot header has no address fields (flag 16 clear) and the file is not ELF");
  }
  VESSEL_ASSIGN(ElfImage elf, parse_elf(file));
  if (elf.entry >= k4GiB) {
    return make_error("ELF entry point {:#x} is not reachable from 32-bit protected mode",
                      elf.entry);
  }
  VESSEL_ASSIGN(uint64_t end, load_elf_segments(memory, file, elf));
  return Loaded{elf.entry, end};
}

Status write_mmap(GuestMemory& memory, std::span<uint8_t> info) {
  std::vector<E820Entry> map = build_e820_map(memory);
  size_t n = std::min(map.size(), kMmapMaxEntries);
  std::vector<uint8_t> mmap(n * kMmapEntrySize, 0);
  for (size_t i = 0; i < n; i++) {
    size_t off = i * kMmapEntrySize;
    put_le<uint32_t>(mmap, off, kMmapEntrySize - 4);
    put_le<uint64_t>(mmap, off + 4, map[i].addr);
    put_le<uint64_t>(mmap, off + 12, map[i].size);
    put_le<uint32_t>(mmap, off + 20, static_cast<uint32_t>(map[i].type));
  }
  put_le<uint32_t>(info, kInfoMmapLength, static_cast<uint32_t>(mmap.size()));
  put_le<uint32_t>(info, kInfoMmapAddr, static_cast<uint32_t>(kMmapAddr));
  return memory.write(kMmapAddr, mmap.data(), mmap.size());
}

}  // namespace

std::optional<size_t> find_multiboot_header(std::span<const uint8_t> file) {
  size_t limit = std::min(file.size(), kSearchLimit);
  for (size_t off = 0; off + kHeaderMinSize <= limit; off += 4) {
    uint32_t magic = get_le<uint32_t>(file, off);
    if (magic != kMultibootHeaderMagic) continue;
    uint32_t flags = get_le<uint32_t>(file, off + kHdrFlags);
    uint32_t sum = get_le<uint32_t>(file, off + kHdrChecksum);
    if (static_cast<uint32_t>(magic + flags + sum) == 0) return off;
  }
  return std::nullopt;
}

Expected<BootImage> load_multiboot(GuestMemory& memory, const LoadInputs& in, size_t hdr) {
  std::span<const uint8_t> file = in.kernel;
  uint32_t flags = get_le<uint32_t>(file, hdr + kHdrFlags);
  if (flags & kFlagVideoMode) {
    return make_error(
        "multiboot kernel requires video mode information (flag 2), which Vessel "
        "does not provide");
  }
  uint32_t unknown = flags & kRequiredFlagsMask & ~(kFlagPageAlignModules | kFlagMemoryInfo);
  if (unknown != 0) {
    return make_error("multiboot kernel requires features Vessel does not know (flags {:#x})",
                      unknown);
  }

  Loaded loaded;
  if (flags & kFlagAoutKludge) {
    VESSEL_ASSIGN(loaded, load_aout(memory, file, hdr));
  } else {
    VESSEL_ASSIGN(loaded, load_elf(memory, file));
  }

  std::vector<uint8_t> info(kInfoSize, 0);
  uint32_t info_flags = kInfoHasMem | kInfoHasCmdline | kInfoHasMmap | kInfoHasLoaderName;
  constexpr uint64_t kOneMiB = 1ull << 20;
  put_le<uint32_t>(info, kInfoMemLower, static_cast<uint32_t>(layout::kEbdaStart / 1024));
  uint64_t low_end = low_ram_end(memory);
  put_le<uint32_t>(info, kInfoMemUpper,
                   static_cast<uint32_t>(low_end > kOneMiB ? (low_end - kOneMiB) / 1024 : 0));

  VESSEL_TRY(write_cmdline(memory, in.cmdline, layout::kCmdlineMax - 1));
  put_le<uint32_t>(info, kInfoCmdline, static_cast<uint32_t>(layout::kCmdline));

  if (!in.initrd.empty()) {
    // Modules are always page-aligned, which also satisfies flag 0.
    VESSEL_ASSIGN(uint64_t start, place_initrd(memory, in, loaded.end, k4GiB));
    std::vector<uint8_t> mod(kModuleSize, 0);
    put_le<uint32_t>(mod, 0, static_cast<uint32_t>(start));
    put_le<uint32_t>(mod, 4, static_cast<uint32_t>(start + in.initrd.size()));
    put_le<uint32_t>(mod, 8, static_cast<uint32_t>(kModStringAddr));
    VESSEL_TRY(memory.write(kModsAddr, mod.data(), mod.size()));
    VESSEL_TRY(write_string(memory, kModStringAddr, kModString));
    info_flags |= kInfoHasMods;
    put_le<uint32_t>(info, kInfoModsCount, 1);
    put_le<uint32_t>(info, kInfoModsAddr, static_cast<uint32_t>(kModsAddr));
  }

  VESSEL_TRY(write_mmap(memory, info));
  VESSEL_TRY(write_string(memory, kLoaderNameAddr, kLoaderName));
  put_le<uint32_t>(info, kInfoBootLoaderName, static_cast<uint32_t>(kLoaderNameAddr));
  put_le<uint32_t>(info, kInfoFlags, info_flags);
  VESSEL_TRY(memory.write(kInfoAddr, info.data(), info.size()));

  BootImage image;
  image.format = "multiboot";
  image.mode = CpuMode::kProtected32;
  image.entry = loaded.entry;
  image.gpr[kRax] = kMultibootBootloaderMagic;
  image.gpr[kRbx] = kInfoAddr;
  return image;
}

}  // namespace vessel

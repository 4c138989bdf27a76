#include "boot/pvh.h"

#include <algorithm>
#include <vector>

#include "base/pc_layout.h"
#include "boot/e820.h"
#include "boot/le_bytes.h"

namespace vessel {

namespace {

// struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h), version 1.
constexpr size_t kStartInfoSize = 56;
constexpr size_t kSiMagic = 0, kSiVersion = 4, kSiFlags = 8, kSiNrModules = 12,
                 kSiModlistPaddr = 16, kSiCmdlinePaddr = 24, kSiRsdpPaddr = 32, kSiMemmapPaddr = 40,
                 kSiMemmapEntries = 48;
constexpr uint32_t kStartInfoVersion = 1;
// struct hvm_modlist_entry: u64 paddr, u64 size, u64 cmdline_paddr, u64 reserved.
constexpr size_t kModlistEntrySize = 32;
// struct hvm_memmap_table_entry: u64 addr, u64 size, u32 type, u32 reserved.
constexpr size_t kMemmapEntrySize = 24;

// Where the pieces go inside the boot-parameters page.
constexpr uint64_t kStartInfoAddr = layout::kBootParams;
constexpr uint64_t kModlistAddr = layout::kBootParams + 0x40;
constexpr uint64_t kMemmapAddr = layout::kBootParams + 0x80;
constexpr size_t kMemmapMaxEntries = (0x1000 - 0x80) / kMemmapEntrySize;

constexpr uint64_t k4GiB = 1ull << 32;

}  // namespace

Expected<std::optional<uint64_t>> find_pvh_entry(std::span<const uint8_t> file,
                                                 const ElfImage& image) {
  VESSEL_ASSIGN(std::vector<ElfNote> notes, elf_notes(file, image));
  for (const ElfNote& n : notes) {
    if (n.name != "Xen" || n.type != kXenElfnotePhys32Entry) continue;
    uint64_t entry;
    if (n.desc.size() == 4) {
      entry = get_le<uint32_t>(n.desc, 0);
    } else if (n.desc.size() == 8) {
      entry = get_le<uint64_t>(n.desc, 0);
    } else {
      return make_error("Xen PHYS32_ENTRY note has {} bytes of data, expected 4 or 8",
                        n.desc.size());
    }
    if (entry >= k4GiB) {
      return make_error("PVH entry point {:#x} is not reachable from 32-bit protected mode", entry);
    }
    return std::optional<uint64_t>(entry);
  }
  return std::optional<uint64_t>();
}

Expected<BootImage> load_pvh(GuestMemory& memory, const LoadInputs& in, const ElfImage& image,
                             uint64_t entry) {
  VESSEL_ASSIGN(uint64_t kernel_end, load_elf_segments(memory, in.kernel, image));

  std::vector<uint8_t> si(kStartInfoSize, 0);
  put_le<uint32_t>(si, kSiMagic, kHvmStartMagic);
  put_le<uint32_t>(si, kSiVersion, kStartInfoVersion);
  put_le<uint32_t>(si, kSiFlags, 0);

  VESSEL_TRY(write_cmdline(memory, in.cmdline, layout::kCmdlineMax - 1));
  put_le<uint64_t>(si, kSiCmdlinePaddr, layout::kCmdline);

  if (!in.initrd.empty()) {
    VESSEL_ASSIGN(uint64_t addr, place_initrd(memory, in, kernel_end, k4GiB));
    std::vector<uint8_t> mod(kModlistEntrySize, 0);
    put_le<uint64_t>(mod, 0, addr);
    put_le<uint64_t>(mod, 8, in.initrd.size());
    VESSEL_TRY(memory.write(kModlistAddr, mod.data(), mod.size()));
    put_le<uint32_t>(si, kSiNrModules, 1);
    put_le<uint64_t>(si, kSiModlistPaddr, kModlistAddr);
  }

  put_le<uint64_t>(si, kSiRsdpPaddr, in.rsdp_addr);

  std::vector<E820Entry> map = build_e820_map(memory);
  size_t n = std::min(map.size(), kMemmapMaxEntries);
  std::vector<uint8_t> memmap(n * kMemmapEntrySize, 0);
  for (size_t i = 0; i < n; i++) {
    put_le<uint64_t>(memmap, i * kMemmapEntrySize, map[i].addr);
    put_le<uint64_t>(memmap, i * kMemmapEntrySize + 8, map[i].size);
    put_le<uint32_t>(memmap, i * kMemmapEntrySize + 16, static_cast<uint32_t>(map[i].type));
  }
  VESSEL_TRY(memory.write(kMemmapAddr, memmap.data(), memmap.size()));
  put_le<uint64_t>(si, kSiMemmapPaddr, kMemmapAddr);
  put_le<uint32_t>(si, kSiMemmapEntries, static_cast<uint32_t>(n));
  VESSEL_TRY(memory.write(kStartInfoAddr, si.data(), si.size()));

  BootImage boot;
  boot.format = "pvh";
  boot.mode = CpuMode::kProtected32;
  boot.entry = entry;
  boot.gpr[kRbx] = kStartInfoAddr;
  return boot;
}

}  // namespace vessel

#include "boot/bzimage.h"

#include <algorithm>
#include <bit>
#include <vector>

#include "base/pc_layout.h"
#include "boot/e820.h"
#include "boot/le_bytes.h"
#include "boot/linux_boot_params.h"

namespace vessel {

namespace lb = linux_boot;

namespace {

constexpr uint64_t kMaxKernelAlignment = 1ull << 30;

struct Placement {
  uint64_t load = 0;  // where the protected-mode part goes
  uint64_t end = 0;   // end of everything the kernel may use while it starts (init_size)
};

// Where the kernel goes and how far it reaches. A relocatable kernel is
// loaded at layout::kKernelLoad rounded up to its kernel_alignment; its
// startup code then runs (decompresses) at the larger of that and
// pref_address, and needs init_size bytes from there. A fixed one goes at
// pref_address.
Expected<Placement> place_kernel(std::span<const uint8_t> file, uint64_t pm_size) {
  bool relocatable = file[lb::kRelocatableKernel] != 0;
  uint32_t alignment = get_le<uint32_t>(file, lb::kKernelAlignment);
  uint64_t pref = get_le<uint64_t>(file, lb::kPrefAddress);
  uint64_t init_size = get_le<uint32_t>(file, lb::kInitSize);
  Placement p;
  uint64_t run;
  if (relocatable) {
    if (alignment == 0 || !std::has_single_bit(alignment) || alignment > kMaxKernelAlignment) {
      return make_error("kernel_alignment {:#x} is not a power of two up to 1 GiB", alignment);
    }
    p.load = (layout::kKernelLoad + alignment - 1) & ~uint64_t{alignment - 1};
    run = std::max(p.load, pref);
  } else {
    p.load = pref;
    run = pref;
  }
  if (p.load < layout::kKernelLoad || run >= layout::kLowRamEnd) {
    return make_error("kernel wants to be loaded at {:#x}, outside {:#x}-{:#x}", run,
                      layout::kKernelLoad, layout::kLowRamEnd);
  }
  p.end = std::max(p.load + pm_size, run + init_size);
  return p;
}

void put_e820(std::span<uint8_t> zp, const std::vector<E820Entry>& map) {
  size_t n = std::min(map.size(), lb::kE820MaxEntries);
  for (size_t i = 0; i < n; i++) {
    size_t off = lb::kE820Table + i * lb::kE820EntrySize;
    put_le<uint64_t>(zp, off, map[i].addr);
    put_le<uint64_t>(zp, off + 8, map[i].size);
    put_le<uint32_t>(zp, off + 16, static_cast<uint32_t>(map[i].type));
  }
  zp[lb::kE820Entries] = static_cast<uint8_t>(n);
}

}  // namespace

bool is_bzimage(std::span<const uint8_t> file) {
  return file.size() >= lb::kHeaderMagic + 4 &&
         get_le<uint32_t>(file, lb::kHeaderMagic) == lb::kHeaderMagicValue;
}

Expected<BootImage> load_bzimage(GuestMemory& memory, const LoadInputs& in) {
  std::span<const uint8_t> file = in.kernel;
  if (!is_bzimage(file))
    return make_error("no 'HdrS' setup header at offset {:#x}", lb::kHeaderMagic);
  if (file.size() < lb::kInitSizeEnd) return make_error("file ends inside the setup header");
  uint16_t version = get_le<uint16_t>(file, lb::kVersion);
  if (version < lb::kMinVersion) {
    return make_error("boot protocol {}.{:02} is too old: Vessel needs 2.12 or later", version >> 8,
                      version & 0xFF);
  }
  size_t header_end =
      std::min<size_t>(lb::kHeaderMagic + file[lb::kJump + 1], lb::kSetupHeaderLimit);
  if (header_end < lb::kInitSizeEnd) {
    return make_error("setup header ends at {:#x}, before init_size", header_end);
  }
  if ((get_le<uint16_t>(file, lb::kXLoadFlags) & lb::kXlfKernel64) == 0) {
    return make_error("64-bit entry not supported by this kernel (XLF_KERNEL_64 is clear)");
  }
  uint64_t setup_sects = file[lb::kSetupSects] ? file[lb::kSetupSects] : 4;
  uint64_t setup_size = (setup_sects + 1) * lb::kSectorSize;
  if (file.size() <= setup_size) {
    return make_error("file ends inside the real-mode setup code ({} sectors)", setup_sects);
  }
  std::span<const uint8_t> pm = file.subspan(setup_size);

  VESSEL_ASSIGN(Placement place, place_kernel(file, pm.size()));
  if (!memory.contains(place.load, place.end - place.load)) {
    return make_error(
        "kernel needs guest memory from {:#x} to {:#x} ({} MiB, including init_size), but the "
        "guest has {} MiB of RAM below 4 GiB",
        place.load, place.end, (place.end + (1 << 20) - 1) >> 20, low_ram_end(memory) >> 20);
  }
  VESSEL_TRY(load_segment(memory, place.load, pm, pm.size()));

  std::vector<uint8_t> zp(lb::kZeroPageSize, 0);
  std::copy(file.begin() + lb::kSetupHeader, file.begin() + header_end,
            zp.begin() + lb::kSetupHeader);
  zp[lb::kTypeOfLoader] = lb::kLoaderUndefined;
  zp[lb::kLoadFlags] |= lb::kLoadedHigh | lb::kCanUseHeap;
  put_le<uint16_t>(zp, lb::kHeapEndPtr, lb::kHeapEnd);
  put_le<uint32_t>(zp, lb::kCode32Start, static_cast<uint32_t>(place.load));
  // Fields the loader owns: never pass on what the file says.
  put_le<uint32_t>(zp, lb::kHardwareSubarch, lb::kSubarchPc);
  put_le<uint64_t>(zp, lb::kSetupData, 0);

  VESSEL_TRY(write_cmdline(memory, in.cmdline, get_le<uint32_t>(file, lb::kCmdlineSize)));
  put_le<uint32_t>(zp, lb::kCmdLinePtr, static_cast<uint32_t>(layout::kCmdline));
  put_le<uint32_t>(zp, lb::kExtCmdLinePtr, 0);

  if (!in.initrd.empty()) {
    uint64_t ceiling = uint64_t{get_le<uint32_t>(file, lb::kInitrdAddrMax)} + 1;
    VESSEL_ASSIGN(uint64_t initrd, place_initrd(memory, in, place.end, ceiling));
    put_le<uint32_t>(zp, lb::kRamdiskImage, static_cast<uint32_t>(initrd));
    put_le<uint32_t>(zp, lb::kRamdiskSize, static_cast<uint32_t>(in.initrd.size()));
    put_le<uint32_t>(zp, lb::kExtRamdiskImage, static_cast<uint32_t>(initrd >> 32));
    put_le<uint32_t>(zp, lb::kExtRamdiskSize, static_cast<uint32_t>(in.initrd.size() >> 32));
  }

  put_e820(zp, build_e820_map(memory));
  put_le<uint64_t>(zp, lb::kAcpiRsdpAddr, in.rsdp_addr);
  VESSEL_TRY(memory.write(layout::kBootParams, zp.data(), zp.size()));

  BootImage image;
  image.format = "bzImage";
  image.mode = CpuMode::kLong64;
  image.entry = place.load + lb::kStartup64Offset;
  image.gpr[kRsi] = layout::kBootParams;
  return image;
}

}  // namespace vessel

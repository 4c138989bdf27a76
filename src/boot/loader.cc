#include "boot/loader.h"

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/pc_layout.h"
#include "boot/acpi.h"
#include "boot/boot_file.h"
#include "boot/boot_gdt.h"
#include "boot/bzimage.h"
#include "boot/bzimage_payload.h"
#include "boot/elf.h"
#include "boot/initrd.h"
#include "boot/load_common.h"
#include "boot/multiboot.h"
#include "boot/page_tables.h"
#include "boot/pvh.h"
#include "boot/smbios.h"

namespace vessel {

namespace {

constexpr uint64_t kRealModeLimit = 1ull << 20;

Expected<BootImage> labelled(Expected<BootImage> result, std::string_view format) {
  if (!result.ok()) return with_context(result.error(), format);
  return result;
}

Expected<BootImage> load_flat(GuestMemory& memory, const BootSpec& spec,
                              std::span<const uint8_t> file) {
  uint64_t addr = spec.flat_load_addr;
  if (!spec.initrd_path.empty()) return make_error("a flat binary cannot be given an initrd");
  if (addr >= kRealModeLimit || file.size() > kRealModeLimit - addr) {
    return make_error(
        "flat binary of {} bytes at {:#x} does not fit below 1 MiB (it starts in real mode)",
        file.size(), addr);
  }
  VESSEL_TRY(memory.write(addr, file.data(), file.size()));
  BootImage image;
  image.format = "flat";
  image.mode = CpuMode::kReal16;
  image.entry = addr;
  return image;
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// A bzImage's payload, decompressed on the host, ready to load through PVH.
struct DirectKernel {
  Vmlinux vmlinux;
  ElfImage elf;
  uint64_t entry = 0;
};

Expected<DirectKernel> prepare_direct(std::span<const uint8_t> bzimage, uint64_t memory_size) {
  auto start = std::chrono::steady_clock::now();
  DirectKernel k;
  VESSEL_ASSIGN(k.vmlinux, extract_vmlinux(bzimage, memory_size));
  log_info("kernel: {} payload decompressed on the host in {:.1f} ms ({} -> {} bytes)",
           compression_name(k.vmlinux.compression), ms_since(start), k.vmlinux.compressed_size,
           k.vmlinux.elf.size());
  auto elf = parse_elf(k.vmlinux.elf);
  if (!elf.ok()) return with_context(elf.error(), "decompressed payload");
  k.elf = std::move(*elf);
  VESSEL_ASSIGN(std::optional<uint64_t> entry, find_pvh_entry(k.vmlinux.elf, k.elf));
  if (!entry) {
    return make_error(
        "the decompressed vmlinux has no Xen PVH entry note (a kernel built without CONFIG_PVH)");
  }
  k.entry = *entry;
  return k;
}

// The inputs for a Linux kernel loaded directly (not through its own
// decompressor): the initrd decompressed on the host where it can be
// (boot/initrd.h); `storage` keeps the decompressed bytes.
LoadInputs with_plain_initrd(const LoadInputs& in, uint64_t memory_size,
                             std::optional<HostBuffer>* storage) {
  if (in.initrd.empty()) return in;
  auto start = std::chrono::steady_clock::now();
  std::string why_not;
  *storage = decompress_initrd(in.initrd, memory_size, &why_not);
  if (!*storage) {
    log_info("initrd: '{}' used as it is: {}", in.initrd_name, why_not);
    return in;
  }
  log_info("initrd: '{}' decompressed on the host in {:.1f} ms ({} -> {} bytes)", in.initrd_name,
           ms_since(start), in.initrd.size(), (*storage)->size());
  LoadInputs out = in;
  out.initrd = (*storage)->bytes();
  return out;
}

Expected<BootImage> load_bzimage_file(GuestMemory& memory, const LoadInputs& in,
                                      KernelFormat format) {
  // --kernel-format bzimage boots the way a PC bootloader does: the kernel
  // does all the decompressing itself.
  if (format == KernelFormat::kBzImage) return labelled(load_bzimage(memory, in), "bzImage");
  // The initrd is decompressed on a second thread while this one
  // decompresses the kernel (on two cores, the shorter of the two is saved;
  // where no thread can be made, the initrd waits for get()).
  std::optional<HostBuffer> plain_initrd;
  auto initrd_job = std::async(std::launch::async | std::launch::deferred,
                               [&] { return with_plain_initrd(in, memory.size(), &plain_initrd); });
  auto direct = prepare_direct(in.kernel, memory.size());
  const LoadInputs inputs = initrd_job.get();
  if (direct.ok()) {
    LoadInputs vmlinux = inputs;
    vmlinux.kernel = direct->vmlinux.elf;
    auto image = load_pvh(memory, vmlinux, direct->elf, direct->entry);
    if (!image.ok()) return with_context(image.error(), "bzImage payload loaded through PVH");
    image->format = "bzImage payload, direct through PVH,";
    return image;
  }
  if (format == KernelFormat::kDirect) {
    return with_context(direct.error(), "bzImage, --kernel-format direct");
  }
  log_info(
      "kernel: booting the bzImage through its own decompressor, as direct loading is "
      "not possible: {}",
      direct.error().message);
  return labelled(load_bzimage(memory, inputs), "bzImage");
}

Expected<BootImage> load_recognised(GuestMemory& memory, const LoadInputs& in,
                                    KernelFormat format) {
  std::optional<HostBuffer> plain_initrd;
  if (is_bzimage(in.kernel)) return load_bzimage_file(memory, in, format);
  if (format == KernelFormat::kBzImage) {
    return make_error("--kernel-format bzimage, but the file has no 'HdrS' setup header");
  }
  std::string elf_problem;
  if (is_elf(in.kernel)) {
    auto elf = parse_elf(in.kernel);
    if (elf.ok()) {
      VESSEL_ASSIGN(std::optional<uint64_t> entry, find_pvh_entry(in.kernel, *elf));
      if (entry) {
        return labelled(
            load_pvh(memory, with_plain_initrd(in, memory.size(), &plain_initrd), *elf, *entry),
            "PVH ELF");
      }
      elf_problem = "an ELF file without a Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)";
    } else {
      elf_problem = "an ELF file Vessel cannot load (" + elf.error().message + ")";
    }
  }
  if (auto hdr = find_multiboot_header(in.kernel)) {
    return labelled(load_multiboot(memory, in, *hdr), "multiboot");
  }
  if (!elf_problem.empty()) {
    return make_error("{} and without a multiboot header", elf_problem);
  }
  return make_error(
      "not a kernel Vessel recognises: expected a bzImage ('HdrS' setup header), a multiboot v1 "
      "kernel (header in the first 8 KiB) or an ELF file with a Xen PVH note; use "
      "--kernel-format flat for a raw binary");
}

}  // namespace

Expected<KernelFormat> parse_kernel_format(std::string_view name) {
  if (name == "auto") return KernelFormat::kAuto;
  if (name == "bzimage") return KernelFormat::kBzImage;
  if (name == "direct") return KernelFormat::kDirect;
  if (name == "flat") return KernelFormat::kFlat;
  return make_error("kernel format '{}' is not auto, bzimage, direct or flat", name);
}

Expected<BootImage> load_kernel(GuestMemory& memory, const BootSpec& spec) {
  auto start = std::chrono::steady_clock::now();
  VESSEL_ASSIGN(std::vector<uint8_t> kernel,
                read_boot_file(spec.kernel_path, "kernel", memory.size()));
  std::vector<uint8_t> initrd;
  if (!spec.initrd_path.empty()) {
    VESSEL_ASSIGN(initrd, read_boot_file(spec.initrd_path, "initrd", memory.size()));
  }

  VESSEL_ASSIGN(uint64_t rsdp, write_acpi_tables(memory, AcpiConfig{spec.cpus}));
  SmbiosConfig smbios;
  if (spec.uuid) {
    smbios.uuid = *spec.uuid;
  } else {
    VESSEL_ASSIGN(smbios.uuid, random_uuid());
  }
  smbios.cpus = spec.cpus;
  smbios.ram_bytes = memory.size();
  VESSEL_TRY(write_smbios_tables(memory, smbios));
  VESSEL_TRY(boot_gdt::write(memory));
  VESSEL_TRY(write_identity_page_tables(memory));

  Expected<BootImage> image = [&]() -> Expected<BootImage> {
    if (spec.format == KernelFormat::kFlat) return load_flat(memory, spec, kernel);
    LoadInputs in;
    in.kernel = kernel;
    in.initrd = initrd;
    in.initrd_name = spec.initrd_path;
    in.cmdline = spec.cmdline;
    in.rsdp_addr = rsdp;
    return load_recognised(memory, in, spec.format);
  }();
  if (!image.ok()) return with_context(image.error(), fmt::format("kernel '{}'", spec.kernel_path));
  log_info("kernel: '{}' loaded as {} in {:.1f} ms (reading the files included)", spec.kernel_path,
           image->format, ms_since(start));
  return image;
}

}  // namespace vessel

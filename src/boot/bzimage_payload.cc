#include "boot/bzimage_payload.h"

#include <algorithm>

#include "boot/bzimage.h"
#include "boot/le_bytes.h"
#include "boot/linux_boot_params.h"

namespace vessel {

namespace lb = linux_boot;

namespace {

constexpr uint16_t kMinPayloadVersion = 0x0208;  // payload_offset/length appeared in 2.08
constexpr uint64_t kSizeFieldBytes = 4;          // the LE32 size the kernel build appends

}  // namespace

Expected<KernelPayload> find_bzimage_payload(std::span<const uint8_t> file) {
  if (!is_bzimage(file)) {
    return make_error("no 'HdrS' setup header at offset {:#x}", lb::kHeaderMagic);
  }
  if (file.size() < lb::kInitSizeEnd) return make_error("file ends inside the setup header");
  uint16_t version = get_le<uint16_t>(file, lb::kVersion);
  if (version < kMinPayloadVersion) {
    return make_error("boot protocol {}.{:02} has no payload fields (they came with 2.08)",
                      version >> 8, version & 0xFF);
  }
  size_t header_end = lb::kHeaderMagic + file[lb::kJump + 1];
  if (header_end < lb::kInitSizeEnd) {
    return make_error("setup header ends at {:#x}, before init_size", header_end);
  }
  uint64_t setup_sects = file[lb::kSetupSects] ? file[lb::kSetupSects] : 4;
  uint64_t pm_start = (setup_sects + 1) * lb::kSectorSize;
  if (file.size() <= pm_start) {
    return make_error("file ends inside the real-mode setup code ({} sectors)", setup_sects);
  }
  uint64_t offset = get_le<uint32_t>(file, lb::kPayloadOffset);
  uint64_t length = get_le<uint32_t>(file, lb::kPayloadLength);
  uint64_t pm_size = file.size() - pm_start;
  if (offset > pm_size || length > pm_size - offset) {
    return make_error(
        "payload ({} bytes at offset {:#x} of the protected-mode code) lies outside the file's "
        "{} bytes of protected-mode code",
        length, offset, pm_size);
  }
  std::span<const uint8_t> payload = file.subspan(pm_start + offset, length);
  if (payload.size() < 2 * kSizeFieldBytes) {
    return make_error("payload of {} bytes is too short", payload.size());
  }
  auto compression = detect_compression(payload);
  if (!compression) {
    std::string head;
    for (size_t i = 0; i < std::min<size_t>(payload.size(), 6); i++) {
      head += fmt::format("{}{:02x}", i ? " " : "", payload[i]);
    }
    return make_error(
        "payload starts with [{}], not a gzip, xz, lzma, lz4, zstd or bzip2 stream (lzo is not "
        "supported)",
        head);
  }
  KernelPayload p;
  p.compression = *compression;
  p.size = get_le<uint32_t>(payload, payload.size() - kSizeFieldBytes);
  p.init_size = get_le<uint32_t>(file, lb::kInitSize);
  // gzip ends with its own size field (ISIZE); the others have it appended.
  p.stream = p.compression == Compression::kGzip ? payload
                                                 : payload.first(payload.size() - kSizeFieldBytes);
  return p;
}

Expected<Vmlinux> extract_vmlinux(std::span<const uint8_t> file, uint64_t max_output) {
  VESSEL_ASSIGN(KernelPayload p, find_bzimage_payload(file));
  uint64_t limit = std::min<uint64_t>(p.init_size, max_output);
  if (p.size > limit) {
    return make_error(
        "payload says it decompresses to {} bytes, more than the kernel's init_size ({} bytes) or "
        "the guest's memory ({} bytes)",
        p.size, p.init_size, max_output);
  }
  auto elf = decompress(p.compression, p.stream, limit, p.size);
  if (!elf.ok()) {
    return with_context(elf.error(), fmt::format("{} payload", compression_name(p.compression)));
  }
  if (elf->size() != p.size) {
    return make_error("{} payload decompressed to {} bytes, but the image records {} bytes",
                      compression_name(p.compression), elf->size(), p.size);
  }
  Vmlinux v;
  v.compression = p.compression;
  v.compressed_size = p.stream.size();
  v.elf = std::move(*elf);
  return v;
}

}  // namespace vessel

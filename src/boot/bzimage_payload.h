// The compressed kernel inside a bzImage (boot protocol 2.08+: payload_offset
// and payload_length in the setup header) and its host-side decompression to
// the vmlinux ELF file, for loading the kernel directly (without running the
// bzImage's own decompressor in the guest).
#pragma once

#include <cstdint>
#include <span>

#include "base/error.h"
#include "boot/decompress.h"

namespace vessel {

struct KernelPayload {
  Compression compression = Compression::kGzip;
  std::span<const uint8_t> stream;  // the compressed stream, inside the file
  uint32_t size = 0;                // uncompressed size the build appended (LE32 at the end)
  uint32_t init_size = 0;           // the setup header's init_size
};

// Finds and checks the payload: a bzImage header of protocol 2.08 or later,
// a payload inside the protected-mode part, in a format Vessel recognises.
Expected<KernelPayload> find_bzimage_payload(std::span<const uint8_t> file);

struct Vmlinux {
  Compression compression = Compression::kGzip;
  uint64_t compressed_size = 0;
  HostBuffer elf;  // the decompressed vmlinux
};

// Decompresses the payload. The output may not exceed the kernel's init_size
// (the memory its own decompressor would use) nor `max_output` (the guest's
// memory), and must have the size the build recorded.
Expected<Vmlinux> extract_vmlinux(std::span<const uint8_t> file, uint64_t max_output);

}  // namespace vessel

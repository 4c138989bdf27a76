// Just enough of ELF (32- and 64-bit, little-endian, x86) to load a kernel:
// the header, the program headers, the notes in PT_NOTE segments, and the
// copy of PT_LOAD segments to their physical addresses. The file is hostile
// input: every offset and size is checked against it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "memory/guest_memory.h"

namespace vessel {

inline constexpr uint32_t kPtLoad = 1;
inline constexpr uint32_t kPtNote = 4;

struct ElfSegment {
  uint32_t type = 0;
  uint64_t offset = 0, vaddr = 0, paddr = 0, filesz = 0, memsz = 0;
};

struct ElfImage {
  bool is64 = false;
  uint64_t entry = 0;
  std::vector<ElfSegment> segments;  // all program headers
};

struct ElfNote {
  std::string name;  // without the NUL
  uint32_t type = 0;
  std::span<const uint8_t> desc;
};

// True if the file starts with the ELF magic.
bool is_elf(std::span<const uint8_t> file);

// Parses and checks the header and program headers: an x86 or x86-64
// little-endian executable whose PT_LOAD and PT_NOTE contents lie inside the
// file.
Expected<ElfImage> parse_elf(std::span<const uint8_t> file);

// The notes in the image's PT_NOTE segments.
Expected<std::vector<ElfNote>> elf_notes(std::span<const uint8_t> file, const ElfImage& image);

// Loads every PT_LOAD segment at its physical address; returns the end of the
// highest one.
Expected<uint64_t> load_elf_segments(GuestMemory& memory, std::span<const uint8_t> file,
                                     const ElfImage& image);

}  // namespace vessel

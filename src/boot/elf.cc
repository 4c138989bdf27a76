#include "boot/elf.h"

#include <algorithm>

#include "boot/le_bytes.h"
#include "boot/load_common.h"

namespace vessel {

namespace {

// From the System V ABI (ELF header and program header layouts).
constexpr size_t kEiClass = 4, kEiData = 5, kEiVersion = 6;
constexpr uint8_t kElfClass32 = 1, kElfClass64 = 2, kElfData2Lsb = 1;
constexpr size_t kEType = 16, kEMachine = 18;
constexpr uint16_t kEtExec = 2, kEm386 = 3, kEmX8664 = 62;
constexpr size_t kEhdr32Size = 52, kEhdr64Size = 64;
constexpr size_t kPhdr32Size = 32, kPhdr64Size = 56;
constexpr size_t kNoteHeaderSize = 12;

uint64_t align4(uint64_t v) {
  return (v + 3) & ~uint64_t{3};
}

}  // namespace

bool is_elf(std::span<const uint8_t> file) {
  return file.size() >= 4 && file[0] == 0x7F && file[1] == 'E' && file[2] == 'L' && file[3] == 'F';
}

Expected<ElfImage> parse_elf(std::span<const uint8_t> file) {
  if (!is_elf(file)) return make_error("not an ELF file");
  if (file.size() < kEhdr32Size) return make_error("ELF header is truncated");
  ElfImage image;
  if (file[kEiClass] == kElfClass64) {
    image.is64 = true;
  } else if (file[kEiClass] != kElfClass32) {
    return make_error("ELF class {} is neither 32- nor 64-bit", file[kEiClass]);
  }
  if (file[kEiData] != kElfData2Lsb) return make_error("ELF file is not little-endian");
  if (file[kEiVersion] != 1) return make_error("ELF version {} is not 1", file[kEiVersion]);
  if (image.is64 && file.size() < kEhdr64Size) return make_error("ELF header is truncated");
  uint16_t type = get_le<uint16_t>(file, kEType);
  uint16_t machine = get_le<uint16_t>(file, kEMachine);
  if (type != kEtExec) return make_error("ELF type {} is not an executable (ET_EXEC)", type);
  if (machine != kEm386 && machine != kEmX8664) {
    return make_error("ELF machine {} is not x86 (3) or x86-64 (62)", machine);
  }

  uint64_t phoff;
  uint16_t phentsize, phnum;
  size_t phdr_size = image.is64 ? kPhdr64Size : kPhdr32Size;
  if (image.is64) {
    image.entry = get_le<uint64_t>(file, 24);
    phoff = get_le<uint64_t>(file, 32);
    phentsize = get_le<uint16_t>(file, 54);
    phnum = get_le<uint16_t>(file, 56);
  } else {
    image.entry = get_le<uint32_t>(file, 24);
    phoff = get_le<uint32_t>(file, 28);
    phentsize = get_le<uint16_t>(file, 42);
    phnum = get_le<uint16_t>(file, 44);
  }
  if (phnum == 0) return make_error("ELF file has no program headers");
  if (phentsize < phdr_size) {
    return make_error("ELF program header size {} is smaller than {}", phentsize, phdr_size);
  }
  if (!in_bounds(file.size(), phoff, uint64_t{phnum} * phentsize)) {
    return make_error("ELF program headers ({} at offset {:#x}) lie outside the file", phnum,
                      phoff);
  }
  for (uint16_t i = 0; i < phnum; i++) {
    std::span<const uint8_t> ph = file.subspan(phoff + uint64_t{i} * phentsize, phdr_size);
    ElfSegment s;
    s.type = get_le<uint32_t>(ph, 0);
    if (image.is64) {
      s.offset = get_le<uint64_t>(ph, 8);
      s.vaddr = get_le<uint64_t>(ph, 16);
      s.paddr = get_le<uint64_t>(ph, 24);
      s.filesz = get_le<uint64_t>(ph, 32);
      s.memsz = get_le<uint64_t>(ph, 40);
    } else {
      s.offset = get_le<uint32_t>(ph, 4);
      s.vaddr = get_le<uint32_t>(ph, 8);
      s.paddr = get_le<uint32_t>(ph, 12);
      s.filesz = get_le<uint32_t>(ph, 16);
      s.memsz = get_le<uint32_t>(ph, 20);
    }
    if (s.type == kPtLoad || s.type == kPtNote) {
      if (!in_bounds(file.size(), s.offset, s.filesz)) {
        return make_error("ELF segment {} (offset {:#x}, {:#x} bytes) lies outside the file", i,
                          s.offset, s.filesz);
      }
    }
    if (s.type == kPtLoad && s.filesz > s.memsz) {
      return make_error("ELF segment {} has more file bytes ({:#x}) than memory bytes ({:#x})", i,
                        s.filesz, s.memsz);
    }
    image.segments.push_back(s);
  }
  return image;
}

Expected<std::vector<ElfNote>> elf_notes(std::span<const uint8_t> file, const ElfImage& image) {
  std::vector<ElfNote> notes;
  for (const ElfSegment& s : image.segments) {
    if (s.type != kPtNote) continue;
    std::span<const uint8_t> seg = file.subspan(s.offset, s.filesz);
    uint64_t pos = 0;
    while (seg.size() - pos >= kNoteHeaderSize) {
      uint32_t namesz = get_le<uint32_t>(seg, pos);
      uint32_t descsz = get_le<uint32_t>(seg, pos + 4);
      uint32_t type = get_le<uint32_t>(seg, pos + 8);
      uint64_t name_off = pos + kNoteHeaderSize;
      uint64_t desc_off = name_off + align4(namesz);
      if (!in_bounds(seg.size(), name_off, namesz) || !in_bounds(seg.size(), desc_off, descsz)) {
        return make_error("ELF note at offset {:#x} runs past its PT_NOTE segment", s.offset + pos);
      }
      ElfNote note;
      auto name = seg.subspan(name_off, namesz);
      note.name.assign(name.begin(), std::find(name.begin(), name.end(), 0));
      note.type = type;
      note.desc = seg.subspan(desc_off, descsz);
      notes.push_back(std::move(note));
      pos = std::min<uint64_t>(desc_off + align4(descsz), seg.size());
    }
  }
  return notes;
}

Expected<uint64_t> load_elf_segments(GuestMemory& memory, std::span<const uint8_t> file,
                                     const ElfImage& image) {
  uint64_t end = 0;
  int loaded = 0;
  for (size_t i = 0; i < image.segments.size(); i++) {
    const ElfSegment& s = image.segments[i];
    if (s.type != kPtLoad || s.memsz == 0) continue;
    Status st = load_segment(memory, s.paddr, file.subspan(s.offset, s.filesz), s.memsz);
    if (!st.ok()) return with_context(st.error(), fmt::format("ELF segment {}", i));
    end = std::max(end, s.paddr + s.memsz);
    loaded++;
  }
  if (loaded == 0) return make_error("ELF file has no PT_LOAD segment to load");
  return end;
}

}  // namespace vessel

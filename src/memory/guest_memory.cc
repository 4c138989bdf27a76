#include "memory/guest_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/pc_layout.h"
#include "memory/code_tracker.h"

namespace vessel {

GuestMemory::GuestMemory() = default;

Expected<std::unique_ptr<GuestMemory>> GuestMemory::create(uint64_t size) {
  if (size < kMinSize)
    return make_error("guest memory of {} bytes is too small (at least 1 MiB)", size);
  if (size > kMaxSize)
    return make_error("guest memory of {} bytes is too large (at most 1 TiB)", size);
  if (size % 4096 != 0) return make_error("guest memory size {} is not a multiple of 4 KiB", size);

  std::unique_ptr<GuestMemory> mem(new GuestMemory());
  mem->size_ = size;
  uint64_t low = size < layout::kLowRamEnd ? size : layout::kLowRamEnd;
  struct Want {
    uint64_t gpa, size;
  };
  Want wants[2] = {{0, low}, {layout::kHighRamStart, size - low}};
  for (const Want& w : wants) {
    if (w.size == 0) continue;
    // Reserved with 2 MiB of slack and trimmed to a 2 MiB boundary, then
    // offered to transparent huge pages (as QEMU does): fewer host TLB
    // misses, and O_DIRECT I/O into guest RAM pins one page per 2 MiB.
    const uint64_t huge = 2ull << 20;
    void* p = ::mmap(nullptr, w.size + huge, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      return make_error("cannot reserve {} MiB of guest memory: {}", w.size >> 20,
                        std::strerror(errno));
    }
    uintptr_t start = reinterpret_cast<uintptr_t>(p);
    uintptr_t aligned = (start + huge - 1) & ~(huge - 1);
    if (aligned > start) ::munmap(p, aligned - start);
    uintptr_t end = aligned + w.size;
    ::munmap(reinterpret_cast<void*>(end), start + w.size + huge - end);  // never empty
    // Except the first 2 MiB of RAM: firmware tables, boot structures and
    // real-mode code touch a few pages there, and a huge page would make
    // each VM hold 2 MiB for them (measured: an idle guest's RSS 9.0 ->
    // 7.0 MiB).
    uint64_t skip = w.gpa == 0 ? std::min(w.size, huge) : 0;
    ::madvise(reinterpret_cast<void*>(aligned + skip), w.size - skip, MADV_HUGEPAGE);
    mem->regions_.push_back({w.gpa, w.size, reinterpret_cast<uint8_t*>(aligned)});
  }
  std::vector<CodeTracker::Span> spans;
  for (const Region& r : mem->regions_) spans.push_back({r.gpa, r.size});
  mem->code_ = CodeTracker::create(spans);
  if (!mem->code_) return make_error("cannot reserve the code-page map of guest memory");
  return mem;
}

GuestMemory::~GuestMemory() {
  for (const Region& r : regions_) ::munmap(r.host, r.size);
}

uint8_t* GuestMemory::host_ptr(uint64_t gpa, uint64_t len) const {
  for (const Region& r : regions_) {
    if (gpa >= r.gpa && gpa - r.gpa < r.size) {
      uint64_t off = gpa - r.gpa;
      if (len > r.size - off) return nullptr;
      return r.host + off;
    }
  }
  return nullptr;
}

Expected<std::span<uint8_t>> GuestMemory::span(uint64_t gpa, uint64_t len) const {
  uint8_t* p = host_ptr(gpa, len);
  if (p == nullptr) return make_error("guest range {:#x}+{:#x} is not in guest RAM", gpa, len);
  return std::span<uint8_t>(p, len);
}

void GuestMemory::note_write(uint64_t gpa, uint64_t len) const {
  code_->note_write(gpa, len);
}

Status GuestMemory::read(uint64_t gpa, void* dst, uint64_t len) const {
  VESSEL_ASSIGN(auto s, span(gpa, len));
  if (len) std::memcpy(dst, s.data(), len);
  return ok_status();
}

Status GuestMemory::write(uint64_t gpa, const void* src, uint64_t len) {
  VESSEL_ASSIGN(auto s, span(gpa, len));
  if (len) std::memcpy(s.data(), src, len);
  note_write(gpa, len);
  return ok_status();
}

Status GuestMemory::fill(uint64_t gpa, uint8_t value, uint64_t len) {
  VESSEL_ASSIGN(auto s, span(gpa, len));
  if (len) std::memset(s.data(), value, len);
  note_write(gpa, len);
  return ok_status();
}

Status GuestMemory::discard(uint64_t gpa, uint64_t len) {
  if (len == 0 || (gpa | len) % kPageSize != 0) {
    return make_error("discard of {:#x}+{:#x}: not whole 4 KiB pages", gpa, len);
  }
  uint8_t* p = host_ptr(gpa, len);
  if (!p) return make_error("discard of {:#x}+{:#x}: not inside guest RAM", gpa, len);
  if (::madvise(p, len, MADV_DONTNEED) != 0) {
    return make_error("madvise(MADV_DONTNEED) of {:#x}+{:#x}: {}", gpa, len, std::strerror(errno));
  }
  // The bytes changed (to zeros): software vCPUs drop code cached from them.
  note_write(gpa, len);
  return ok_status();
}

}  // namespace vessel

// Guest RAM: anonymous mmap'ed regions laid out around the 32-bit MMIO hole
// (see base/pc_layout.h), GPA -> host translation, and the only accessors
// devices and loaders may use on guest memory. Guest memory is hostile input:
// every accessor checks bounds and fails cleanly on a bad guest address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "base/error.h"

namespace vessel {

class CodeTracker;

class GuestMemory {
 public:
  struct Region {
    uint64_t gpa;   // first guest-physical address
    uint64_t size;  // bytes
    uint8_t* host;  // host address of gpa
  };

  // Smallest and largest guest RAM sizes Vessel accepts.
  static constexpr uint64_t kMinSize = 1ull << 20;  // 1 MiB
  static constexpr uint64_t kMaxSize = 1ull << 40;  // 1 TiB

  // Reserves `size` bytes of RAM (MAP_NORESERVE: pages cost host memory only
  // once touched). RAM above layout::kLowRamEnd continues at 4 GiB.
  static Expected<std::unique_ptr<GuestMemory>> create(uint64_t size);
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  uint64_t size() const { return size_; }
  const std::vector<Region>& regions() const { return regions_; }

  // Host pointer for [gpa, gpa+len) if the whole range is RAM inside one
  // region; nullptr otherwise (also for len == 0 ranges outside RAM).
  uint8_t* host_ptr(uint64_t gpa, uint64_t len) const;
  bool contains(uint64_t gpa, uint64_t len) const { return host_ptr(gpa, len) != nullptr; }

  // Bounds-checked span over guest RAM. Whoever writes guest RAM through
  // span() or host_ptr() (device DMA) calls note_write afterwards, as write()
  // and fill() do, so software vCPUs drop code cached from those bytes.
  Expected<std::span<uint8_t>> span(uint64_t gpa, uint64_t len) const;
  void note_write(uint64_t gpa, uint64_t len) const;
  // The pages that hold code cached by software vCPUs (memory/code_tracker.h).
  CodeTracker& code_tracker() const { return *code_; }

  // Copies; a range may cross from one region into the next only where they
  // are contiguous in guest-physical space (they never are: the hole
  // separates them), so a range must lie inside one region.
  Status read(uint64_t gpa, void* dst, uint64_t len) const;
  Status write(uint64_t gpa, const void* src, uint64_t len);
  Status fill(uint64_t gpa, uint8_t value, uint64_t len);
  // Gives the host pages behind [gpa, gpa+len) back (madvise MADV_DONTNEED):
  // the process's resident memory falls and the range reads as zeros after.
  // The range must be 4 KiB aligned at both ends, non-empty and inside one
  // RAM region; anything else is an Error and discards nothing.
  static constexpr uint64_t kPageSize = 4096;
  Status discard(uint64_t gpa, uint64_t len);

  template <typename T>
  Expected<T> read_obj(uint64_t gpa) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    VESSEL_TRY(read(gpa, &value, sizeof(T)));
    return value;
  }
  template <typename T>
  Status write_obj(uint64_t gpa, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    return write(gpa, &value, sizeof(T));
  }

 private:
  GuestMemory();
  uint64_t size_ = 0;
  std::vector<Region> regions_;
  std::unique_ptr<CodeTracker> code_;
};

}  // namespace vessel

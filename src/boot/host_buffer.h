// A growable byte buffer in its own anonymous mapping, asking the host for
// transparent huge pages: a kernel decompresses to tens of MiB, and with 4 KiB
// pages the page faults cost more than the decompression itself (measured on
// the Debian kernel: about 70 ms against about 30 ms). Allocation failures
// are Errors, not exceptions.
#pragma once

#include <cstdint>
#include <span>

#include "base/error.h"

namespace vessel {

class HostBuffer {
 public:
  HostBuffer() = default;
  ~HostBuffer();
  HostBuffer(HostBuffer&& other) noexcept;
  HostBuffer& operator=(HostBuffer&& other) noexcept;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  // Grows or shrinks to `size` bytes, keeping the contents up to the smaller
  // size; new bytes read as zero.
  Status resize(uint64_t size);

  uint8_t* data() { return static_cast<uint8_t*>(base_); }
  const uint8_t* data() const { return static_cast<const uint8_t*>(base_); }
  uint64_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data(), size_}; }
  operator std::span<const uint8_t>() const { return bytes(); }

 private:
  void* base_ = nullptr;
  uint64_t size_ = 0;
  uint64_t mapped_ = 0;  // size_ rounded up to the huge page size
};

}  // namespace vessel

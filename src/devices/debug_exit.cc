#include "devices/debug_exit.h"

#include <cstring>

#include "devices/register_bytes.h"

namespace vessel {

int DebugExit::exit_status_for(uint32_t value) {
  // Two's-complement wrap for values of 2^30 and up; only the low byte survives exit().
  return static_cast<int>(static_cast<uint32_t>((uint64_t{value} << 1) | 1));
}

void DebugExit::read(uint64_t, std::span<uint8_t> data) {
  std::memset(data.data(), 0xFF, data.size());
}

void DebugExit::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != 0 || data.empty()) return;
  uint32_t value = static_cast<uint32_t>(load_le(data.first(data.size() < 4 ? data.size() : 4)));
  power_.request_stop(StopReason::kDebugExit, exit_status_for(value));
}

}  // namespace vessel

#include "devices/reset_control.h"

#include <cstring>

namespace vessel {
namespace {

constexpr uint8_t kRstCpu = 0x04;

}  // namespace

void ResetControl::read(uint64_t, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  std::memset(data.data(), value_, data.size());
}

void ResetControl::write(uint64_t, std::span<const uint8_t> data) {
  if (data.empty()) return;
  {
    std::lock_guard lock(mu_);
    value_ = data[0];
  }
  if (data[0] & kRstCpu) power_.request_stop(StopReason::kReset);
}

}  // namespace vessel

#include "devices/test_device.h"

#include "base/pc_layout.h"
#include "devices/register_bytes.h"

namespace vessel {

TestDevice::TestDevice(IrqChip& irq) : irq_(irq) {}

uint32_t TestDevice::register_value(uint64_t reg) const {
  switch (reg) {
    case kRegId:
      return kId;
    case kRegScratch:
      return scratch_;
    case kRegIrq:
      return irq_level_ ? 1 : 0;
    case kRegCounter:
      return counter_;
    default:
      return 0;
  }
}

void TestDevice::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); i++) {
    uint64_t at = offset + i;
    data[i] = byte_of(register_value(at & ~uint64_t{3}), at & 3);
  }
  // Advance the counter after a read that covered all of it.
  if (offset <= kRegCounter && offset + data.size() >= kRegCounter + 4) counter_++;
}

void TestDevice::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  bool irq_written = false;
  uint32_t irq_value = 0;  // bytes the access did not cover count as 0
  for (size_t i = 0; i < data.size(); i++) {
    uint64_t at = offset + i;
    uint64_t reg = at & ~uint64_t{3};
    if (reg == kRegScratch) {
      scratch_ = with_byte(scratch_, at & 3, data[i]);
    } else if (reg == kRegIrq) {
      irq_value = with_byte(irq_value, at & 3, data[i]);
      irq_written = true;
    }
  }
  if (!irq_written) return;
  // The line is driven under the lock so that concurrent writers' edges reach
  // the chip in the order of the writes.
  const uint32_t gsi = layout::kIrqTestDevice;
  switch (irq_value) {
    case 0:
      irq_level_ = false;
      irq_.set_level(gsi, false);
      break;
    case 1:
      irq_.set_level(gsi, true);
      irq_.set_level(gsi, false);
      irq_level_ = false;
      break;
    case 2:
      irq_level_ = true;
      irq_.set_level(gsi, true);
      break;
    default:
      break;
  }
}

}  // namespace vessel

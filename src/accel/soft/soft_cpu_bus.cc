#include "accel/soft/soft_cpu_bus.h"

#include <cstring>

#include "cpu/cpu.h"

namespace vessel {

uint8_t* SoftCpuBus::ram(uint64_t gpa) {
  uint64_t page = gpa & ~0xFFFull;
  uint8_t* host = memory_.host_ptr(page, 0x1000);
  return host ? host + (gpa - page) : nullptr;
}

uint64_t SoftCpuBus::mmio_read(uint64_t gpa, unsigned size) {
  uint8_t bytes[8] = {};
  io_.mmio_read(gpa, std::span<uint8_t>(bytes, size));
  uint64_t v = 0;
  std::memcpy(&v, bytes, size);
  return v;
}

void SoftCpuBus::mmio_write(uint64_t gpa, unsigned size, uint64_t value) {
  uint8_t bytes[8];
  std::memcpy(bytes, &value, 8);
  io_.mmio_write(gpa, std::span<const uint8_t>(bytes, size));
}

uint32_t SoftCpuBus::pio_read(uint16_t port, unsigned size) {
  uint8_t bytes[4] = {};
  io_.pio_read(port, std::span<uint8_t>(bytes, size));
  uint32_t v = 0;
  std::memcpy(&v, bytes, size);
  return v;
}

void SoftCpuBus::pio_write(uint16_t port, unsigned size, uint32_t value) {
  uint8_t bytes[4];
  std::memcpy(bytes, &value, 4);
  io_.pio_write(port, std::span<const uint8_t>(bytes, size));
}

}  // namespace vessel

namespace vessel {
namespace {

constexpr uint32_t kCpuidApic = 1u << 9;          // leaf 1 EDX
constexpr uint32_t kCpuidX2apic = 1u << 21;       // leaf 1 ECX
constexpr uint32_t kCpuidTscDeadline = 1u << 24;  // leaf 1 ECX

}  // namespace

cpu::CpuBus::MsrAccess SoftCpuBus::msr_read(uint32_t index, uint64_t* value) {
  if (lapic_ && Lapic::handles_msr(index)) {
    auto v = lapic_->read_msr(index);
    if (!v.ok()) return MsrAccess::kFault;
    *value = *v;
    return MsrAccess::kDone;
  }
  if (KvmClock::handles_msr(index)) {
    *value = kvmclock_.read_msr(index);
    return MsrAccess::kDone;
  }
  return MsrAccess::kUnhandled;
}

cpu::CpuBus::MsrAccess SoftCpuBus::msr_write(uint32_t index, uint64_t value) {
  if (lapic_ && Lapic::handles_msr(index))
    return lapic_->write_msr(index, value).ok() ? MsrAccess::kDone : MsrAccess::kFault;
  if (KvmClock::handles_msr(index)) {
    uint64_t now = cpu::Cpu::host_now_ns();  // the clock the CPU's TSC reads
    kvmclock_.write_msr(index, value, now, guest_tsc(now));
    return MsrAccess::kDone;
  }
  return MsrAccess::kUnhandled;
}

void SoftCpuBus::tsc_offset_changed(uint64_t offset, uint64_t now_ns) {
  tsc_offset_ = offset;
  if (lapic_) lapic_->set_tsc_offset(static_cast<int64_t>(offset));
  kvmclock_.tsc_changed(now_ns, now_ns + offset);
}

void SoftCpuBus::adjust_cpuid(uint32_t leaf, uint32_t, uint32_t regs[4]) {
  if (leaf == 1 && lapic_) {
    regs[2] |= kCpuidX2apic | kCpuidTscDeadline;
    regs[3] |= kCpuidApic;
  } else if (leaf == 0x40000001) {
    regs[0] |= KvmClock::kCpuidFeatures;
  }
}

}  // namespace vessel

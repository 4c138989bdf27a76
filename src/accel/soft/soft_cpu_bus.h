// The soft accelerator's side of the CPU's bus interface: guest RAM as host
// pointers from GuestMemory, everything else (MMIO, ports) through the
// vCPU's IoHandler; the machine's MSRs (the vCPU's local APIC, kvmclock) and
// the CPUID bits they bring; the code pages the CPU caches are watched in
// GuestMemory's CodeTracker, and stores from devices into them come back
// through this vCPU's CodeWriteQueue.
#pragma once

#include "accel/soft/kvmclock.h"
#include "bus/io_bus.h"
#include "cpu/cpu_bus.h"
#include "irq/lapic.h"
#include "memory/code_tracker.h"
#include "memory/guest_memory.h"

namespace vessel {

class SoftCpuBus : public cpu::CpuBus {
 public:
  // `lapic` may be null (a CPU without interrupt controllers, in unit tests):
  // then no APIC is advertised. `boot_ns`: monotonic time of guest time 0.
  SoftCpuBus(const GuestMemory& memory, IoHandler& io, Lapic* lapic, uint64_t boot_ns)
      : memory_(memory), io_(io), lapic_(lapic), kvmclock_(memory, boot_ns) {
    memory_.code_tracker().add_queue(&code_writes_);
  }
  ~SoftCpuBus() override { memory_.code_tracker().remove_queue(&code_writes_); }
  SoftCpuBus(const SoftCpuBus&) = delete;
  SoftCpuBus& operator=(const SoftCpuBus&) = delete;
  uint8_t* ram(uint64_t gpa) override;
  uint64_t mmio_read(uint64_t gpa, unsigned size) override;
  void mmio_write(uint64_t gpa, unsigned size, uint64_t value) override;
  uint32_t pio_read(uint16_t port, unsigned size) override;
  void pio_write(uint16_t port, unsigned size, uint32_t value) override;
  MsrAccess msr_read(uint32_t index, uint64_t* value) override;
  MsrAccess msr_write(uint32_t index, uint64_t value) override;
  void adjust_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]) override;
  void tsc_offset_changed(uint64_t offset, uint64_t now_ns) override;
  void code_page_cached(uint64_t gpa_page, bool cached) override {
    if (cached)
      memory_.code_tracker().watch(gpa_page);
    else
      memory_.code_tracker().unwatch(gpa_page);
  }
  const std::atomic<bool>* code_write_hint() override { return &code_writes_.pending(); }
  bool take_code_writes(std::vector<cpu::CodeWrite>& out) override {
    return code_writes_.take(out);
  }

 private:
  uint64_t guest_tsc(uint64_t now_ns) const { return now_ns + tsc_offset_; }

  const GuestMemory& memory_;
  IoHandler& io_;
  Lapic* lapic_;
  KvmClock kvmclock_;
  uint64_t tsc_offset_ = 0;  // guest TSC - host monotonic ns (the CPU keeps the same)
  CodeWriteQueue code_writes_;
};

}  // namespace vessel

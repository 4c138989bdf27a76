// What the software CPU needs from the machine around it, as two small
// interfaces the accelerator adapter (accel/soft) implements: the physical
// address space (RAM as host pointers, everything else as MMIO calls) and port
// I/O, and the INTR line of an interrupt controller. The CPU knows nothing of
// devices, buses or the VM.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

namespace vessel::cpu {

// A store into guest RAM that did not go through this CPU (device DMA, the
// VMM, another vCPU's accessors outside the CPU) and hit a page holding
// cached code: [gpa, gpa + len), inside one 4 KiB page.
struct CodeWrite {
  uint64_t gpa = 0;
  uint64_t len = 0;
};

class CpuBus {
 public:
  virtual ~CpuBus() = default;
  // Host pointer to guest-physical `gpa` when its 4 KiB page is RAM (valid to
  // the end of that page), else nullptr: the access goes to mmio_*.
  virtual uint8_t* ram(uint64_t gpa) = 0;
  // Accesses of 1, 2, 4 or 8 bytes to non-RAM addresses; values little-endian.
  virtual uint64_t mmio_read(uint64_t gpa, unsigned size) = 0;
  virtual void mmio_write(uint64_t gpa, unsigned size, uint64_t value) = 0;
  virtual uint32_t pio_read(uint16_t port, unsigned size) = 0;
  virtual void pio_write(uint16_t port, unsigned size, uint32_t value) = 0;

  // MSRs that belong to the machine rather than the CPU core (the local
  // APIC's, the paravirtual clock's). RDMSR/WRMSR ask here first; kUnhandled
  // lets the CPU handle the MSR itself (IA32_TSC always is: see
  // tsc_offset_changed); kFault raises #GP(0).
  enum class MsrAccess : uint8_t { kUnhandled, kDone, kFault };
  virtual MsrAccess msr_read(uint32_t index, uint64_t* value) {
    (void)index;
    (void)value;
    return MsrAccess::kUnhandled;
  }
  virtual MsrAccess msr_write(uint32_t index, uint64_t value) {
    (void)index;
    (void)value;
    return MsrAccess::kUnhandled;
  }
  // Cached code and stores from outside the CPU. The CPU calls
  // code_page_cached(page, true) before it reads the bytes of a block from
  // guest-physical page `page` (a RAM page it has no cached code on yet), and
  // (page, false) once it caches no code there any more; the bus then reports
  // the stores others make into such pages. While code_write_hint() (read
  // between blocks; null: never) is set, the CPU calls take_code_writes,
  // which appends the stores seen since the last call; false means some were
  // lost (too many), and the CPU drops all its cached code.
  virtual void code_page_cached(uint64_t gpa_page, bool cached) {
    (void)gpa_page;
    (void)cached;
  }
  virtual const std::atomic<bool>* code_write_hint() { return nullptr; }
  virtual bool take_code_writes(std::vector<CodeWrite>& out) {
    (void)out;
    return true;
  }
  // The CPU's TSC now reads host monotonic nanoseconds + `offset` (IA32_TSC
  // was written at host time `now_ns`). The machine's clocks that count in
  // TSC ticks (the TSC deadline, kvmclock) must use exactly this offset: a
  // second clock reading of their own would put them ahead of the CPU's TSC,
  // and a guest sees time run backwards (kvmclock: by 2^63 ns).
  virtual void tsc_offset_changed(uint64_t offset, uint64_t now_ns) {
    (void)offset;
    (void)now_ns;
  }
  // Lets the machine add what it provides to a CPUID leaf the core computed
  // (the APIC bits when there is a local APIC, the paravirtual leaves).
  virtual void adjust_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]) {
    (void)leaf;
    (void)subleaf;
    (void)regs;
  }
};

// The interrupt controller side of a vCPU's INTR pin. The controller models
// (PIC, LAPIC) implement it and wake the vCPU (SoftVcpu::wake) when pending()
// becomes true.
class CpuInterruptSource {
 public:
  virtual ~CpuInterruptSource() = default;
  // An external interrupt is waiting to be taken (checked when IF = 1).
  virtual bool pending() = 0;
  // The INTA cycle: the vector to deliver, or nothing (spurious, withdrawn).
  virtual std::optional<uint8_t> acknowledge() = 0;
  // A flag the CPU reads between blocks before calling pending(): while it is
  // false nothing can be pending (the source keeps it true whenever pending()
  // might be). Null: no such flag, pending() is always asked.
  const std::atomic<bool>* hint() const { return hint_; }

 protected:
  const std::atomic<bool>* hint_ = nullptr;
};

}  // namespace vessel::cpu

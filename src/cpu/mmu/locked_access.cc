// Operands of LOCK'ed instructions: where a locked read-modify-write can be
// done with host atomics on the guest's RAM, and the process-wide lock for
// the ones that cannot.
#include <mutex>

#include "cpu/cpu.h"
#include "cpu/exec/locked.h"

namespace vessel::cpu {

std::mutex& locked_slow_mutex() {
  static std::mutex mu;
  return mu;
}

Cpu::Locked Cpu::lock_operand(unsigned sreg, uint64_t offset, unsigned size, uint8_t** host) {
  uint64_t linear;
  if (!linearize(sreg, offset, size, true, &linear)) return Locked::kFault;
  // A misaligned operand may cross a page (and host atomics want natural
  // alignment): the slow path translates both pages before any write.
  if (linear & (size - 1)) return Locked::kSlow;
  bool user = cpl_ == 3;
  if (uint8_t* p = tlb_.lookup(Access::kWrite, linear, user)) {
    // A write entry exists only for RAM pages without cached code or data
    // breakpoints whose dirty bit is set: nothing more to do.
    ++stats_.tlb_hits;
    *host = p;
  } else {
    ++stats_.tlb_misses;
    uint64_t gpa;
    bool global;
    if (!translate(linear, Access::kWrite, user, &gpa, &global)) return Locked::kFault;
    uint64_t page = gpa & ~0xFFFull;
    uint8_t* base = bus_->ram(page);
    if (!base) return Locked::kSlow;  // MMIO: the slow path goes to the bus
    if (!blocks_.page_has_code(page) && !(data_bp_ && page_has_data_breakpoint(linear)))
      tlb_.fill(Access::kWrite, linear, user, base, page, global);
    note_data_access(linear, size, true);
    if (blocks_.page_has_code(page)) note_code_write(gpa, size);
    *host = base + (gpa & 0xFFF);
  }
  if (reinterpret_cast<uintptr_t>(*host) & (size - 1)) return Locked::kSlow;
  return Locked::kHost;
}

}  // namespace vessel::cpu

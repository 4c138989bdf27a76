// Debug registers (SDM Vol. 3 ch. 18): DR0-DR3 breakpoints enabled by DR7
// (instruction breakpoints are faults honouring RFLAGS.RF; data write, data
// read/write and, with CR4.DE, I/O breakpoints of 1, 2, 4 or 8 bytes are
// traps), the DR6 status bits and DR7.GD general detect.
//
// Cost: nothing while DR7 arms no breakpoint and RF is clear. When armed, the
// executor runs one instruction per block (debug_before_insn/_after_insn) and
// pages that hold a data breakpoint get no TLB entry, so every access to them
// takes the slow path, which reports it to note_data_access; IN/OUT/INS/OUTS
// report their ports from io_permitted.
#include "cpu/cpu.h"

namespace vessel::cpu {
namespace {

constexpr uint64_t kDr7Gd = 1u << 13;
constexpr uint64_t kDr6Bd = 1u << 13;
constexpr uint64_t kDr6Bs = 1u << 14;
constexpr uint64_t kDr6Fixed = 0xFFFF0FF0;  // reads as 1 (no RTM, no bus lock detection)
constexpr uint64_t kDr6Writable = 0xE00F;   // B0-B3, BD, BS, BT
constexpr uint64_t kDr7Fixed = 0x400;
constexpr uint64_t kDr7Writable = 0xFFFF23FF;

unsigned bp_rw(uint64_t dr7, unsigned n) {
  return (dr7 >> (16 + 4 * n)) & 3;
}
// LEN: 00 = 1 byte, 01 = 2, 11 = 4, 10 = 8.
unsigned bp_len(uint64_t dr7, unsigned n) {
  static constexpr unsigned kLen[4] = {1, 2, 8, 4};
  return kLen[(dr7 >> (18 + 4 * n)) & 3];
}

}  // namespace

void Cpu::update_debug() {
  uint8_t exec = 0, data = 0, io = 0;
  for (unsigned n = 0; n < 4; ++n) {
    if (!((dr7 >> (2 * n)) & 3)) continue;  // neither Ln nor Gn
    unsigned rw = bp_rw(dr7, n);
    if (rw == 0)
      exec |= 1u << n;
    else if (rw == 2)
      io |= (cr4 & cr4::kDe) ? 1u << n : 0;  // without CR4.DE: undefined, never hits
    else
      data |= 1u << n;
  }
  // Pages that hold a data breakpoint must lose (and not regain) their TLB
  // entries; pages that held one may have them again.
  if (data || data_bp_) tlb_.flush();
  exec_bp_ = exec;
  data_bp_ = data;
  io_bp_ = io;
  debug_armed_ = (exec | data | io) != 0;
}

// The checks of MOV to and from a debug register: CPL 0, DR4/DR5 with
// CR4.DE, then general detect (a fault; RF is 1 in the pushed RFLAGS).
bool Cpu::dr_access_allowed(unsigned n) {
  if (cpl_ != 0) return fault(kGp, 0);
  if (n > 7 || ((n == 4 || n == 5) && (cr4 & cr4::kDe))) return fault(kUd);
  if (dr7 & kDr7Gd) {
    dr6 = (dr6 & ~0xFull) | kDr6Bd;
    rflags_ |= rflags::kRf;
    return fault(kDb);
  }
  return true;
}

bool Cpu::write_dr(unsigned n, uint64_t value) {
  if (!dr_access_allowed(n)) return false;
  if (!mode64()) value &= 0xFFFFFFFF;
  if (n < 4) {
    dr[n] = value;
  } else {
    if (value >> 32) return fault(kGp, 0);
    if (n == 4 || n == 6)
      dr6 = (value & kDr6Writable) | kDr6Fixed;
    else
      dr7 = (value & kDr7Writable) | kDr7Fixed;
  }
  update_debug();
  return true;
}

bool Cpu::read_dr(unsigned n, uint64_t* value) {
  if (!dr_access_allowed(n)) return false;
  *value = n < 4 ? dr[n] : (n == 4 || n == 6) ? dr6 : dr7;
  return true;
}

bool Cpu::debug_before_insn() {
  data_hits_ = 0;
  if (rflags_ & rflags::kRf) {
    // RF suppresses instruction breakpoints for this instruction and is
    // cleared as it starts (a fault in it pushes RF = 1 again).
    rflags_ &= ~rflags::kRf;
    return false;
  }
  if (!exec_bp_) return false;
  uint64_t linear = seg[kCs].base + rip;
  if (!long_mode()) linear &= 0xFFFFFFFF;
  unsigned hits = 0;
  for (unsigned n = 0; n < 4; ++n)
    if ((exec_bp_ & (1u << n)) && dr[n] == linear) hits |= 1u << n;
  if (!hits) return false;
  dr6 = (dr6 & ~0xFull) | hits;
  return fault(kDb), true;
}

void Cpu::debug_after_insn(bool tf, bool faulted) {
  unsigned hits = data_hits_;
  data_hits_ = 0;
  if (faulted) return;  // the instruction did not complete: no trap
  if (!hits && !tf) return;
  if (hits) dr6 = (dr6 & ~0xFull) | hits;
  if (tf) dr6 |= kDr6Bs;
  fault(kDb);
}

void Cpu::match_data_breakpoints(uint64_t linear, unsigned size, bool write) {
  for (unsigned n = 0; n < 4; ++n) {
    if (!(data_bp_ & (1u << n))) continue;
    if (bp_rw(dr7, n) == 1 && !write) continue;
    unsigned len = bp_len(dr7, n);
    uint64_t start = dr[n] & ~uint64_t{len - 1};
    if (linear < start + len && start < linear + size) data_hits_ |= 1u << n;
  }
}

void Cpu::match_io_breakpoints(uint16_t port, unsigned size) {
  for (unsigned n = 0; n < 4; ++n) {
    if (!(io_bp_ & (1u << n))) continue;
    unsigned len = bp_len(dr7, n);
    uint64_t start = (dr[n] & 0xFFFF) & ~uint64_t{len - 1};
    if (port < start + len && start < uint64_t{port} + size) data_hits_ |= 1u << n;
  }
}

bool Cpu::page_has_data_breakpoint(uint64_t linear) const {
  for (unsigned n = 0; n < 4; ++n)
    if ((data_bp_ & (1u << n)) && ((dr[n] ^ linear) & ~0xFFFull) == 0) return true;
  return false;
}

}  // namespace vessel::cpu

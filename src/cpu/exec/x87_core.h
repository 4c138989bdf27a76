// Shared machinery of the x87 handlers (x87_*.cc): status/control word bits,
// the register stack (TOP, tags, push/pop with stack faults), exception
// signalling, the #NM/#MF checks every x87 instruction starts with, and
// HostFpu, which runs an operation on the host's x87 (g++ `long double` is
// the 80-bit format) under the guest's rounding and precision control and
// reads back the exceptions it raised.
#pragma once

#include <cstdint>
#include <cstring>

#include "cpu/cpu.h"
#include "cpu/exec/x87_handlers.h"
#include "cpu/fpu_image.h"

namespace vessel::cpu::x87 {

namespace sw {
inline constexpr uint16_t kIe = 1 << 0, kDe = 1 << 1, kZe = 1 << 2, kOe = 1 << 3, kUe = 1 << 4,
                          kPe = 1 << 5, kSf = 1 << 6, kEs = 1 << 7, kC0 = 1 << 8, kC1 = 1 << 9,
                          kC2 = 1 << 10, kTop = 7 << 11, kC3 = 1 << 14, kB = 1 << 15;
inline constexpr uint16_t kExceptions = 0x3F;  // IE..PE (the FCW mask bits line up)
inline constexpr uint16_t kCc = kC0 | kC1 | kC2 | kC3;
}  // namespace sw

// The QNaN floating-point indefinite.
inline constexpr Float80 kIndefinite{0xC000000000000000ull, 0xFFFF};

inline long double to_ld(const Float80& f) {
  unsigned char b[sizeof(long double)] = {};
  std::memcpy(b, &f.significand, 8);
  std::memcpy(b + 8, &f.sign_exponent, 2);
  long double v;
  std::memcpy(&v, b, sizeof v);
  return v;
}
inline Float80 from_ld(long double v) {
  unsigned char b[sizeof(long double)];
  std::memcpy(b, &v, sizeof v);
  Float80 f;
  std::memcpy(&f.significand, b, 8);
  std::memcpy(&f.sign_exponent, b + 8, 2);
  return f;
}

// ---- Classification (SDM Vol. 1, 8.2.2) --------------------------------------
inline unsigned exponent(const Float80& f) {
  return f.sign_exponent & 0x7FFF;
}
inline bool sign(const Float80& f) {
  return f.sign_exponent & 0x8000;
}
inline bool integer_bit(const Float80& f) {
  return f.significand >> 63;
}
// Unnormals, pseudo-NaNs and pseudo-infinities: invalid operands.
inline bool unsupported(const Float80& f) {
  return exponent(f) != 0 && !integer_bit(f);
}
inline bool is_nan(const Float80& f) {
  return exponent(f) == 0x7FFF && integer_bit(f) && (f.significand << 1) != 0;
}
inline bool is_snan(const Float80& f) {
  return is_nan(f) && !((f.significand >> 62) & 1);
}
inline bool is_inf(const Float80& f) {
  return exponent(f) == 0x7FFF && f.significand == 0x8000000000000000ull;
}
inline bool is_denormal(const Float80& f) {
  return exponent(f) == 0 && f.significand != 0;
}
inline bool is_zero(const Float80& f) {
  return exponent(f) == 0 && f.significand == 0;
}

// ---- Register stack ---------------------------------------------------------
inline unsigned top(const X87State& s) {
  return (s.fsw >> 11) & 7;
}
inline void set_top(X87State& s, unsigned t) {
  s.fsw = static_cast<uint16_t>((s.fsw & ~sw::kTop) | ((t & 7) << 11));
}
inline unsigned phys(const X87State& s, unsigned i) {
  return (top(s) + i) & 7;
}
inline unsigned tag(const X87State& s, unsigned physical) {
  return (s.ftw >> (2 * physical)) & 3;
}
inline void set_tag(X87State& s, unsigned physical, unsigned t) {
  s.ftw = static_cast<uint16_t>((s.ftw & ~(3u << (2 * physical))) | ((t & 3) << (2 * physical)));
}
inline bool empty(const X87State& s, unsigned i) {
  return tag(s, phys(s, i)) == 3;
}
inline const Float80& st(const X87State& s, unsigned i) {
  return s.regs[phys(s, i)];
}
inline void set_st(X87State& s, unsigned i, const Float80& v) {
  s.regs[phys(s, i)] = v;
  set_tag(s, phys(s, i), x87_tag_of(v));
}
inline void pop(X87State& s) {
  set_tag(s, phys(s, 0), 3);
  set_top(s, top(s) + 1);
}

// ---- Exceptions --------------------------------------------------------------
// Records exception flags; an unmasked one also sets ES and B (reported as
// #MF by the next waiting instruction).
inline void signal(X87State& s, uint16_t e) {
  s.fsw |= e;
  if (e & ~s.fcw & sw::kExceptions) s.fsw |= sw::kEs | sw::kB;
}
// Exceptions in `e` that stop the instruction before it writes its result
// (unmasked IE, DE, ZE).
inline bool blocks_result(const X87State& s, uint16_t e) {
  return e & ~s.fcw & (sw::kIe | sw::kDe | sw::kZe);
}
// Records the exceptions `e` an operation raised on the host; false when an
// unmasked IE/DE/ZE stops it before its result is written. The host, with
// everything masked, went on to OE/UE/PE: those are then dropped.
inline bool signal_result(X87State& s, uint16_t e) {
  if (blocks_result(s, e)) {
    signal(s, e & (sw::kIe | sw::kDe | sw::kZe));
    return false;
  }
  signal(s, e);
  return true;
}
inline bool ie_masked(const X87State& s) {
  return s.fcw & sw::kIe;
}

// A source register is empty: IE|SF with C1 = 0. When IE is masked ST(dst)
// (dst >= 0) receives the indefinite and the stack pops `pops` times.
void stack_underflow(X87State& s, int dst, unsigned pops);
// Pushes `v`; when ST(7) is in use, signals the stack overflow (C1 = 1) and
// pushes the indefinite if IE is masked. Returns false on overflow.
bool push(X87State& s, const Float80& v);
// Overflow check without pushing (for instructions that compute first).
bool can_push(const X87State& s);
void signal_overflow(X87State& s);

// ---- Instruction prologue ---------------------------------------------------
// #NM when CR0.EM or CR0.TS is set; for waiting instructions, #MF when an
// unmasked exception is pending and CR0.NE = 1. False with the fault pending.
inline bool begin(Cpu& c, bool waiting) {
  if (c.cr0 & (cr0::kEm | cr0::kTs)) return c.fault(kNm);
  if (waiting && (c.fpu.x87.fsw & sw::kEs) && (c.cr0 & cr0::kNe)) return c.fault(kMf);
  return true;
}
// Records the last instruction (and data) pointer and opcode (FOP is in
// insn.imm2) for a non-control instruction.
inline void note_insn(Cpu& c, const Insn& i) {
  X87State& s = c.fpu.x87;
  s.fop = i.imm2 & 0x7FF;
  s.fip = c.rip;
  s.fcs = c.seg[kCs].selector;
}
inline void note_data(Cpu& c, const Insn& i, uint64_t ea) {
  note_insn(c, i);
  c.fpu.x87.fdp = ea;
  c.fpu.x87.fds = c.seg[i.seg].selector;
}

// Checks that [offset, offset+size) of segment `sreg` can be written
// (segment limits, page presence and permissions) without writing, so a
// multi-part store either happens entirely or faults before changing memory.
bool probe_write(Cpu& c, unsigned sreg, uint64_t offset, unsigned size);
// Reads/writes `size` bytes (any length) in 8-byte pieces.
bool read_bytes(Cpu& c, unsigned sreg, uint64_t offset, uint8_t* out, unsigned size);
bool write_bytes(Cpu& c, unsigned sreg, uint64_t offset, const uint8_t* in, unsigned size);

// ---- Memory operands -----------------------------------------------------------
// Reads the memory operand of format `m` (raw bytes, little-endian) and
// records FDP/FDS, FIP and FOP.
bool read_operand(Cpu& c, const Insn& i, X87Mem m, uint8_t* raw);
// The value of a memory operand as the host converts it (call inside a
// HostFpu: SNaN and denormal single/double operands raise IE/DE).
long double mem_value(X87Mem m, const uint8_t* raw);

// ---- Host execution -----------------------------------------------------------
// While alive, the host x87 uses the guest's rounding control (and
// precision control unless `full_precision`) with exceptions masked and
// flags cleared; status() returns the host status word, whose exception
// flags and C0-C3 describe what the operations since construction did.
// `unmask_overflow_underflow` takes the guest's OE/UE masks, so that the
// host delivers the re-biased results of unmasked overflow and underflow:
// only for operations written as one asm statement that reads the status
// and ends with FNCLEX (a pending unmasked exception would otherwise raise
// SIGFPE at the host's next waiting x87 instruction).
class HostFpu {
 public:
  explicit HostFpu(uint16_t guest_fcw, bool full_precision = false,
                   bool unmask_overflow_underflow = false);
  ~HostFpu();
  HostFpu(const HostFpu&) = delete;
  HostFpu& operator=(const HostFpu&) = delete;
  uint16_t status() const;

 private:
  uint16_t saved_fcw_ = 0;
};

// Values passed through memory so the compiler cannot move the arithmetic on
// them outside a HostFpu's lifetime.
inline long double fence(long double v) {
  volatile long double x = v;
  return x;
}

// Stores the result `r` of an arithmetic operation whose host status was
// `host_sw` into ST(dst) and pops `pops` times, unless an unmasked IE/ZE/DE
// blocks it. Sets the exception flags and C1 (rounded up). Returns whether
// the result was stored.
bool commit(X87State& s, uint16_t host_sw, unsigned dst, long double r, unsigned pops);

}  // namespace vessel::cpu::x87

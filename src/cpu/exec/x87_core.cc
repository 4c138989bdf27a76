#include "cpu/exec/x87_core.h"

namespace vessel::cpu::x87 {

void stack_underflow(X87State& s, int dst, unsigned pops) {
  s.fsw &= ~sw::kC1;
  signal(s, sw::kIe | sw::kSf);
  if (!ie_masked(s)) return;
  if (dst >= 0) set_st(s, static_cast<unsigned>(dst), kIndefinite);
  for (unsigned k = 0; k < pops; ++k) pop(s);
}

bool can_push(const X87State& s) {
  return empty(s, 7);
}

void signal_overflow(X87State& s) {
  s.fsw |= sw::kC1;
  signal(s, sw::kIe | sw::kSf);
  if (!ie_masked(s)) return;
  set_top(s, top(s) - 1);
  set_st(s, 0, kIndefinite);
}

bool push(X87State& s, const Float80& v) {
  if (!can_push(s)) {
    signal_overflow(s);
    return false;
  }
  s.fsw &= ~sw::kC1;
  set_top(s, top(s) - 1);
  set_st(s, 0, v);
  return true;
}

bool probe_write(Cpu& c, unsigned sreg, uint64_t offset, unsigned size) {
  uint64_t linear;
  if (!c.linearize(sreg, offset, size, true, &linear)) return false;
  bool user = c.cpl() == 3;
  uint64_t gpa;
  uint64_t last = linear + size - 1;
  if (!c.mode64()) last &= 0xFFFFFFFF;
  for (uint64_t page = linear & ~0xFFFull;; page += 0x1000) {
    uint64_t at = page < linear ? linear : page;
    if (!c.translate(at, Access::kWrite, user, &gpa)) return false;
    if (page == (last & ~0xFFFull) || page + 0x1000 == 0) break;
  }
  return true;
}

bool read_bytes(Cpu& c, unsigned sreg, uint64_t offset, uint8_t* out, unsigned size) {
  for (unsigned k = 0; k < size;) {
    unsigned n = size - k >= 8 ? 8 : size - k >= 4 ? 4 : size - k >= 2 ? 2 : 1;
    uint64_t v;
    if (!c.read(sreg, offset + k, n, &v)) return false;
    store_le(out + k, n, v);
    k += n;
  }
  return true;
}

bool write_bytes(Cpu& c, unsigned sreg, uint64_t offset, const uint8_t* in, unsigned size) {
  if (!probe_write(c, sreg, offset, size)) return false;
  for (unsigned k = 0; k < size;) {
    unsigned n = size - k >= 8 ? 8 : size - k >= 4 ? 4 : size - k >= 2 ? 2 : 1;
    if (!c.write(sreg, offset + k, n, load_le(in + k, n))) return false;
    k += n;
  }
  return true;
}

HostFpu::HostFpu(uint16_t guest_fcw, bool full_precision, bool unmask_overflow_underflow) {
  // Guest RC (and PC unless full precision), exceptions masked (but OE/UE
  // as the guest has them when asked).
  uint16_t keep = full_precision ? 0x0C00 : 0x0F00;
  uint16_t masks = 0x7F;
  if (unmask_overflow_underflow)
    masks &= static_cast<uint16_t>(~(~guest_fcw & (sw::kOe | sw::kUe)));
  uint16_t cw = static_cast<uint16_t>((guest_fcw & keep) | (full_precision ? 0x0300 : 0) | masks);
  asm volatile("fnstcw %0\n\tfnclex\n\tfldcw %1" : "=m"(saved_fcw_) : "m"(cw) : "memory");
}

HostFpu::~HostFpu() {
  asm volatile("fnclex\n\tfldcw %0" : : "m"(saved_fcw_) : "memory");
}

uint16_t HostFpu::status() const {
  uint16_t v;
  asm volatile("fnstsw %0" : "=m"(v) : : "memory");
  return v;
}

unsigned x87_mem_size_impl(X87Mem m) {
  switch (m) {
    case X87Mem::kF32:
    case X87Mem::kI32:
      return 4;
    case X87Mem::kF64:
    case X87Mem::kI64:
      return 8;
    case X87Mem::kI16:
      return 2;
    default:
      return 10;
  }
}

bool read_operand(Cpu& c, const Insn& i, X87Mem m, uint8_t* raw) {
  uint64_t ea = c.effective_address(i);
  if (!read_bytes(c, i.seg, ea, raw, x87_mem_size_impl(m))) return false;
  note_data(c, i, ea);
  return true;
}

long double mem_value(X87Mem m, const uint8_t* raw) {
  switch (m) {
    case X87Mem::kF32: {
      float f;
      std::memcpy(&f, raw, 4);
      volatile float in = f;
      long double v = in;
      return fence(v);
    }
    case X87Mem::kF64: {
      double d;
      std::memcpy(&d, raw, 8);
      volatile double in = d;
      long double v = in;
      return fence(v);
    }
    case X87Mem::kF80: {
      Float80 f;
      std::memcpy(&f.significand, raw, 8);
      std::memcpy(&f.sign_exponent, raw + 8, 2);
      return to_ld(f);
    }
    case X87Mem::kI16:
      return static_cast<int16_t>(load_le(raw, 2));
    case X87Mem::kI32:
      return static_cast<int32_t>(load_le(raw, 4));
    case X87Mem::kI64:
      return static_cast<long double>(static_cast<int64_t>(load_le(raw, 8)));
    case X87Mem::kBcd: {
      // 18 packed digits, sign in bit 7 of byte 9. Invalid digits give an
      // undefined value (here: digit values above 9 are used as they are).
      int64_t v = 0;
      for (int k = 8; k >= 0; --k) v = v * 100 + (raw[k] >> 4) * 10 + (raw[k] & 0xF);
      long double r = static_cast<long double>(v);
      return (raw[9] & 0x80) ? -r : r;
    }
  }
  return 0;
}

bool commit(X87State& s, uint16_t host_sw, unsigned dst, long double r, unsigned pops) {
  uint16_t e = host_sw & sw::kExceptions;
  s.fsw &= ~sw::kC1;
  if (!signal_result(s, e)) return false;
  if ((e & sw::kPe) && (host_sw & sw::kC1)) s.fsw |= sw::kC1;
  set_st(s, dst, from_ld(r));
  for (unsigned k = 0; k < pops; ++k) pop(s);
  return true;
}

}  // namespace vessel::cpu::x87

namespace vessel::cpu {
unsigned x87_mem_size(X87Mem m) {
  return x87::x87_mem_size_impl(m);
}
}  // namespace vessel::cpu

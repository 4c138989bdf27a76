// x87 data transfer: FLD/FILD/FBLD and the constants, FST/FSTP/FIST/FISTP/
// FISTTP/FBSTP, FXCH, FCMOVcc, FFREE(P), FINCSTP/FDECSTP, FNOP.
#include "cpu/exec/operands.h"
#include "cpu/exec/x87_core.h"
#include "cpu/exec/x87_handlers.h"

namespace vessel::cpu {
namespace {

using namespace x87;

// Pushes a value produced under `host` (whose status carries its
// exceptions) unless an unmasked IE blocks it.
void push_result(X87State& s, uint16_t host_sw, long double v) {
  uint16_t e = host_sw & sw::kExceptions;
  s.fsw &= ~sw::kC1;
  signal(s, e);
  if (e & ~s.fcw & sw::kIe) return;  // an unmasked DE still loads the value
  push(s, from_ld(v));
}

Flow load_mem(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  auto fmt = static_cast<X87Mem>(i.size2);
  uint8_t raw[10];
  if (!read_operand(c, i, fmt, raw)) return Flow::kFault;
  X87State& s = c.fpu.x87;
  if (!can_push(s)) {
    signal_overflow(s);
    return Flow::kNext;
  }
  HostFpu host(s.fcw);
  long double v = mem_value(fmt, raw);
  push_result(s, host.status(), v);
  return Flow::kNext;
}

Flow load_st(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  note_insn(c, i);
  X87State& s = c.fpu.x87;
  if (!can_push(s)) {
    signal_overflow(s);
  } else if (empty(s, i.r1)) {
    s.fsw &= ~sw::kC1;
    signal(s, sw::kIe | sw::kSf);
    if (ie_masked(s)) push(s, kIndefinite);
  } else {
    push(s, st(s, i.r1));
  }
  return Flow::kNext;
}

long double load_constant(unsigned which) {
  long double v;
  switch (which) {
    case 0:
      asm("fld1" : "=t"(v));
      break;
    case 1:
      asm("fldl2t" : "=t"(v));
      break;
    case 2:
      asm("fldl2e" : "=t"(v));
      break;
    case 3:
      asm("fldpi" : "=t"(v));
      break;
    case 4:
      asm("fldlg2" : "=t"(v));
      break;
    case 5:
      asm("fldln2" : "=t"(v));
      break;
    default:
      asm("fldz" : "=t"(v));
      break;
  }
  return fence(v);
}

Flow load_const(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  note_insn(c, i);
  X87State& s = c.fpu.x87;
  if (!can_push(s)) {
    signal_overflow(s);
    return Flow::kNext;
  }
  HostFpu host(s.fcw, true);  // the rounding control selects the constant's last bit
  push_result(s, host.status(), load_constant(i.op));
  return Flow::kNext;
}

template <typename T>
T host_integer(long double x, bool truncate) {
  T r;
  x = fence(x);
  if constexpr (sizeof(T) == 2) {
    if (truncate)
      asm volatile("fisttps %0" : "=m"(r) : "t"(x) : "st");
    else
      asm volatile("fistps %0" : "=m"(r) : "t"(x) : "st");
  } else if constexpr (sizeof(T) == 4) {
    if (truncate)
      asm volatile("fisttpl %0" : "=m"(r) : "t"(x) : "st");
    else
      asm volatile("fistpl %0" : "=m"(r) : "t"(x) : "st");
  } else {
    if (truncate)
      asm volatile("fisttpll %0" : "=m"(r) : "t"(x) : "st");
    else
      asm volatile("fistpll %0" : "=m"(r) : "t"(x) : "st");
  }
  return r;
}

// The value a masked invalid operation stores in format `fmt`.
void indefinite(X87Mem fmt, uint8_t* out) {
  switch (fmt) {
    case X87Mem::kF32:
      store_le(out, 4, 0xFFC00000u);
      break;
    case X87Mem::kF64:
      store_le(out, 8, 0xFFF8000000000000ull);
      break;
    case X87Mem::kF80:
      store_le(out, 8, kIndefinite.significand);
      store_le(out + 8, 2, kIndefinite.sign_exponent);
      break;
    case X87Mem::kI16:
      store_le(out, 2, 0x8000);
      break;
    case X87Mem::kI32:
      store_le(out, 4, 0x80000000u);
      break;
    case X87Mem::kI64:
      store_le(out, 8, 0x8000000000000000ull);
      break;
    case X87Mem::kBcd:
      store_le(out, 8, 0xC000000000000000ull);
      store_le(out + 8, 2, 0xFFFF);
      break;
  }
}

// Converts ST0 to `fmt` in `out` under the guest rounding control; returns
// the host status word of the conversion.
uint16_t convert(const X87State& s, X87Mem fmt, bool truncate, uint8_t* out) {
  const Float80 f = st(s, 0);
  if (fmt == X87Mem::kF80) {
    store_le(out, 8, f.significand);
    store_le(out + 8, 2, f.sign_exponent);
    return 0;
  }
  HostFpu host(s.fcw, true);
  long double x = to_ld(f);
  switch (fmt) {
    case X87Mem::kF32: {
      volatile float r = fence(x);
      float v = r;
      std::memcpy(out, &v, 4);
      break;
    }
    case X87Mem::kF64: {
      volatile double r = fence(x);
      double v = r;
      std::memcpy(out, &v, 8);
      break;
    }
    case X87Mem::kI16:
      store_le(out, 2, static_cast<uint16_t>(host_integer<int16_t>(x, truncate)));
      break;
    case X87Mem::kI32:
      store_le(out, 4, static_cast<uint32_t>(host_integer<int32_t>(x, truncate)));
      break;
    case X87Mem::kI64:
      store_le(out, 8, static_cast<uint64_t>(host_integer<int64_t>(x, truncate)));
      break;
    default: {  // packed BCD: 18 digits
      int64_t v = host_integer<int64_t>(x, false);
      uint16_t status = host.status();
      bool negative = v < 0 || (v == 0 && sign(f));
      uint64_t m = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
      if ((status & sw::kIe) || m > 999999999999999999ull) {
        indefinite(X87Mem::kBcd, out);
        return static_cast<uint16_t>((status & ~sw::kPe) | sw::kIe);
      }
      for (unsigned k = 0; k < 9; ++k) {
        out[k] = static_cast<uint8_t>((m % 10) | ((m / 10 % 10) << 4));
        m /= 100;
      }
      out[9] = negative ? 0x80 : 0;
      return status;
    }
  }
  return host.status();
}

Flow store_mem(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  auto fmt = static_cast<X87Mem>(i.size2);
  auto op = static_cast<X87Store>(i.op);
  uint64_t ea = c.effective_address(i);
  note_data(c, i, ea);
  X87State& s = c.fpu.x87;
  uint16_t saved_fsw = s.fsw;
  uint8_t out[10];
  if (empty(s, 0)) {
    s.fsw &= ~sw::kC1;
    signal(s, sw::kIe | sw::kSf);
    if (!ie_masked(s)) return Flow::kNext;
    indefinite(fmt, out);
  } else {
    uint16_t host_sw = convert(s, fmt, op == X87Store::kIsttp, out);
    uint16_t e = host_sw & sw::kExceptions;
    s.fsw &= ~sw::kC1;
    // A memory destination is left unchanged by unmasked IE, OE and UE (and
    // the inexact result is not reported then).
    if (e & ~s.fcw & (sw::kIe | sw::kOe | sw::kUe)) {
      signal(s, e & ~sw::kPe);
      return Flow::kNext;
    }
    signal(s, e);
    if ((e & sw::kPe) && (host_sw & sw::kC1)) s.fsw |= sw::kC1;
  }
  if (!write_bytes(c, i.seg, ea, out, x87_mem_size(fmt))) {
    s.fsw = saved_fsw;
    return Flow::kFault;
  }
  if (op != X87Store::kSt) pop(s);
  return Flow::kNext;
}

Flow store_st(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  note_insn(c, i);
  X87State& s = c.fpu.x87;
  if (empty(s, 0)) {
    stack_underflow(s, i.r1, i.size2);
    return Flow::kNext;
  }
  s.fsw &= ~sw::kC1;
  set_st(s, i.r1, st(s, 0));
  for (unsigned k = 0; k < i.size2; ++k) pop(s);
  return Flow::kNext;
}

Flow fxch(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  note_insn(c, i);
  X87State& s = c.fpu.x87;
  s.fsw &= ~sw::kC1;
  if (empty(s, 0) || empty(s, i.r1)) {
    signal(s, sw::kIe | sw::kSf);
    if (!ie_masked(s)) return Flow::kNext;
    if (empty(s, 0)) set_st(s, 0, kIndefinite);
    if (empty(s, i.r1)) set_st(s, i.r1, kIndefinite);
  }
  Float80 a = st(s, 0);
  set_st(s, 0, st(s, i.r1));
  set_st(s, i.r1, a);
  return Flow::kNext;
}

Flow ffree(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  note_insn(c, i);
  X87State& s = c.fpu.x87;
  set_tag(s, phys(s, i.r1), 3);
  for (unsigned k = 0; k < i.size2; ++k) pop(s);
  return Flow::kNext;
}

// op: 0 B, 1 E, 2 BE, 3 U; +4 the negations.
Flow fcmov(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  note_insn(c, i);
  X87State& s = c.fpu.x87;
  const LazyFlags& f = c.lflags;
  bool cond;
  switch (i.op & 3) {
    case 0:
      cond = f.cf();
      break;
    case 1:
      cond = f.zf();
      break;
    case 2:
      cond = f.cf() || f.zf();
      break;
    default:
      cond = f.pf();
      break;
  }
  if (i.op & 4) cond = !cond;
  s.fsw &= ~sw::kC1;
  if (empty(s, 0) || empty(s, i.r1)) {
    stack_underflow(s, 0, 0);
    return Flow::kNext;
  }
  if (cond) set_st(s, 0, st(s, i.r1));
  return Flow::kNext;
}

template <int kDelta>
Flow move_top(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  note_insn(c, i);
  X87State& s = c.fpu.x87;
  s.fsw &= ~sw::kC1;
  set_top(s, top(s) + kDelta);
  return Flow::kNext;
}

Flow fnop(Cpu& c, const Insn& i) {
  if (!begin(c, true)) return Flow::kFault;
  note_insn(c, i);
  return Flow::kNext;
}

}  // namespace

const Handler kX87LoadMem = load_mem, kX87LoadSt = load_st, kX87LoadConst = load_const,
              kX87StoreMem = store_mem, kX87StoreSt = store_st, kX87Fxch = fxch, kX87Ffree = ffree,
              kX87Fcmov = fcmov, kX87Fincstp = move_top<1>, kX87Fdecstp = move_top<-1>,
              kX87Fnop = fnop;

}  // namespace vessel::cpu

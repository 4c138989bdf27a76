// System instructions: CLI/STI, IN/OUT, descriptor-table registers (LGDT,
// LIDT, SGDT, SIDT, LLDT, LTR, SLDT, STR), control and debug registers,
// RDMSR/WRMSR, CPUID, RDTSC/RDTSCP, SWAPGS, SYSCALL/SYSRET, INVLPG, LMSW/SMSW,
// CLTS, and the cache/fence/pause forms (no-ops on this CPU).
#include "cpu/exec/cpuid.h"
#include "cpu/exec/handlers.h"
#include "cpu/exec/operands.h"

namespace vessel::cpu {
namespace {

bool privileged(Cpu& c) {
  return c.cpl() == 0 || c.fault(kGp, 0);
}

Flow cli(Cpu& c, const Insn&) {
  if (c.protected_mode() && c.cpl() > c.iopl()) return c.raise(kGp, 0);
  c.set_rflags(c.get_rflags() & ~rflags::kIf);
  return Flow::kNext;
}

Flow sti(Cpu& c, const Insn&) {
  if (c.protected_mode() && c.cpl() > c.iopl()) return c.raise(kGp, 0);
  if (!c.flag_if()) c.interrupt_shadow = true;
  c.set_rflags(c.get_rflags() | rflags::kIf);
  return Flow::kEnd;
}

Flow in(Cpu& c, const Insn& i, uint16_t port) {
  if (!c.io_permitted(port, i.opsize)) return Flow::kFault;
  c.set_reg(kRax, i.opsize, c.port_read(port, i.opsize));
  return Flow::kNext;
}
Flow out(Cpu& c, const Insn& i, uint16_t port) {
  if (!c.io_permitted(port, i.opsize)) return Flow::kFault;
  c.port_write(port, i.opsize, static_cast<uint32_t>(c.reg(kRax, i.opsize)));
  return Flow::kEnd;  // a write may stop the VM or change interrupt state
}
Flow in_imm(Cpu& c, const Insn& i) {
  return in(c, i, static_cast<uint16_t>(i.imm & 0xFF));
}
Flow in_dx(Cpu& c, const Insn& i) {
  return in(c, i, static_cast<uint16_t>(c.gpr[kRdx]));
}
Flow out_imm(Cpu& c, const Insn& i) {
  return out(c, i, static_cast<uint16_t>(i.imm & 0xFF));
}
Flow out_dx(Cpu& c, const Insn& i) {
  return out(c, i, static_cast<uint16_t>(c.gpr[kRdx]));
}

// LGDT/LIDT (load) and SGDT/SIDT (store) of `table`.
template <bool kLoad, bool kIdt>
Flow table_reg(Cpu& c, const Insn& i) {
  if (kLoad && !privileged(c)) return Flow::kFault;
  TableRegister& t = kIdt ? c.idtr : c.gdtr;
  uint64_t ea = c.effective_address(i);
  unsigned base_size = c.mode64() ? 8 : 4;
  uint64_t base_ea = (ea + 2) & size_mask(i.addrsize);
  if (kLoad) {
    uint64_t limit, base;
    if (!c.read(i.seg, ea, 2, &limit) || !c.read(i.seg, base_ea, base_size, &base))
      return Flow::kFault;
    if (!c.mode64() && i.opsize == 2) base &= 0xFFFFFF;
    t.limit = static_cast<uint16_t>(limit);
    t.base = base;
    return Flow::kEnd;
  }
  if (!c.write(i.seg, ea, 2, t.limit) || !c.write(i.seg, base_ea, base_size, t.base))
    return Flow::kFault;
  return Flow::kNext;
}

Flow mov_to_cr(Cpu& c, const Insn& i) {
  if (!privileged(c)) return Flow::kFault;
  uint64_t v = c.mode64() ? c.gpr[i.r1] : c.gpr[i.r1] & 0xFFFFFFFF;
  return c.write_cr(i.r0, v) ? Flow::kEnd : Flow::kFault;
}

Flow mov_from_cr(Cpu& c, const Insn& i) {
  if (!privileged(c)) return Flow::kFault;
  uint64_t v;
  switch (i.r1) {
    case 0:
      v = c.cr0;
      break;
    case 2:
      v = c.cr2;
      break;
    case 3:
      v = c.cr3;
      break;
    case 4:
      v = c.cr4;
      break;
    case 8:
      v = c.cr8;
      break;
    default:
      return c.raise(kUd);
  }
  c.set_reg(i.r0, c.mode64() ? 8 : 4, v);
  return Flow::kNext;
}

Flow mov_to_dr(Cpu& c, const Insn& i) {
  return c.write_dr(i.r0, c.gpr[i.r1]) ? Flow::kEnd : Flow::kFault;
}

Flow mov_from_dr(Cpu& c, const Insn& i) {
  uint64_t v;
  if (!c.read_dr(i.r1, &v)) return Flow::kFault;
  c.set_reg(i.r0, c.mode64() ? 8 : 4, v);
  return Flow::kNext;
}

Flow rdmsr(Cpu& c, const Insn&) {
  if (!privileged(c)) return Flow::kFault;
  uint64_t v;
  if (!c.read_msr(static_cast<uint32_t>(c.gpr[kRcx]), &v)) return Flow::kFault;
  c.set_reg(kRax, 4, v & 0xFFFFFFFF);
  c.set_reg(kRdx, 4, v >> 32);
  return Flow::kNext;
}

Flow wrmsr(Cpu& c, const Insn&) {
  if (!privileged(c)) return Flow::kFault;
  uint64_t v = (c.gpr[kRdx] << 32) | (c.gpr[kRax] & 0xFFFFFFFF);
  return c.write_msr(static_cast<uint32_t>(c.gpr[kRcx]), v) ? Flow::kEnd : Flow::kFault;
}

Flow cpuid_insn(Cpu& c, const Insn&) {
  CpuidResult r = c.cpuid(static_cast<uint32_t>(c.gpr[kRax]), static_cast<uint32_t>(c.gpr[kRcx]));
  if ((c.gpr[kRax] & 0xFFFFFFFF) == 1 && (c.cr4 & cr4::kOsxsave)) r.ecx |= kCpuidOsxsave;
  c.set_reg(kRax, 4, r.eax);
  c.set_reg(kRbx, 4, r.ebx);
  c.set_reg(kRcx, 4, r.ecx);
  c.set_reg(kRdx, 4, r.edx);
  return Flow::kNext;
}

Flow rdtsc(Cpu& c, const Insn&) {
  if ((c.cr4 & cr4::kTsd) && c.cpl() > 0 && c.protected_mode()) return c.raise(kGp, 0);
  uint64_t t = c.read_tsc();
  c.set_reg(kRax, 4, t & 0xFFFFFFFF);
  c.set_reg(kRdx, 4, t >> 32);
  return Flow::kNext;
}

Flow rdtscp(Cpu& c, const Insn& i) {
  if (rdtsc(c, i) == Flow::kFault) return Flow::kFault;
  c.set_reg(kRcx, 4, c.tsc_aux);
  return Flow::kNext;
}

Flow swapgs(Cpu& c, const Insn&) {
  if (!c.mode64()) return c.raise(kUd);
  if (!privileged(c)) return Flow::kFault;
  std::swap(c.seg[kGs].base, c.kernel_gs_base);
  return Flow::kNext;
}

SegmentCache flat_segment(uint16_t selector, bool code, bool l, bool db, uint8_t dpl) {
  SegmentCache s;
  s.selector = selector;
  s.base = 0;
  s.limit = 0xFFFFFFFF;
  s.g = true;
  s.s = true;
  s.present = true;
  s.dpl = dpl;
  s.type = code ? 0xB : 0x3;
  s.l = l;
  s.db = db;
  return s;
}

Flow syscall(Cpu& c, const Insn&) {
  if (!(c.efer & efer::kSce)) return c.raise(kUd);
  uint16_t sel = static_cast<uint16_t>(c.star >> 32) & 0xFFFC;
  uint64_t flags = c.get_rflags();
  if (c.long_mode()) {
    bool from64 = c.mode64();
    c.gpr[kRcx] = c.next_rip;
    c.gpr[kR11] = flags & ~rflags::kRf;
    c.set_rflags(flags & ~c.sfmask & ~rflags::kRf);
    c.set_segment(kSs, flat_segment(sel + 8, false, false, true, 0));
    c.set_segment(kCs, flat_segment(sel, true, true, false, 0));
    c.next_rip = from64 ? c.lstar : c.cstar;
  } else {
    c.gpr[kRcx] = c.next_rip & 0xFFFFFFFF;
    c.set_rflags(flags & ~(rflags::kVm | rflags::kIf | rflags::kRf));
    c.set_segment(kSs, flat_segment(sel + 8, false, false, true, 0));
    c.set_segment(kCs, flat_segment(sel, true, false, true, 0));
    c.next_rip = c.star & 0xFFFFFFFF;
  }
  return Flow::kEnd;
}

Flow sysret(Cpu& c, const Insn& i) {
  if (!(c.efer & efer::kSce)) return c.raise(kUd);
  if (!c.protected_mode() || c.cpl() != 0) return c.raise(kGp, 0);
  uint16_t sel = static_cast<uint16_t>(c.star >> 48);
  if (c.long_mode()) {
    bool to64 = i.opsize == 8;
    uint64_t target = to64 ? c.gpr[kRcx] : c.gpr[kRcx] & 0xFFFFFFFF;
    if (static_cast<uint64_t>(static_cast<int64_t>(target << 16) >> 16) != target)
      return c.raise(kGp, 0);
    c.set_rflags((c.gpr[kR11] & ~(rflags::kRf | rflags::kVm)) | rflags::kFixed);
    uint16_t cs = static_cast<uint16_t>((to64 ? sel + 16 : sel) | 3);
    c.set_segment(kCs, flat_segment(cs, true, to64, !to64, 3));
    c.set_segment(kSs, flat_segment(static_cast<uint16_t>((sel + 8) | 3), false, false, true, 3));
    c.next_rip = target;
  } else {
    c.set_rflags(c.get_rflags() | rflags::kIf);
    c.set_segment(kCs, flat_segment(static_cast<uint16_t>(sel | 3), true, false, true, 3));
    c.set_segment(kSs, flat_segment(static_cast<uint16_t>((sel + 8) | 3), false, false, true, 3));
    c.next_rip = c.gpr[kRcx] & 0xFFFFFFFF;
  }
  return Flow::kEnd;
}

Flow invlpg(Cpu& c, const Insn& i) {
  if (!privileged(c)) return Flow::kFault;
  uint64_t ea = c.effective_address(i);
  uint64_t linear = c.mode64() ? ea + ((i.seg == kFs || i.seg == kGs) ? c.seg[i.seg].base : 0)
                               : (c.seg[i.seg].base + ea) & 0xFFFFFFFF;
  c.flush_tlb_page(linear);
  return Flow::kNext;
}

Flow nop_system(Cpu&, const Insn&) {
  return Flow::kNext;
}

Flow ud(Cpu& c, const Insn&) {
  return c.raise(kUd);
}
Flow unimplemented(Cpu& c, const Insn& i) {
  return c.undefined(i);
}

Flow clts(Cpu& c, const Insn&) {
  if (!privileged(c)) return Flow::kFault;
  c.cr0 &= ~cr0::kTs;
  return Flow::kNext;
}

template <K S>
Flow lldt(Cpu& c, const Insn& i) {
  if (!c.protected_mode()) return c.raise(kUd);
  if (!privileged(c)) return Flow::kFault;
  uint64_t sel;
  if (!read_src<S>(c, i, 2, &sel)) return Flow::kFault;
  uint16_t s = static_cast<uint16_t>(sel);
  if ((s & 0xFFFC) == 0) {
    c.ldtr = SegmentCache{};
    c.ldtr.selector = s;
    c.ldtr.unusable = true;
    c.ldtr.s = false;
    return Flow::kNext;
  }
  if (s & 4) return c.raise(kGp, s & 0xFFFC);
  uint64_t raw;
  if (!c.read_descriptor(s, &raw, kGp)) return Flow::kFault;
  SegmentCache d = Cpu::unpack_descriptor(s, raw);
  if (d.s || d.type != 0x2) return c.raise(kGp, s & 0xFFFC);
  if (!d.present) return c.raise(kNp, s & 0xFFFC);
  if (c.long_mode()) {
    uint64_t hi;
    if (!c.read_linear(c.gdtr.base + (s & 0xFFF8) + 8, 8, &hi, Access::kRead, true))
      return Flow::kFault;
    d.base |= (hi & 0xFFFFFFFF) << 32;
  }
  c.ldtr = d;
  return Flow::kNext;
}

template <K S>
Flow ltr(Cpu& c, const Insn& i) {
  if (!c.protected_mode()) return c.raise(kUd);
  if (!privileged(c)) return Flow::kFault;
  uint64_t sel;
  if (!read_src<S>(c, i, 2, &sel)) return Flow::kFault;
  uint16_t s = static_cast<uint16_t>(sel);
  if ((s & 0xFFFC) == 0) return c.raise(kGp, 0);
  if (s & 4) return c.raise(kGp, s & 0xFFFC);
  uint64_t raw;
  if (!c.read_descriptor(s, &raw, kGp)) return Flow::kFault;
  SegmentCache d = Cpu::unpack_descriptor(s, raw);
  bool available = d.type == 0x9 || (!c.long_mode() && d.type == 0x1);
  if (d.s || !available) return c.raise(kGp, s & 0xFFFC);
  if (!d.present) return c.raise(kNp, s & 0xFFFC);
  if (c.long_mode()) {
    uint64_t hi;
    if (!c.read_linear(c.gdtr.base + (s & 0xFFF8) + 8, 8, &hi, Access::kRead, true))
      return Flow::kFault;
    d.base |= (hi & 0xFFFFFFFF) << 32;
  }
  // Mark the descriptor busy.
  if (!c.write_linear(c.gdtr.base + (s & 0xFFF8) + 5, 1, ((raw >> 40) & 0xFF) | 0x2, true))
    return Flow::kFault;
  d.type |= 0x2;
  c.tr = d;
  return Flow::kNext;
}

template <bool kTr, K D>
Flow sldt_str(Cpu& c, const Insn& i) {
  if (!c.protected_mode()) return c.raise(kUd);
  uint16_t v = kTr ? c.tr.selector : c.ldtr.selector;
  unsigned size = D == K::R ? i.opsize : 2;
  return write_dst<D>(c, i, size, v) ? Flow::kNext : Flow::kFault;
}

template <K S>
Flow lmsw(Cpu& c, const Insn& i) {
  if (!privileged(c)) return Flow::kFault;
  uint64_t v;
  if (!read_src<S>(c, i, 2, &v)) return Flow::kFault;
  // Sets PE but never clears it; MP, EM, TS follow the operand.
  uint64_t low = (c.cr0 & cr0::kPe) | (v & 0xF);
  return c.write_cr(0, (c.cr0 & ~0xFull) | low) ? Flow::kEnd : Flow::kFault;
}

template <K D>
Flow smsw(Cpu& c, const Insn& i) {
  unsigned size = D == K::R ? i.opsize : 2;
  return write_dst<D>(c, i, size, c.cr0 & size_mask(size)) ? Flow::kNext : Flow::kFault;
}

// LDS/LES/LFS/LGS/LSS r, m16:xx: sreg in insn.op.
Flow load_far_pointer(Cpu& c, const Insn& i) {
  uint64_t ea = c.effective_address(i);
  uint64_t offset, selector;
  if (!c.read(i.seg, ea, i.opsize, &offset) ||
      !c.read(i.seg, (ea + i.opsize) & size_mask(i.addrsize), 2, &selector))
    return Flow::kFault;
  if (!c.load_segment(i.op, static_cast<uint16_t>(selector))) return Flow::kFault;
  c.set_reg(i.r0, i.opsize, offset);
  if (i.op == kSs) {
    c.interrupt_shadow = true;
    return Flow::kEnd;
  }
  return Flow::kNext;
}

}  // namespace

const Handler kCli = cli, kSti = sti, kInImm = in_imm, kInDx = in_dx, kOutImm = out_imm,
              kOutDx = out_dx, kLgdt = table_reg<true, false>, kLidt = table_reg<true, true>,
              kSgdt = table_reg<false, false>, kSidt = table_reg<false, true>, kMovToCr = mov_to_cr,
              kMovFromCr = mov_from_cr, kMovToDr = mov_to_dr, kMovFromDr = mov_from_dr,
              kRdmsr = rdmsr, kWrmsr = wrmsr, kCpuid = cpuid_insn, kRdtsc = rdtsc, kRdtscp = rdtscp,
              kSwapgs = swapgs, kSyscall = syscall, kSysret = sysret, kInvlpg = invlpg,
              kNopSystem = nop_system, kRaiseUd = ud, kUnimplemented = unimplemented, kClts = clts,
              kLoadFarPointer = load_far_pointer;

Handler sys_lldt(Form f) {
  return f == Form::kR ? lldt<K::R> : f == Form::kM ? lldt<K::M> : nullptr;
}
Handler sys_ltr(Form f) {
  return f == Form::kR ? ltr<K::R> : f == Form::kM ? ltr<K::M> : nullptr;
}
Handler sys_sldt_str(bool tr, Form f) {
  if (f == Form::kR) return tr ? sldt_str<true, K::R> : sldt_str<false, K::R>;
  if (f == Form::kM) return tr ? sldt_str<true, K::M> : sldt_str<false, K::M>;
  return nullptr;
}
Handler sys_lmsw(Form f) {
  return f == Form::kR ? lmsw<K::R> : f == Form::kM ? lmsw<K::M> : nullptr;
}
Handler sys_smsw(Form f) {
  return f == Form::kR ? smsw<K::R> : f == Form::kM ? smsw<K::M> : nullptr;
}

}  // namespace vessel::cpu

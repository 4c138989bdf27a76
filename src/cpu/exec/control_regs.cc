// MOV to control registers (mode switches, paging controls, TLB and code
// cache consequences), the MSRs this CPU implements, and the TSC.
#include <chrono>

#include "base/log.h"
#include "cpu/cpu.h"

namespace vessel::cpu {

bool Cpu::write_cr(unsigned n, uint64_t value) {
  switch (n) {
    case 0: {
      if (!mode64()) value &= 0xFFFFFFFF;
      if (value >> 32) return fault(kGp, 0);
      if ((value & cr0::kPg) && !(value & cr0::kPe)) return fault(kGp, 0);
      if ((value & cr0::kNw) && !(value & cr0::kCd)) return fault(kGp, 0);
      bool paging_on = (value & cr0::kPg) && !(cr0 & cr0::kPg);
      bool paging_off = !(value & cr0::kPg) && (cr0 & cr0::kPg);
      if (paging_on && (efer & efer::kLme)) {
        if (!(cr4 & cr4::kPae)) return fault(kGp, 0);
        efer |= efer::kLma;
      }
      if (paging_off && long_mode()) {
        if (mode64()) return fault(kGp, 0);
        efer &= ~efer::kLma;
      }
      cr0 = value | cr0::kEt;
      update_mode();
      tlb_.flush();
      return true;
    }
    case 2:
      cr2 = value;
      return true;
    case 3:
      cr3 = long_mode() ? value & ((1ull << 52) - 1) : value & 0xFFFFFFFF;
      tlb_.flush(true);
      return true;
    case 4:
      if (value & ~cr4::kSupported) return fault(kGp, 0);
      if (long_mode() && !(value & cr4::kPae)) return fault(kGp, 0);
      cr4 = value;
      tlb_.flush();
      update_debug();  // CR4.DE arms I/O breakpoints
      return true;
    case 8:
      if (value > 15) return fault(kGp, 0);
      cr8 = value;
      return true;
    default:
      return fault(kUd);
  }
}

uint64_t Cpu::host_now_ns() {
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
}

uint64_t Cpu::read_tsc() const {
  return host_now_ns() + tsc_offset;
}

CpuidResult Cpu::cpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidResult r = cpu::cpuid(leaf, subleaf, 0);
  uint32_t regs[4] = {r.eax, r.ebx, r.ecx, r.edx};
  bus_->adjust_cpuid(leaf, subleaf, regs);
  return CpuidResult{regs[0], regs[1], regs[2], regs[3]};
}

bool Cpu::read_msr(uint32_t index, uint64_t* value) {
  switch (bus_->msr_read(index, value)) {
    case CpuBus::MsrAccess::kDone:
      return true;
    case CpuBus::MsrAccess::kFault:
      return fault(kGp, 0);
    case CpuBus::MsrAccess::kUnhandled:
      break;
  }
  switch (index) {
    case msr::kTsc:
      *value = read_tsc();
      return true;
    case msr::kApicBase:
      *value = apic_base;
      return true;
    case msr::kMtrrCap:
    case msr::kBiosSignId:
      *value = 0;
      return true;
    case msr::kSpecCtrl:
      *value = spec_ctrl;
      return true;
    case msr::kArchCapabilities:
      *value = kArchCapabilities;
      return true;
    case msr::kSysenterCs:
      *value = sysenter_cs;
      return true;
    case msr::kSysenterEsp:
      *value = sysenter_esp;
      return true;
    case msr::kSysenterEip:
      *value = sysenter_eip;
      return true;
    case msr::kMiscEnable:
      *value = misc_enable;
      return true;
    case msr::kPat:
      *value = pat;
      return true;
    case msr::kMtrrDefType:
      *value = mtrr_def_type;
      return true;
    case msr::kEfer:
      *value = efer;
      return true;
    case msr::kStar:
      *value = star;
      return true;
    case msr::kLstar:
      *value = lstar;
      return true;
    case msr::kCstar:
      *value = cstar;
      return true;
    case msr::kSfmask:
      *value = sfmask;
      return true;
    case msr::kFsBase:
      *value = seg[kFs].base;
      return true;
    case msr::kGsBase:
      *value = seg[kGs].base;
      return true;
    case msr::kKernelGsBase:
      *value = kernel_gs_base;
      return true;
    case msr::kTscAux:
      *value = tsc_aux;
      return true;
    default:
      return fault(kGp, 0);
  }
}

bool Cpu::write_msr(uint32_t index, uint64_t value) {
  auto canonical = [](uint64_t a) {
    return static_cast<uint64_t>(static_cast<int64_t>(a << 16) >> 16) == a;
  };
  switch (bus_->msr_write(index, value)) {
    case CpuBus::MsrAccess::kDone:
      return true;
    case CpuBus::MsrAccess::kFault:
      return fault(kGp, 0);
    case CpuBus::MsrAccess::kUnhandled:
      break;
  }
  switch (index) {
    case msr::kTsc: {
      uint64_t now = host_now_ns();  // one reading, for the CPU and the bus alike
      tsc_offset = value - now;
      bus_->tsc_offset_changed(tsc_offset, now);
      return true;
    }
    case msr::kApicBase:
      if (value & ~0xFFFFFFFFFD00ull) return fault(kGp, 0);
      apic_base = value;
      return true;
    case msr::kSysenterCs:
      sysenter_cs = value & 0xFFFF;
      return true;
    case msr::kSysenterEsp:
      if (!canonical(value)) return fault(kGp, 0);
      sysenter_esp = value;
      return true;
    case msr::kSysenterEip:
      if (!canonical(value)) return fault(kGp, 0);
      sysenter_eip = value;
      return true;
    case msr::kMiscEnable:
      misc_enable = value;
      return true;
    case msr::kPat:
      pat = value;
      return true;
    case msr::kMtrrDefType:
      mtrr_def_type = value & 0xCFF;
      return true;
    case msr::kBiosSignId:
      return true;  // the microcode-update trigger: there is no microcode
    case msr::kEfer: {
      if (value & ~(efer::kWritable | efer::kLma)) return fault(kGp, 0);
      // LME may change only while paging is off; LMA is read-only.
      uint64_t lma = efer & efer::kLma;
      if ((cr0 & cr0::kPg) && ((value ^ efer) & efer::kLme)) return fault(kGp, 0);
      efer = (value & efer::kWritable) | lma;
      tlb_.flush();
      return true;
    }
    case msr::kStar:
      star = value;
      return true;
    case msr::kLstar:
    case msr::kCstar:
      if (!canonical(value)) return fault(kGp, 0);
      (index == msr::kLstar ? lstar : cstar) = value;
      return true;
    case msr::kSfmask:
      sfmask = value & 0xFFFFFFFF;
      return true;
    case msr::kFsBase:
    case msr::kGsBase:
    case msr::kKernelGsBase:
      if (!canonical(value)) return fault(kGp, 0);
      if (index == msr::kFsBase)
        seg[kFs].base = value;
      else if (index == msr::kGsBase)
        seg[kGs].base = value;
      else
        kernel_gs_base = value;
      return true;
    case msr::kTscAux:
      tsc_aux = value & 0xFFFFFFFF;
      return true;
    case msr::kSpecCtrl:
      if (value & ~kSpecCtrlWritable) return fault(kGp, 0);
      spec_ctrl = value;
      return true;
    case msr::kPredCmd:
      // IBPB: there are no predictions to flush.
      if (value & ~1ull) return fault(kGp, 0);
      return true;
    default:
      return fault(kGp, 0);
  }
}

}  // namespace vessel::cpu

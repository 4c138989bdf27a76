// KvmVcpu's CpuState round trip: registers, segments, control registers,
// XSAVE and XCR0, MSRs, LAPIC, pending events, MP state and debug registers.
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>

#include "accel/kvm/kvm_abi.h"
#include "accel/kvm/kvm_msrs.h"
#include "accel/kvm/kvm_state.h"
#include "accel/kvm/kvm_vcpu.h"
#include "base/log.h"

namespace vessel::kvm {
namespace {

using MsrBuffer = abi::FlexBuffer<abi::MsrsHeader, kvm_msr_entry>;

}  // namespace

Status KvmVcpu::probe_msrs(std::span<const uint32_t> index_list) {
  std::vector<uint32_t> msrs = select_saved_msrs(index_list);
  // KVM_GET_MSRS stops at the first MSR it cannot read; drop that one and
  // try again, so state() never fails on an MSR KVM lists but refuses.
  while (!msrs.empty()) {
    MsrBuffer buf(msrs.size());
    buf.header()->nmsrs = static_cast<uint32_t>(msrs.size());
    for (size_t i = 0; i < msrs.size(); ++i) buf.items()[i].index = msrs[i];
    int n = ::ioctl(fd_.get(), abi::kGetMsrs, buf.header());
    if (n < 0) return errno_error(fmt::format("KVM_GET_MSRS on vCPU {}", id_));
    if (static_cast<size_t>(n) >= msrs.size()) break;
    log_debug("vCPU {}: KVM cannot read MSR {:#x}; not saving it", id_, msrs[n]);
    msrs.erase(msrs.begin() + n);
  }
  saved_msrs_ = std::move(msrs);
  return ok_status();
}

Expected<std::vector<MsrEntry>> KvmVcpu::get_msrs() {
  MsrBuffer buf(saved_msrs_.size());
  buf.header()->nmsrs = static_cast<uint32_t>(saved_msrs_.size());
  for (size_t i = 0; i < saved_msrs_.size(); ++i) buf.items()[i].index = saved_msrs_[i];
  int n = ::ioctl(fd_.get(), abi::kGetMsrs, buf.header());
  if (n < 0) return errno_error(fmt::format("KVM_GET_MSRS on vCPU {}", id_));
  if (static_cast<size_t>(n) != saved_msrs_.size()) {
    return make_error("KVM_GET_MSRS on vCPU {}: cannot read MSR {:#x}", id_, saved_msrs_[n]);
  }
  std::vector<MsrEntry> out(saved_msrs_.size());
  for (size_t i = 0; i < saved_msrs_.size(); ++i) out[i] = {saved_msrs_[i], buf.items()[i].data};
  return out;
}

Status KvmVcpu::set_msrs(std::span<const MsrEntry> msrs) {
  if (msrs.empty()) return ok_status();
  MsrBuffer buf(msrs.size());
  buf.header()->nmsrs = static_cast<uint32_t>(msrs.size());
  for (size_t i = 0; i < msrs.size(); ++i) {
    buf.items()[i].index = msrs[i].index;
    buf.items()[i].data = msrs[i].value;
  }
  int n = ::ioctl(fd_.get(), abi::kSetMsrs, buf.header());
  if (n < 0) return errno_error(fmt::format("KVM_SET_MSRS on vCPU {}", id_));
  if (static_cast<size_t>(n) != msrs.size()) {
    return make_error("KVM_SET_MSRS on vCPU {}: KVM refused MSR {:#x} = {:#x}", id_, msrs[n].index,
                      msrs[n].value);
  }
  return ok_status();
}

Expected<CpuState> KvmVcpu::state() {
  CpuState s;
  auto fail = [this](const char* what) {
    return errno_error(fmt::format("{} on vCPU {}", what, id_));
  };

  kvm_regs regs{};
  if (::ioctl(fd_.get(), KVM_GET_REGS, &regs) < 0) return fail("KVM_GET_REGS");
  regs_from_kvm(regs, s);

  kvm_sregs sregs{};
  if (::ioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) return fail("KVM_GET_SREGS");
  sregs_from_kvm(sregs, s);

  abi::Xsave xsave{};
  static_assert(sizeof(xsave.region) == sizeof(s.xsave));
  if (::ioctl(fd_.get(), abi::kGetXsave, &xsave) < 0) return fail("KVM_GET_XSAVE");
  std::memcpy(s.xsave.data(), xsave.region, sizeof(s.xsave));

  kvm_xcrs xcrs{};
  if (::ioctl(fd_.get(), KVM_GET_XCRS, &xcrs) < 0) return fail("KVM_GET_XCRS");
  for (uint32_t i = 0; i < std::min<uint32_t>(xcrs.nr_xcrs, KVM_MAX_XCRS); ++i) {
    if (xcrs.xcrs[i].xcr == 0) s.xcr0 = xcrs.xcrs[i].value;
  }

  VESSEL_ASSIGN(s.msrs, get_msrs());

  kvm_lapic_state lapic{};
  static_assert(sizeof(lapic.regs) == sizeof(s.lapic));
  if (::ioctl(fd_.get(), KVM_GET_LAPIC, &lapic) < 0) return fail("KVM_GET_LAPIC");
  std::memcpy(s.lapic.data(), lapic.regs, sizeof(s.lapic));

  kvm_vcpu_events events{};
  if (::ioctl(fd_.get(), KVM_GET_VCPU_EVENTS, &events) < 0) return fail("KVM_GET_VCPU_EVENTS");
  s.events = events_from_kvm(events);

  kvm_mp_state mp{};
  if (::ioctl(fd_.get(), KVM_GET_MP_STATE, &mp) < 0) return fail("KVM_GET_MP_STATE");
  VESSEL_ASSIGN(s.mp_state, mp_state_from_kvm(mp.mp_state));

  kvm_debugregs dbg{};
  if (::ioctl(fd_.get(), KVM_GET_DEBUGREGS, &dbg) < 0) return fail("KVM_GET_DEBUGREGS");
  debugregs_from_kvm(dbg, s);
  return s;
}

Status KvmVcpu::set_state(const CpuState& s) {
  auto fail = [this](const char* what) {
    return errno_error(fmt::format("{} on vCPU {}", what, id_));
  };

  kvm_regs regs = regs_to_kvm(s);
  if (::ioctl(fd_.get(), KVM_SET_REGS, &regs) < 0) return fail("KVM_SET_REGS");

  abi::Xsave xsave{};
  std::memcpy(xsave.region, s.xsave.data(), sizeof(s.xsave));
  if (::ioctl(fd_.get(), abi::kSetXsave, &xsave) < 0) return fail("KVM_SET_XSAVE");

  kvm_xcrs xcrs{};
  xcrs.nr_xcrs = 1;
  xcrs.xcrs[0].xcr = 0;
  xcrs.xcrs[0].value = s.xcr0;
  if (::ioctl(fd_.get(), KVM_SET_XCRS, &xcrs) < 0) return fail("KVM_SET_XCRS");

  kvm_sregs sregs = sregs_to_kvm(s);
  if (::ioctl(fd_.get(), KVM_SET_SREGS, &sregs) < 0) return fail("KVM_SET_SREGS");

  // MSRs this KVM does not save (a state from the other accelerator may
  // carry some) are skipped. The TSC deadline goes in after the LAPIC: KVM
  // ignores it unless the LAPIC timer is in TSC-deadline mode.
  std::vector<MsrEntry> msrs;
  std::vector<MsrEntry> late_msrs;
  for (const MsrEntry& m : s.msrs) {
    if (std::find(saved_msrs_.begin(), saved_msrs_.end(), m.index) == saved_msrs_.end()) {
      log_debug("vCPU {}: not restoring MSR {:#x} (KVM does not save it)", id_, m.index);
      continue;
    }
    (m.index == kMsrTscDeadline ? late_msrs : msrs).push_back(m);
  }
  VESSEL_TRY(set_msrs(msrs));

  kvm_lapic_state lapic{};
  std::memcpy(lapic.regs, s.lapic.data(), sizeof(s.lapic));
  if (::ioctl(fd_.get(), KVM_SET_LAPIC, &lapic) < 0) return fail("KVM_SET_LAPIC");
  VESSEL_TRY(set_msrs(late_msrs));

  kvm_mp_state mp{};
  mp.mp_state = mp_state_to_kvm(s.mp_state);
  if (::ioctl(fd_.get(), KVM_SET_MP_STATE, &mp) < 0) return fail("KVM_SET_MP_STATE");

  kvm_vcpu_events events = events_to_kvm(s.events);
  if (::ioctl(fd_.get(), KVM_SET_VCPU_EVENTS, &events) < 0) return fail("KVM_SET_VCPU_EVENTS");

  kvm_debugregs dbg = debugregs_to_kvm(s);
  if (::ioctl(fd_.get(), KVM_SET_DEBUGREGS, &dbg) < 0) return fail("KVM_SET_DEBUGREGS");
  return ok_status();
}

}  // namespace vessel::kvm

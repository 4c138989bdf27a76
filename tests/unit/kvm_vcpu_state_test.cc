// KvmVcpu::state() / set_state() against real KVM: a distinctive state goes
// in and comes back equal. Skipped without /dev/kvm.
#include <gtest/gtest.h>

#include <algorithm>

#include "accel/kvm/kvm_msrs.h"
#include "kvm_test_vm.h"

namespace vessel {
namespace {

constexpr uint64_t kEntry = 0x1000;
constexpr uint32_t kMsrLstar = 0xC0000082;
constexpr uint32_t kMsrKernelGsBase = 0xC0000102;
constexpr uint32_t kMsrSysenterEip = 0x176;
constexpr uint32_t kLapicPpr = 0xA0;  // processor priority: derived from the TPR
constexpr uint32_t kLapicTimerCurrentCount = 0x390;

MsrEntry* find_msr(CpuState& s, uint32_t index) {
  auto it = std::find_if(s.msrs.begin(), s.msrs.end(),
                         [&](const MsrEntry& m) { return m.index == index; });
  return it == s.msrs.end() ? nullptr : &*it;
}

TEST(KvmVcpuState, RoundTripOfADistinctiveState) {
  const uint8_t code[] = {0xEB, 0xFE};
  VESSEL_KVM_TEST_VM(vm, code, kEntry);
  auto initial = vm->vcpu->state();
  ASSERT_TRUE(initial.ok()) << initial.error().message;
  CpuState s = *initial;

  // The MSRs KVM saves include the SYSCALL family and the TSC.
  ASSERT_NE(find_msr(s, kMsrLstar), nullptr);
  ASSERT_NE(find_msr(s, kMsrKernelGsBase), nullptr);
  ASSERT_NE(find_msr(s, kvm::kMsrTsc), nullptr);
  EXPECT_TRUE(std::is_sorted(s.msrs.begin(), s.msrs.end(),
                             [](auto& a, auto& b) { return a.index < b.index; }));

  for (int i = 0; i < 16; ++i) s.gpr[i] = 0x1111'0000'0000'0000ull * (i % 15 + 1) + i;
  s.rip = 0x1234;
  s.rflags = kRflagsFixed | 0x1 | 0x40 | 0x800;  // CF, ZF, OF
  s.fs.base = 0x1234'5000;
  s.fs.selector = 0x1234;
  s.fs.limit = 0xFFFF;
  s.gs.base = 0xFFFF'8880'0000'0000;
  s.cr2 = 0xDEAD'B000;
  s.gdt = {0x500, 0x27};
  s.idt = {0x520, 0x3FF};
  s.dr = {0x1000, 0x2000, 0x3000, 0x4000};
  s.xcr0 = 0x3;  // x87 | SSE
  // XMM0 = a pattern (FXSAVE area offset 160), with SSE state in use.
  for (int i = 0; i < 16; ++i) s.xsave[160 + i] = static_cast<uint8_t>(0xA0 + i);
  s.xsave[512] |= 0x2;  // XSTATE_BV.SSE
  find_msr(s, kMsrLstar)->value = 0xFFFF'FFFF'8100'0000;
  find_msr(s, kMsrKernelGsBase)->value = 0xFFFF'8880'1234'0000;
  if (MsrEntry* m = find_msr(s, kMsrSysenterEip)) m->value = 0xC0DE;
  s.events.nmi_masked = true;
  s.lapic[0x80] = 0x20;  // TPR

  Status set = vm->vcpu->set_state(s);
  ASSERT_TRUE(set.ok()) << set.error().message;
  auto back = vm->vcpu->state();
  ASSERT_TRUE(back.ok()) << back.error().message;

  EXPECT_EQ(back->gpr, s.gpr);
  EXPECT_EQ(back->rip, s.rip);
  EXPECT_EQ(back->rflags, s.rflags);
  EXPECT_EQ(back->cs, s.cs);
  EXPECT_EQ(back->ds, s.ds);
  EXPECT_EQ(back->fs, s.fs);
  EXPECT_EQ(back->gs, s.gs);
  EXPECT_EQ(back->ss, s.ss);
  EXPECT_EQ(back->tr, s.tr);
  EXPECT_EQ(back->ldt, s.ldt);
  EXPECT_EQ(back->gdt, s.gdt);
  EXPECT_EQ(back->idt, s.idt);
  EXPECT_EQ(back->cr0, s.cr0);
  EXPECT_EQ(back->cr2, s.cr2);
  EXPECT_EQ(back->cr3, s.cr3);
  EXPECT_EQ(back->cr4, s.cr4);
  EXPECT_EQ(back->efer, s.efer);
  EXPECT_EQ(back->apic_base, s.apic_base);
  EXPECT_EQ(back->xcr0, 0x3u);
  EXPECT_EQ(back->dr, s.dr);
  EXPECT_EQ(back->dr6, s.dr6);
  EXPECT_EQ(back->dr7, s.dr7);
  EXPECT_EQ(back->events, s.events);
  EXPECT_EQ(back->mp_state, s.mp_state);
  EXPECT_TRUE(
      std::equal(back->xsave.begin() + 160, back->xsave.begin() + 176, s.xsave.begin() + 160));
  EXPECT_EQ(back->xsave, s.xsave);
  EXPECT_EQ(back->lapic[0x80], 0x20);
  EXPECT_EQ(back->lapic[kLapicPpr], 0x20);
  // The LAPIC page equals apart from the PPR and the running timer count.
  for (size_t i = 0; i < s.lapic.size(); ++i) {
    if (i / 4 == kLapicTimerCurrentCount / 4 || i / 4 == kLapicPpr / 4) continue;
    EXPECT_EQ(back->lapic[i], s.lapic[i]) << "LAPIC byte " << i;
  }
  // Every MSR comes back, the TSC moved on by no more than it could have.
  ASSERT_EQ(back->msrs.size(), s.msrs.size());
  for (size_t i = 0; i < s.msrs.size(); ++i) {
    SCOPED_TRACE(s.msrs[i].index);
    EXPECT_EQ(back->msrs[i].index, s.msrs[i].index);
    if (s.msrs[i].index == kvm::kMsrTsc) {
      EXPECT_GE(back->msrs[i].value, s.msrs[i].value);
    } else {
      EXPECT_EQ(back->msrs[i].value, s.msrs[i].value);
    }
  }
  EXPECT_EQ(find_msr(*back, kMsrLstar)->value, 0xFFFF'FFFF'8100'0000u);
}

TEST(KvmVcpuState, StateSurvivesRunning) {
  // mov ax, 0x1234 ; mov ss, ax (sets an interrupt shadow) ; out 0x80, al ; jmp $
  const uint8_t code[] = {0xB8, 0x34, 0x12, 0x8E, 0xD0, 0xE6, 0x80, 0xEB, 0xFE};
  VESSEL_KVM_TEST_VM(vm, code, kEntry);
  Vcpu* vcpu = vm->vcpu.get();
  vm->io.on_write = [&](bool, uint64_t, std::span<const uint8_t>) { vcpu->kick(); };
  auto exit = vm->vcpu->run();
  ASSERT_TRUE(exit.ok());
  ASSERT_EQ(exit->kind, VcpuExit::Kind::kInterrupted);
  auto st = vm->vcpu->state();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->rip, kEntry + 7);
  EXPECT_EQ(st->ss.selector, 0x1234);
  EXPECT_EQ(st->ss.base, 0x12340u);  // real mode: base = selector * 16
  // A second vCPU-state round trip of a state KVM produced is lossless.
  ASSERT_TRUE(vm->vcpu->set_state(*st).ok());
  auto again = vm->vcpu->state();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ss, st->ss);
  EXPECT_EQ(again->rip, st->rip);
  EXPECT_EQ(again->gpr, st->gpr);
}

TEST(KvmVcpuState, RejectsAStateKvmCannotTake) {
  const uint8_t code[] = {0xEB, 0xFE};
  VESSEL_KVM_TEST_VM(vm, code, kEntry);
  auto st = vm->vcpu->state();
  ASSERT_TRUE(st.ok());
  st->xcr0 = 0x2;  // SSE without x87 is architecturally invalid
  Status set = vm->vcpu->set_state(*st);
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.error().message.find("KVM_SET_XCRS"), std::string::npos) << set.error().message;
}

}  // namespace
}  // namespace vessel

// Pure parts of the KVM backend, no /dev/kvm needed: CpuState <-> KVM
// structure conversions, the CPUID table, MSR selection.
#include <asm/kvm_para.h>
#include <gtest/gtest.h>

#include <cstring>

#include "accel/kvm/kvm_cpuid.h"
#include "accel/kvm/kvm_msrs.h"
#include "accel/kvm/kvm_state.h"

namespace vessel::kvm {
namespace {

Segment distinctive_segment(uint64_t seed) {
  Segment s;
  s.base = 0x1234'5678'9000 + seed;
  s.limit = 0xFFFFF000u + static_cast<uint32_t>(seed);
  s.selector = static_cast<uint16_t>(0x10 + seed);
  s.type = 0xB;
  s.s = 1;
  s.dpl = 3;
  s.present = 1;
  s.avl = 1;
  s.l = 1;
  s.db = 0;
  s.g = 1;
  s.unusable = 0;
  return s;
}

TEST(KvmState, SegmentRoundTripKeepsEveryField) {
  Segment s = distinctive_segment(3);
  kvm_segment k = to_kvm(s);
  EXPECT_EQ(k.base, s.base);
  EXPECT_EQ(k.limit, 0xFFFFF003u);  // byte granular in both: no rescaling
  EXPECT_EQ(k.selector, 0x13);
  EXPECT_EQ(k.type, 0xB);
  EXPECT_EQ(k.dpl, 3);
  EXPECT_EQ(k.l, 1);
  EXPECT_EQ(k.g, 1);
  EXPECT_EQ(k.avl, 1);
  EXPECT_EQ(from_kvm(k), s);

  Segment unusable;
  unusable.unusable = 1;
  EXPECT_EQ(from_kvm(to_kvm(unusable)), unusable);
}

TEST(KvmState, RegsMapEachGprToItsKvmField) {
  CpuState s;
  for (int i = 0; i < 16; ++i) s.gpr[i] = 0x1000 + i;
  s.rip = 0xFFFF'8000'0000'1234;
  s.rflags = 0x246;
  kvm_regs r = regs_to_kvm(s);
  EXPECT_EQ(r.rax, 0x1000u + kRax);
  EXPECT_EQ(r.rcx, 0x1000u + kRcx);
  EXPECT_EQ(r.rdx, 0x1000u + kRdx);
  EXPECT_EQ(r.rbx, 0x1000u + kRbx);
  EXPECT_EQ(r.rsp, 0x1000u + kRsp);
  EXPECT_EQ(r.rbp, 0x1000u + kRbp);
  EXPECT_EQ(r.rsi, 0x1000u + kRsi);
  EXPECT_EQ(r.rdi, 0x1000u + kRdi);
  EXPECT_EQ(r.r8, 0x1000u + kR8);
  EXPECT_EQ(r.r15, 0x1000u + kR15);
  EXPECT_EQ(r.rip, s.rip);
  EXPECT_EQ(r.rflags, 0x246u);
  CpuState back;
  regs_from_kvm(r, back);
  EXPECT_EQ(back.gpr, s.gpr);
  EXPECT_EQ(back.rip, s.rip);
  EXPECT_EQ(back.rflags, s.rflags);
}

TEST(KvmState, SregsRoundTrip) {
  CpuState s;
  s.cs = distinctive_segment(1);
  s.ds = distinctive_segment(2);
  s.es = distinctive_segment(3);
  s.fs = distinctive_segment(4);
  s.gs = distinctive_segment(5);
  s.ss = distinctive_segment(6);
  s.tr = distinctive_segment(7);
  s.ldt = distinctive_segment(8);
  s.gdt = {0x500, 0x27};
  s.idt = {0x520, 0xFFF};
  s.cr0 = kCr0Pe | kCr0Pg;
  s.cr2 = 0xDEAD'B000;
  s.cr3 = 0x9000;
  s.cr4 = kCr4Pae;
  s.cr8 = 5;
  s.efer = kEferLme | kEferLma;
  s.apic_base = 0xFEE0'0900;
  kvm_sregs r = sregs_to_kvm(s);
  EXPECT_EQ(r.gdt.base, 0x500u);
  EXPECT_EQ(r.idt.limit, 0xFFF);
  EXPECT_EQ(r.tr.selector, 0x17);
  for (uint64_t word : r.interrupt_bitmap) EXPECT_EQ(word, 0u);
  CpuState back;
  sregs_from_kvm(r, back);
  EXPECT_EQ(back.cs, s.cs);
  EXPECT_EQ(back.ldt, s.ldt);
  EXPECT_EQ(back.tr, s.tr);
  EXPECT_EQ(back.gdt, s.gdt);
  EXPECT_EQ(back.idt, s.idt);
  EXPECT_EQ(back.cr2, s.cr2);
  EXPECT_EQ(back.cr8, 5u);
  EXPECT_EQ(back.efer, s.efer);
  EXPECT_EQ(back.apic_base, s.apic_base);
}

TEST(KvmState, DebugRegsRoundTrip) {
  CpuState s;
  s.dr = {1, 2, 3, 4};
  s.dr6 = 0xFFFF0FF1;
  s.dr7 = 0x401;
  kvm_debugregs r = debugregs_to_kvm(s);
  EXPECT_EQ(r.db[2], 3u);
  EXPECT_EQ(r.flags, 0u);
  CpuState back;
  debugregs_from_kvm(r, back);
  EXPECT_EQ(back.dr, s.dr);
  EXPECT_EQ(back.dr6, s.dr6);
  EXPECT_EQ(back.dr7, s.dr7);
}

TEST(KvmState, EventsRoundTrip) {
  PendingEvents e;
  e.exception_pending = true;
  e.exception_vector = 14;
  e.exception_has_error_code = true;
  e.exception_error_code = 0x6;
  e.interrupt_pending = true;
  e.interrupt_vector = 0x30;
  e.nmi_pending = true;
  e.nmi_masked = true;
  e.interrupt_shadow = true;
  kvm_vcpu_events k = events_to_kvm(e);
  EXPECT_EQ(k.exception.injected, 1);
  EXPECT_EQ(k.exception.nr, 14);
  EXPECT_EQ(k.interrupt.nr, 0x30);
  EXPECT_EQ(k.interrupt.soft, 0);
  EXPECT_EQ(k.interrupt.shadow, KVM_X86_SHADOW_INT_STI);
  EXPECT_TRUE(k.flags & KVM_VCPUEVENT_VALID_NMI_PENDING);
  EXPECT_TRUE(k.flags & KVM_VCPUEVENT_VALID_SHADOW);
  EXPECT_FALSE(k.flags & KVM_VCPUEVENT_VALID_SIPI_VECTOR);
  EXPECT_EQ(events_from_kvm(k), e);

  EXPECT_EQ(events_from_kvm(events_to_kvm(PendingEvents{})), PendingEvents{});
}

TEST(KvmState, EventsFromKvmFoldsVariants) {
  kvm_vcpu_events k{};
  k.interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS;
  k.nmi.injected = 1;
  k.exception.nr = 13;  // stale vector with nothing pending
  PendingEvents e = events_from_kvm(k);
  EXPECT_TRUE(e.interrupt_shadow);
  EXPECT_TRUE(e.nmi_pending);
  EXPECT_FALSE(e.exception_pending);
  EXPECT_EQ(e.exception_vector, 0);
}

TEST(KvmState, MpStateMapping) {
  for (MpState m : {MpState::kRunnable, MpState::kUninitialized, MpState::kInitReceived,
                    MpState::kHalted, MpState::kSipiReceived}) {
    auto back = mp_state_from_kvm(mp_state_to_kvm(m));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, m);
  }
  EXPECT_EQ(mp_state_to_kvm(MpState::kHalted), uint32_t{KVM_MP_STATE_HALTED});
  auto bad = mp_state_from_kvm(KVM_MP_STATE_CHECK_STOP);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("multiprocessing state"), std::string::npos);
}

kvm_cpuid_entry2 entry(uint32_t fn, uint32_t idx, uint32_t eax, uint32_t ebx, uint32_t ecx,
                       uint32_t edx, uint32_t flags = 0) {
  kvm_cpuid_entry2 e{};
  e.function = fn;
  e.index = idx;
  e.flags = flags;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

TEST(KvmCpuid, SetsHypervisorBitApicIdsAndKvmLeaves) {
  std::vector<kvm_cpuid_entry2> supported = {
      entry(0, 0, 0xB, 0x68747541, 0x444d4163, 0x69746e65),
      entry(1, 0, 0xa00f11, 0xAB020800, 0x00202000, 0x078bfbff),
      entry(0xB, 0, 1, 1, 0x100, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX),
      entry(0xB, 1, 4, 4, 0x201, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX),
      entry(0x40000000, 0, 0x40000001, 1, 2, 3),
      entry(0x40000001, 0, 0x01007efb, 0, 0, 0),
  };
  std::vector<kvm_cpuid_entry2> out = make_guest_cpuid(supported, 5);

  const kvm_cpuid_entry2* leaf1 = find_cpuid(out, 1);
  ASSERT_NE(leaf1, nullptr);
  EXPECT_TRUE(leaf1->ecx & (1u << 31));
  EXPECT_TRUE(leaf1->ecx & (1u << 21));  // other bits kept
  EXPECT_EQ(leaf1->ebx >> 24, 5u);       // initial APIC ID
  EXPECT_EQ(leaf1->ebx & 0xFFFFFF, 0x020800u);
  EXPECT_EQ(find_cpuid(out, 0xB, 0)->edx, 5u);
  EXPECT_EQ(find_cpuid(out, 0xB, 1)->edx, 5u);
  EXPECT_EQ(find_cpuid(out, 0xB, 1)->ecx, 0x201u);

  const kvm_cpuid_entry2* sig = find_cpuid(out, 0x40000000);
  ASSERT_NE(sig, nullptr);
  EXPECT_EQ(sig->eax, 0x40000001u);
  char text[13] = {};
  std::memcpy(text, &sig->ebx, 4);
  std::memcpy(text + 4, &sig->ecx, 4);
  std::memcpy(text + 8, &sig->edx, 4);
  EXPECT_STREQ(text, "KVMKVMKVM");
  EXPECT_EQ(text[9], '\0');

  // Exactly one of each paravirt leaf.
  int count = 0;
  for (const auto& e : out) count += (e.function & 0xFFFFFF00u) == 0x40000000u;
  EXPECT_EQ(count, 2);

  const kvm_cpuid_entry2* features = find_cpuid(out, 0x40000001);
  ASSERT_NE(features, nullptr);
  uint32_t f = features->eax;
  EXPECT_TRUE(f & (1u << KVM_FEATURE_CLOCKSOURCE));
  EXPECT_TRUE(f & (1u << KVM_FEATURE_CLOCKSOURCE2));
  EXPECT_TRUE(f & (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT));
  EXPECT_FALSE(f & (1u << KVM_FEATURE_ASYNC_PF));  // KVM has it, Vessel does not ask for it
  EXPECT_EQ(f & ~wanted_kvm_pv_features(), 0u);
}

TEST(KvmCpuid, PvFeaturesAreIntersectedWithKvms) {
  std::vector<kvm_cpuid_entry2> supported = {
      entry(1, 0, 0, 0, 0, 0),
      entry(0x40000001, 0, (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_PV_EOI), 0, 0, 0),
  };
  auto out = make_guest_cpuid(supported, 0);
  EXPECT_EQ(find_cpuid(out, 0x40000001)->eax,
            (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_PV_EOI));
  // Without a KVM leaf: just kvmclock.
  auto bare = make_guest_cpuid(std::span(supported).first(1), 0);
  EXPECT_EQ(find_cpuid(bare, 0x40000001)->eax, base_kvm_pv_features());
}

TEST(KvmMsrs, SelectsOnlyWantedMsrsKvmLists) {
  std::vector<uint32_t> kvm_list = {0xC0000082, 0x10, 0x1D9, 0x4b564d01, 0xC0000081, 0x12345678};
  std::vector<uint32_t> got = select_saved_msrs(kvm_list);
  EXPECT_EQ(got, (std::vector<uint32_t>{0x10, 0x4b564d01, 0xC0000081, 0xC0000082}));
  auto wanted = wanted_msrs();
  for (size_t i = 1; i < wanted.size(); ++i) EXPECT_LT(wanted[i - 1], wanted[i]);
  EXPECT_TRUE(select_saved_msrs({}).empty());
}

}  // namespace
}  // namespace vessel::kvm

// The soft accelerator's vCPU: CpuState round trip, rejected state, running a
// guest through the IoHandler, HLT exits, kick, and the interrupt-wait path.
#include <gtest/gtest.h>

#include <thread>

#include "accel/soft/soft_accelerator.h"
#include "bus/io_bus.h"
#include "cpu/fpu_image.h"
#include "fake_time_source.h"

namespace vessel {
namespace {

class RecordingIo : public IoHandler {
 public:
  void pio_read(uint16_t, std::span<uint8_t> data) override {
    for (auto& b : data) b = 0xAB;
  }
  void pio_write(uint16_t port, std::span<const uint8_t> data) override {
    last_port = port;
    last_byte = data[0];
  }
  void mmio_read(uint64_t, std::span<uint8_t> data) override {
    for (auto& b : data) b = 0;
  }
  void mmio_write(uint64_t, std::span<const uint8_t>) override {}
  uint16_t last_port = 0;
  uint8_t last_byte = 0;
};

Segment seg(uint16_t sel, uint64_t base, uint8_t type, uint8_t dpl, bool l, bool db) {
  Segment s;
  s.selector = sel;
  s.base = base;
  s.limit = 0xFFFFFFFF;
  s.type = type;
  s.s = 1;
  s.dpl = dpl;
  s.present = 1;
  s.l = l;
  s.db = db;
  s.g = 1;
  return s;
}

class SoftVcpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = GuestMemory::create(4 << 20);
    ASSERT_TRUE(m.ok());
    memory = std::move(*m);
    ASSERT_TRUE(accel.map_memory(*memory).ok());
    auto v = accel.create_vcpu(0, io);
    ASSERT_TRUE(v.ok());
    vcpu = std::move(*v);
  }
  std::unique_ptr<GuestMemory> memory;
  RecordingIo io;
  SoftAccelerator accel;
  std::unique_ptr<Vcpu> vcpu;
};

TEST_F(SoftVcpuTest, ResetStateIsRealModeAtTheResetVector) {
  auto s = vcpu->state();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->cs.selector, 0xF000);
  EXPECT_EQ(s->cs.base, 0xFFFF0000u);
  EXPECT_EQ(s->rip, 0xFFF0u);
  EXPECT_EQ(s->cr0 & kCr0Pe, 0u);
}

TEST_F(SoftVcpuTest, StateRoundTrip) {
  CpuState s;
  for (int i = 0; i < 16; ++i) s.gpr[i] = 0x1111111111111111ull * (i + 1);
  s.rip = 0xFFFFFFFF81000000ull;
  s.rflags = kRflagsFixed | kRflagsIf | 0x8D5;  // CF PF AF ZF SF OF
  s.cs = seg(0x10, 0, 0xB, 0, true, false);
  s.ss = seg(0x18, 0, 0x3, 0, false, true);
  s.ds = seg(0x18, 0x1000, 0x3, 0, false, true);
  s.es = seg(0x18, 0x2000, 0x3, 0, false, true);
  s.fs = seg(0, 0x7FFF00001000ull, 0x3, 0, false, true);
  s.gs = seg(0, 0xFFFF888000000000ull, 0x3, 0, false, true);
  s.fs.unusable = 1;
  s.tr = seg(0x40, 0xFFFFFE0000001000ull, 0xB, 0, false, false);
  s.tr.s = 0;
  s.tr.limit = 0x67;
  s.tr.g = 0;
  s.ldt = seg(0, 0, 0x2, 0, false, false);
  s.ldt.s = 0;
  s.ldt.unusable = 1;
  s.gdt = {0xFFFFFE0000000000ull, 0x7F};
  s.idt = {0xFFFFFE0000002000ull, 0xFFF};
  s.cr0 = kCr0Pe | kCr0Pg | kCr0Et | kCr0Wp | kCr0Ne;
  s.cr2 = 0xDEADBEEF000ull;
  s.cr3 = 0x1234000;
  s.cr4 = kCr4Pae;
  s.cr8 = 5;
  s.efer = kEferLme | kEferLma | kEferSce | kEferNxe;
  s.apic_base = 0xFEE00900;
  s.dr = {1, 2, 3, 4};
  s.dr6 = 0xFFFF0FF1;
  s.dr7 = 0x401;
  s.msrs = {{0x48, 1},  // SPEC_CTRL.IBRS
            {0x174, 0x10},
            {0x175, 0xFFFF0000},
            {0x176, 0xFFFF1000},
            {0x1A0, 1},
            {0x277, 0x0007040600070406},
            {0x2FF, 0xC06},
            {0xC0000081, 0x0023001000000000ull},
            {0xC0000082, 0xFFFFFFFF81800000ull},
            {0xC0000083, 0xFFFFFFFF81800100ull},
            {0xC0000084, 0x47700},
            {0xC0000102, 0xFFFF888000010000ull},
            {0xC0000103, 7}};
  s.events.exception_pending = true;
  s.events.exception_vector = 14;
  s.events.exception_has_error_code = true;
  s.events.exception_error_code = 6;
  s.events.nmi_masked = true;
  s.events.interrupt_shadow = true;
  // FPU/SSE: a valid FXSAVE image with XSTATE_BV = x87 | SSE.
  cpu::FpuState fpu;
  fpu.x87.fcw = 0x027F;
  fpu.xmm[9].q[1] = 0x99;
  cpu::fxsave_image(fpu, s.xsave.data(), true, 16);
  s.xsave[512] = 3;
  ASSERT_TRUE(vcpu->set_state(s).ok());
  auto got = vcpu->state();
  ASSERT_TRUE(got.ok());
  // The TSC moves between the calls: compare it apart.
  auto tsc = std::find_if(got->msrs.begin(), got->msrs.end(),
                          [](const MsrEntry& m) { return m.index == 0x10; });
  ASSERT_NE(tsc, got->msrs.end());
  got->msrs.erase(tsc);
  EXPECT_EQ(got->msrs, s.msrs);
  got->msrs = s.msrs;
  EXPECT_EQ(*got, s);
}

TEST_F(SoftVcpuTest, TscSurvivesARoundTrip) {
  CpuState s = *vcpu->state();
  s.msrs = {{0x10, 1000000000000ull}};
  ASSERT_TRUE(vcpu->set_state(s).ok());
  auto got = vcpu->state();
  uint64_t tsc = 0;
  for (auto& m : got->msrs)
    if (m.index == 0x10) tsc = m.value;
  EXPECT_GE(tsc, 1000000000000ull);
  EXPECT_LT(tsc, 1000000000000ull + 5'000'000'000ull);
}

TEST_F(SoftVcpuTest, RejectsAnUnknownMsr) {
  CpuState s = *vcpu->state();
  s.msrs.push_back({0x12345678, 1});
  auto st = vcpu->set_state(s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("0x12345678"), std::string::npos);
}

// Real mode at 0x7C00: out 0x80, al; cli; hlt.
void load_real_mode_program(GuestMemory& m, Vcpu& v, std::vector<uint8_t> code) {
  ASSERT_TRUE(m.write(0x7C00, code.data(), code.size()).ok());
  CpuState s = *v.state();
  s.cs.selector = 0;
  s.cs.base = 0;
  s.rip = 0x7C00;
  ASSERT_TRUE(v.set_state(s).ok());
}

TEST_F(SoftVcpuTest, RunsUntilHaltWithInterruptsDisabled) {
  load_real_mode_program(*memory, *vcpu, {0xB0, 0x5A, 0xE6, 0x80, 0xFA, 0xF4});
  auto exit = vcpu->run();
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->kind, VcpuExit::Kind::kHalt);
  EXPECT_EQ(io.last_port, 0x80);
  EXPECT_EQ(io.last_byte, 0x5A);
  EXPECT_EQ(vcpu->state()->mp_state, MpState::kHalted);
}

TEST_F(SoftVcpuTest, KickInterruptsASpinningGuest) {
  load_real_mode_program(*memory, *vcpu, {0xEB, 0xFE});  // jmp $
  std::thread kicker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    vcpu->kick();
  });
  auto exit = vcpu->run();
  kicker.join();
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->kind, VcpuExit::Kind::kInterrupted);
}

TEST_F(SoftVcpuTest, HaltWithInterruptsEnabledWaitsForAKick) {
  load_real_mode_program(*memory, *vcpu, {0xFB, 0xF4});  // sti; hlt
  std::thread kicker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    vcpu->kick();
  });
  auto exit = vcpu->run();
  kicker.join();
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->kind, VcpuExit::Kind::kInterrupted);
}

TEST(SoftVcpuIrqTest, HaltWithInterruptsEnabledWakesOnAnInterruptFromItsLapic) {
  auto m = GuestMemory::create(4 << 20);
  ASSERT_TRUE(m.ok());
  GuestMemory& memory = **m;
  testing::FakeTimeSource time;
  IoBus bus;
  RecordingIo io;
  SoftAccelerator accel;
  ASSERT_TRUE(accel.map_memory(memory).ok());
  ASSERT_TRUE(accel.create_irq_chip(bus, time, 1).ok());
  auto v = accel.create_vcpu(0, io);
  ASSERT_TRUE(v.ok());
  Vcpu& vcpu = **v;
  // IVT[0x20] -> 0x600: mov al, 0x77; out 0x80, al; cli; hlt. Main: sti; hlt.
  ASSERT_TRUE(memory.write_obj<uint32_t>(0x20 * 4, 0x600).ok());
  const uint8_t handler[] = {0xB0, 0x77, 0xE6, 0x80, 0xFA, 0xF4};
  ASSERT_TRUE(memory.write(0x600, handler, sizeof(handler)).ok());
  load_real_mode_program(memory, vcpu, {0xFB, 0xF4});
  // Software-enable the LAPIC (SVR bit 8) so it accepts a fixed interrupt.
  auto* soft_chip = static_cast<SoftIrqChip*>(&accel.irq_chip());
  const uint8_t svr[4] = {0xFF, 0x01, 0, 0};
  soft_chip->lapic(0).write(Lapic::kRegSvr, svr);
  std::thread raiser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    accel.irq_chip().send_msi(0xFEE00000, 0x20);  // fixed, vector 0x20, to APIC 0
  });
  auto exit = vcpu.run();
  raiser.join();
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->kind, VcpuExit::Kind::kHalt);  // the handler's cli; hlt
  EXPECT_EQ(io.last_byte, 0x77);
}

TEST(SoftVcpuIrqTest, CpuidAdvertisesTheApicAndKvmclockOnlyWithTheChip) {
  auto m = GuestMemory::create(4 << 20);
  ASSERT_TRUE(m.ok());
  testing::FakeTimeSource time;
  IoBus bus;
  RecordingIo io;
  SoftAccelerator with_chip, without_chip;
  ASSERT_TRUE(with_chip.map_memory(**m).ok());
  ASSERT_TRUE(without_chip.map_memory(**m).ok());
  ASSERT_TRUE(with_chip.create_irq_chip(bus, time, 1).ok());
  for (SoftAccelerator* a : {&with_chip, &without_chip}) {
    auto v = a->create_vcpu(0, io);
    ASSERT_TRUE(v.ok());
    // cpuid (leaf 1) ; mov esi, edx ; mov edi, ecx ; cpuid (leaf 0x40000001) ; hlt
    load_real_mode_program(**m, **v,
                           {0x66, 0xB8, 1,    0,    0, 0, 0x0F, 0xA2, 0x66, 0x89, 0xD6, 0x66,
                            0x89, 0xCF, 0x66, 0xB8, 1, 0, 0,    0x40, 0x0F, 0xA2, 0xF4});
    auto exit = (*v)->run();
    ASSERT_TRUE(exit.ok());
    CpuState s = *(*v)->state();
    bool chip = a == &with_chip;
    EXPECT_EQ((s.gpr[kRsi] >> 9) & 1, chip ? 1u : 0u) << "APIC bit";
    EXPECT_EQ((s.gpr[kRdi] >> 24) & 1, chip ? 1u : 0u) << "TSC-deadline bit";
    EXPECT_EQ(s.gpr[kRax] & ((1u << 3) | (1u << 24)), (1u << 3) | (1u << 24))
        << "kvmclock features";
  }
}

TEST_F(SoftVcpuTest, TripleFaultIsAShutdownExit) {
  // Real mode with an IDT limit of 0: INT 3 cannot be delivered.
  load_real_mode_program(*memory, *vcpu, {0xCC});
  CpuState s = *vcpu->state();
  s.idt = {0, 0};
  ASSERT_TRUE(vcpu->set_state(s).ok());
  auto exit = vcpu->run();
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->kind, VcpuExit::Kind::kShutdown);
}

}  // namespace
}  // namespace vessel

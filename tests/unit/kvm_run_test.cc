// KvmVcpu::run() on real KVM with tiny real-mode guests: port I/O (single and
// string), MMIO, kick(), HLT, triple fault. Skipped without /dev/kvm. Every
// guest is a few instructions so the tests stay fast on a slow nested KVM.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "base/pc_layout.h"
#include "kvm_test_vm.h"

namespace vessel {
namespace {

using testing::IoAccess;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kEntry = 0x1000;

// Kicks `vcpu` after `delay` from another thread, unless destroyed first.
class DelayedKick {
 public:
  DelayedKick(Vcpu& vcpu, std::chrono::milliseconds delay)
      : thread_([this, &vcpu, delay] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_for(lock, delay, [this] { return cancelled_; })) vcpu.kick();
        }) {}
  ~DelayedKick() {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

TEST(KvmRun, PortIoAndMmioReachTheIoHandler) {
  // clang-format off
  const uint8_t code[] = {
      0xBA, 0x10, 0x05,                    // mov dx, 0x510
      0xB0, 0x5A,                          // mov al, 0x5A
      0xEE,                                // out dx, al
      0xED,                                // in ax, dx
      0x89, 0xC3,                          // mov bx, ax
      0xBE, 0x00, 0x20,                    // mov si, 0x2000
      0xB9, 0x04, 0x00,                    // mov cx, 4
      0xBA, 0x11, 0x05,                    // mov dx, 0x511
      0xF3, 0x6E,                          // rep outsb
      0xBF, 0x00, 0x30,                    // mov di, 0x3000
      0xB9, 0x03, 0x00,                    // mov cx, 3
      0xBA, 0x12, 0x05,                    // mov dx, 0x512
      0xF3, 0x6C,                          // rep insb
      0x66, 0xB8, 0x78, 0x56, 0x34, 0x12,  // mov eax, 0x12345678
      0x64, 0x66, 0xA3, 0x08, 0x00,        // mov fs:[8], eax
      0x64, 0x66, 0x8B, 0x0E, 0x04, 0x00,  // mov ecx, fs:[4]
      0xBA, 0x1F, 0x05,                    // mov dx, 0x51F
      0xEE,                                // out dx, al   (the handler kicks)
      0xEB, 0xFE,                          // jmp $
  };
  // clang-format on
  constexpr uint64_t kDoneRip = kEntry + sizeof(code) - 2;
  VESSEL_KVM_TEST_VM(vm, code, kEntry);
  ASSERT_TRUE(vm->memory->write(0x2000, "ABCD", 4).ok());

  // FS's hidden base points at the test device's MMIO window.
  auto st = vm->vcpu->state();
  ASSERT_TRUE(st.ok());
  st->fs.base = layout::kTestDeviceMmio;
  st->fs.limit = 0xFFFF;
  ASSERT_TRUE(vm->vcpu->set_state(*st).ok());

  char next_in = 'x';
  vm->io.on_read = [&](bool mmio, uint64_t addr, std::span<uint8_t> data) {
    if (!mmio && addr == 0x510 && data.size() == 2) {
      data[0] = 0xEF;
      data[1] = 0xBE;
    } else if (!mmio && addr == 0x512 && data.size() == 1) {
      data[0] = static_cast<uint8_t>(next_in++);
    } else if (mmio && addr == layout::kTestDeviceMmio + 4 && data.size() == 4) {
      uint32_t v = 0xCAFEF00D;
      std::memcpy(data.data(), &v, 4);
    }
  };
  Vcpu* vcpu = vm->vcpu.get();
  vm->io.on_write = [&](bool mmio, uint64_t addr, std::span<const uint8_t>) {
    if (!mmio && addr == 0x51F) vcpu->kick();  // as a device asking the VMM to stop
  };

  auto exit = vm->vcpu->run();
  ASSERT_TRUE(exit.ok()) << exit.error().message;
  EXPECT_EQ(exit->kind, VcpuExit::Kind::kInterrupted) << to_string(exit->kind) << exit->detail;

  std::vector<IoAccess> want = {
      {false, true, 0x510, {0x5A}},
      {false, false, 0x510, {0xEF, 0xBE}},
      {false, true, 0x511, {'A'}},
      {false, true, 0x511, {'B'}},
      {false, true, 0x511, {'C'}},
      {false, true, 0x511, {'D'}},
      {false, false, 0x512, {'x'}},
      {false, false, 0x512, {'y'}},
      {false, false, 0x512, {'z'}},
      {true, true, layout::kTestDeviceMmio + 8, {0x78, 0x56, 0x34, 0x12}},
      {true, false, layout::kTestDeviceMmio + 4, {0x0D, 0xF0, 0xFE, 0xCA}},
      {false, true, 0x51F, {0x78}},
  };
  std::vector<IoAccess> got = vm->io.accesses();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].mmio, want[i].mmio);
    EXPECT_EQ(got[i].write, want[i].write);
    EXPECT_EQ(got[i].addr, want[i].addr);
    EXPECT_EQ(got[i].data, want[i].data);
  }

  // The kick came during the last OUT: KVM completed it and stopped before
  // the next instruction.
  st = vm->vcpu->state();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->rip, kDoneRip);
  EXPECT_EQ(st->gpr[kRbx] & 0xFFFF, 0xBEEFu);
  EXPECT_EQ(st->gpr[kRcx] & 0xFFFFFFFF, 0xCAFEF00Du);
  EXPECT_EQ(st->gpr[kRsi] & 0xFFFF, 0x2004u);
  EXPECT_EQ(st->gpr[kRdi] & 0xFFFF, 0x3003u);
  char in_bytes[3];
  ASSERT_TRUE(vm->memory->read(0x3000, in_bytes, 3).ok());
  EXPECT_EQ(std::string(in_bytes, 3), "xyz");
}

TEST(KvmRun, KickStopsASpinningGuest) {
  const uint8_t code[] = {0xEB, 0xFE};  // jmp $
  VESSEL_KVM_TEST_VM(vm, code, kEntry);
  for (int round = 0; round < 2; ++round) {  // and again after an interrupted run
    SCOPED_TRACE(round);
    Clock::time_point start = Clock::now();
    std::optional<Expected<VcpuExit>> exit;
    {
      DelayedKick kick(*vm->vcpu, std::chrono::milliseconds(30));
      exit.emplace(vm->vcpu->run());
    }
    auto elapsed = Clock::now() - start;
    ASSERT_TRUE(exit->ok()) << (*exit).error().message;
    EXPECT_EQ((*exit)->kind, VcpuExit::Kind::kInterrupted);
    EXPECT_GE(elapsed, std::chrono::milliseconds(25));
    EXPECT_LT(elapsed, std::chrono::seconds(5));
    auto st = vm->vcpu->state();
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->rip, kEntry);
  }
}

TEST(KvmRun, KickBeforeRunReturnsAtOnceOnce) {
  const uint8_t code[] = {0xEB, 0xFE};  // jmp $
  VESSEL_KVM_TEST_VM(vm, code, kEntry);
  vm->vcpu->kick();
  auto exit = vm->vcpu->run();
  ASSERT_TRUE(exit.ok()) << exit.error().message;
  EXPECT_EQ(exit->kind, VcpuExit::Kind::kInterrupted);
  // The kick is consumed: the next run spins until kicked again.
  Clock::time_point start = Clock::now();
  DelayedKick kick(*vm->vcpu, std::chrono::milliseconds(50));
  exit = vm->vcpu->run();
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->kind, VcpuExit::Kind::kInterrupted);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(40));
}

// With the in-kernel LAPIC, HLT does not exit to user space: KVM blocks the
// vCPU until an interrupt. A kick must still get it out, and the state must
// show the vCPU halted after the HLT.
TEST(KvmRun, HaltedGuestIsKickedOutAndReportsHalted) {
  const uint8_t code[] = {0xFA, 0xF4, 0xEB, 0xFE};  // cli; hlt; jmp $
  VESSEL_KVM_TEST_VM(vm, code, kEntry);
  std::optional<Expected<VcpuExit>> exit;
  {
    DelayedKick kick(*vm->vcpu, std::chrono::milliseconds(50));
    exit.emplace(vm->vcpu->run());
  }
  ASSERT_TRUE(exit->ok());
  EXPECT_EQ((*exit)->kind, VcpuExit::Kind::kInterrupted);
  auto st = vm->vcpu->state();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->rip, kEntry + 2);
  EXPECT_EQ(st->mp_state, MpState::kHalted);
  EXPECT_EQ(st->rflags & kRflagsIf, 0u);
}

// Protected mode with an empty IDT: #UD cannot be delivered, nor the #GP
// that raises, nor the #DF after it. (Real mode would not do: AMD ignores the
// IVT limit there.)
TEST(KvmRun, TripleFaultIsShutdown) {
  const uint8_t code[] = {0x0F, 0x0B};  // ud2
  VESSEL_KVM_TEST_VM(vm, code, kEntry);
  auto st = vm->vcpu->state();
  ASSERT_TRUE(st.ok());
  Segment flat;
  flat.limit = 0xFFFFFFFF;
  flat.s = 1;
  flat.present = 1;
  flat.db = 1;
  flat.g = 1;
  st->cs = flat;
  st->cs.type = 0xB;  // code, execute/read, accessed
  st->cs.selector = 0x8;
  flat.type = 0x3;  // data, read/write, accessed
  flat.selector = 0x10;
  st->ds = st->es = st->fs = st->gs = st->ss = flat;
  st->cr0 |= kCr0Pe;
  st->idt = {0, 0};
  ASSERT_TRUE(vm->vcpu->set_state(*st).ok());
  // Bounded in case KVM does not report the shutdown.
  DelayedKick kick(*vm->vcpu, std::chrono::seconds(3));
  auto exit = vm->vcpu->run();
  ASSERT_TRUE(exit.ok()) << exit.error().message;
  EXPECT_EQ(exit->kind, VcpuExit::Kind::kShutdown) << to_string(exit->kind) << " " << exit->detail;
}

}  // namespace
}  // namespace vessel

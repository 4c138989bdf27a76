// A tiny KVM VM for the KVM unit tests: 1 MiB of RAM, one vCPU in real mode
// at a chosen address, and an IoHandler that records every access. Tests
// skip when /dev/kvm cannot be opened.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "accel/kvm/kvm_accelerator.h"

namespace vessel::testing {

struct IoAccess {
  bool mmio;
  bool write;
  uint64_t addr;
  std::vector<uint8_t> data;
};

class RecordingIo final : public IoHandler {
 public:
  // Called for reads to fill the data; default: zeros.
  std::function<void(bool mmio, uint64_t addr, std::span<uint8_t>)> on_read;
  // Called after a write is recorded.
  std::function<void(bool mmio, uint64_t addr, std::span<const uint8_t>)> on_write;

  void pio_read(uint16_t port, std::span<uint8_t> data) override { read(false, port, data); }
  void pio_write(uint16_t port, std::span<const uint8_t> data) override {
    write(false, port, data);
  }
  void mmio_read(uint64_t addr, std::span<uint8_t> data) override { read(true, addr, data); }
  void mmio_write(uint64_t addr, std::span<const uint8_t> data) override {
    write(true, addr, data);
  }

  std::vector<IoAccess> accesses() {
    std::lock_guard lock(mu_);
    return log_;
  }

 private:
  void read(bool mmio, uint64_t addr, std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), 0);
    if (on_read) on_read(mmio, addr, data);
    std::lock_guard lock(mu_);
    log_.push_back({mmio, false, addr, {data.begin(), data.end()}});
  }
  void write(bool mmio, uint64_t addr, std::span<const uint8_t> data) {
    {
      std::lock_guard lock(mu_);
      log_.push_back({mmio, true, addr, {data.begin(), data.end()}});
    }
    if (on_write) on_write(mmio, addr, data);
  }
  std::mutex mu_;
  std::vector<IoAccess> log_;
};

struct KvmTestVm {
  std::unique_ptr<Accelerator> accel;
  std::unique_ptr<GuestMemory> memory;
  RecordingIo io;
  std::unique_ptr<Vcpu> vcpu;
};

// Makes the VM with `code` at `entry` and the vCPU in real mode at CS base 0,
// IP `entry`. Returns nullptr and sets *skip when /dev/kvm cannot be opened;
// other failures fail the test.
inline std::unique_ptr<KvmTestVm> make_kvm_test_vm(std::span<const uint8_t> code, uint64_t entry,
                                                   std::string* skip) {
  auto vm = std::make_unique<KvmTestVm>();
  auto accel = create_kvm_accelerator();
  if (!accel) {
    *skip = "KVM not usable here: " + accel.error().message;
    return nullptr;
  }
  vm->accel = std::move(*accel);
  auto mem = GuestMemory::create(GuestMemory::kMinSize);
  EXPECT_TRUE(mem.ok());
  if (!mem) return nullptr;
  vm->memory = std::move(*mem);
  EXPECT_TRUE(vm->memory->write(entry, code.data(), code.size()).ok());
  Status mapped = vm->accel->map_memory(*vm->memory);
  EXPECT_TRUE(mapped.ok()) << (mapped ? "" : mapped.error().message);
  auto vcpu = vm->accel->create_vcpu(0, vm->io);
  EXPECT_TRUE(vcpu.ok()) << (vcpu ? "" : vcpu.error().message);
  if (!vcpu) return nullptr;
  vm->vcpu = std::move(*vcpu);
  auto st = vm->vcpu->state();
  EXPECT_TRUE(st.ok()) << (st ? "" : st.error().message);
  if (!st) return nullptr;
  st->cs.base = 0;
  st->cs.selector = 0;
  st->rip = entry;
  st->rflags = kRflagsFixed;
  Status set = vm->vcpu->set_state(*st);
  EXPECT_TRUE(set.ok()) << (set ? "" : set.error().message);
  if (!set) return nullptr;
  return vm;
}

}  // namespace vessel::testing

// Declares `vm` (a std::unique_ptr<KvmTestVm>) or skips the test.
#define VESSEL_KVM_TEST_VM(vm, code, entry)                                         \
  std::string vessel_skip_reason_;                                                  \
  auto vm = ::vessel::testing::make_kvm_test_vm(code, entry, &vessel_skip_reason_); \
  if (!vessel_skip_reason_.empty()) GTEST_SKIP() << vessel_skip_reason_;            \
  ASSERT_NE(vm, nullptr)

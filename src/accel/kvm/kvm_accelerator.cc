#include "accel/kvm/kvm_accelerator.h"

#include <sys/ioctl.h>

#include <mutex>
#include <vector>

#include "accel/kvm/kvm_irq_chip.h"
#include "accel/kvm/kvm_system.h"
#include "accel/kvm/kvm_vcpu.h"
#include "base/pc_layout.h"

namespace vessel {
namespace {

using kvm::errno_error;
using kvm::KvmSystem;
using kvm::OwnedFd;

class KvmAccelerator final : public Accelerator {
 public:
  static Expected<std::unique_ptr<Accelerator>> create();

  std::string_view name() const override { return "kvm"; }
  Status map_memory(GuestMemory& memory) override;
  IrqChip& irq_chip() override { return irq_chip_; }
  Expected<std::unique_ptr<Vcpu>> create_vcpu(int id, IoHandler& io) override;

 private:
  KvmAccelerator(KvmSystem system, OwnedFd vm, size_t run_size, std::vector<kvm_cpuid_entry2> cpuid,
                 std::vector<uint32_t> msrs)
      : system_(std::move(system)),
        vm_(std::move(vm)),
        irq_chip_(vm_.get()),
        run_size_(run_size),
        supported_cpuid_(std::move(cpuid)),
        msr_index_list_(std::move(msrs)) {}

  KvmSystem system_;
  OwnedFd vm_;
  kvm::KvmIrqChip irq_chip_;
  size_t run_size_;
  std::vector<kvm_cpuid_entry2> supported_cpuid_;
  std::vector<uint32_t> msr_index_list_;
  std::mutex mu_;  // guards next_slot_ (vCPU threads may be created at once)
  uint32_t next_slot_ = 0;
};

Expected<std::unique_ptr<Accelerator>> KvmAccelerator::create() {
  VESSEL_ASSIGN(KvmSystem system, KvmSystem::open());
  VESSEL_ASSIGN(size_t run_size, system.vcpu_mmap_size());
  VESSEL_ASSIGN(auto cpuid, system.supported_cpuid());
  VESSEL_ASSIGN(auto msrs, system.msr_index_list());
  VESSEL_ASSIGN(OwnedFd vm, system.create_vm());

  // Real-mode support on VMX without unrestricted guest needs these three
  // TSS pages and the identity-map page; they lie in the MMIO hole, below the
  // BIOS area, and must be set before any vCPU exists.
  if (::ioctl(vm.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(layout::kKvmTss)) < 0) {
    return errno_error("KVM_SET_TSS_ADDR");
  }
  uint64_t identity_map = layout::kKvmIdentityMap;
  if (::ioctl(vm.get(), KVM_SET_IDENTITY_MAP_ADDR, &identity_map) < 0) {
    return errno_error("KVM_SET_IDENTITY_MAP_ADDR");
  }
  if (::ioctl(vm.get(), KVM_CREATE_IRQCHIP, 0) < 0) return errno_error("KVM_CREATE_IRQCHIP");
  kvm_pit_config pit{};
  pit.flags = 0;
  if (::ioctl(vm.get(), KVM_CREATE_PIT2, &pit) < 0) return errno_error("KVM_CREATE_PIT2");

  return std::unique_ptr<Accelerator>(new KvmAccelerator(std::move(system), std::move(vm), run_size,
                                                         std::move(cpuid), std::move(msrs)));
}

Status KvmAccelerator::map_memory(GuestMemory& memory) {
  std::lock_guard lock(mu_);
  for (const GuestMemory::Region& r : memory.regions()) {
    kvm_userspace_memory_region slot{};
    slot.slot = next_slot_;
    slot.flags = 0;
    slot.guest_phys_addr = r.gpa;
    slot.memory_size = r.size;
    slot.userspace_addr = reinterpret_cast<uint64_t>(r.host);
    if (::ioctl(vm_.get(), KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
      return errno_error(fmt::format("KVM_SET_USER_MEMORY_REGION (slot {}, gpa {:#x}, {} MiB)",
                                     slot.slot, r.gpa, r.size >> 20));
    }
    ++next_slot_;
  }
  return ok_status();
}

Expected<std::unique_ptr<Vcpu>> KvmAccelerator::create_vcpu(int id, IoHandler& io) {
  kvm::KvmVcpuConfig config;
  config.vm_fd = vm_.get();
  config.id = id;
  config.run_size = run_size_;
  config.supported_cpuid = supported_cpuid_;
  config.msr_index_list = msr_index_list_;
  VESSEL_ASSIGN(auto vcpu, kvm::KvmVcpu::create(config, io));
  return std::unique_ptr<Vcpu>(std::move(vcpu));
}

}  // namespace

Expected<std::unique_ptr<Accelerator>> create_kvm_accelerator() {
  return KvmAccelerator::create();
}

}  // namespace vessel

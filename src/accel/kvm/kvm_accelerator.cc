#include "accel/kvm/kvm_accelerator.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include <mutex>
#include <vector>

#include "accel/kvm/kvm_irq_chip.h"
#include "accel/kvm/kvm_system.h"
#include "accel/kvm/kvm_vcpu.h"
#include "base/log.h"
#include "base/pc_layout.h"

namespace vessel {
namespace {

using kvm::errno_error;
using kvm::KvmSystem;
using kvm::OwnedFd;

// GSI routing as the MADT (boot/acpi.cc) declares it: GSI 0 (the PIT) reaches
// 8259A IRQ 0 and IOAPIC pin 2 (the interrupt source override); GSI 1 and
// 3-15 the 8259A line and IOAPIC pin of the same number; GSI 16-23 the IOAPIC
// only. KVM's default table would send GSI 0 to IOAPIC pin 0, where no OS
// looks for the timer after reading the override.
Status set_gsi_routing(int vm_fd) {
  // struct kvm_irq_routing is {u32 nr; u32 flags; entries[]}; in C++ the
  // header's flexible-array wrapper changes its size (and so the ioctl
  // number and the entries' offset), so the buffer and number are built here.
  constexpr size_t kHeader = 8;
  constexpr unsigned long kSetGsiRouting = _IOC(_IOC_WRITE, KVMIO, 0x6a, kHeader);
  std::vector<kvm_irq_routing_entry> entries;
  auto add = [&](uint32_t gsi, uint32_t chip, uint32_t pin) {
    kvm_irq_routing_entry e{};
    e.gsi = gsi;
    e.type = KVM_IRQ_ROUTING_IRQCHIP;
    e.u.irqchip.irqchip = chip;
    e.u.irqchip.pin = pin;
    entries.push_back(e);
  };
  for (uint32_t gsi = 0; gsi < 24; ++gsi) {
    if (gsi == 2) continue;  // the 8259A cascade; IOAPIC pin 2 belongs to GSI 0
    if (gsi < 8) add(gsi, KVM_IRQCHIP_PIC_MASTER, gsi);
    if (gsi >= 8 && gsi < 16) add(gsi, KVM_IRQCHIP_PIC_SLAVE, gsi - 8);
    add(gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
  }
  std::vector<uint8_t> buf(kHeader + entries.size() * sizeof(kvm_irq_routing_entry));
  uint32_t nr = static_cast<uint32_t>(entries.size());
  std::memcpy(buf.data(), &nr, 4);
  std::memcpy(buf.data() + kHeader, entries.data(), entries.size() * sizeof(kvm_irq_routing_entry));
  if (::ioctl(vm_fd, kSetGsiRouting, buf.data()) < 0) {
    // Seen on a nested KVM that lacks KVM_CAP_IRQ_ROUTING: the VM still runs,
    // but the PIT reaches the IOAPIC at pin 0 only.
    if (errno == ENOTTY || errno == EINVAL) {
      log_warn(
          "kvm: KVM_SET_GSI_ROUTING is not supported ({}); the PIT's interrupt will not "
          "reach IOAPIC pin 2",
          std::strerror(errno));
      return ok_status();
    }
    return errno_error("KVM_SET_GSI_ROUTING");
  }
  return ok_status();
}

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
  VESSEL_TRY(set_gsi_routing(vm.get()));
  kvm_pit_config pit{};
  pit.flags = KVM_PIT_SPEAKER_DUMMY;  // the kernel also serves port 0x61 (gate 2, OUT2)
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

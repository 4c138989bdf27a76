// The /dev/kvm system handle: API version and capability checks, and the
// system-wide queries (supported CPUID, MSR index list, run-page size) that
// every VM and vCPU needs.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "accel/kvm/kvm_fd.h"
#include "base/error.h"

namespace vessel::kvm {

inline constexpr const char* kKvmDevicePath = "/dev/kvm";

class KvmSystem {
 public:
  // Opens `path` and checks the API version and the capabilities Vessel
  // relies on; the error names the path or the missing capability.
  static Expected<KvmSystem> open(const char* path = kKvmDevicePath);

  int fd() const { return fd_.get(); }
  // KVM_CHECK_EXTENSION on the system fd: 0 when absent.
  int check_extension(long cap) const;

  Expected<OwnedFd> create_vm() const;
  // KVM_GET_SUPPORTED_CPUID (grows the buffer until it fits).
  Expected<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;
  // KVM_GET_MSR_INDEX_LIST.
  Expected<std::vector<uint32_t>> msr_index_list() const;
  // KVM_GET_VCPU_MMAP_SIZE.
  Expected<size_t> vcpu_mmap_size() const;

 private:
  explicit KvmSystem(OwnedFd fd) : fd_(std::move(fd)) {}
  OwnedFd fd_;
};

}  // namespace vessel::kvm

#include "accel/kvm/kvm_system.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <algorithm>

#include "accel/kvm/kvm_abi.h"

namespace vessel::kvm {
namespace {

struct RequiredCap {
  long cap;
  const char* name;
};

// Capabilities the backend cannot work without.
constexpr RequiredCap kRequiredCaps[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
    {KVM_CAP_XSAVE, "KVM_CAP_XSAVE"},
    {KVM_CAP_XCRS, "KVM_CAP_XCRS"},
    {KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
    {KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS"},
};

constexpr int kKvmApiVersion = 12;

}  // namespace

Expected<KvmSystem> KvmSystem::open(const char* path) {
  int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return make_error("cannot open {}: {}", path, std::generic_category().message(err));
  }
  KvmSystem sys{OwnedFd(fd)};
  int version = ::ioctl(fd, KVM_GET_API_VERSION, 0);
  if (version < 0) {
    int err = errno;
    return make_error("{} is not a KVM device (KVM_GET_API_VERSION: {})", path,
                      std::generic_category().message(err));
  }
  if (version != kKvmApiVersion) {
    return make_error("{}: KVM API version {} (expected {})", path, version, kKvmApiVersion);
  }
  for (const RequiredCap& c : kRequiredCaps) {
    if (sys.check_extension(c.cap) <= 0) {
      return make_error("{}: KVM lacks the capability {}", path, c.name);
    }
  }
  return sys;
}

int KvmSystem::check_extension(long cap) const {
  int r = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap);
  return r < 0 ? 0 : r;
}

Expected<OwnedFd> KvmSystem::create_vm() const {
  int vm;
  do {
    vm = ::ioctl(fd_.get(), KVM_CREATE_VM, 0);
  } while (vm < 0 && errno == EINTR);
  if (vm < 0) return errno_error("KVM_CREATE_VM");
  return OwnedFd(vm);
}

Expected<std::vector<kvm_cpuid_entry2>> KvmSystem::supported_cpuid() const {
  for (uint32_t n = 64; n <= 4096; n *= 2) {
    abi::FlexBuffer<abi::CpuidHeader, kvm_cpuid_entry2> buf(n);
    buf.header()->nent = n;
    if (::ioctl(fd_.get(), abi::kGetSupportedCpuid, buf.header()) == 0) {
      uint32_t got = std::min(buf.header()->nent, n);
      return std::vector<kvm_cpuid_entry2>(buf.items(), buf.items() + got);
    }
    if (errno != E2BIG) return errno_error("KVM_GET_SUPPORTED_CPUID");
  }
  return make_error("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

Expected<std::vector<uint32_t>> KvmSystem::msr_index_list() const {
  // A call with room for none fails with E2BIG and reports the count.
  abi::MsrListHeader probe{};
  if (::ioctl(fd_.get(), abi::kGetMsrIndexList, &probe) < 0 && errno != E2BIG) {
    return errno_error("KVM_GET_MSR_INDEX_LIST");
  }
  uint32_t n = probe.nmsrs;
  if (n > 65536) return make_error("KVM_GET_MSR_INDEX_LIST: implausible count {}", n);
  abi::FlexBuffer<abi::MsrListHeader, uint32_t> buf(n);
  buf.header()->nmsrs = n;
  if (::ioctl(fd_.get(), abi::kGetMsrIndexList, buf.header()) < 0) {
    return errno_error("KVM_GET_MSR_INDEX_LIST");
  }
  uint32_t got = std::min(buf.header()->nmsrs, n);
  return std::vector<uint32_t>(buf.items(), buf.items() + got);
}

Expected<size_t> KvmSystem::vcpu_mmap_size() const {
  int size = ::ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size < 0) return errno_error("KVM_GET_VCPU_MMAP_SIZE");
  if (static_cast<size_t>(size) < sizeof(kvm_run)) {
    return make_error("KVM_GET_VCPU_MMAP_SIZE: {} bytes is smaller than struct kvm_run", size);
  }
  return static_cast<size_t>(size);
}

}  // namespace vessel::kvm

// The KVM ioctls whose argument structs end in a flexible array. The uapi
// headers declare those arrays with __DECLARE_FLEX_ARRAY, which in C++ adds a
// byte-sized empty member: sizeof and the array offset change, so the ioctl
// numbers built from them are wrong (the kernel answers EINVAL). These are
// the C layouts and the request numbers built from them.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace vessel::kvm::abi {

// struct kvm_cpuid2 header; kvm_cpuid_entry2 entries[nent] follow.
struct CpuidHeader {
  uint32_t nent;
  uint32_t padding;
};
// struct kvm_msrs header; kvm_msr_entry entries[nmsrs] follow.
struct MsrsHeader {
  uint32_t nmsrs;
  uint32_t pad;
};
// struct kvm_msr_list header; uint32_t indices[nmsrs] follow.
struct MsrListHeader {
  uint32_t nmsrs;
};
// struct kvm_xsave without the trailing flexible array (KVM_GET_XSAVE2 only).
struct Xsave {
  uint32_t region[1024];
};

static_assert(sizeof(CpuidHeader) == 8 && sizeof(MsrsHeader) == 8 && sizeof(MsrListHeader) == 4);
static_assert(sizeof(Xsave) == 4096);
static_assert(alignof(kvm_msr_entry) <= 8 && alignof(kvm_cpuid_entry2) <= 8);

inline constexpr unsigned long kGetMsrIndexList = _IOWR(KVMIO, 0x02, MsrListHeader);
inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
inline constexpr unsigned long kGetXsave = _IOR(KVMIO, 0xa4, Xsave);
inline constexpr unsigned long kSetXsave = _IOW(KVMIO, 0xa5, Xsave);

// A header followed by `n` items of T, 8-byte aligned, zero-filled.
template <typename Header, typename T>
class FlexBuffer {
 public:
  explicit FlexBuffer(size_t n) : storage_(new uint64_t[words(n)]()) {}
  Header* header() { return reinterpret_cast<Header*>(storage_.get()); }
  T* items() { return reinterpret_cast<T*>(reinterpret_cast<char*>(storage_.get()) + offset()); }

 private:
  static constexpr size_t offset() {
    return (sizeof(Header) + alignof(T) - 1) / alignof(T) * alignof(T);
  }
  static size_t words(size_t n) { return (offset() + n * sizeof(T) + 7) / 8; }
  std::unique_ptr<uint64_t[]> storage_;
};

}  // namespace vessel::kvm::abi

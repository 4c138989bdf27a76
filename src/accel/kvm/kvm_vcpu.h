// A vCPU run by KVM: the KVM_RUN loop that turns port I/O and MMIO exits into
// IoHandler calls, kick() through immediate_exit plus a signal, and the
// CpuState round trip (kvm_vcpu_state.cc).
#pragma once

#include <linux/kvm.h>
#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "accel/kvm/kvm_fd.h"
#include "accel/vcpu.h"
#include "base/counter.h"
#include "bus/io_bus.h"

namespace vessel::kvm {

// The signal kick() sends to a vCPU thread. Its handler does nothing; it only
// makes KVM_RUN (or a blocking system call in that thread) return EINTR.
int kick_signal();

struct KvmVcpuConfig {
  int vm_fd = -1;
  int id = 0;
  size_t run_size = 0;                                // KVM_GET_VCPU_MMAP_SIZE
  std::span<const kvm_cpuid_entry2> supported_cpuid;  // KVM_GET_SUPPORTED_CPUID
  std::span<const uint32_t> msr_index_list;           // KVM_GET_MSR_INDEX_LIST
};

class KvmVcpu final : public Vcpu {
 public:
  static Expected<std::unique_ptr<KvmVcpu>> create(const KvmVcpuConfig& config, IoHandler& io);
  ~KvmVcpu() override;
  KvmVcpu(const KvmVcpu&) = delete;
  KvmVcpu& operator=(const KvmVcpu&) = delete;

  int id() const override { return id_; }
  Expected<VcpuExit> run() override;
  void kick() override;
  Expected<CpuState> state() override;
  Status set_state(const CpuState& state) override;
  VcpuCounters counters() const override { return VcpuCounters{0, exits_.get(), 0}; }

  // The MSRs state() saves (those KVM lists and lets this vCPU read).
  const std::vector<uint32_t>& saved_msrs() const { return saved_msrs_; }

 private:
  Counter exits_;  // KVM_RUN returns with an exit reason
  KvmVcpu(int id, OwnedFd fd, kvm_run* run, size_t run_size, IoHandler& io);

  // Handle one exit: true to re-enter the guest, false with *exit filled.
  bool handle_exit(VcpuExit* exit);
  bool handle_io(VcpuExit* exit);
  bool handle_mmio(VcpuExit* exit);
  VcpuExit interrupted();
  VcpuExit internal_error(std::string detail);
  Status probe_msrs(std::span<const uint32_t> candidates);
  Expected<std::vector<MsrEntry>> get_msrs();
  Status set_msrs(std::span<const MsrEntry> msrs);

  // Marks the calling thread as the one inside run(), so kick() may signal it.
  class RunScope;

  const int id_;
  OwnedFd fd_;
  kvm_run* run_;
  const size_t run_size_;
  IoHandler& io_;
  std::vector<uint32_t> saved_msrs_;

  std::mutex thread_mu_;  // guards running_/thread_ against a kick racing thread exit
  bool running_ = false;
  pthread_t thread_{};
  pthread_t unblocked_thread_{};  // the last thread that unblocked kick_signal()
  bool unblocked_any_ = false;
};

}  // namespace vessel::kvm

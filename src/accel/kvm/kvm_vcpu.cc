#include "accel/kvm/kvm_vcpu.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <iterator>
#include <mutex>

#include "accel/kvm/kvm_abi.h"
#include "accel/kvm/kvm_cpuid.h"
#include "base/log.h"

namespace vessel::kvm {
namespace {

void on_kick_signal(int) {}

// Installs the do-nothing handler once per process. No SA_RESTART: the point
// is that KVM_RUN returns EINTR.
Status install_kick_handler() {
  static std::once_flag once;
  static int install_errno = 0;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = on_kick_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    if (::sigaction(kick_signal(), &sa, nullptr) != 0) install_errno = errno;
  });
  if (install_errno != 0)
    return errno_error("installing the vCPU kick signal handler", install_errno);
  return ok_status();
}

std::atomic_ref<uint8_t> immediate_exit(kvm_run* run) {
  return std::atomic_ref<uint8_t>(run->immediate_exit);
}

const char* internal_suberror_name(uint32_t suberror) {
  switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION:
      return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX:
      return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV:
      return "exit while delivering an event";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
      return "unexpected hardware exit reason";
    default:
      return "unknown";
  }
}

}  // namespace

int kick_signal() {
  return SIGRTMIN + 2;
}

class KvmVcpu::RunScope {
 public:
  explicit RunScope(KvmVcpu& vcpu) : vcpu_(vcpu) {
    pthread_t self = pthread_self();
    // A kick must reach this thread even if it was created with signals
    // blocked; checked once per thread that runs this vCPU.
    if (!vcpu_.unblocked_any_ || !pthread_equal(vcpu_.unblocked_thread_, self)) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, kick_signal());
      pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
      vcpu_.unblocked_thread_ = self;
      vcpu_.unblocked_any_ = true;
    }
    std::lock_guard lock(vcpu_.thread_mu_);
    vcpu_.running_ = true;
    vcpu_.thread_ = self;
  }
  ~RunScope() {
    std::lock_guard lock(vcpu_.thread_mu_);
    vcpu_.running_ = false;
  }
  RunScope(const RunScope&) = delete;
  RunScope& operator=(const RunScope&) = delete;

 private:
  KvmVcpu& vcpu_;
};

KvmVcpu::KvmVcpu(int id, OwnedFd fd, kvm_run* run, size_t run_size, IoHandler& io)
    : id_(id), fd_(std::move(fd)), run_(run), run_size_(run_size), io_(io) {}

KvmVcpu::~KvmVcpu() {
  ::munmap(run_, run_size_);
}

Expected<std::unique_ptr<KvmVcpu>> KvmVcpu::create(const KvmVcpuConfig& config, IoHandler& io) {
  if (config.id < 0) return make_error("vCPU id {} is negative", config.id);
  VESSEL_TRY(install_kick_handler());

  int fd = ::ioctl(config.vm_fd, KVM_CREATE_VCPU, static_cast<unsigned long>(config.id));
  if (fd < 0) return errno_error(fmt::format("KVM_CREATE_VCPU for vCPU {}", config.id));
  OwnedFd vcpu_fd(fd);

  void* mem = ::mmap(nullptr, config.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) return errno_error(fmt::format("mmap of vCPU {}'s kvm_run", config.id));
  std::unique_ptr<KvmVcpu> vcpu(
      new KvmVcpu(config.id, std::move(vcpu_fd), static_cast<kvm_run*>(mem), config.run_size, io));

  std::vector<kvm_cpuid_entry2> entries =
      make_guest_cpuid(config.supported_cpuid, static_cast<uint32_t>(config.id));
  abi::FlexBuffer<abi::CpuidHeader, kvm_cpuid_entry2> cpuid(entries.size());
  cpuid.header()->nent = static_cast<uint32_t>(entries.size());
  std::copy(entries.begin(), entries.end(), cpuid.items());
  if (::ioctl(fd, abi::kSetCpuid2, cpuid.header()) < 0) {
    return errno_error(fmt::format("KVM_SET_CPUID2 for vCPU {}", config.id));
  }

  VESSEL_TRY(vcpu->probe_msrs(config.msr_index_list));
  return vcpu;
}

void KvmVcpu::kick() {
  immediate_exit(run_).store(1);
  std::lock_guard lock(thread_mu_);
  // Without a thread inside run(), immediate_exit alone makes the next
  // KVM_RUN return at once.
  if (running_) pthread_kill(thread_, kick_signal());
}

VcpuExit KvmVcpu::interrupted() {
  immediate_exit(run_).store(0);
  return VcpuExit{VcpuExit::Kind::kInterrupted, {}};
}

VcpuExit KvmVcpu::internal_error(std::string detail) {
  kvm_regs regs{};
  if (::ioctl(fd_.get(), KVM_GET_REGS, &regs) == 0) {
    detail += fmt::format(" (vCPU {} at rip {:#x})", id_, regs.rip);
  }
  return VcpuExit{VcpuExit::Kind::kInternalError, std::move(detail)};
}

Expected<VcpuExit> KvmVcpu::run() {
  RunScope scope(*this);
  for (;;) {
    if (::ioctl(fd_.get(), KVM_RUN, 0) < 0) {
      int err = errno;
      // EINTR: a signal (a kick) or immediate_exit. exit_reason may still
      // describe the previous exit, whose I/O this KVM_RUN has completed: it
      // must not be handled again.
      if (err == EINTR) return interrupted();
      return errno_error(fmt::format("KVM_RUN on vCPU {}", id_), err);
    }
    // A successful return is a real exit even when immediate_exit was set
    // meanwhile (KVM may finish pending I/O and produce a new exit first).
    ++exits_;
    VcpuExit exit;
    if (!handle_exit(&exit)) return exit;
  }
}

bool KvmVcpu::handle_exit(VcpuExit* exit) {
  switch (run_->exit_reason) {
    case KVM_EXIT_IO:
      return handle_io(exit);
    case KVM_EXIT_MMIO:
      return handle_mmio(exit);
    case KVM_EXIT_HLT:
      *exit = VcpuExit{VcpuExit::Kind::kHalt, {}};
      return false;
    case KVM_EXIT_SHUTDOWN:
      *exit = VcpuExit{VcpuExit::Kind::kShutdown, "KVM_EXIT_SHUTDOWN (triple fault)"};
      return false;
    case KVM_EXIT_INTR:
      *exit = interrupted();
      return false;
    case KVM_EXIT_SYSTEM_EVENT:
      switch (run_->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
          *exit = VcpuExit{VcpuExit::Kind::kPowerOff, {}};
          return false;
        case KVM_SYSTEM_EVENT_RESET:
          *exit = VcpuExit{VcpuExit::Kind::kReset, {}};
          return false;
        default:
          *exit = internal_error(
              fmt::format("unexpected KVM system event {}", run_->system_event.type));
          return false;
      }
    case KVM_EXIT_FAIL_ENTRY:
      *exit = internal_error(
          fmt::format("VM entry failed: hardware entry failure reason {:#x} on host cpu {}",
                      run_->fail_entry.hardware_entry_failure_reason, run_->fail_entry.cpu));
      return false;
    case KVM_EXIT_INTERNAL_ERROR: {
      std::string detail =
          fmt::format("KVM internal error: suberror {} ({})", run_->internal.suberror,
                      internal_suberror_name(run_->internal.suberror));
      uint32_t n = std::min<uint32_t>(run_->internal.ndata, std::size(run_->internal.data));
      for (uint32_t i = 0; i < n; ++i) {
        detail += fmt::format("{}{:#x}", i == 0 ? ", data " : " ", run_->internal.data[i]);
      }
      *exit = internal_error(std::move(detail));
      return false;
    }
    case KVM_EXIT_UNKNOWN:
      *exit = internal_error(fmt::format("unknown KVM exit, hardware exit reason {:#x}",
                                         run_->hw.hardware_exit_reason));
      return false;
    default:
      *exit = internal_error(fmt::format("unhandled KVM exit reason {}", run_->exit_reason));
      return false;
  }
}

bool KvmVcpu::handle_io(VcpuExit* exit) {
  const auto& io = run_->io;
  uint64_t bytes = uint64_t{io.size} * io.count;
  if ((io.size != 1 && io.size != 2 && io.size != 4) || io.data_offset > run_size_ ||
      bytes > run_size_ - io.data_offset) {
    *exit = internal_error(fmt::format("malformed KVM_EXIT_IO: size {} count {} offset {:#x}",
                                       io.size, io.count, io.data_offset));
    return false;
  }
  uint8_t* data = reinterpret_cast<uint8_t*>(run_) + io.data_offset;
  for (uint32_t i = 0; i < io.count; ++i) {
    std::span<uint8_t> item(data + i * io.size, io.size);
    if (io.direction == KVM_EXIT_IO_OUT) {
      io_.pio_write(io.port, item);
    } else {
      io_.pio_read(io.port, item);
    }
  }
  return true;
}

bool KvmVcpu::handle_mmio(VcpuExit* exit) {
  auto& mmio = run_->mmio;
  if (mmio.len == 0 || mmio.len > sizeof(mmio.data)) {
    *exit = internal_error(fmt::format("malformed KVM_EXIT_MMIO: length {}", mmio.len));
    return false;
  }
  std::span<uint8_t> data(mmio.data, mmio.len);
  if (mmio.is_write) {
    io_.mmio_write(mmio.phys_addr, data);
  } else {
    io_.mmio_read(mmio.phys_addr, data);
  }
  return true;
}

}  // namespace vessel::kvm

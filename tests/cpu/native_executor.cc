#include "native_executor.h"

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "native_stub.h"

namespace vessel::difftest {

struct NativeExecutor::Shared {
  uint32_t code_len;
  uint8_t code[kMaxCodeBytes];
  UserState in;
  ExecResult out;
};

namespace {

// Worker-side globals for the signal handler (one worker thread only).
sigjmp_buf g_jump;
volatile sig_atomic_t g_running = 0;
ExecResult* g_out = nullptr;

int vector_from_signal(int signo, const siginfo_t* info, const ucontext_t* uc) {
  // The kernel reports the hardware vector in the trap number.
  long trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
  if (trapno >= 0 && trapno < 32 && (trapno != 0 || signo == SIGFPE))
    return static_cast<int>(trapno);
  switch (signo) {
    case SIGFPE:
      return kVectorDE;
    case SIGILL:
      return kVectorUD;
    case SIGTRAP:
      return info->si_code == SI_KERNEL ? kVectorBP : kVectorDB;
    case SIGBUS:
      return info->si_code == BUS_ADRALN ? kVectorAC : kVectorSS;
    default:
      return info->si_code == SI_KERNEL ? kVectorGP : kVectorPF;
  }
}

void on_fault(int signo, siginfo_t* info, void* ctx) {
  if (!g_running) _exit(100 + signo);  // a fault in the worker itself
  auto* uc = static_cast<ucontext_t*>(ctx);
  const greg_t* g = uc->uc_mcontext.gregs;
  UserState& s = g_out->state;
  static constexpr int kMap[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                   REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                   REG_R12, REG_R13, REG_R14, REG_R15};
  for (int i = 0; i < 16; ++i) s.gpr[i] = static_cast<uint64_t>(g[kMap[i]]);
  s.rflags = static_cast<uint64_t>(g[REG_EFL]);
  s.rip = static_cast<uint64_t>(g[REG_RIP]);
  if (uc->uc_mcontext.fpregs != nullptr) {
    for (int i = 0; i < 16; ++i) {
      const uint32_t* e = uc->uc_mcontext.fpregs->_xmm[i].element;
      s.xmm[i] = Xmm{e[0] | (uint64_t{e[1]} << 32), e[2] | (uint64_t{e[3]} << 32)};
    }
    // The frame holds ST(0)-ST(7); MMn is the physical register Rn = ST((n - TOP) & 7).
    unsigned top = (uc->uc_mcontext.fpregs->swd >> 11) & 7;
    for (unsigned n = 0; n < 8; ++n) {
      const unsigned short* w = uc->uc_mcontext.fpregs->_st[(n - top) & 7].significand;
      s.mm[n] = w[0] | (uint64_t{w[1]} << 16) | (uint64_t{w[2]} << 32) | (uint64_t{w[3]} << 48);
    }
    s.mxcsr = uc->uc_mcontext.fpregs->mxcsr & 0xFFFF;
  }
  g_out->vector = vector_from_signal(signo, info, uc);
  g_running = 0;
  siglongjmp(g_jump, 1);
}

void* map_fixed(uint64_t addr, size_t len, int prot) {
  void* p = mmap(reinterpret_cast<void*>(addr), len, prot,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  return (p == MAP_FAILED || p != reinterpret_cast<void*>(addr)) ? nullptr : p;
}

}  // namespace

NativeExecutor::NativeExecutor(std::chrono::milliseconds limit) : limit_(limit) {}

NativeExecutor::~NativeExecutor() {
  stop_worker();
  if (shared_ != nullptr) munmap(shared_, sizeof(Shared));
}

void NativeExecutor::stop_worker() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  if (cmd_fd_ >= 0) close(cmd_fd_);
  if (done_fd_ >= 0) close(done_fd_);
  cmd_fd_ = done_fd_ = -1;
}

Status NativeExecutor::start_worker() {
  if (shared_ == nullptr) {
    void* p =
        mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return make_error("native executor: mmap: {}", strerror(errno));
    shared_ = static_cast<Shared*>(p);
  }
  int to_worker[2];
  int from_worker[2];
  if (pipe2(to_worker, O_CLOEXEC) != 0)
    return make_error("native executor: pipe: {}", strerror(errno));
  if (pipe2(from_worker, O_CLOEXEC) != 0) {
    close(to_worker[0]);
    close(to_worker[1]);
    return make_error("native executor: pipe: {}", strerror(errno));
  }
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {to_worker[0], to_worker[1], from_worker[0], from_worker[1]}) close(fd);
    return make_error("native executor: fork: {}", strerror(errno));
  }
  if (pid == 0) {
    close(to_worker[1]);
    close(from_worker[0]);
    worker_main(shared_, to_worker[0], from_worker[1]);
  }
  close(to_worker[0]);
  close(from_worker[1]);
  pid_ = pid;
  cmd_fd_ = to_worker[1];
  done_fd_ = from_worker[0];
  return ok_status();
}

Expected<ExecResult> NativeExecutor::run(std::span<const uint8_t> code, const UserState& in) {
  if (code.empty() || code.size() > kMaxCodeBytes) {
    return make_error("native executor: code of {} bytes (1 to {} allowed)", code.size(),
                      kMaxCodeBytes);
  }
  if (in.rip != kInstrAddr) return make_error("native executor: RIP must be {:#x}", kInstrAddr);
  if (pid_ < 0) VESSEL_TRY(start_worker());
  shared_->code_len = static_cast<uint32_t>(code.size());
  memcpy(shared_->code, code.data(), code.size());
  shared_->in = in;
  char c = 'r';
  if (write(cmd_fd_, &c, 1) != 1) {
    stop_worker();
    return make_error("native executor: worker is gone");
  }
  pollfd pfd{done_fd_, POLLIN, 0};
  int n;
  do {
    n = poll(&pfd, 1, static_cast<int>(limit_.count()));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    stop_worker();
    return make_error("native executor: the case did not finish within {} ms", limit_.count());
  }
  if (read(done_fd_, &c, 1) != 1) {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    stop_worker();
    return make_error("native executor: worker died (wait status {:#x})", status);
  }
  return shared_->out;
}

void NativeExecutor::worker_main(Shared* shared, int cmd_fd, int done_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  auto* code =
      static_cast<uint8_t*>(map_fixed(kCodeAddr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC));
  auto* data = static_cast<uint8_t*>(map_fixed(kDataAddr, kDataSize, PROT_READ | PROT_WRITE));
  auto* block = static_cast<StateBlock*>(map_fixed(kStateBlockAddr, 4096, PROT_READ | PROT_WRITE));
  if (code == nullptr || data == nullptr || block == nullptr) _exit(90);
  std::vector<uint8_t> prologue = native_prologue();
  std::vector<uint8_t> epilogue = native_epilogue();
  memcpy(code, prologue.data(), prologue.size());
  uint8_t* instr = code + (kInstrAddr - kCodeAddr);

  static uint8_t alt_stack[64 * 1024];
  stack_t ss{};
  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof(alt_stack);
  if (sigaltstack(&ss, nullptr) != 0) _exit(91);
  struct sigaction sa {};
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP}) sigaction(sig, &sa, nullptr);

  g_out = &shared->out;
  for (;;) {
    char c;
    if (read(cmd_fd, &c, 1) != 1) _exit(0);
    const UserState& in = shared->in;
    uint32_t len = shared->code_len;
    memcpy(instr, shared->code, len);
    memcpy(instr + len, epilogue.data(), epilogue.size());
    for (int i = 0; i < 16; ++i) block->gpr[i] = in.gpr[i];
    // Only the user flags: TF or AC from a random state would trap.
    block->rflags = (in.rflags & kUserFlags) | 0x2;
    for (int i = 0; i < 16; ++i) block->xmm[i] = in.xmm[i];
    for (int i = 0; i < 8; ++i) block->mm[i] = in.mm[i];
    block->mxcsr = in.mxcsr;
    memcpy(data, in.data.data(), kDataSize);
    shared->out.vector = kNoException;
    if (sigsetjmp(g_jump, 1) == 0) {
      g_running = 1;
      reinterpret_cast<void (*)()>(code)();
      g_running = 0;
      UserState& s = shared->out.state;
      for (int i = 0; i < 16; ++i) s.gpr[i] = block->gpr[i];
      s.rflags = block->rflags;
      s.rip = kInstrAddr + len;
      for (int i = 0; i < 16; ++i) s.xmm[i] = block->xmm[i];
      for (int i = 0; i < 8; ++i) s.mm[i] = block->mm[i];
      s.mxcsr = block->mxcsr & 0xFFFF;
    }
    memcpy(shared->out.state.data.data(), data, kDataSize);
    if (write(done_fd, &c, 1) != 1) _exit(0);
  }
}

}  // namespace vessel::difftest

// Runs the host's static busybox (Debian's busybox-static: glibc, whose
// string and floating-point code is SSE2, some x87) as a user program on the
// software CPU, with a small Linux system-call layer in the test: the output
// and exit status must be those of the real program. Skipped when
// /bin/busybox is missing or not a static x86-64 executable.
#include <elf.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "cpu_sse_fixture.h"

namespace vessel::cpu {
namespace {

class Busybox : public SseTest {
 protected:
  static constexpr uint64_t kSyscallStub = 0x4800;  // HLT: the test answers the call
  static constexpr uint64_t kBrkStart = 0x600000, kBrkEnd = 0x700000;
  static constexpr uint64_t kMmapStart = 0x700000, kMmapEnd = 0x780000;
  static constexpr uint64_t kStackTop = 0x7F0000;

  // Loads the ELF; false (and a skip reason) when it is not usable here.
  bool load(std::string* why) {
    std::ifstream f("/bin/busybox", std::ios::binary);
    std::vector<uint8_t> elf((std::istreambuf_iterator<char>(f)), {});
    if (elf.size() < sizeof(Elf64_Ehdr)) return (*why = "no /bin/busybox"), false;
    Elf64_Ehdr eh;
    std::memcpy(&eh, elf.data(), sizeof eh);
    if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_machine != EM_X86_64 ||
        eh.e_type != ET_EXEC)
      return (*why = "/bin/busybox is not a static x86-64 executable"), false;
    for (unsigned k = 0; k < eh.e_phnum; ++k) {
      Elf64_Phdr ph;
      std::memcpy(&ph, elf.data() + eh.e_phoff + k * sizeof ph, sizeof ph);
      if (ph.p_type == PT_INTERP) return (*why = "/bin/busybox is dynamic"), false;
      if (ph.p_type != PT_LOAD) continue;
      if (ph.p_vaddr < 0x400000 || ph.p_vaddr + ph.p_memsz > kBrkStart)
        return (*why = "/bin/busybox does not fit the test's memory map"), false;
      std::memcpy(bus.mem.data() + ph.p_vaddr, elf.data() + ph.p_offset, ph.p_filesz);
    }
    entry_ = eh.e_entry;
    phdr_ = 0x400000 + eh.e_phoff;  // the first segment maps the file header
    phnum_ = eh.e_phnum;
    return true;
  }

  // argv/envp/auxv on the stack as the kernel lays them out.
  void setup_stack(const std::vector<std::string>& args) {
    uint64_t p = kStackTop;
    std::vector<uint64_t> argv;
    for (const std::string& a : args) {
      p -= a.size() + 1;
      std::memcpy(bus.mem.data() + p, a.c_str(), a.size() + 1);
      argv.push_back(p);
    }
    p -= 16;
    uint64_t random = p;
    for (unsigned k = 0; k < 16; ++k) bus.mem[random + k] = static_cast<uint8_t>(k * 37 + 1);
    std::vector<uint64_t> words = {args.size()};
    words.insert(words.end(), argv.begin(), argv.end());
    words.push_back(0);  // argv end
    words.push_back(0);  // envp end
    const uint64_t aux[][2] = {{AT_PHDR, phdr_},   {AT_PHENT, sizeof(Elf64_Phdr)},
                               {AT_PHNUM, phnum_}, {AT_PAGESZ, 4096},
                               {AT_ENTRY, entry_}, {AT_RANDOM, random},
                               {AT_UID, 0},        {AT_EUID, 0},
                               {AT_GID, 0},        {AT_EGID, 0},
                               {AT_SECURE, 0},     {AT_NULL, 0}};
    for (const auto& a : aux) {
      words.push_back(a[0]);
      words.push_back(a[1]);
    }
    p = (p - words.size() * 8) & ~0xFull;
    for (size_t k = 0; k < words.size(); ++k) bus.put_obj<uint64_t>(p + k * 8, words[k]);
    cpu.gpr[kRsp] = p;
  }

  // The system call the guest made (RAX, args in RDI RSI RDX R10 R8 R9).
  // Returns false when the program exited.
  bool syscall() {
    uint64_t nr = cpu.gpr[kRax], a0 = cpu.gpr[kRdi], a1 = cpu.gpr[kRsi], a2 = cpu.gpr[kRdx];
    int64_t ret = -38;  // ENOSYS
    switch (nr) {
      case 1:  // write
        if (a0 == 1 || a0 == 2) {
          (a0 == 1 ? out : err).append(reinterpret_cast<const char*>(bus.mem.data() + a1), a2);
          ret = static_cast<int64_t>(a2);
        }
        break;
      case 20: {  // writev
        ret = 0;
        for (uint64_t k = 0; k < a2; ++k) {
          uint64_t base = bus.get<uint64_t>(a1 + k * 16), len = bus.get<uint64_t>(a1 + k * 16 + 8);
          (a0 == 1 ? out : err).append(reinterpret_cast<const char*>(bus.mem.data() + base), len);
          ret += static_cast<int64_t>(len);
        }
        break;
      }
      case 12:  // brk
        if (a0 >= kBrkStart && a0 <= kBrkEnd) brk_ = a0;
        ret = static_cast<int64_t>(brk_);
        break;
      case 9:  // mmap (anonymous only)
        if (a1 <= kMmapEnd - mmap_) {
          ret = static_cast<int64_t>(mmap_);
          mmap_ += (a1 + 0xFFF) & ~0xFFFull;
        } else {
          ret = -12;
        }
        break;
      case 158:              // arch_prctl
        if (a0 == 0x1002) {  // ARCH_SET_FS
          cpu.seg[kFs].base = a1;
          ret = 0;
        }
        break;
      case 72:  // fcntl: F_GETFL answers O_WRONLY
        ret = a1 == 3 ? 1 : 0;
        break;
      case 262:  // newfstatat(fd, "", buf, AT_EMPTY_PATH): a pipe
        std::memset(bus.mem.data() + a2, 0, 144);
        bus.put_obj<uint32_t>(a2 + 24, 0010600);  // st_mode: S_IFIFO | 0600
        bus.put_obj<uint64_t>(a2 + 56, 4096);     // st_blksize
        ret = 0;
        break;
      case 318:  // getrandom
        for (uint64_t k = 0; k < a1; ++k) bus.mem[a0 + k] = static_cast<uint8_t>(k * 151 + 7);
        ret = static_cast<int64_t>(a1);
        break;
      case 302:  // prlimit64
        if (cpu.gpr[kR10]) {
          bus.put_obj<uint64_t>(cpu.gpr[kR10], 8 << 20);
          bus.put_obj<uint64_t>(cpu.gpr[kR10] + 8, ~0ull);
        }
        ret = 0;
        break;
      case 16:      // ioctl
        ret = -25;  // ENOTTY
        break;
      case 63:  // uname
        std::memset(bus.mem.data() + a0, 0, 65 * 6);
        std::memcpy(bus.mem.data() + a0, "Linux", 5);
        std::memcpy(bus.mem.data() + a0 + 65 * 2, "6.1.0", 5);
        std::memcpy(bus.mem.data() + a0 + 65 * 4, "x86_64", 6);
        ret = 0;
        break;
      case 10:   // mprotect
      case 11:   // munmap
      case 13:   // rt_sigaction
      case 14:   // rt_sigprocmask
      case 273:  // set_robust_list
      case 102:  // getuid
      case 104:  // getgid
      case 107:  // geteuid
      case 108:  // getegid
        ret = 0;
        break;
      case 39:   // getpid
      case 218:  // set_tid_address
        ret = 1;
        break;
      case 60:   // exit
      case 231:  // exit_group
        status = static_cast<int>(a0);
        return false;
      default:
        break;
    }
    cpu.gpr[kRax] = static_cast<uint64_t>(ret);
    cpu.rip = cpu.gpr[kRcx];
    cpu.set_rflags(cpu.gpr[kR11]);
    return true;
  }

  // Runs `busybox args...`; false with a failure recorded when it did not exit.
  bool run_program(const std::vector<std::string>& args) {
    std::string why;
    if (!load(&why)) {
      skipped = why;
      return false;
    }
    cpu.lstar = kSyscallStub;
    cpu.star = uint64_t{0x18} << 32;
    bus.mem[kSyscallStub] = 0xF4;
    setup_stack(args);
    cpu.gpr[kRdx] = 0;
    cpu.rip = entry_;
    std::atomic<bool> stop{false}, done{false};
    std::thread watchdog([&] {
      for (int k = 0; k < 200 && !done; ++k)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      stop = true;
    });
    bool exited = false;
    for (unsigned calls = 0; calls < 10000; ++calls) {
      bus.put_obj<uint32_t>(kVectorSlot, ~0u);
      CpuExit e = cpu.run(stop);
      if (e != CpuExit::kHalted || cpu.rip != kSyscallStub + 1) {
        ADD_FAILURE() << "stopped (" << static_cast<int>(e) << ") at rip " << std::hex << cpu.rip
                      << ", exception vector " << std::dec << vector_taken() << ", faulting rip "
                      << std::hex
                      << bus.get<uint64_t>(cpu.gpr[kRsp] +
                                           (vector_taken() == kGp || vector_taken() == kPf ? 8 : 0))
                      << "; output so far: " << out << err;
        break;
      }
      if (!syscall()) {
        exited = true;
        break;
      }
    }
    done = true;
    watchdog.join();
    return exited;
  }

  uint64_t entry_ = 0, phdr_ = 0, phnum_ = 0;
  uint64_t brk_ = kBrkStart, mmap_ = kMmapStart;
  std::string out, err, skipped;
  int status = -1;
};

TEST_F(Busybox, Echo) {
  bool exited = run_program({"echo", "hello,", "SSE world"});
  if (!skipped.empty()) GTEST_SKIP() << skipped;
  ASSERT_TRUE(exited);
  EXPECT_EQ(out, "hello, SSE world\n");
  EXPECT_EQ(status, 0);
}

TEST_F(Busybox, SeqDoubles) {
  bool exited = run_program({"seq", "1", "0.75", "4"});
  if (!skipped.empty()) GTEST_SKIP() << skipped;
  ASSERT_TRUE(exited);
  EXPECT_EQ(out, "1.00\n1.75\n2.50\n3.25\n4.00\n");
  EXPECT_EQ(status, 0);
}

TEST_F(Busybox, PrintfDoubles) {
  bool exited = run_program({"printf", "%.3f|%g|%d\\n", "3.14159", "1e10", "42"});
  if (!skipped.empty()) GTEST_SKIP() << skipped;
  ASSERT_TRUE(exited);
  EXPECT_EQ(out, "3.142|1e+10|42\n") << err;
  EXPECT_EQ(status, 0);
}

TEST_F(Busybox, AwkFloatingPoint) {
  bool exited = run_program({"awk",
                             "BEGIN { x = 1.5; for (i = 0; i < 10; i++) x = x * 1.25 + i / 3; "
                             "printf \"%.6f %d %.3e %s\\n\", x, int(x), x / 7, 10 / 4 }"});
  if (!skipped.empty()) GTEST_SKIP() << skipped;
  ASSERT_TRUE(exited);
  EXPECT_EQ(out, "44.973709 44 6.425e+00 2.5\n");  // as the host runs it
  EXPECT_EQ(status, 0);
}

}  // namespace
}  // namespace vessel::cpu

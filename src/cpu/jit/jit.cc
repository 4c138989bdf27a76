// The code buffer, the entry stub and the tier's options; the translator
// itself is in translate.cc.
#include "cpu/jit/jit.h"

#include <sys/mman.h>

#include <xbyak/xbyak.h>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cpu/cpu.h"
#include "cpu/jit/access.h"
#include "cpu/jit/translate.h"

namespace vessel::cpu {

JitOptions JitOptions::from_env() {
  JitOptions o;
  const char* v = std::getenv("VESSEL_JIT");
  if (!v) return o;
  if (std::strcmp(v, "off") == 0) o.enabled = false;
  if (std::strcmp(v, "always") == 0) o.threshold = 0;
  return o;
}

namespace {

// enter(cpu, code): saves the callee-saved registers the translated code
// uses, pins the Cpu in rbx and jumps to the code; the code leaves through
// `exit` with the Flow in eax. The stack stays 16-byte aligned for calls.
// link_end/link_chain: see JitExits.
class EntryStub : public Xbyak::CodeGenerator {
 public:
  EntryStub(uint8_t* at, size_t room) : CodeGenerator(room, at) {
    push(rbx);
    push(rbp);
    push(r12);
    push(r13);
    push(r14);
    push(r15);
    sub(rsp, 8);
    mov(rbx, rdi);
    jmp(rsi);
    align(16);
    exits.exit = getCurr();
    add(rsp, 8);
    pop(r15);
    pop(r14);
    pop(r13);
    pop(r12);
    pop(rbp);
    pop(rbx);
    ret();
    exits.link_end = link(true);
    exits.link_chain = link(false);
    align(16);
  }
  JitExits exits;

 private:
  const void* link(bool branch) {
    align(16);
    const void* at = getCurr();
    Xbyak::Label declined;
    mov(rdi, rbx);
    mov(esi, branch ? 1 : 0);
    mov(rax, reinterpret_cast<uint64_t>(&JitAccess::link));
    call(rax);
    test(rax, rax);
    jz(declined);
    jmp(rax);
    L(declined);
    mov(eax, static_cast<int>(branch ? Flow::kEnd : Flow::kChain));
    jmp(exits.exit, T_NEAR);
    return at;
  }
};

}  // namespace

Jit::Jit(Cpu& cpu) : cpu_(cpu) {
  void* p = mmap(nullptr, kCodeBytes, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  code_ = static_cast<uint8_t*>(p);
  EntryStub stub(code_, kCodeBytes);
  enter_ = reinterpret_cast<EnterFn>(code_);
  exits_ = stub.exits;
  stub_bytes_ = used_ = stub.getSize();
  cache_flushes_ = cpu_.block_cache().stats().flushes;
}

Jit::~Jit() {
  munmap(code_, kCodeBytes);
}

void Jit::reset_code() {
  cpu_.block_cache().for_each([](Block& b) {
    b.jit_code = nullptr;
    b.jit_failed = false;
  });
  used_ = stub_bytes_;
  ++stats_.flushes;
}

void Jit::translate(Block& block) {
  // A flushed block cache left only garbage in the buffer: start over.
  uint64_t flushes = cpu_.block_cache().stats().flushes;
  if (flushes != cache_flushes_) {
    cache_flushes_ = flushes;
    reset_code();
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    TranslateResult r = translate_block(cpu_, block, code_ + used_, kCodeBytes - used_, exits_);
    if (r.status == TranslateStatus::kDone) {
      block.jit_code = code_ + used_;
      block.jit_cpl = static_cast<uint8_t>(cpu_.cpl());
      used_ += (r.bytes + 15) & ~size_t{15};
      ++stats_.blocks;
      stats_.inline_records += r.inline_records;
      stats_.fallback_records += r.fallback_records;
      stats_.code_bytes = used_;
      return;
    }
    if (r.status == TranslateStatus::kDeclined) break;
    reset_code();  // the buffer is full: flush it whole and try once more
  }
  block.jit_failed = true;
  ++stats_.declined;
}

Flow Jit::run(const Block& block) {
  return enter_(&cpu_, block.jit_code);
}

}  // namespace vessel::cpu

// The code buffer, the entry stub and the tier's options; the translator
// itself is in translate.cc.
#include "cpu/jit/jit.h"

#include <sys/mman.h>
#include <unistd.h>

#include <xbyak/xbyak.h>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "cpu/cpu.h"
#include "cpu/jit/access.h"
#include "cpu/jit/translate.h"

namespace vessel::cpu {

JitOptions JitOptions::from_env() {
  JitOptions o;
  const char* map = std::getenv("VESSEL_JIT_PERFMAP");
  o.perf_map = map && std::strcmp(map, "1") == 0;
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
  EntryStub(uint8_t* at, size_t room, const JitAccess& a) : CodeGenerator(room, at), a_(a) {
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
    exits.site_end = link_site(true);
    exits.site_chain = link_site(false);
    exits.link_return = link_return();
    align(16);
  }
  JitExits exits;

 private:
  // Cpu::jit_link's common case in host code (the C++ function does the
  // rest): nothing needs the executor and the block that ended lists the
  // target as a successor in this epoch, with translated code for this CPL.
  const void* link(bool branch) {
    align(16);
    const void* at = getCurr();
    Xbyak::Label slow, found, no_intr;
    constexpr uint32_t kTfRf = 0x100 | 0x10000, kIf = 0x200;
    // Cpu::executor_needed().
    cmp(dword[rbx + a_.chain_budget], 0);
    je(slow, T_NEAR);
    mov(rax, qword[rbx + a_.stop]);
    cmp(byte[rax], 0);
    jne(slow, T_NEAR);
    mov(rax, qword[rbx + a_.code_write_hint]);
    test(rax, rax);
    Xbyak::Label no_hint;
    jz(no_hint);
    cmp(byte[rax], 0);
    jne(slow, T_NEAR);
    L(no_hint);
    cmp(byte[rbx + a_.interrupt_shadow], 0);
    jne(slow, T_NEAR);
    cmp(byte[rbx + a_.debug_armed], 0);
    jne(slow, T_NEAR);
    mov(rax, qword[rbx + a_.rflags]);
    test(eax, kTfRf);
    jnz(slow, T_NEAR);
    test(eax, kIf);
    jz(no_intr);
    cmp(qword[rbx + a_.intr], 0);
    je(no_intr);
    mov(rax, qword[rbx + a_.intr_hint]);
    test(rax, rax);
    jz(slow, T_NEAR);
    cmp(byte[rax], 0);
    jne(slow, T_NEAR);
    L(no_intr);
    // The successor: r9 = target RIP, rcx = its linear address, rdx = epoch.
    mov(r9, qword[rbx + (branch ? a_.next_rip : a_.rip)]);
    mov(rcx, r9);
    add(rcx, qword[rbx + a_.cs_base]);
    load_chain_epoch(rdx);
    mov(rsi, qword[rbx + a_.cur_block]);
    find_successor(rdx, found, slow);
    L(found);
    check_target(slow);
    // Entered through the link: the executor's bookkeeping.
    dec(dword[rbx + a_.chain_budget]);
    // Records done in the block that ended: (cur_insn_ - its first) / 40.
    static_assert(sizeof(Insn) == 40);
    mov(r8, qword[rbx + a_.cur_insn]);
    sub(r8, rsi);
    sub(r8, static_cast<uint32_t>(sizeof(Block)));
    shr(r8d, 3);
    imul(r8d, r8d, 0xCCCD);  // / 5, exact below 2^16
    shr(r8d, 18);
    if (branch) add(r8d, 1);
    add(qword[rbx + a_.instructions], r8);
    add(qword[rbx + a_.blocks], 1);
    add(qword[rbx + a_.chain_hits], 1);
    mov(qword[rbx + a_.rip], r9);
    mov(qword[rbx + a_.cur_block], rdi);
    mov(qword[rbx + a_.block_epoch], rdx);
    lea(r8, ptr[rdi + static_cast<uint32_t>(sizeof(Block))]);
    mov(qword[rbx + a_.cur_insn], r8);
    jmp(rax);

    L(slow);
    mov(rdi, rbx);
    mov(esi, branch ? 1 : 0);
    call_link(reinterpret_cast<uint64_t>(&JitAccess::link), branch);
    return at;
  }
  // JitExits::link_return.
  const void* link_return() {
    align(16);
    const void* at = getCurr();
    Xbyak::Label cache, found, miss;
    // Keys are linear addresses (CS's base added, as Cpu::fetch_block
    // does): rcx is the one of the target, r10 keeps its RIP (the
    // registers the block cached are written back).
    mov(r10, rcx);
    add(rcx, qword[rbx + a_.cs_base]);
    load_chain_epoch(r9);
    find_successor(r9, found, cache);
    // Cpu::jump_cached (its local epoch only).
    L(cache);
    mov(rax, rcx);
    shr(rax, 12);
    xor_(rax, rcx);
    and_(eax, JitAccess::kJumpCacheSlots - 1);
    static_assert(sizeof(Successor) == 32);
    shl(eax, 5);
    match_entry(rbx + rax + a_.jump_cache, r9, nullptr, miss);
    L(found);
    check_target(miss);
    mov(qword[rbx + a_.rip], r10);
    jmp(rax);
    L(miss);
    mov(rcx, r10);
    jmp(rdx);
    return at;
  }
  // r = Cpu::chain_epochs().local.
  void load_chain_epoch(const Xbyak::Reg64& r) {
    mov(r, qword[rbx + a_.tlb_epoch]);
    add(r, qword[rbx + a_.blocks_epoch]);
    add(r, qword[rbx + a_.mode_epoch]);
    shl(r, JitAccess::kModeIdBits);
    or_(r, qword[rbx + a_.mode_id]);
  }
  // rdi = the successor of Block rsi at linear address rcx recorded in
  // `epoch` and on to `found`, else to `miss`.
  void find_successor(const Xbyak::Reg64& epoch, const Xbyak::Label& found,
                      const Xbyak::Label& miss) {
    constexpr auto kNext = static_cast<int32_t>(offsetof(Block, next));
    constexpr auto kSucc = static_cast<int32_t>(sizeof(Successor));
    Xbyak::Label second;
    match_entry(rsi + kNext, epoch, &found, second);
    L(second);
    match_entry(rsi + kNext + kSucc, epoch, &found, miss);
  }
  // rdi = the block of the Successor at `entry` when it was recorded at
  // linear address rcx in `epoch` (Cpu::remembered, the local epoch only),
  // and on to `found` (nullptr: what follows); else to `miss`.
  void match_entry(const Xbyak::RegExp& entry, const Xbyak::Reg64& epoch, const Xbyak::Label* found,
                   const Xbyak::Label& miss) {
    constexpr auto kLinear = static_cast<int32_t>(offsetof(Successor, linear));
    constexpr auto kEpoch = static_cast<int32_t>(offsetof(Successor, epoch));
    constexpr auto kBlock = static_cast<int32_t>(offsetof(Successor, block));
    cmp(rcx, qword[entry + kLinear]);
    jne(miss, T_NEAR);
    cmp(epoch, qword[entry + kEpoch]);
    jne(miss, T_NEAR);
    mov(rdi, qword[entry + kBlock]);
    if (found) jmp(*found, T_NEAR);
  }
  // rax = the translated code of Block rdi when it was made for this CPL,
  // else to `miss`.
  void check_target(const Xbyak::Label& miss) {
    mov(rax, qword[rdi + static_cast<int32_t>(offsetof(Block, jit_code))]);
    test(rax, rax);
    jz(miss, T_NEAR);
    movzx(r8d, byte[rdi + static_cast<int32_t>(offsetof(Block, jit_cpl))]);
    cmp(r8d, dword[rbx + a_.cpl]);
    jne(miss, T_NEAR);
  }
  // A direct exit's tail (rdx: its JitExitSite): Cpu::jit_link_site.
  const void* link_site(bool branch) {
    align(16);
    const void* at = getCurr();
    mov(rdi, rbx);
    mov(rsi, rdx);
    call_link(reinterpret_cast<uint64_t>(&JitAccess::link_site), branch);
    return at;
  }
  // Calls fn (arguments set): on into the code it returns, or back to the
  // executor when it returns nullptr.
  void call_link(uint64_t fn, bool branch) {
    Xbyak::Label declined;
    mov(rax, fn);
    call(rax);
    test(rax, rax);
    jz(declined);
    jmp(rax);
    L(declined);
    mov(eax, static_cast<int>(branch ? Flow::kEnd : Flow::kChain));
    jmp(exits.exit, T_NEAR);
  }
  JitAccess a_;
};

}  // namespace

Jit::Jit(Cpu& cpu, size_t code_bytes, bool perf_map) : cpu_(cpu), code_bytes_(code_bytes) {
  if (perf_map) {
    std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
    perf_map_ = std::fopen(path.c_str(), "a");
    // Line-buffered: a profiler attaching to a running VM finds every block.
    if (perf_map_) std::setvbuf(perf_map_, nullptr, _IOLBF, 0);
  }
  void* p = mmap(nullptr, code_bytes_, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  code_ = static_cast<uint8_t*>(p);
  EntryStub stub(code_, code_bytes_, JitAccess(cpu_));
  enter_ = reinterpret_cast<EnterFn>(code_);
  exits_ = stub.exits;
  stub_bytes_ = used_ = stub.getSize();
  if (perf_map_)
    std::fprintf(perf_map_, "%lx %zx vessel-jit-entry-and-link\n",
                 reinterpret_cast<unsigned long>(code_), stub_bytes_);
  cache_flushes_ = cpu_.block_cache().stats().flushes;
  cpu_.block_cache().set_drop_listener(this);
}

Jit::~Jit() {
  cpu_.block_cache().set_drop_listener(nullptr);
  if (perf_map_) std::fclose(perf_map_);
  munmap(code_, code_bytes_);
}

void Jit::reset_code() {
  cpu_.block_cache().forget_translations();
  in_links_.resize(1);
  used_ = stub_bytes_;
  ++stats_.flushes;
}

void Jit::patch_jmp(uint8_t* at, const void* to) {
  auto rel = static_cast<int32_t>(static_cast<const uint8_t*>(to) - (at + 5));
  std::memcpy(at + 1, &rel, sizeof rel);
}

void Jit::link_site(const JitExitSite& site, const Block& from, Block& to, uint64_t linear) {
  // `from`'s first byte is `site.target` bytes before `linear`: the same
  // linear page and the same physical page for both means that whenever
  // `from` runs, the mapping that found `to` holds. `to` must not reach
  // into a second page (whose mapping would need a check) and must be made
  // for the same CPL (the CPL does not change within a patchable block).
  auto same = [](uint64_t a, uint64_t b) { return ((a ^ b) & ~0xFFFull) == 0; };
  bool direct = same(linear - static_cast<int64_t>(site.target), linear) &&
                same(from.gpa, to.gpa) && to.len2 == 0 && to.jit_cpl == from.jit_cpl;
  if (!direct) {
    // This exit never enters its target directly: the plain linking path.
    patch_jmp(site.last_jmp, site.branch ? exits_.link_end : exits_.link_chain);
    return;
  }
  // Where the site jumps now: its tail (a patched site is not taken again).
  int32_t rel;
  std::memcpy(&rel, site.site + 1, sizeof rel);
  const uint8_t* tail = site.site + 5 + rel;
  in_links_.push_back(InLink{site.site, tail, to.jit_in});
  to.jit_in = static_cast<uint32_t>(in_links_.size() - 1);
  patch_jmp(site.site, to.jit_body);
  ++stats_.patched;
}

void Jit::dropped(Block& block) {
  for (uint32_t k = block.jit_in; k; k = in_links_[k].next) {
    patch_jmp(in_links_[k].site, in_links_[k].tail);
    ++stats_.unpatched;
  }
  block.jit_in = 0;
}

void Jit::translate(Block& block) {
  // A flushed block cache left only garbage in the buffer: start over.
  uint64_t flushes = cpu_.block_cache().stats().flushes;
  if (flushes != cache_flushes_) {
    cache_flushes_ = flushes;
    reset_code();
  }
  // Patches undone leave their entries behind: bound them (~24 MiB).
  if (in_links_.size() > kMaxInLinks) reset_code();
  for (int attempt = 0; attempt < 2; ++attempt) {
    TranslateResult r = translate_block(cpu_, block, code_ + used_, code_bytes_ - used_, exits_);
    if (r.status == TranslateStatus::kDone) {
      block.jit_code = code_ + used_;
      block.jit_body = code_ + used_ + r.body;
      if (perf_map_)
        std::fprintf(perf_map_, "%lx %zx vessel-jit-%llx\n",
                     reinterpret_cast<unsigned long>(code_ + used_), r.bytes,
                     static_cast<unsigned long long>(block.gpa));
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

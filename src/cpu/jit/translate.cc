// The translator. Register use in translated code:
//   rbx  the Cpu (pinned; the entry stub sets it)
//   r12  RIP of the block's first instruction (loaded on entry)
//   rbp, r13-r15, r9-r11  guest registers cached within the block
//   rsi  linear address of a memory operand; rax its host address
//   rax, rcx, rdx, rdi scratch
// Guest condition flags are in one of two
// places, tracked while emitting: the host's RFLAGS (after an inline ALU
// instruction) or the Cpu's LazyFlags. They are stored from RFLAGS to the
// Cpu ("spilled") before anything that can leave the block or look at them
// there: a handler call, a memory access (its slow path is a handler call),
// a branch, the block's end.
#include "cpu/jit/translate.h"

#include <xbyak/xbyak.h>
#include <cstring>
#include <deque>
#include <new>
#include <type_traits>
#include <vector>

#include "cpu/cpu.h"
#include "cpu/jit/access.h"
#include "cpu/jit/conditions.h"
#include "cpu/jit/op_table.h"
#include "cpu/jit/plan.h"

namespace vessel::cpu {

namespace {

constexpr int kFlowNext = static_cast<int>(Flow::kNext);
constexpr int kFlowEnd = static_cast<int>(Flow::kEnd);
constexpr int kFlowChain = static_cast<int>(Flow::kChain);
static_assert(kFlowNext == 0);

class Translator : public Xbyak::CodeGenerator {
 public:
  Translator(Cpu& cpu, const Block& block, uint8_t* at, size_t room, const JitExits& exits)
      : CodeGenerator(room, at),
        a_(cpu),
        block_(block),
        insns_(block.insns()),
        exits_(exits),
        user_(cpu.cpl() == 3) {
    stubs_.reserve(4 * block.count + 8);
  }

  TranslateResult run() {
    TranslateResult r;
    if (block_.key % 4 != static_cast<uint64_t>(DecodeMode::k64)) return r;  // 64-bit code only
    plans_ = plan_block(block_);
    offsets_.resize(block_.count + 1);
    uint32_t off = 0;
    for (uint32_t i = 0; i < block_.count; ++i) {
      offsets_[i] = off;
      off += insns_[i].len;
    }
    offsets_[block_.count] = off;

    mov(r12, qword[rbx + a_.rip]);
    r.body = getSize();  // direct exits of other blocks enter here, r12 set
    for (int8_t& w : where_) w = -1;
    for (uint32_t i = 0; i < block_.count; ++i) {
      if (plans_[i].inl) {
        emit_inline(i);
        ++r.inline_records;
      } else {
        emit_call(i);
        ++r.fallback_records;
      }
    }
    // Fell off the end: RIP past the last record, on to the next block
    // (directly, unless the last instruction may have changed what the
    // executor checks: the mode, the mapping, IF, TF).
    spill();
    write_back(dirty());
    auto end = static_cast<int32_t>(offsets_[block_.count]);
    if (block_.count && (insns_[block_.count - 1].flags & insn_flag::kEndsBlock)) {
      lea(rax, ptr[r12 + end]);
      mov(qword[rbx + a_.rip], rax);
      set_cur_insn(block_.count);
      jmp(exits_.link_chain, T_NEAR);
    } else {
      direct_exit(block_.count, end, false);
    }
    // Stubs may add stubs (a slow path's handler call adds its exits).
    for (size_t k = 0; k < stubs_.size(); ++k) {
      Stub stub = stubs_[k];
      stub.run(stub.data);
    }
    ready();
    r.status = TranslateStatus::kDone;
    r.bytes = getSize();
    return r;
  }

 private:
  // ---- Jumps to code not emitted yet --------------------------------------
  //
  // Forward jumps are emitted with a 32-bit displacement and fixed up once
  // their target is known: Xbyak's labels cost hash-table updates, a large
  // share of the time a block takes to translate.
  struct Fwd {
    size_t at;  // offset of the rel32 field
  };
  static constexpr int kE = 0x4, kNe = 0x5, kLe = 0xE;  // x86 condition codes
  Fwd jcc_fwd(int cc) {
    db(0x0F);
    db(0x80 | cc);
    dd(0);
    return Fwd{getSize() - 4};
  }
  Fwd jmp_fwd() {
    db(0xE9);
    dd(0);
    return Fwd{getSize() - 4};
  }
  // The jump (or RIP-relative operand) at f reaches here.
  void bind(Fwd f) {
    auto rel = static_cast<int32_t>(getSize() - (f.at + 4));
    std::memcpy(const_cast<uint8_t*>(getCode()) + f.at, &rel, sizeof rel);
  }
  // A jump back to offset `to` of this block's code.
  void jmp_to(size_t to) { jmp(getCode() + to, T_NEAR); }

  // Code emitted out of line after the block's main path (slow paths,
  // exits), as a callable kept inline: its captures must be plain data.
  struct Stub {
    alignas(8) unsigned char data[72];
    void (*run)(const void*);
  };
  template <class F>
  void add_stub(const F& f) {
    static_assert(sizeof(F) <= sizeof(Stub::data) && alignof(F) <= 8 &&
                  std::is_trivially_copyable_v<F> && std::is_trivially_destructible_v<F>);
    Stub& s = stubs_.emplace_back();
    new (s.data) F(f);
    s.run = [](const void* p) { (*static_cast<const F*>(p))(); };
  }

  // ---- Guest registers in host registers ---------------------------------
  //
  // Within a block, guest registers live in a pool of host registers once
  // used, loaded on first use and written back ("dirty" ones) before
  // anything that leaves the block or calls a handler. Slow paths and side
  // exits, emitted out of line later, write back the registers that were
  // dirty where they branch off (a snapshot) and, where they join again,
  // reload the registers the main path has cached there.

  static constexpr int kPool = 7;
  static Xbyak::Reg64 pool(int slot) {
    static const int kIdx[kPool] = {Xbyak::Operand::RBP, Xbyak::Operand::R13, Xbyak::Operand::R14,
                                    Xbyak::Operand::R15, Xbyak::Operand::R9,  Xbyak::Operand::R10,
                                    Xbyak::Operand::R11};
    return Xbyak::Reg64(kIdx[slot]);
  }
  struct Slot {
    int8_t guest = -1;
    bool dirty = false;
    uint32_t used = 0;
  };
  struct Cached {
    uint8_t guest;
    int8_t slot;
  };
  // A set of cached registers (kept inline: translation allocates little).
  struct Snapshot {
    uint8_t n = 0;
    Cached regs[kPool];
    const Cached* begin() const { return regs; }
    const Cached* end() const { return regs + n; }
  };

  Xbyak::Address gpr_mem(unsigned r) { return qword[rbx + a_.gpr + static_cast<int32_t>(r * 8)]; }

  // Guest register r (0-15) in its host register; loaded unless `load` is
  // false (the caller writes all 64 bits, or the low 32).
  Xbyak::Reg64 cached(unsigned r, bool load = true) {
    int s = where_[r];
    if (s < 0) {
      s = victim();
      if (load) mov(pool(s), gpr_mem(r));
      slots_[s] = Slot{static_cast<int8_t>(r), false, 0};
      where_[r] = static_cast<int8_t>(s);
    }
    slots_[s].used = ++clock_;
    return pool(s);
  }
  // Guest register r about to be written with a `size`-byte result: its
  // host register (holding the old value where a narrow write merges).
  Xbyak::Reg64 def(unsigned r, unsigned size) {
    Xbyak::Reg64 h = cached(r, size < 4);
    slots_[where_[r]].dirty = true;
    return h;
  }
  void touch(unsigned r) { slots_[where_[r]].dirty = true; }
  // A free slot, or the least recently used one (written back if dirty).
  int victim() {
    int best = 0;
    for (int s = 0; s < kPool; ++s) {
      if (slots_[s].guest < 0) return s;
      if (slots_[s].used < slots_[best].used) best = s;
    }
    if (slots_[best].dirty) mov(gpr_mem(slots_[best].guest), pool(best));
    where_[slots_[best].guest] = -1;
    slots_[best] = Slot{};
    return best;
  }
  // The registers cached now (only the dirty ones when `dirty_only`).
  Snapshot cached_now(bool dirty_only = false) const {
    Snapshot out;
    for (int s = 0; s < kPool; ++s)
      if (slots_[s].guest >= 0 && (slots_[s].dirty || !dirty_only))
        out.regs[out.n++] = {static_cast<uint8_t>(slots_[s].guest), static_cast<int8_t>(s)};
    return out;
  }
  Snapshot dirty() const { return cached_now(true); }
  void write_back(const Snapshot& regs) {
    for (const Cached& c : regs) mov(gpr_mem(c.guest), pool(c.slot));
  }
  void reload(const Snapshot& regs) {
    for (const Cached& c : regs) mov(pool(c.slot), gpr_mem(c.guest));
  }
  // Main path: every dirty register to the Cpu (they stay cached, clean).
  void write_back_all() {
    write_back(dirty());
    for (Slot& s : slots_) s.dirty = false;
  }
  // After a handler ran: the Cpu's registers are the truth.
  void forget_all() {
    for (Slot& s : slots_) s = Slot{};
    for (int8_t& w : where_) w = -1;
  }

  // ---- Operands -------------------------------------------------------------

  Xbyak::Address sized(unsigned size, const Xbyak::RegExp& e) {
    switch (size) {
      case 1:
        return byte[e];
      case 2:
        return word[e];
      case 4:
        return dword[e];
      default:
        return qword[e];
    }
  }
  static Xbyak::Reg sized(unsigned size, const Xbyak::Reg64& r) {
    switch (size) {
      case 1:
        return r.cvt8();
      case 2:
        return r.cvt16();
      case 4:
        return r.cvt32();
      default:
        return r;
    }
  }
  // Guest register r's low `size` bytes, for reading (or in-place updates:
  // then touch(r)).
  Xbyak::Reg src(unsigned r, unsigned size) { return sized(size, cached(r)); }
  // An ALU immediate as Xbyak takes it: 8-bit and 32-bit ones as they are,
  // 16-bit ones sign-extended to 32 bits.
  static uint32_t imm_of(const Insn& in, unsigned size) {
    if (size == 1) return static_cast<uint32_t>(in.imm & 0xFF);
    if (size == 2) return static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(in.imm)));
    return static_cast<uint32_t>(in.imm);
  }

  // rsi = the memory operand's address: the offset (LEA), or the linear
  // address (`linear`: FS/GS bases added; the others are 0 in 64-bit mode).
  void emit_address(uint32_t i, bool linear) {
    const Insn& in = insns_[i];
    if (in.base == kRipBase) {
      lea(rsi, ptr[r12 + static_cast<int32_t>(offsets_[i + 1] + in.disp)]);
    } else {
      auto disp = static_cast<int32_t>(in.disp);
      bool base = in.base != kNoReg, index = in.index != kNoReg;
      if (base && index) {
        Xbyak::Reg64 b = cached(in.base), x = cached(in.index);
        lea(rsi, ptr[b + x * in.scale + disp]);
      } else if (base) {
        lea(rsi, ptr[cached(in.base) + disp]);
      } else if (index) {
        lea(rsi, ptr[cached(in.index) * in.scale + disp]);
      } else {
        mov(rsi, static_cast<uint64_t>(static_cast<int64_t>(disp)));
      }
    }
    if (in.addrsize == 4) mov(esi, esi);
    if (linear && in.seg == kFs) add(rsi, qword[rbx + a_.fs_base]);
    if (linear && in.seg == kGs) add(rsi, qword[rbx + a_.gs_base]);
  }

  // The software TLB's fast path for a `size`-byte access at linear rsi:
  // rax = its host address, or a jump to `slow` (a miss, or an access that
  // crosses into the next page: the page of its last byte is then not the
  // entry's). Clobbers rcx and the host flags.
  void emit_tlb(Access kind, unsigned size, Fwd& slow) {
    static_assert(sizeof(TlbEntry) == 32);
    int32_t table = a_.tlb[static_cast<int>(kind)];
    mov(rax, rsi);
    shr(rax, 12 - 5);
    and_(eax, (Tlb::kEntries - 1) << 5);  // the entry's byte offset
    if (size > 1)
      lea(rcx, ptr[rsi + static_cast<int32_t>(size - 1)]);
    else
      mov(rcx, rsi);
    and_(rcx, ~0xFFF);
    if (user_) or_(rcx, 1);
    cmp(rcx, qword[rbx + rax + table]);
    slow = jcc_fwd(kNe);
    mov(rax, qword[rbx + rax + table + 8]);
    add(rax, rsi);
  }

  // ---- Flags ----------------------------------------------------------------

  // Stores the guest flags from the host's RFLAGS into the Cpu in
  // LazyFlags' materialized form (SETO and LAHF). Clobbers rax, no flag.
  void spill() {
    if (!mem_stale_) return;
    emit_spill(!mem_known_);
    mem_stale_ = false;
    mem_known_ = true;
  }
  void emit_spill(bool clear_lazy = true) {
    seto(al);
    lahf();
    store_flags(clear_lazy);
  }
  // AX (AL: OF as 0 or 1, AH: as LAHF leaves it) into the Cpu as its
  // materialized flags, marked not lazy where `clear_lazy`.
  void store_flags(bool clear_lazy) {
    mov(word[rbx + a_.flags_word], ax);
    if (clear_lazy) mov(byte[rbx + a_.flags_lazy], 0);
  }
  // Makes sure the Cpu's flags are in materialized form (a handler may have
  // left them lazy): the call to do it is out of line, keeping the cached
  // registers.
  void materialized() {
    if (mem_known_) return;
    cmp(byte[rbx + a_.flags_lazy], 0);
    Fwd lazy = jcc_fwd(kNe);
    size_t back = getSize();
    add_stub([this, lazy, back, regs = dirty(), live = cached_now()] {
      bind(lazy);
      write_back(regs);
      call_materialize();
      reload(live);
      jmp_to(back);
    });
    mem_known_ = true;
  }
  void call_materialize() {
    mov(rdi, rbx);
    mov(rax, reinterpret_cast<uint64_t>(&JitAccess::materialize_flags));
    call(rax);
  }
  // Loads the guest flags from the Cpu into the host's RFLAGS.
  void load_flags() {
    if (host_valid_) return;
    materialized();
    emit_sahf();
    host_valid_ = true;
  }
  // Only the guest's CF into the host's (for INC, DEC, ADC, SBB, which set
  // every other flag); the others are left undefined.
  void load_carry() {
    if (host_valid_) return;
    materialized();
    bt(word[rbx + a_.flags_word], 8);  // CF
  }
  // The materialized flags into the host's RFLAGS: OF by an addition that
  // overflows exactly when it is set (0x7F + 1), the others by SAHF.
  // Clobbers rax.
  void emit_sahf() {
    mov(ax, word[rbx + a_.flags_word]);
    add(al, 0x7F);
    sahf();
  }
  // After a handler call that set the flags (registers written back).
  void emit_load_flags() {
    cmp(byte[rbx + a_.flags_lazy], 0);
    Fwd ready = jcc_fwd(kE);
    call_materialize();
    bind(ready);
    emit_sahf();
  }
  // After an instruction that set the guest flags in the host's RFLAGS.
  void flags_in_host() { host_valid_ = mem_stale_ = true; }
  // After host code that clobbered RFLAGS (the guest flags were spilled).
  void host_flags_lost() { host_valid_ = false; }

  // ---- Exits and handler calls ------------------------------------------------

  // cur_insn_ = record `rec` of this block (and cur_block_ = this block:
  // a direct exit into it did not set it).
  void set_cur_insn(uint32_t rec) {
    mov(rcx, reinterpret_cast<uint64_t>(&insns_[rec]));
    mov(qword[rbx + a_.cur_insn], rcx);
    mov(rcx, reinterpret_cast<uint64_t>(&block_));
    mov(qword[rbx + a_.cur_block], rcx);
  }
  // Leaves the translated code: cur_insn_ = record `rec`, Flow `flow`.
  void leave(uint32_t rec, int flow) {
    set_cur_insn(rec);
    mov(eax, flow);
    jmp(exits_.exit, T_NEAR);
  }
  // A direct exit (see JitExitSite) to `target` bytes past the block's first
  // RIP, after `rec` (a taken branch: `branch`) or at the block's end
  // (`rec` = count). Registers written back, flags stored.
  void direct_exit(uint32_t rec, int32_t target, bool branch) {
    uint32_t count = branch ? rec + 1 : rec;
    lea(r12, ptr[r12 + target]);
    sub(qword[rbx + a_.jit_left], count);
    Fwd spent = jcc_fwd(kLe);
    uint8_t* site = const_cast<uint8_t*>(getCurr());
    Fwd unpatched = jmp_fwd();
    add_stub([this, rec, target, branch, count, site, spent, unpatched] {
      bind(spent);
      bind(unpatched);
      add(qword[rbx + a_.jit_left], count);
      mov(qword[rbx + (branch ? a_.next_rip : a_.rip)], r12);
      set_cur_insn(rec);
      lea(rdx, ptr[rip + 0]);  // the JitExitSite below
      Fwd data{getSize() - 4};
      uint8_t* last_jmp = const_cast<uint8_t*>(getCurr());
      jmp(branch ? exits_.site_end : exits_.site_chain, T_NEAR);
      align(8);
      bind(data);
      JitExitSite d{};
      d.site = site;
      d.last_jmp = last_jmp;
      d.target = target;
      d.count = count;
      d.branch = branch;
      const auto* bytes = reinterpret_cast<const uint8_t*>(&d);
      for (size_t k = 0; k < sizeof d; ++k) db(bytes[k]);
    });
  }
  // The return or indirect branch of record i to RIP rcx (registers
  // written back, flags stored): like a direct exit, it spends the budget
  // and checks no event (the block holds no instruction that changes what
  // the executor checks); JitExits::link_return finds the target, else the
  // linking path.
  void indirect_exit(uint32_t i) {
    sub(qword[rbx + a_.jit_left], i + 1);
    Fwd spent = jcc_fwd(kLe);
    mov(rsi, reinterpret_cast<uint64_t>(&block_));
    lea(rdx, ptr[rip + 0]);
    Fwd fallback{getSize() - 4};
    jmp(exits_.link_return, T_NEAR);
    add_stub([this, i, spent, fallback] {
      bind(spent);
      bind(fallback);
      add(qword[rbx + a_.jit_left], i + 1);
      leave_branch(i);
    });
  }
  // A near branch of record i to RIP rcx: on to the next block (registers
  // already written back).
  void leave_branch(uint32_t i) {
    mov(qword[rbx + a_.next_rip], rcx);
    set_cur_insn(i);
    jmp(exits_.link_end, T_NEAR);
  }
  void set_rips(uint32_t i) {
    lea(rax, ptr[r12 + static_cast<int32_t>(offsets_[i])]);
    mov(qword[rbx + a_.rip], rax);
    lea(rax, ptr[r12 + static_cast<int32_t>(offsets_[i + 1])]);
    mov(qword[rbx + a_.next_rip], rax);
  }
  // A relative branch's target: bytes from the block's first instruction.
  int32_t target_offset(uint32_t i) const {
    return static_cast<int32_t>(offsets_[i + 1] + insns_[i].imm);
  }
  // Calls record i's handler (the guest state already in the Cpu) and leaves
  // when it did not complete normally or dropped cached code.
  void emit_handler_call(uint32_t i) {
    const Insn& in = insns_[i];
    set_rips(i);
    mov(rdi, rbx);
    mov(rsi, reinterpret_cast<uint64_t>(&in));
    mov(rax, reinterpret_cast<uint64_t>(in.fn));
    call(rax);
    test(al, al);
    Fwd ok = jcc_fwd(kE);
    cmp(al, kFlowChain);
    Fwd leave_now = jcc_fwd(kNe);
    bind(ok);
    cmp(byte[rbx + a_.code_invalidated], 0);
    Fwd stop = jcc_fwd(kNe);
    add_stub([this, i, leave_now, stop] {
      // The handler ended the block (a branch: on to the next one), faulted
      // or halted: eax holds its Flow.
      bind(leave_now);
      set_cur_insn(i);
      cmp(eax, kFlowEnd);
      je(exits_.link_end);
      jmp(exits_.exit, T_NEAR);
      // A store dropped cached code (maybe this block's): RIP past record i.
      bind(stop);
      mov(rax, qword[rbx + a_.next_rip]);
      mov(qword[rbx + a_.rip], rax);
      leave(i + 1, kFlowChain);
    });
  }
  void emit_call(uint32_t i) {
    spill();
    write_back_all();
    emit_handler_call(i);
    forget_all();
    host_valid_ = mem_stale_ = mem_known_ = false;
  }

  // A memory operand's fast path and its slow path: the whole instruction
  // through its handler, out of line, joining again at `after` with the
  // registers and flags where the fast path leaves them.
  struct SlowPath {
    uint32_t i;
    Fwd slow;
    size_t after;
    Snapshot dirty_before, cached_after;
  };
  SlowPath& slow_path(uint32_t i) {
    SlowPath& sp = slow_paths_.emplace_back();
    sp.i = i;
    SlowPath* p = &sp;
    bool writes = plans_[i].writes;
    add_stub([this, p, writes] {
      bind(p->slow);
      write_back(p->dirty_before);
      emit_handler_call(p->i);
      if (writes) emit_load_flags();
      reload(p->cached_after);
      jmp_to(p->after);
    });
    return sp;
  }
  // Branches to the slow path when the TLB misses: rax = host address.
  SlowPath& memory(uint32_t i, Access kind, unsigned size) {
    spill();
    SlowPath& sp = slow_path(i);
    emit_address(i, true);
    sp.dirty_before = dirty();
    emit_tlb(kind, size, sp.slow);
    return sp;
  }
  // The 8-byte stack slot of a push (below RSP) or a pop (at `top`: RSP, or
  // RBP for LEAVE): rsi its address, rax its host address.
  SlowPath& stack(uint32_t i, bool push, unsigned top = kRsp) {
    spill();
    SlowPath& sp = slow_path(i);
    lea(rsi, ptr[cached(top) - (push ? 8 : 0)]);
    sp.dirty_before = dirty();
    emit_tlb(push ? Access::kWrite : Access::kRead, 8, sp.slow);
    return sp;
  }
  void join(SlowPath& sp) {
    sp.cached_after = cached_now();
    sp.after = getSize();
  }

  // ---- Inline records -------------------------------------------------------

  void alu(AluOp op, const Xbyak::Operand& d, const Xbyak::Operand& s) {
    switch (op) {
      case AluOp::kAdd:
        add(d, s);
        break;
      case AluOp::kOr:
        or_(d, s);
        break;
      case AluOp::kAdc:
        adc(d, s);
        break;
      case AluOp::kSbb:
        sbb(d, s);
        break;
      case AluOp::kAnd:
        and_(d, s);
        break;
      case AluOp::kSub:
        sub(d, s);
        break;
      case AluOp::kXor:
        xor_(d, s);
        break;
      case AluOp::kCmp:
        cmp(d, s);
        break;
      case AluOp::kTest:
        test(d, s.getReg());
        break;
    }
  }
  void alu(AluOp op, const Xbyak::Operand& d, uint32_t imm) {
    switch (op) {
      case AluOp::kAdd:
        add(d, imm);
        break;
      case AluOp::kOr:
        or_(d, imm);
        break;
      case AluOp::kAdc:
        adc(d, imm);
        break;
      case AluOp::kSbb:
        sbb(d, imm);
        break;
      case AluOp::kAnd:
        and_(d, imm);
        break;
      case AluOp::kSub:
        sub(d, imm);
        break;
      case AluOp::kXor:
        xor_(d, imm);
        break;
      case AluOp::kCmp:
        cmp(d, imm);
        break;
      case AluOp::kTest:
        test(d, imm);
        break;
    }
  }

  void emit_inline(uint32_t i) {
    const Insn& in = insns_[i];
    const JitOp& op = plans_[i].op;
    const unsigned sz = in.opsize;
    switch (op.kind) {
      case JitKind::kAlu:
        return emit_alu(i, static_cast<AluOp>(op.op), op.form);
      case JitKind::kUnary: {
        auto u = static_cast<UnaryOp>(op.op);
        bool inc_dec = u == UnaryOp::kInc || u == UnaryOp::kDec;
        if (op.form == Form::kM) {
          // CF for INC/DEC comes from the Cpu after the TLB check (which
          // clobbers the host's flags): materialized first, since that may
          // call out and the call would lose the host address.
          spill();
          if (inc_dec) materialized();
          SlowPath& sp = memory(i, Access::kWrite, sz);
          if (inc_dec) bt(word[rbx + a_.flags_word], 8);  // CF
          Xbyak::Address m = sized(sz, rax + 0);
          if (u == UnaryOp::kInc) inc(m);
          if (u == UnaryOp::kDec) dec(m);
          if (u == UnaryOp::kNeg) neg(m);
          if (u == UnaryOp::kNot) not_(m);
          if (u != UnaryOp::kNot)
            flags_in_host();
          else
            host_flags_lost();
          join(sp);
          return;
        }
        if (inc_dec) load_carry();
        Xbyak::Reg v = src(in.r0, sz);
        touch(in.r0);
        if (u == UnaryOp::kInc) inc(v);
        if (u == UnaryOp::kDec) dec(v);
        if (u == UnaryOp::kNeg) neg(v);
        if (u == UnaryOp::kNot) not_(v);
        if (u != UnaryOp::kNot) flags_in_host();
        return;
      }
      case JitKind::kShift: {
        // The host masks the count as the guest does (5 bits, 6 for 64-bit).
        if (op.form == Form::kRR) mov(ecx, src(kRcx, 4));
        Xbyak::Reg v = src(in.r0, sz);
        touch(in.r0);
        auto imm = static_cast<uint8_t>(in.imm & (sz == 8 ? 63 : 31));
        auto shift = [&](auto by) {
          switch (static_cast<ShiftOp>(op.op)) {
            case ShiftOp::kRol:
              rol(v, by);
              break;
            case ShiftOp::kRor:
              ror(v, by);
              break;
            case ShiftOp::kShr:
              shr(v, by);
              break;
            case ShiftOp::kSar:
              sar(v, by);
              break;
            default:
              shl(v, by);
              break;
          }
        };
        auto s = static_cast<ShiftOp>(op.op);
        if (plans_[i].exact && s == ShiftOp::kShr) mov(rdx, cached(in.r0));  // its MSB is OF
        if (op.form == Form::kRR)
          shift(cl);
        else
          shift(imm);
        if (!plans_[i].exact) {
          flags_in_host();  // dead (the plan checked): whatever they are
          return;
        }
        // AF = 0; OF = MSB(result) ^ CF (SHL), MSB(operand) (SHR), 0 (SAR).
        constexpr uint8_t kAf = 0x10;
        lahf();
        and_(ah, static_cast<uint8_t>(~kAf));
        if (s == ShiftOp::kSar) {
          mov(al, 0);
        } else {
          bt(s == ShiftOp::kShr ? rdx : cached(in.r0), sz * 8 - 1);
          setc(al);
          if (s != ShiftOp::kShr) {
            xor_(al, ah);  // CF is bit 0
            and_(al, 1);
          }
        }
        store_flags(!mem_known_);
        host_valid_ = mem_stale_ = false;
        mem_known_ = true;
        return;
      }
      case JitKind::kNop:
        return;
      case JitKind::kImul: {
        Xbyak::Reg s = src(in.r1, sz);
        Xbyak::Reg d = sized(sz, op.form == Form::kRRI ? def(in.r0, sz) : cached(in.r0));
        touch(in.r0);
        if (op.form == Form::kRRI)
          imul(d, s, static_cast<int>(static_cast<int32_t>(in.imm)));
        else
          imul(d, s);
        flags_in_host();  // dead (the plan checked)
        return;
      }
      case JitKind::kMov:
        return emit_mov(i, op.form);
      case JitKind::kMovzx:
      case JitKind::kMovsx: {
        bool sign = op.kind == JitKind::kMovsx;
        SlowPath* sp = nullptr;
        if (op.form == Form::kRM) sp = &memory(i, Access::kRead, in.size2);
        // The source first: def() may hand out r0's register unloaded.
        Xbyak::Reg from_reg = sp ? Xbyak::Reg() : src(in.r1, in.size2);
        Xbyak::Reg64 d = def(in.r0, sz);
        Xbyak::Reg dst = sized(sz == 8 && !sign ? 4 : sz, d);
        auto extend = [&](const Xbyak::Operand& from) {
          if (sign && in.size2 == 4)
            movsxd(d, from);
          else if (sign)
            movsx(dst, from);
          else
            movzx(dst, from);
        };
        if (sp) {
          extend(sized(in.size2, rax + 0));
          host_flags_lost();
          join(*sp);
        } else {
          extend(from_reg);
        }
        return;
      }
      case JitKind::kLea: {
        emit_address(i, false);
        Xbyak::Reg64 d = def(in.r0, sz);
        if (sz == 8)
          mov(d, rsi);
        else
          mov(sized(sz, d), sized(sz, rsi));  // 4 bytes: zero-extends
        return;
      }
      case JitKind::kPush: {
        SlowPath& sp = stack(i, true);
        if (op.form == Form::kR) {
          mov(qword[rax], cached(in.r0));
        } else {
          mov(rdx, in.imm);
          mov(qword[rax], rdx);
        }
        mov(def(kRsp, 8), rsi);
        host_flags_lost();
        join(sp);
        return;
      }
      case JitKind::kPop:
      case JitKind::kLeave: {
        // LEAVE: RSP = RBP, then POP RBP.
        bool leave = op.kind == JitKind::kLeave;
        SlowPath& sp = stack(i, false, leave ? kRbp : kRsp);
        mov(rdx, qword[rax]);
        lea(def(kRsp, 8), ptr[rsi + 8]);
        mov(def(leave ? unsigned{kRbp} : in.r0, 8), rdx);
        host_flags_lost();
        join(sp);
        return;
      }
      case JitKind::kJmp:
        spill();
        write_back_all();
        direct_exit(i, target_offset(i), true);
        return;
      case JitKind::kCall: {
        lea(rdx, ptr[r12 + static_cast<int32_t>(offsets_[i + 1])]);
        SlowPath& sp = stack(i, true);  // the slow path leaves (kEnd or kFault)
        mov(qword[rax], rdx);
        mov(def(kRsp, 8), rsi);
        write_back_all();
        direct_exit(i, target_offset(i), true);
        join(sp);
        return;
      }
      case JitKind::kRet: {
        SlowPath& sp = stack(i, false);
        mov(rcx, qword[rax]);
        lea(def(kRsp, 8), ptr[rsi + 8]);
        write_back_all();
        indirect_exit(i);
        join(sp);
        return;
      }
      case JitKind::kJmpInd: {
        if (op.form == Form::kR) {
          spill();
          mov(rcx, cached(in.r0));
          write_back_all();
          indirect_exit(i);
          return;
        }
        SlowPath& sp = memory(i, Access::kRead, 8);  // the slow path leaves (kEnd or kFault)
        mov(rcx, qword[rax]);
        write_back_all();
        indirect_exit(i);
        join(sp);
        return;
      }
      case JitKind::kCallInd: {
        SlowPath& sp = stack(i, true);  // the slow path leaves (kEnd or kFault)
        lea(rdx, ptr[r12 + static_cast<int32_t>(offsets_[i + 1])]);
        mov(qword[rax], rdx);
        mov(rcx, cached(in.r0));  // the target before RSP changes (CALL RSP)
        mov(def(kRsp, 8), rsi);
        write_back_all();
        indirect_exit(i);
        join(sp);
        return;
      }
      case JitKind::kJcc: {
        // The branch right after the instruction that set the flags (the
        // host fuses CMP/TEST with it); the taken side stores the flags.
        load_flags();
        Fwd taken = jcc_fwd(op.op & 15);  // guest and host condition codes agree
        int32_t target = target_offset(i);
        add_stub([this, i, taken, target, regs = dirty(), stale = mem_stale_] {
          bind(taken);
          if (stale) emit_spill();
          write_back(regs);
          direct_exit(i, target, true);
        });
        return;
      }
      case JitKind::kCmov: {
        load_flags();
        Xbyak::Reg s = src(in.r1, sz);
        Xbyak::Reg d = src(in.r0, sz);  // a 32-bit CMOV always writes (zero-extends)
        touch(in.r0);
        jit_cc::cmovcc(*this, in.op, d, s);
        return;
      }
      case JitKind::kSetcc: {
        load_flags();
        Xbyak::Reg d = src(in.r0, 1);
        touch(in.r0);
        jit_cc::setcc(*this, in.op, d);
        return;
      }
      case JitKind::kNone:
        break;
    }
  }

  void emit_alu(uint32_t i, AluOp op, Form form) {
    const Insn& in = insns_[i];
    const unsigned sz = in.opsize;
    const bool store = op != AluOp::kCmp && op != AluOp::kTest;
    switch (form) {
      case Form::kRR:
      case Form::kRI: {
        if (op == AluOp::kAdc || op == AluOp::kSbb) load_carry();
        if (form == Form::kRR) {
          Xbyak::Reg s = src(in.r1, sz);
          Xbyak::Reg d = src(in.r0, sz);
          alu(op, d, s);
        } else {
          alu(op, src(in.r0, sz), imm_of(in, sz));
        }
        if (store) touch(in.r0);
        break;
      }
      case Form::kRM: {
        SlowPath& sp = memory(i, Access::kRead, sz);
        alu(op, src(in.r0, sz), sized(sz, rax + 0));
        if (store) touch(in.r0);
        join(sp);
        break;
      }
      case Form::kMR:
      case Form::kMI: {
        SlowPath& sp = memory(i, store ? Access::kWrite : Access::kRead, sz);
        if (form == Form::kMR)
          alu(op, sized(sz, rax + 0), src(in.r1, sz));
        else
          alu(op, sized(sz, rax + 0), imm_of(in, sz));
        join(sp);
        break;
      }
      default:
        break;
    }
    flags_in_host();
  }

  void emit_mov(uint32_t i, Form form) {
    const Insn& in = insns_[i];
    const unsigned sz = in.opsize;
    switch (form) {
      case Form::kRR: {
        Xbyak::Reg s = src(in.r1, sz);
        mov(sized(sz, def(in.r0, sz)), s);  // 4 bytes: zero-extends
        return;
      }
      case Form::kRI:
        if (sz == 8) {
          mov(def(in.r0, 8), in.imm);
        } else if (sz == 4) {
          mov(def(in.r0, 4).cvt32(), static_cast<uint32_t>(in.imm));
        } else {
          mov(edx, static_cast<uint32_t>(in.imm & size_mask(sz)));
          mov(sized(sz, def(in.r0, sz)), sized(sz, rdx));
        }
        return;
      case Form::kRM: {
        SlowPath& sp = memory(i, Access::kRead, sz);
        mov(sized(sz, def(in.r0, sz)), sized(sz, rax + 0));
        host_flags_lost();
        join(sp);
        return;
      }
      case Form::kMR:
      case Form::kMI: {
        SlowPath& sp = memory(i, Access::kWrite, sz);
        if (form == Form::kMR)
          mov(sized(sz, rax + 0), src(in.r1, sz));
        else
          mov(sized(sz, rax + 0), sz == 8 ? in.imm : in.imm & size_mask(sz));
        host_flags_lost();
        join(sp);
        return;
      }
      default:
        return;
    }
  }

  JitAccess a_;
  const Block& block_;
  const Insn* insns_;
  JitExits exits_;
  bool user_;
  std::vector<Plan> plans_;
  std::vector<uint32_t> offsets_;  // bytes from the block's start to each record
  std::deque<SlowPath> slow_paths_;
  Slot slots_[kPool];
  int8_t where_[16];  // guest register -> slot, or -1
  uint32_t clock_ = 0;
  std::vector<Stub> stubs_;
  bool host_valid_ = false;  // the host's RFLAGS hold the guest flags
  bool mem_stale_ = false;   // ...and the Cpu's copy is older (implies host_valid_)
  bool mem_known_ = false;   // the Cpu's copy is in materialized form (not lazy)
};

}  // namespace

TranslateResult translate_block(Cpu& cpu, const Block& block, uint8_t* at, size_t room,
                                const JitExits& exits) {
  try {
    Translator t(cpu, block, at, room, exits);
    return t.run();
  } catch (const Xbyak::Error& e) {
    TranslateResult r;
    r.status =
        e == Xbyak::ERR_CODE_IS_TOO_BIG ? TranslateStatus::kNoRoom : TranslateStatus::kDeclined;
    return r;
  }
}

}  // namespace vessel::cpu

// The software x86-64 CPU core: architectural state, the block executor, the
// memory access paths (segmentation, software TLB, page walk) and event
// delivery. Handlers (cpu/exec/*) are free functions operating on a Cpu.
// Faults are values: a failing access records the exception in `pending_`
// and returns false; handlers then return Flow::kFault.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "base/counter.h"
#include "cpu/cpu_bus.h"
#include "cpu/decode/block_cache.h"
#include "cpu/decode/insn.h"
#include "cpu/exec/cpuid.h"
#include "cpu/fpu_state.h"
#include "cpu/jit/jit.h"
#include "cpu/lazy_flags.h"
#include "cpu/mmu/tlb.h"
#include "cpu/registers.h"

namespace vessel::cpu {

// instructions and interrupts are also read by other threads (the management
// API's counters); the rest only by the vCPU's own.
struct CpuStats {
  Counter instructions;
  uint64_t blocks = 0;      // blocks entered
  uint64_t chain_hits = 0;  // blocks entered through a successor link (no lookup)
  uint64_t tlb_hits = 0;
  uint64_t tlb_misses = 0;
  uint64_t exceptions = 0;
  Counter interrupts;
};

// Little-endian loads and stores of 1, 2, 4 or 8 bytes (fixed-size copies
// the compiler turns into single moves).
inline uint64_t load_le(const uint8_t* p, unsigned size) {
  switch (size) {
    case 1:
      return *p;
    case 2: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    default: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
}
inline void store_le(uint8_t* p, unsigned size, uint64_t v) {
  switch (size) {
    case 1:
      *p = static_cast<uint8_t>(v);
      break;
    case 2: {
      uint16_t x = static_cast<uint16_t>(v);
      std::memcpy(p, &x, 2);
      break;
    }
    case 4: {
      uint32_t x = static_cast<uint32_t>(v);
      std::memcpy(p, &x, 4);
      break;
    }
    default:
      std::memcpy(p, &v, 8);
      break;
  }
}

// Why run() returned.
enum class CpuExit : uint8_t {
  kHalted,    // HLT executed (RIP is past it); the caller waits for an interrupt
  kShutdown,  // triple fault
  kStopped,   // the stop flag was seen at a block boundary
};

// What started a task switch (exec/task.cc).
enum class TaskSwitch : uint8_t { kJmp, kCall, kIret, kInterrupt };

// Error-code sentinel: the exception pushes no error code.
inline constexpr uint32_t kNoErrorCode = 0xFFFFFFFF;

class Cpu {
 public:
  explicit Cpu(CpuBus& bus, const JitOptions& jit = JitOptions::from_env())
      : bus_(&bus), code_write_hint_(bus.code_write_hint()) {
    blocks_.set_bus(&bus);
    reset();
    set_jit(jit);
  }
  ~Cpu();
  Cpu(const Cpu&) = delete;
  Cpu& operator=(const Cpu&) = delete;

  // Power-on state (SDM 9.1.1): real mode at F000:FFF0.
  void reset();
  void set_interrupt_source(CpuInterruptSource* source) {
    intr_ = source;
    intr_hint_ = source ? source->hint() : nullptr;
  }

  // Runs until HLT, a triple fault or `stop` is seen (checked between blocks).
  CpuExit run(const std::atomic<bool>& stop) {
    return profile_.empty() ? run_loop<false>(stop) : run_loop<true>(stop);
  }
  // The translating tier (jit/jit.h): on or off, and after how many runs a
  // block is translated.
  void set_jit(const JitOptions& options);
  // Its figures; nullptr while it is off.
  const JitStats* jit_stats() const;
  // Per-mnemonic execution counts (index: Insn::mnemonic), collected while
  // enabled; the loop without profiling carries no cost for it.
  void enable_profile() { profile_.assign(kProfileSlots, 0); }
  const std::vector<uint64_t>& profile() const { return profile_; }
  static constexpr unsigned kProfileSlots = 4096;
  // Blocks one pass of the executor may run by chaining (Cpu::chain_block).
  static constexpr unsigned kChainBudget = 64;
  // Instructions translated code may run through patched direct exits
  // (jit/translate.h, JitExitSite) before the executor checks for events.
  static constexpr int64_t kJitBudget = 4096;

  // ---- Registers ----------------------------------------------------------
  std::array<uint64_t, 16> gpr{};
  uint64_t rip = 0;
  uint64_t next_rip = 0;  // during an instruction: the RIP after it
  LazyFlags lflags;
  SegmentCache seg[6];
  SegmentCache ldtr, tr;
  TableRegister gdtr, idtr;
  uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0, efer = 0, xcr0 = 1;
  std::array<uint64_t, 4> dr{};
  uint64_t dr6 = 0xFFFF0FF0, dr7 = 0x400;
  // MSRs without a register above.
  uint64_t star = 0, lstar = 0, cstar = 0, sfmask = 0, kernel_gs_base = 0;
  uint64_t sysenter_cs = 0, sysenter_esp = 0, sysenter_eip = 0;
  uint64_t tsc_offset = 0, tsc_aux = 0, pat = 0x0007040600070406ull;
  uint64_t apic_base = 0xFEE00900;  // BSP, enabled
  uint64_t misc_enable = 1, mtrr_def_type = 0, spec_ctrl = 0;
  FpuState fpu;
  bool interrupt_shadow = false;  // STI / MOV SS: no interrupt before the next instruction
  bool nmi_masked = false;

  // RFLAGS with the lazy arithmetic flags folded in.
  uint64_t get_rflags() const { return rflags_ | lflags.get(); }
  // Sets RFLAGS (bit 1 forced, reserved bits cleared).
  void set_rflags(uint64_t value);
  bool flag_if() const { return rflags_ & rflags::kIf; }
  bool flag_df() const { return rflags_ & rflags::kDf; }
  bool flag_tf() const { return rflags_ & rflags::kTf; }
  unsigned iopl() const { return (rflags_ >> 12) & 3; }
  // Non-arithmetic RFLAGS bits (IF, DF, TF, IOPL, ...), as stored.
  uint64_t rflags_system() const { return rflags_; }

  // General registers by operand size (writes of 4 bytes zero-extend).
  uint64_t reg(unsigned r, unsigned size) const {
    if (size == 1) return reg8(r);
    return gpr[r] & size_mask(size);
  }
  void set_reg(unsigned r, unsigned size, uint64_t v) {
    switch (size) {
      case 1:
        set_reg8(r, static_cast<uint8_t>(v));
        break;
      case 2:
        gpr[r] = (gpr[r] & ~0xFFFFull) | (v & 0xFFFF);
        break;
      case 4:
        gpr[r] = v & 0xFFFFFFFF;
        break;
      default:
        gpr[r] = v;
        break;
    }
  }
  uint8_t reg8(unsigned r) const {
    return r >= kHighByte ? static_cast<uint8_t>(gpr[r - kHighByte] >> 8)
                          : static_cast<uint8_t>(gpr[r]);
  }
  void set_reg8(unsigned r, uint8_t v) {
    if (r >= kHighByte)
      gpr[r - kHighByte] = (gpr[r - kHighByte] & ~0xFF00ull) | (uint64_t{v} << 8);
    else
      gpr[r] = (gpr[r] & ~0xFFull) | v;
  }

  // ---- Modes ------------------------------------------------------------
  bool protected_mode() const { return cr0 & cr0::kPe; }
  bool long_mode() const { return efer & efer::kLma; }
  bool mode64() const { return long_mode() && seg[kCs].l; }
  unsigned cpl() const { return cpl_; }
  // Default code size in bytes (2, 4, 8).
  unsigned code_size() const { return mode64() ? 8 : seg[kCs].db ? 4 : 2; }
  unsigned stack_size() const { return mode64() ? 8 : seg[kSs].db ? 4 : 2; }
  DecodeMode decode_mode() const {
    return mode64() ? DecodeMode::k64 : seg[kCs].db ? DecodeMode::k32 : DecodeMode::k16;
  }
  // Recomputes CPL and derived state after CS, CR0 or EFER changed.
  void update_mode();

  // ---- Memory -------------------------------------------------------------
  // Virtual (segment:offset) accesses with segmentation checks; false with an
  // exception pending on a fault.
  //
  // kFast (the fast variant of a handler, exec/chain.h): only the inline fast
  // path (flat or 64-bit segment, one page, a TLB hit); where it does not
  // apply the access fails with no exception pending and nothing changed.
  template <bool kFast = false>
  [[gnu::always_inline]] bool read(unsigned sreg, uint64_t offset, unsigned size, uint64_t* value) {
    uint64_t linear;
    return linearize<kFast>(sreg, offset, size, false, &linear) &&
           read_linear<kFast>(linear, size, value, Access::kRead);
  }
  template <bool kFast = false>
  [[gnu::always_inline]] bool write(unsigned sreg, uint64_t offset, unsigned size, uint64_t value) {
    uint64_t linear;
    return linearize<kFast>(sreg, offset, size, true, &linear) &&
           write_linear<kFast>(linear, size, value);
  }
  // A read that will be followed by a write of the same location (RMW): the
  // checks and the page walk are those of a write.
  template <bool kFast = false>
  [[gnu::always_inline]] bool read_for_write(unsigned sreg, uint64_t offset, unsigned size,
                                             uint64_t* value) {
    uint64_t linear;
    return linearize<kFast>(sreg, offset, size, true, &linear) &&
           read_linear<kFast>(linear, size, value, Access::kWrite);
  }
  // LOCK'ed read-modify-writes (mmu/locked_access.cc, exec/locked.h). Resolves
  // the `size`-byte operand at sreg:offset with every check and side effect of
  // a write done first (segment checks, the page walk with its #PF and A/D
  // bits, data breakpoints, cached code on the page invalidated), so a fault
  // leaves memory unchanged. kHost: the operand is naturally aligned RAM and
  // *host is where the host atomics go. kSlow: it is not (misaligned, split
  // across pages, MMIO): the caller runs the ordinary read_for_write/write
  // pair under locked_slow_mutex().
  enum class Locked : uint8_t { kFault, kHost, kSlow };
  Locked lock_operand(unsigned sreg, uint64_t offset, unsigned size, uint8_t** host);
  // Linear accesses (no segmentation). `system` accesses (descriptor tables,
  // TSS) are supervisor accesses whatever the CPL.
  template <bool kFast = false>
  [[gnu::always_inline]] bool read_linear(uint64_t linear, unsigned size, uint64_t* value,
                                          Access kind, bool system = false) {
    bool user = !system && cpl_ == 3;
    if (((linear & 0xFFF) + size) <= 0x1000) {
      if (uint8_t* p = tlb_.lookup(kind, linear, user)) {
        ++stats_.tlb_hits;
        *value = load_le(p, size);
        return true;
      }
    }
    if constexpr (kFast) return false;
    return read_linear_slow(linear, size, value, kind, user);
  }
  template <bool kFast = false>
  [[gnu::always_inline]] bool write_linear(uint64_t linear, unsigned size, uint64_t value,
                                           bool system = false) {
    bool user = !system && cpl_ == 3;
    if (((linear & 0xFFF) + size) <= 0x1000) {
      if (uint8_t* p = tlb_.lookup(Access::kWrite, linear, user)) {
        ++stats_.tlb_hits;
        store_le(p, size, value);
        return true;
      }
    }
    if constexpr (kFast) return false;
    return write_linear_slow(linear, size, value, user);
  }
  // Linear -> guest-physical for one access (page walk; sets A/D bits);
  // false with #PF pending.
  // `global`, when given: whether the mapping is global (CR4.PGE, G bit).
  bool translate(uint64_t linear, Access kind, bool user, uint64_t* gpa, bool* global = nullptr);
  // Linear address of segment:offset after the segment's checks. Inline
  // fast path: an expand-up data segment outside 64-bit mode.
  template <bool kFast = false>
  [[gnu::always_inline]] bool linearize(unsigned sreg, uint64_t offset, unsigned size, bool write,
                                        uint64_t* linear) {
    if (mode64()) {
      // Only FS and GS have a base; both ends must be canonical (48 bits).
      uint64_t a = offset + ((sreg == kFs || sreg == kGs) ? seg[sreg].base : 0);
      if (((a + (1ull << 47)) >> 48) == 0 && ((a + size - 1 + (1ull << 47)) >> 48) == 0) {
        *linear = a;
        return true;
      }
    } else {
      const SegmentCache& s = seg[sreg];
      if ((s.type & 0xC) == 0 && !s.unusable && (!write || (s.type & 0x2)) &&
          offset + size - 1 <= s.limit) {
        *linear = (s.base + offset) & 0xFFFFFFFF;
        return true;
      }
    }
    if constexpr (kFast) return false;
    return linearize_slow(sreg, offset, size, write, linear);
  }
  bool linearize_slow(unsigned sreg, uint64_t offset, unsigned size, bool write, uint64_t* linear);
  // Effective address of the instruction's memory operand.
  uint64_t effective_address(const Insn& insn) const {
    uint64_t ea = static_cast<uint64_t>(insn.disp);
    if (insn.base == kRipBase)
      ea += next_rip;
    else if (insn.base != kNoReg)
      ea += gpr[insn.base];
    if (insn.index != kNoReg) ea += gpr[insn.index] * insn.scale;
    return ea & size_mask(insn.addrsize);
  }
  // Host memory behind `bytes` bytes at sreg:offset when the inline fast
  // path covers them all (the segment allows the access, one page, a TLB
  // hit for `kind`: RAM that may be read or written directly), else nullptr.
  // Bulk string operations use it.
  uint8_t* host_span(unsigned sreg, uint64_t offset, unsigned bytes, Access kind) {
    uint64_t linear;
    if (!linearize<true>(sreg, offset, bytes, kind == Access::kWrite, &linear) ||
        (linear & 0xFFF) + bytes > 0x1000)
      return nullptr;
    return tlb_.lookup(kind, linear, cpl_ == 3);
  }
  // The base a linear address of sreg:offset adds (0 for all but FS and GS
  // in 64-bit mode).
  uint64_t segment_base(unsigned sreg) const {
    return mode64() && sreg != kFs && sreg != kGs ? 0 : seg[sreg].base;
  }
  void flush_tlb() { tlb_.flush(); }
  void flush_tlb_page(uint64_t linear) { tlb_.flush_page(linear); }
  // Reads `n` bytes of guest-physical memory inside one page (code fetch).
  void read_physical(uint64_t gpa, uint8_t* out, unsigned n) {
    if (uint8_t* page = bus_->ram(gpa & ~0xFFFull)) {
      std::memcpy(out, page + (gpa & 0xFFF), n);
      return;
    }
    for (unsigned k = 0; k < n; ++k) {
      uint64_t b;
      phys_read(gpa + k, 1, &b);
      out[k] = static_cast<uint8_t>(b);
    }
  }
  // Port I/O (after the I/O permission checks; a device may raise an
  // interrupt: see jit_yield).
  uint32_t port_read(uint16_t port, unsigned size) {
    jit_yield();
    return bus_->pio_read(port, size);
  }
  void port_write(uint16_t port, unsigned size, uint32_t v) {
    jit_yield();
    bus_->pio_write(port, size, v);
  }
  // IOPL / TSS I/O permission bitmap check for IN/OUT/INS/OUTS.
  bool io_permitted(uint16_t port, unsigned size);

  // Stack (inline: a constant size folds the masks and the access away).
  template <bool kFast = false>
  [[gnu::always_inline]] bool push(uint64_t value, unsigned size) {
    uint64_t mask = sp_mask();
    uint64_t sp = (gpr[kRsp] - size) & mask;
    if (!write<kFast>(kSs, sp, size, value)) return false;
    gpr[kRsp] = (gpr[kRsp] & ~mask) | sp;
    return true;
  }
  template <bool kFast = false>
  [[gnu::always_inline]] bool pop(unsigned size, uint64_t* value) {
    uint64_t mask = sp_mask();
    uint64_t sp = gpr[kRsp] & mask;
    if (!read<kFast>(kSs, sp, size, value)) return false;
    gpr[kRsp] = (gpr[kRsp] & ~mask) | ((sp + size) & mask);
    return true;
  }
  uint64_t sp_mask() const { return size_mask(stack_size()); }

  // ---- Faults and events ----------------------------------------------------
  // Records exception `vector` (error code or kNoErrorCode) as pending; the
  // executor delivers it. Returns false so accessors can `return fault(...)`.
  bool fault(uint8_t vector, uint32_t error_code = kNoErrorCode);
  Flow raise(uint8_t vector, uint32_t error_code = kNoErrorCode) {
    fault(vector, error_code);
    return Flow::kFault;
  }
  bool fault_pending() const { return pending_vector_ >= 0; }
  // The pending exception (vector -1: none), for CpuState get/set.
  int pending_vector() const { return pending_vector_; }
  uint32_t pending_error() const { return pending_error_; }
  void set_pending(int vector, uint32_t error_code) {
    pending_vector_ = vector;
    pending_error_ = error_code;
  }
  // Delivers an interrupt or exception through the IVT/IDT. `soft` marks INT n
  // (privilege check against the gate's DPL; return address is next_rip).
  // `return_rip`: the RIP saved on the stack.
  bool deliver(uint8_t vector, uint32_t error_code, bool soft, uint64_t return_rip);

  // ---- Segments -----------------------------------------------------------
  // MOV/POP to a segment register, with the protected-mode checks.
  bool load_segment(unsigned sreg, uint16_t selector);
  // Reads the 8-byte GDT/LDT descriptor `selector` names; a selector past the
  // table's limit (or into a null LDT) raises `vector_on_fault`(selector).
  bool read_descriptor(uint16_t selector, uint64_t* raw, uint8_t vector_on_fault);
  static SegmentCache unpack_descriptor(uint16_t selector, uint64_t raw);
  void set_segment(unsigned sreg, const SegmentCache& cache);
  // Real-mode style load: base = selector << 4.
  void load_segment_real(unsigned sreg, uint16_t selector);
  // Far transfer to selector:offset (JMP/CALL far; CALL pushes the return
  // address first when `call` is set).
  bool far_transfer(uint16_t selector, uint64_t offset, bool call, unsigned opsize);
  bool far_return(unsigned opsize, uint16_t pop_bytes);
  // Far JMP/CALL through the system descriptor `raw` named by `selector`
  // (call gates; exec/gates.cc).
  bool far_gate(uint16_t selector, uint64_t raw, bool call);
  // Sets the accessed bit of the descriptor `selector` names (`raw`: as read).
  bool mark_accessed(uint16_t selector, uint64_t raw);
  // Switches to the task whose 32-bit TSS the GDT selector names; the
  // outgoing task resumes at `return_rip` (exec/task.cc).
  bool task_switch(uint16_t selector, TaskSwitch reason, uint64_t return_rip);
  bool iret(unsigned opsize);

  // ---- Debug registers (cpu/debug.cc) --------------------------------------
  // Recomputes which breakpoints DR7 arms after DR0-DR3 or DR7 changed
  // (flushes the TLB when data breakpoints are armed or disarmed).
  void update_debug();
  // MOV to/from DRn with the privilege, CR4.DE and DR7.GD checks.
  bool write_dr(unsigned n, uint64_t value);
  bool read_dr(unsigned n, uint64_t* value);
  bool dr_access_allowed(unsigned n);
  // Whether a data or I/O breakpoint is armed, and whether the current
  // instruction hit one so far (REP string instructions stop there).
  bool watching_data() const { return (data_bp_ | io_bp_) != 0; }
  bool data_breakpoint_hit() const { return data_hits_ != 0; }
  // Whether the executor must take the per-instruction debug path: an armed
  // breakpoint or RF set (cost when neither: one test per block).
  bool debug_active() const { return debug_armed_ || (rflags_ & rflags::kRf); }

  // ---- Control registers ----------------------------------------------------
  bool write_cr(unsigned n, uint64_t value);
  bool write_msr(uint32_t index, uint64_t value);
  bool read_msr(uint32_t index, uint64_t* value);
  // The TSC: host monotonic nanoseconds (host_now_ns) + tsc_offset.
  uint64_t read_tsc() const;
  static uint64_t host_now_ns();
  // CPUID as this CPU reports it: the core's leaves (exec/cpuid.cc) with what
  // the machine adds (CpuBus::adjust_cpuid).
  CpuidResult cpuid(uint32_t leaf, uint32_t subleaf);

  // ---- Code cache ---------------------------------------------------------
  BlockCache& block_cache() { return blocks_; }
  const BlockCache& block_cache() const { return blocks_; }
  // A store reached guest-physical memory: invalidate cached code it covers.
  void note_code_write(uint64_t gpa, unsigned size);
  // Drops the cached code that stores from outside the CPU (DMA) overwrote,
  // as the bus reports them (CpuBus::take_code_writes). The executor calls
  // it between blocks when the bus's hint is set.
  void take_code_writes();
  const CpuStats& stats() const { return stats_; }

  // ---- Handler chaining (exec/chain.h) -------------------------------------
  // After a record completed normally: advances RIP and runs the block's next
  // record from here (a tail call, so the records of a block run as a chain of
  // jumps between handlers), unless the chain must stop (single-stepping,
  // profiling, a store into cached code): then kChain with cur_insn() naming
  // the record to run next.
  [[gnu::always_inline]] Flow chain_next(const Insn& insn) {
    rip = next_rip;
    const Insn* n = &insn + 1;
    cur_insn_ = n;
    if (chain_stop_) return Flow::kChain;
    next_rip = (rip + n->len) & ip_mask_;
    return n->fn(*this, *n);
  }
  // The record cur_insn() ended its block (`branch`: a near branch with its
  // target in next_rip; else block_end, RIP already past the block): runs the
  // linked successor block when no event needs the executor. Else returns to
  // it: kEnd for a branch, kChain for block_end.
  // Inline: each chained branch handler gets its own indirect jump into the
  // next block, which the host predicts better than one shared jump.
  [[gnu::always_inline]] Flow chain_block(bool branch) {
    Flow declined = branch ? Flow::kEnd : Flow::kChain;
    // What the executor checks between blocks: a stop request, code written
    // by a device, an interrupt that may be taken (or the STI/MOV SS shadow),
    // single-stepping or breakpoints. The budget bounds the depth of calls
    // where the compiler makes no tail calls (unoptimised builds).
    if (chain_stop_ || executor_needed()) return declined;
    uint64_t target = branch ? next_rip : rip;
    uint64_t linear = seg[kCs].base + target;
    if (!long_mode()) linear &= 0xFFFFFFFF;
    ChainEpochs epochs = chain_epochs();
    Block* next = successor(*cur_block_, linear, epochs);
    if (!next) return declined;
    // A block due for translation (or translated) runs from the executor.
    if (next->heat >= jit_heat_limit_) return declined;
    next->heat += jit_heat_step_;
    enter_linked(next, target, epochs.local, branch);
    const Insn* n = cur_insn_;
    next_rip = (rip + n->len) & ip_mask_;
    return n->fn(*this, *n);
  }
  // The chaining epochs: a remembered block at a linear address is still
  // the one there while `local` is what it was, or, for a block in a global
  // page, while `global` is (a CR3 load changes only `local`).
  struct ChainEpochs {
    uint64_t local, global;
  };
  // Each is a count of the changes that drop chains, shifted, with the
  // mode's id below (see update_mode).
  ChainEpochs chain_epochs() const {
    uint64_t common = blocks_.epoch() + mode_epoch_;
    return {((tlb_.epoch() + common) << kModeIdBits) | mode_id_,
            ((tlb_.global_epoch() + common) << kModeIdBits) | mode_id_};
  }
  // The block `s` remembers when it was recorded at `linear` and is valid
  // in these epochs (then brought up to the local one), else nullptr.
  [[gnu::always_inline]] static Block* remembered(Successor& s, uint64_t linear,
                                                  const ChainEpochs& e) {
    if (s.linear != linear) return nullptr;
    if (s.epoch == e.local) return s.block;
    if (s.global_epoch != e.global) return nullptr;
    s.epoch = e.local;
    return s.block;
  }
  // The block b recorded as its successor at `linear`, valid in these
  // epochs, or nullptr.
  [[gnu::always_inline]] static Block* successor(Block& b, uint64_t linear, const ChainEpochs& e) {
    for (Successor& s : b.next)
      if (Block* next = remembered(s, linear, e)) return next;
    return nullptr;
  }
  // Moves on from cur_block_ (ended at cur_insn_, after that record when
  // `branch`) into block `next` at RIP `target` without the executor, with
  // its bookkeeping (Jit's entry stub does the same in host code).
  [[gnu::always_inline]] void enter_linked(Block* next, uint64_t target, uint64_t epoch,
                                           bool branch) {
    --chain_budget_;
    stats_.instructions +=
        static_cast<uint64_t>(cur_insn_ - cur_block_->insns()) + (branch ? 1 : 0);
    ++stats_.blocks;
    ++stats_.chain_hits;
    rip = target;
    cur_block_ = next;
    block_epoch_ = epoch;
    cur_insn_ = next->insns();
  }
  // Whether something the executor checks between blocks asks for it: the
  // chain budget spent, a stop request, code written by a device, an
  // interrupt that may be taken (or the STI/MOV SS shadow), single-stepping
  // or breakpoints.
  [[gnu::always_inline]] bool executor_needed() const {
    return chain_budget_ == 0 || stop_->load(std::memory_order_relaxed) ||
           (code_write_hint_ && code_write_hint_->load(std::memory_order_relaxed)) ||
           interrupt_shadow || (rflags_ & (rflags::kTf | rflags::kRf)) || debug_armed_ ||
           (flag_if() && intr_ && (!intr_hint_ || intr_hint_->load(std::memory_order_acquire)));
  }
  // The record running now (or, after kChain, the one to run next).
  const Insn* cur_insn() const { return cur_insn_; }
  // Runs one record outside a block (tests, tools): next_rip must be set; RIP
  // is advanced only by a chained handler (kChain comes back as kNext).
  Flow execute_one(const Insn& insn) {
    bool stop = chain_stop_;
    chain_stop_ = true;
    Flow f = insn.fn(*this, insn);
    chain_stop_ = stop;
    return f == Flow::kChain ? Flow::kNext : f;
  }
  // Logs the bytes of an instruction the CPU does not implement (once per
  // distinct opcode) and returns #UD.
  Flow undefined(const Insn& insn);

 private:
  friend class Decoder;
  friend struct JitAccess;  // translated code's view of the state (jit/)
  bool read_linear_slow(uint64_t linear, unsigned size, uint64_t* value, Access kind, bool user);
  bool write_linear_slow(uint64_t linear, unsigned size, uint64_t value, bool user);
  bool phys_read(uint64_t gpa, unsigned size, uint64_t* value);
  bool phys_write(uint64_t gpa, unsigned size, uint64_t value);
  bool check_segment(const SegmentCache& s, unsigned sreg, uint64_t offset, unsigned size,
                     bool write);
  template <bool kProfile>
  CpuExit run_loop(const std::atomic<bool>& stop);
  // Runs the records of cur_block_ from cur_insn_ in the interpreter.
  template <bool kProfile>
  Flow interpret_block(bool single, bool stepping);
  // Whether `block` runs translated now (translating it first if needed).
  bool try_jit(Block& block);
  // Translated code ended cur_block_ (`branch`: a near branch at cur_insn_
  // with its target in next_rip; else RIP is past the block): the next
  // block's translated code when it is linked and nothing needs the
  // executor (that block is then cur_block_), else nullptr.
  const void* jit_link(bool branch);
  // The same for a direct exit (rdx in translated code), which it may patch
  // to enter the next block straight away (Jit::link_site).
  const void* jit_link_site(const JitExitSite& site);
  // Block chaining is valid while this sum stays the same (chain_epochs).
  uint64_t chain_epoch() const { return chain_epochs().local; }
  // The block at RIP (decoded if need be), or nullptr with a fault pending;
  // *global: whether it lies in a global page (and only one page).
  Block* fetch_block(bool* global);
  // Delivers the pending exception (with #DF/triple-fault escalation).
  // Returns false on triple fault.
  bool deliver_pending();
  bool deliver_real(uint8_t vector, uint64_t return_rip);
  bool deliver_protected(uint8_t vector, uint32_t error_code, bool soft, uint64_t return_rip);
  bool deliver_long(uint8_t vector, uint32_t error_code, bool soft, uint64_t return_rip);
  // INTA and delivery of an external interrupt; false when the controller
  // had nothing to deliver after all.
  bool take_interrupt();
  bool set_tss_busy(uint16_t selector, bool busy);
  // Loads the LDT and segment registers of a new task (faults: #TS, #NP, #SS).
  bool load_task_segments(uint16_t ldt, const uint16_t* sel);
  // Debug path around one instruction (debug_active()): the instruction
  // breakpoint check and RF (true: #DB fault pending), then the traps
  // (single step, data breakpoints) after it completed.
  bool debug_before_insn();
  void debug_after_insn(bool tf, bool faulted);
  // A data access the slow path made: records the breakpoints it hits.
  void note_data_access(uint64_t linear, unsigned size, bool write) {
    if (data_bp_) match_data_breakpoints(linear, size, write);
  }
  void match_data_breakpoints(uint64_t linear, unsigned size, bool write);
  void match_io_breakpoints(uint16_t port, unsigned size);
  // Whether the linear page holds an armed data breakpoint (no TLB entry then).
  bool page_has_data_breakpoint(uint64_t linear) const;

  CpuBus* bus_;
  const std::atomic<bool>* code_write_hint_;  // bus_->code_write_hint()
  std::vector<CodeWrite> code_writes_;        // take_code_writes' buffer
  CpuInterruptSource* intr_ = nullptr;
  const std::atomic<bool>* intr_hint_ = nullptr;  // intr_->hint()
  uint64_t rflags_ = rflags::kFixed;              // all but the arithmetic flags
  unsigned cpl_ = 0;
  // What update_mode() compares to decide whether chains survive.
  struct ModeKey {
    unsigned cpl = ~0u;
    DecodeMode mode = DecodeMode::k16;
    uint64_t cr0 = 0, efer = 0, cs_base = 0;
    uint32_t cs_limit = 0;
    bool v86 = false;
    bool operator==(const ModeKey&) const = default;
  };
  ModeKey mode_key_;
  // The modes seen lately, by id: a chain made in one mode is valid again
  // when the CPU returns to it (a system call and its return switch between
  // two). mode_epoch_ counts the times the table filled up and was cleared.
  static constexpr unsigned kModeIdBits = 3;
  std::array<ModeKey, 1u << kModeIdBits> modes_{};
  unsigned mode_count_ = 0;
  uint64_t mode_id_ = 0;  // mode_key_'s index in modes_
  uint64_t mode_epoch_ = 0;
  int pending_vector_ = -1;
  uint32_t pending_error_ = kNoErrorCode;
  int delivering_ = -1;                      // vector being delivered (for #DF escalation)
  bool code_invalidated_ = false;            // a store dropped cached code during this block
  bool chain_stop_ = false;                  // chain_next returns instead of running on
  const Insn* cur_insn_ = nullptr;           // chain_next's position in the running block
  Block* cur_block_ = nullptr;               // the running block
  uint64_t block_epoch_ = 0;                 // chain_epoch() when it was entered
  unsigned chain_budget_ = 0;                // blocks chain_block may still enter
  const std::atomic<bool>* stop_ = nullptr;  // run()'s stop flag
  uint64_t ip_mask_ = ~0ull;                 // RIP wrap of the running block's code size
  bool debug_armed_ = false;                 // exec_bp_ or data_bp_ non-zero
  uint8_t exec_bp_ = 0;                      // armed instruction breakpoints (bit n: DRn)
  uint8_t data_bp_ = 0;                      // armed data breakpoints (write or read/write)
  uint8_t io_bp_ = 0;                        // armed I/O breakpoints (CR4.DE)
  uint8_t data_hits_ = 0;                    // data/I/O breakpoints the current instruction hit
  // The translating tier: a block whose heat reaches jit_heat_limit_ is
  // translated; each run adds jit_heat_step_ (0 while the tier is off).
  std::unique_ptr<Jit> jit_;
  uint32_t jit_heat_limit_ = ~0u;
  uint32_t jit_heat_step_ = 0;
  // Of the instructions translated code may run through direct exits:
  // jit_base_ - jit_left_ ran.
  int64_t jit_left_ = 0;
  int64_t jit_base_ = 0;
  // A device access may have raised an interrupt: translated code returns
  // to the executor at its next direct exit, as it would at the end of
  // its budget.
  void jit_yield() {
    jit_base_ -= jit_left_;
    jit_left_ = 0;
  }
  // Blocks by linear address of their first byte, for jit_link when the
  // block that ended has no successor entry for the target (returns,
  // indirect branches): entries like a block's successors.
  using JumpCacheEntry = Successor;
  static constexpr unsigned kJumpCacheSlots = 4096;
  static unsigned jump_slot(uint64_t linear) {
    return static_cast<unsigned>(linear ^ (linear >> 12)) & (kJumpCacheSlots - 1);
  }
  std::array<JumpCacheEntry, kJumpCacheSlots> jump_cache_{};
  // The jump cache's slot for `linear`, and its block when the entry was
  // made at that address and is valid in these epochs (else nullptr).
  JumpCacheEntry& jump_entry(uint64_t linear) { return jump_cache_[jump_slot(linear)]; }
  Block* jump_cached(uint64_t linear, const ChainEpochs& epochs) {
    return remembered(jump_entry(linear), linear, epochs);
  }
  Tlb tlb_;
  BlockCache blocks_;
  CpuStats stats_;
  std::vector<uint64_t> profile_;
};

}  // namespace vessel::cpu

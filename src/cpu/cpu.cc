#include "cpu/cpu.h"

#include <algorithm>
#include <mutex>
#include <set>

#include "base/log.h"
#include "cpu/decode/decoder.h"

namespace vessel::cpu {

void Cpu::reset() {
  gpr.fill(0);
  gpr[kRdx] = 0x663;  // EDX: the family/model/stepping of CPUID leaf 1
  rip = 0xFFF0;
  rflags_ = rflags::kFixed;
  lflags.put(0);
  for (auto& s : seg) {
    s = SegmentCache{};
    s.type = 0x3;  // read/write data, accessed
  }
  seg[kCs].selector = 0xF000;
  seg[kCs].base = 0xFFFF0000;
  seg[kCs].type = 0xB;  // execute/read code, accessed
  ldtr = SegmentCache{};
  ldtr.s = false;
  ldtr.type = 0x2;
  tr = SegmentCache{};
  tr.s = false;
  tr.type = 0xB;  // busy 32-bit TSS
  gdtr = TableRegister{};
  idtr = TableRegister{0, 0x3FF};
  cr0 = cr0::kEt | cr0::kCd | cr0::kNw;
  cr2 = cr3 = cr4 = cr8 = efer = 0;
  xcr0 = 1;
  fpu = FpuState{};
  fpu.x87.fcw = 0x0040;  // power-on value (SDM Vol. 3, Table 9-1); FNINIT makes it 0x037F
  dr.fill(0);
  dr6 = 0xFFFF0FF0;
  dr7 = 0x400;
  update_debug();
  star = lstar = cstar = sfmask = kernel_gs_base = spec_ctrl = 0;
  sysenter_cs = sysenter_esp = sysenter_eip = 0;
  tsc_offset = tsc_aux = 0;
  interrupt_shadow = nmi_masked = false;
  pending_vector_ = -1;
  delivering_ = -1;
  update_mode();
  tlb_.flush();
  blocks_.flush();
}

void Cpu::set_rflags(uint64_t value) {
  lflags.put(value);
  rflags_ = (value & rflags::kAllWritable & ~rflags::kArith) | rflags::kFixed;
}

void Cpu::update_mode() {
  // CPL: 0 in real mode, 3 in virtual-8086 mode, else the RPL of the CS
  // selector (every CS load in protected mode sets it to the new CPL).
  if (!protected_mode())
    cpl_ = 0;
  else if (rflags_ & rflags::kVm)
    cpl_ = 3;
  else
    cpl_ = seg[kCs].selector & 3;
  // Block chaining stays valid unless something that decides how code is
  // fetched and decoded changed. Interrupts, IRET and SYSCALL reload CS and
  // SS with the same values all the time: they must not drop every chain.
  ModeKey key{
      cpl_, decode_mode(), cr0, efer, seg[kCs].base, seg[kCs].limit, (rflags_ & rflags::kVm) != 0};
  if (key == mode_key_) return;
  mode_key_ = key;
  for (unsigned k = 0; k < mode_count_; ++k) {
    if (modes_[k] == key) {
      mode_id_ = k;
      return;
    }
  }
  if (mode_count_ == modes_.size()) {
    mode_count_ = 0;
    ++mode_epoch_;
  }
  mode_id_ = mode_count_;
  modes_[mode_count_++] = key;
}

bool Cpu::fault(uint8_t vector, uint32_t error_code) {
  if (pending_vector_ < 0) {
    pending_vector_ = vector;
    pending_error_ = error_code;
  }
  return false;
}

Flow Cpu::undefined(const Insn& insn) {
  static std::mutex mu;
  static std::set<uint16_t> seen;
  {
    std::lock_guard lock(mu);
    if (seen.insert(insn.mnemonic).second) {
      uint8_t bytes[15] = {};
      std::string hex;
      uint64_t linear = seg[kCs].base + rip;
      for (unsigned i = 0; i < insn.len && i < 15; ++i) {
        uint64_t b = 0;
        if (!read_linear(linear + i, 1, &b, Access::kExec, true)) {
          pending_vector_ = -1;
          break;
        }
        bytes[i] = static_cast<uint8_t>(b);
        hex += fmt::format("{:02x} ", bytes[i]);
      }
      log_warn("soft CPU: unimplemented instruction at {:#x}: {}({}): #UD", rip, hex,
               mnemonic_name(insn.mnemonic));
    }
  }
  return raise(kUd);
}

void Cpu::note_code_write(uint64_t gpa, unsigned size) {
  if (blocks_.invalidate(gpa, size)) code_invalidated_ = chain_stop_ = true;
}

void Cpu::take_code_writes() {
  code_writes_.clear();
  if (!bus_->take_code_writes(code_writes_)) {
    blocks_.flush();  // notices were lost: nothing cached can be trusted
    return;
  }
  for (const CodeWrite& w : code_writes_) {
    // Each range lies in one page; split it anyway if a bus did not.
    uint64_t gpa = w.gpa, end = w.gpa + w.len;
    while (gpa < end) {
      uint64_t stop = std::min(end, (gpa | 0xFFF) + 1);
      blocks_.invalidate(gpa, static_cast<unsigned>(stop - gpa));
      gpa = stop;
    }
  }
}

Block* Cpu::fetch_block(bool* global) {
  *global = false;
  if (!mode64() && rip > seg[kCs].limit) {
    fault(kGp, 0);
    return nullptr;
  }
  uint64_t linear = seg[kCs].base + rip;
  if (!long_mode()) linear &= 0xFFFFFFFF;
  bool user = cpl_ == 3;
  uint64_t gpa;
  bool in_global = false;
  if (const TlbEntry* e = tlb_.find(Access::kExec, linear, user)) {
    ++stats_.tlb_hits;
    gpa = e->gpa_page | (linear & 0xFFF);
    in_global = e->global;
  } else {
    ++stats_.tlb_misses;
    if (!translate(linear, Access::kExec, user, &gpa, &in_global)) return nullptr;
    if (uint8_t* host = bus_->ram(gpa & ~0xFFFull))
      tlb_.fill(Access::kExec, linear, user, host, gpa & ~0xFFFull, in_global);
  }
  DecodeMode mode = decode_mode();
  Block* b = blocks_.find(gpa, mode);
  if (b && b->len2) {
    // The block's last instruction continues on the next linear page: that
    // page must still map to the same physical page.
    uint64_t gpa2;
    if (!translate((linear & ~0xFFFull) + 0x1000, Access::kExec, user, &gpa2)) return nullptr;
    if (gpa2 != b->gpa2) b = nullptr;
  }
  if (b) {
    *global = in_global && !b->len2;
    return b;
  }
  // The page counts as holding code before its bytes are read, so a store
  // from outside the CPU (DMA) either comes before and is decoded, or after
  // and is reported (CpuBus::code_page_cached; the decoder does the same for
  // a second page).
  uint64_t page = gpa & ~0xFFFull;
  blocks_.make_room();
  blocks_.reserve_page(page);
  auto decoded = decode_block(*this, linear, gpa, mode);
  if (!decoded) {
    blocks_.release_page(page);
    return nullptr;
  }
  b = blocks_.insert(std::move(decoded));
  tlb_.flush_writes_to(b->gpa & ~0xFFFull);
  if (b->len2) tlb_.flush_writes_to(b->gpa2 & ~0xFFFull);
  *global = in_global && !b->len2;
  return b;
}

Flow block_end(Cpu& cpu, const Insn&) {
  return cpu.chain_block(false);
}

template <bool kProfile>
[[gnu::always_inline]] inline Flow Cpu::interpret_block(bool single, bool stepping) {
  for (;;) {
    const Insn* p = cur_insn_;
    next_rip = (rip + p->len) & ip_mask_;
    if constexpr (kProfile) ++profile_[p->mnemonic % kProfileSlots];
    Flow flow = p->fn(*this, *p);
    // cur_insn_ names the record that returned: p, or one a chain reached
    // (in cur_block_, which chaining may have moved on).
    if (flow == Flow::kNext) {
      rip = next_rip;
      ++cur_insn_;
    } else if (flow != Flow::kChain || !stepping) {
      return flow;  // an exit, a fault, or a chain that stopped at a block's end
    }
    if (single || code_invalidated_ || cur_insn_ == cur_block_->insns() + cur_block_->count)
      return flow;
  }
}

bool Cpu::try_jit(Block& block) {
  if (!block.jit_code && !block.jit_failed) jit_->translate(block);
  return block.jit_code && block.jit_cpl == cpl_;
}

void Cpu::set_jit(const JitOptions& options) {
  if (jit_ && (!options.enabled || jit_->code_bytes() != options.code_bytes)) {
    blocks_.forget_translations();
    jit_.reset();
  }
  if (!options.enabled) {
    jit_heat_limit_ = ~0u;
    jit_heat_step_ = 0;
    return;
  }
  if (!jit_) jit_ = std::make_unique<Jit>(*this, options.code_bytes, options.perf_map);
  jit_heat_limit_ = options.threshold;
  jit_heat_step_ = 1;
}

const void* Cpu::jit_link(bool branch) {
  if (executor_needed()) return nullptr;
  uint64_t target = branch ? next_rip : rip;
  uint64_t linear = seg[kCs].base + target;  // 64-bit code: no wrap
  ChainEpochs epochs = chain_epochs();
  Block* next = successor(*cur_block_, linear, epochs);
  if (!next) next = jump_cached(linear, epochs);
  if (!next || !next->jit_code || next->jit_cpl != cpl_) return nullptr;
  enter_linked(next, target, epochs.local, branch);
  return next->jit_code;
}

const void* Cpu::jit_link_site(const JitExitSite& site) {
  // The site left only to return to the executor: its budget is spent.
  if (jit_left_ <= static_cast<int64_t>(site.count)) return nullptr;
  Block* from = cur_block_;
  const void* code = jit_link(site.branch);
  if (code) jit_->link_site(site, *from, *cur_block_, seg[kCs].base + rip);
  return code;
}

const JitStats* Cpu::jit_stats() const {
  return jit_ ? &jit_->stats() : nullptr;
}

Cpu::~Cpu() {
  jit_.reset();  // before the block cache it listens to goes
}

template <bool kProfile>
CpuExit Cpu::run_loop(const std::atomic<bool>& stop) {
  // The block that ran last and the chaining epoch it ran in: its successor
  // list can be trusted (and the pointer dereferenced) only while that epoch
  // lasts, because a new epoch may have dropped blocks.
  Block* prev = nullptr;
  uint64_t prev_epoch = 0;
  stop_ = &stop;
  for (;;) {
    if (code_write_hint_ && code_write_hint_->load(std::memory_order_acquire)) take_code_writes();
    if (prev && prev_epoch != chain_epoch()) prev = nullptr;
    blocks_.retire();
    if (stop.load(std::memory_order_relaxed)) return CpuExit::kStopped;
    if (fault_pending()) {
      prev = nullptr;
      if (!deliver_pending()) return CpuExit::kShutdown;
      continue;
    }
    bool shadow = interrupt_shadow;
    interrupt_shadow = false;
    if (!shadow && flag_if() && intr_ &&
        (!intr_hint_ || intr_hint_->load(std::memory_order_acquire)) && intr_->pending() &&
        take_interrupt()) {
      prev = nullptr;
      continue;
    }
    bool debug = debug_active();
    if (debug && debug_before_insn()) {
      prev = nullptr;
      continue;  // instruction breakpoint: #DB pending
    }
    Block* block = nullptr;
    uint64_t linear = seg[kCs].base + rip;
    if (!long_mode()) linear &= 0xFFFFFFFF;
    ChainEpochs epochs = chain_epochs();
    if (prev && (block = successor(*prev, linear, epochs))) ++stats_.chain_hits;
    if (!block) {
      // A block fetched at this address while the mapping stayed the same
      // (the jump cache), else the page walk and the block cache.
      JumpCacheEntry& entry = jump_entry(linear);
      block = remembered(entry, linear, epochs);
      if (!block) {
        bool global;
        block = fetch_block(&global);
        if (!block) {
          prev = nullptr;
          continue;  // fetch fault pending
        }
        epochs = chain_epochs();  // decoding may have flushed the block cache
        entry = JumpCacheEntry{linear, epochs.local, global ? epochs.global : ~0ull, block};
      }
      if (prev && prev_epoch == epochs.local) {
        prev->next[1] = prev->next[0];
        prev->next[0] = Successor{linear, epochs.local, entry.global_epoch, block};
      }
    }
    ++stats_.blocks;
    bool tf = flag_tf();
    bool single = shadow || tf || debug;
    bool stepping = single || kProfile;  // one record at a time through this loop
    ip_mask_ = size_mask(code_size());
    code_invalidated_ = false;
    chain_stop_ = stepping;
    chain_budget_ = kChainBudget;
    cur_block_ = block;
    block_epoch_ = chain_epoch();
    cur_insn_ = block->insns();
    Flow flow;
    if (!stepping && block->heat >= jit_heat_limit_ && try_jit(*block)) {
      chain_stop_ = true;  // handlers the translated code calls return to it
      jit_left_ = jit_base_ = kJitBudget;
      flow = jit_->run(*block);
      stats_.instructions += static_cast<uint64_t>(jit_base_ - jit_left_);
    } else {
      block->heat += stepping ? 0 : jit_heat_step_;
      flow = interpret_block<kProfile>(single, stepping);
    }
    size_t done = static_cast<size_t>(cur_insn_ - cur_block_->insns());
    if (flow == Flow::kEnd || flow == Flow::kHalt) {
      rip = next_rip;
      ++done;
    }
    stats_.instructions += done;
    prev = cur_block_;
    prev_epoch = block_epoch_;
    if (tf || debug) debug_after_insn(tf, flow == Flow::kFault);
    if (flow == Flow::kHalt && !fault_pending()) return CpuExit::kHalted;
  }
}

template CpuExit Cpu::run_loop<false>(const std::atomic<bool>&);
template CpuExit Cpu::run_loop<true>(const std::atomic<bool>&);

}  // namespace vessel::cpu

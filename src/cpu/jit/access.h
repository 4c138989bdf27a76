// Translated code's view of the Cpu: where it finds the state, and the
// functions it calls. A friend of Cpu, LazyFlags and Tlb.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "cpu/cpu.h"

namespace vessel::cpu {

// Where translated code finds the state: byte offsets from the Cpu.
struct JitAccess {
  explicit JitAccess(const Cpu& c)
      : gpr(at(c, &c.gpr)),
        rip(at(c, &c.rip)),
        next_rip(at(c, &c.next_rip)),
        cur_insn(at(c, &c.cur_insn_)),
        code_invalidated(at(c, &c.code_invalidated_)),
        flags_word(at(c, &c.lflags.of_)),
        flags_lazy(at(c, &c.lflags.lazy_)),
        tlb{at(c, &c.tlb_.tables_[0][0]), at(c, &c.tlb_.tables_[1][0]),
            at(c, &c.tlb_.tables_[2][0])},
        fs_base(at(c, &c.seg[kFs].base)),
        gs_base(at(c, &c.seg[kGs].base)),
        cs_base(at(c, &c.seg[kCs].base)),
        chain_budget(at(c, &c.chain_budget_)),
        stop(at(c, &c.stop_)),
        code_write_hint(at(c, &c.code_write_hint_)),
        interrupt_shadow(at(c, &c.interrupt_shadow)),
        rflags(at(c, &c.rflags_)),
        debug_armed(at(c, &c.debug_armed_)),
        intr(at(c, &c.intr_)),
        intr_hint(at(c, &c.intr_hint_)),
        tlb_epoch(at(c, &c.tlb_.epoch_)),
        blocks_epoch(at(c, &c.blocks_.epoch_)),
        mode_epoch(at(c, &c.mode_epoch_)),
        mode_id(at(c, &c.mode_id_)),
        cur_block(at(c, &c.cur_block_)),
        block_epoch(at(c, &c.block_epoch_)),
        cpl(at(c, &c.cpl_)),
        instructions(at(c, &c.stats_.instructions)),
        blocks(at(c, &c.stats_.blocks)),
        chain_hits(at(c, &c.stats_.chain_hits)),
        jit_left(at(c, &c.jit_left_)),
        jump_cache(at(c, &c.jump_cache_)) {
    static_assert(sizeof(c.chain_budget_) == 4 && sizeof(c.cpl_) == 4);
    static_assert(sizeof(c.interrupt_shadow) == 1 && sizeof(c.debug_armed_) == 1);
    static_assert(sizeof(Counter) == 8);
    static_assert(offsetof(LazyFlags, flags_) == offsetof(LazyFlags, of_) + 1);
  }

  static int32_t at(const Cpu& c, const void* field) {
    return static_cast<int32_t>(static_cast<const char*>(field) -
                                reinterpret_cast<const char*>(&c));
  }
  static constexpr unsigned kModeIdBits = Cpu::kModeIdBits;  // Cpu::chain_epochs
  // Block linking (Cpu::jit_link).
  static const void* link(Cpu* c, bool branch) { return c->jit_link(branch); }
  static const void* link_site(Cpu* c, const JitExitSite* site) { return c->jit_link_site(*site); }
  // Puts the guest's flags in their materialized form.
  static void materialize_flags(Cpu* c) { c->lflags.put(c->lflags.get()); }

  int32_t gpr, rip, next_rip, cur_insn, code_invalidated, flags_word, flags_lazy;
  int32_t tlb[3];
  int32_t fs_base, gs_base;
  // What the linking fast path (Jit's entry stub) reads and writes.
  int32_t cs_base, chain_budget, stop, code_write_hint, interrupt_shadow, rflags, debug_armed, intr,
      intr_hint, tlb_epoch, blocks_epoch, mode_epoch, mode_id, cur_block, block_epoch, cpl,
      instructions, blocks, chain_hits;
  int32_t jit_left;  // direct exits' budget (JitExitSite)
  // The jump cache (Cpu::jump_cached), for JitExits::link_return.
  int32_t jump_cache;
  static constexpr unsigned kJumpCacheSlots = Cpu::kJumpCacheSlots;
  static_assert(std::is_same_v<Cpu::JumpCacheEntry, Successor>);
};

}  // namespace vessel::cpu

// Translated code's view of the Cpu: where it finds the state, and the
// functions it calls. A friend of Cpu, LazyFlags and Tlb.
#pragma once

#include <cstdint>

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
        flags_value(at(c, &c.lflags.flags_)),
        flags_lazy(at(c, &c.lflags.lazy_)),
        tlb{at(c, &c.tlb_.tables_[0][0]), at(c, &c.tlb_.tables_[1][0]),
            at(c, &c.tlb_.tables_[2][0])},
        fs_base(at(c, &c.seg[kFs].base)),
        gs_base(at(c, &c.seg[kGs].base)) {}

  static int32_t at(const Cpu& c, const void* field) {
    return static_cast<int32_t>(static_cast<const char*>(field) -
                                reinterpret_cast<const char*>(&c));
  }
  // Block linking (Cpu::jit_link).
  static const void* link(Cpu* c, bool branch) { return c->jit_link(branch); }
  // Puts the guest's flags in their materialized form.
  static void materialize_flags(Cpu* c) { c->lflags.put(c->lflags.get()); }

  int32_t gpr, rip, next_rip, cur_insn, code_invalidated, flags_value, flags_lazy;
  int32_t tlb[3];
  int32_t fs_base, gs_base;
};

}  // namespace vessel::cpu

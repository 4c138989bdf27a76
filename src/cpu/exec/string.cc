// String instructions (MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS) with REP,
// REPE and REPNE. A repeated instruction is interruptible and restartable:
// registers always describe the iterations done, a fault leaves RIP on the
// instruction, and after kBatch iterations the handler ends the block with
// RIP still on the instruction so that the executor can take interrupts.
// While a data or I/O breakpoint is armed (SDM Vol. 3 18.3.1.2), an
// iteration that hits one ends the instruction the same way, so the #DB
// trap reports it with RCX/RSI/RDI as they are after that iteration and RIP
// on the instruction (on the next one after the last iteration). With TF
// set each iteration is one step the same way.
#include <algorithm>
#include <cstring>

#include "cpu/exec/handlers.h"
#include "cpu/exec/operands.h"

namespace vessel::cpu {
namespace {

constexpr unsigned kBatch = 4096;

// Runs up to `max` iterations of a forward REP STOS or MOVS as one host
// memset/memmove when they stay inside one page of RAM for each operand
// (writes only to pages the TLB lets the CPU write directly: no cached code,
// no MMIO) and do not wrap the address size. Returns the iterations done (0:
// take the one-at-a-time path).
template <StringOp Op>
uint64_t bulk(Cpu& c, const Insn& i, uint64_t si, uint64_t di, uint64_t max) {
  const unsigned sz = i.opsize;
  const uint64_t am = size_mask(i.addrsize);
  auto room = [&](unsigned sreg, uint64_t off) {
    uint64_t in_page = (0x1000 - ((c.segment_base(sreg) + off) & 0xFFF)) / sz;
    uint64_t before_wrap = (am - off) / sz + 1;
    return std::min(in_page, before_wrap);
  };
  uint64_t k = std::min(max, room(kEs, di));
  if constexpr (Op == StringOp::kMovs) k = std::min(k, room(i.seg, si));
  if (k < 2) return 0;
  auto bytes = static_cast<unsigned>(k * sz);
  uint8_t* d = c.host_span(kEs, di, bytes, Access::kWrite);
  if (!d) return 0;
  if constexpr (Op == StringOp::kStos) {
    uint64_t v = c.reg(kRax, sz);
    if (sz == 1) {
      std::memset(d, static_cast<uint8_t>(v), bytes);
    } else {
      for (uint64_t e = 0; e < k; ++e) store_le(d + e * sz, sz, v);
    }
  } else {
    const uint8_t* s = c.host_span(i.seg, si, bytes, Access::kRead);
    // A destination just above its source repeats what was copied first:
    // only the one-at-a-time path does that.
    if (!s || (d > s && d < s + bytes)) return 0;
    std::memmove(d, s, bytes);
  }
  return k;
}

template <StringOp Op>
Flow string(Cpu& c, const Insn& i) {
  unsigned sz = i.opsize;
  unsigned as = i.addrsize;
  uint64_t am = size_mask(as);
  bool rep = i.flags & (insn_flag::kRep | insn_flag::kRepne);
  bool repne = i.flags & insn_flag::kRepne;
  uint64_t delta = c.flag_df() ? 0 - uint64_t{sz} : uint64_t{sz};
  uint16_t port = static_cast<uint16_t>(c.gpr[kRdx]);
  if constexpr (Op == StringOp::kIns || Op == StringOp::kOuts) {
    if (!c.io_permitted(port, sz)) return Flow::kFault;
  }
  constexpr bool kUsesSi = Op == StringOp::kMovs || Op == StringOp::kLods ||
                           Op == StringOp::kCmps || Op == StringOp::kOuts;
  constexpr bool kUsesDi = Op != StringOp::kLods && Op != StringOp::kOuts;
  // With a data or I/O breakpoint armed, an iteration that hits one ends the
  // instruction early (the #DB trap comes after that iteration).
  bool watch = rep && c.watching_data();
  // Single-stepping (TF) traps after each iteration (SDM Vol. 3 18.3.1.4).
  unsigned batch = c.flag_tf() ? 1 : kBatch;
  for (unsigned n = 0;; ++n) {
    if (rep && (c.gpr[kRcx] & am) == 0) return Flow::kNext;
    if (rep && n == batch) {
      c.next_rip = c.rip;  // come back to finish
      return Flow::kEnd;
    }
    uint64_t si = c.gpr[kRsi] & am, di = c.gpr[kRdi] & am;
    if constexpr (Op == StringOp::kStos || Op == StringOp::kMovs) {
      // Forward REP STOS/MOVS over RAM: a page's worth of iterations at once.
      if (rep && !watch && batch == kBatch && delta == sz) {
        uint64_t k = bulk<Op>(c, i, si, di, std::min<uint64_t>(c.gpr[kRcx] & am, batch - n));
        if (k) {
          if (kUsesSi) c.set_reg(kRsi, as, (si + k * sz) & am);
          c.set_reg(kRdi, as, (di + k * sz) & am);
          c.set_reg(kRcx, as, (c.gpr[kRcx] - k) & am);
          n += static_cast<unsigned>(k) - 1;
          continue;
        }
      }
    }
    uint64_t a = 0, b = 0;
    switch (Op) {
      case StringOp::kMovs:
        if (!c.read(i.seg, si, sz, &a) || !c.write(kEs, di, sz, a)) return Flow::kFault;
        break;
      case StringOp::kStos:
        if (!c.write(kEs, di, sz, c.reg(kRax, sz))) return Flow::kFault;
        break;
      case StringOp::kLods:
        if (!c.read(i.seg, si, sz, &a)) return Flow::kFault;
        c.set_reg(kRax, sz, a);
        break;
      case StringOp::kCmps:
        if (!c.read(i.seg, si, sz, &a) || !c.read(kEs, di, sz, &b)) return Flow::kFault;
        c.lflags.set_sub(a, b, (a - b) & size_mask(sz), sz);
        break;
      case StringOp::kScas:
        if (!c.read(kEs, di, sz, &b)) return Flow::kFault;
        a = c.reg(kRax, sz);
        c.lflags.set_sub(a, b, (a - b) & size_mask(sz), sz);
        break;
      case StringOp::kIns: {
        uint64_t probe;
        if (!c.read_for_write(kEs, di, sz, &probe)) return Flow::kFault;
        if (!c.write(kEs, di, sz, c.port_read(port, sz))) return Flow::kFault;
        break;
      }
      case StringOp::kOuts:
        if (!c.read(i.seg, si, sz, &a)) return Flow::kFault;
        c.port_write(port, sz, static_cast<uint32_t>(a));
        break;
    }
    if (kUsesSi) c.set_reg(kRsi, as, (si + delta) & am);
    if (kUsesDi) c.set_reg(kRdi, as, (di + delta) & am);
    if (!rep) return Flow::kNext;
    c.set_reg(kRcx, as, (c.gpr[kRcx] - 1) & am);
    if constexpr (Op == StringOp::kCmps || Op == StringOp::kScas) {
      if (repne ? c.lflags.zf() : !c.lflags.zf()) return Flow::kNext;
    }
    if (watch && c.data_breakpoint_hit()) {
      if ((c.gpr[kRcx] & am) == 0) return Flow::kNext;  // the last iteration
      c.next_rip = c.rip;  // resume with the next iteration after the #DB
      return Flow::kEnd;
    }
  }
}

}  // namespace

Handler string_op(StringOp op) {
  switch (op) {
    case StringOp::kMovs:
      return string<StringOp::kMovs>;
    case StringOp::kStos:
      return string<StringOp::kStos>;
    case StringOp::kLods:
      return string<StringOp::kLods>;
    case StringOp::kCmps:
      return string<StringOp::kCmps>;
    case StringOp::kScas:
      return string<StringOp::kScas>;
    case StringOp::kIns:
      return string<StringOp::kIns>;
    case StringOp::kOuts:
      return string<StringOp::kOuts>;
  }
  return nullptr;
}

}  // namespace vessel::cpu

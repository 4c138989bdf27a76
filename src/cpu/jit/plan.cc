// The translator's planning pass (see plan.h).
#include "cpu/jit/plan.h"

#include <cstdint>

namespace vessel::cpu {

namespace {

bool fits32(int64_t v) {
  return v == static_cast<int32_t>(v);
}

// Record p is emitted inline, with these effects.
Plan done(Plan p, bool reads, bool writes, bool exits) {
  p.inl = true;
  p.reads = reads;
  p.writes = writes;
  p.exits = exits;
  return p;
}

// AH..BH go through the handler.
bool reg_ok(uint8_t r) {
  return r < 16;
}
bool size_ok(unsigned s) {
  return s == 1 || s == 2 || s == 4 || s == 8;
}
bool mem_ok(const Insn& in) {
  if (in.addrsize != 8 && in.addrsize != 4) return false;
  if (in.base == kRipBase) return in.addrsize == 8 && fits32(in.disp + 4096);
  if (in.base != kNoReg && in.base >= 16) return false;
  if (in.index != kNoReg && in.index >= 16) return false;
  return fits32(in.disp) && (in.scale == 1 || in.scale == 2 || in.scale == 4 || in.scale == 8);
}

Plan plan_one(const Insn& in, bool live_after) {
  Plan p;
  p.op = jit_op_of(in.fn);
  p.exits = true;
  p.reads = true;
  const JitOp& op = p.op;
  const unsigned sz = in.opsize;
  bool mem =
      op.form == Form::kRM || op.form == Form::kMR || op.form == Form::kMI || op.form == Form::kM;
  if (mem && !mem_ok(in)) return p;
  switch (op.kind) {
    case JitKind::kAlu: {
      auto a = static_cast<AluOp>(op.op);
      bool carry = a == AluOp::kAdc || a == AluOp::kSbb;
      if (!size_ok(sz) || (carry && mem)) return p;
      if (op.form == Form::kRR && !(reg_ok(in.r0) && reg_ok(in.r1))) return p;
      if ((op.form == Form::kRI || op.form == Form::kRM) && !reg_ok(in.r0)) return p;
      if (op.form == Form::kMR && !reg_ok(in.r1)) return p;
      return done(p, carry, true, mem);
    }
    case JitKind::kUnary: {
      auto u = static_cast<UnaryOp>(op.op);
      if (!size_ok(sz) || (op.form == Form::kR && !reg_ok(in.r0))) return p;
      bool inc_dec = u == UnaryOp::kInc || u == UnaryOp::kDec;
      return done(p, inc_dec, u != UnaryOp::kNot,
                  op.form == Form::kM);  // a memory form may fault
    }
    case JitKind::kShift: {
      // By an immediate (kRI) or CL (kRR). Where the flags are observed
      // later, only SHL, SHR and SAR by an immediate below the operand's
      // width: the host's flags then differ from the interpreter's only in
      // OF (count > 1) and AF, which the emitted code sets as it does.
      // Elsewhere only where the flags are dead (a count of 0 keeps them).
      auto s = static_cast<ShiftOp>(op.op);
      unsigned count = in.imm & (sz == 8 ? 63 : 31);
      if ((op.form == Form::kRI && count == 0) || !size_ok(sz) || !reg_ok(in.r0) ||
          s == ShiftOp::kRcl || s == ShiftOp::kRcr)
        return p;
      if (live_after) {
        bool exact =
            op.form == Form::kRI && count < sz * 8 &&
            (s == ShiftOp::kShl || s == ShiftOp::kSal || s == ShiftOp::kShr || s == ShiftOp::kSar);
        if (!exact) return p;
        p.exact = true;
      }
      return done(p, false, true, false);
    }
    case JitKind::kNop:
      return done(p, false, false, false);
    case JitKind::kLeave:
      if (sz != 8) return p;
      return done(p, false, false, true);
    case JitKind::kImul:
      if (live_after || sz == 1 || !size_ok(sz) || !reg_ok(in.r0) || !reg_ok(in.r1) ||
          (op.form != Form::kRR && op.form != Form::kRRI))
        return p;
      return done(p, false, true, false);
    case JitKind::kMov:
      if (!size_ok(sz)) return p;
      if ((op.form == Form::kRR || op.form == Form::kRI || op.form == Form::kRM) && !reg_ok(in.r0))
        return p;
      if ((op.form == Form::kRR || op.form == Form::kMR) && !reg_ok(in.r1)) return p;
      return done(p, false, false, mem);
    case JitKind::kMovzx:
    case JitKind::kMovsx:
      if (!(sz == 2 || sz == 4 || sz == 8) || in.size2 >= sz || !size_ok(in.size2) ||
          !reg_ok(in.r0) || (op.form == Form::kRR && !reg_ok(in.r1)))
        return p;
      if (op.kind == JitKind::kMovzx && in.size2 == 4) return p;
      return done(p, false, false, op.form == Form::kRM);
    case JitKind::kLea:
      if (!(sz == 2 || sz == 4 || sz == 8) || !reg_ok(in.r0)) return p;
      return done(p, false, false, false);
    case JitKind::kPush:
      if (sz != 8 || (op.form == Form::kR && !reg_ok(in.r0))) return p;
      return done(p, false, false, true);
    case JitKind::kPop:
      if (sz != 8 || !reg_ok(in.r0)) return p;
      return done(p, false, false, true);
    case JitKind::kJmp:
    case JitKind::kCall:
    case JitKind::kRet:
      if (sz != 8) return p;
      return done(p, false, false, true);
    case JitKind::kJmpInd:
    case JitKind::kCallInd:
      if (sz != 8 || (op.form == Form::kR && !reg_ok(in.r0))) return p;
      return done(p, false, false, true);
    case JitKind::kJcc:
      if (sz != 8) return p;
      return done(p, true, false, true);
    case JitKind::kCmov:
      if (op.form != Form::kRR || sz == 1 || !size_ok(sz) || !reg_ok(in.r0) || !reg_ok(in.r1))
        return p;
      return done(p, true, false, false);
    case JitKind::kSetcc:
      if (!reg_ok(in.r0)) return p;
      return done(p, true, false, false);
    case JitKind::kNone:
      break;
  }
  return p;
}

}  // namespace

std::vector<Plan> plan_block(const Block& block) {
  std::vector<Plan> plans(block.count);
  const Insn* insns = block.insns();
  bool live = true;  // after the block: the next one may read them
  for (uint32_t i = block.count; i-- > 0;) {
    plans[i] = plan_one(insns[i], live);
    const Plan& p = plans[i];
    live = p.reads || p.exits || (!p.writes && live);
  }
  return plans;
}

}  // namespace vessel::cpu

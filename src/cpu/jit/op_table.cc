#include "cpu/jit/op_table.h"

#include <unordered_map>

namespace vessel::cpu {
namespace {

class OpTable {
 public:
  OpTable() {
    constexpr unsigned kSizes[] = {1, 2, 4, 8};
    for (unsigned size : kSizes) {
      for (Form f : {Form::kRR, Form::kRM, Form::kMR, Form::kRI, Form::kMI}) {
        for (uint8_t op = 0; op <= static_cast<uint8_t>(AluOp::kTest); ++op)
          add(alu_binary(static_cast<AluOp>(op), f, size), {JitKind::kAlu, op, f});
        add(data_mov(f, size), {JitKind::kMov, 0, f});
      }
      for (uint8_t op = 0; op <= static_cast<uint8_t>(UnaryOp::kNot); ++op)
        for (Form f : {Form::kR, Form::kM})
          add(alu_unary(static_cast<UnaryOp>(op), f, size), {JitKind::kUnary, op, f});
      for (uint8_t op = 0; op <= static_cast<uint8_t>(ShiftOp::kSar); ++op)
        add(alu_shift(static_cast<ShiftOp>(op), Form::kRI, size), {JitKind::kShift, op, Form::kRI});
      for (Form f : {Form::kRR, Form::kRM, Form::kRRI, Form::kRMI})
        add(alu_imul(f, size), {JitKind::kImul, 0, f});
      for (unsigned src : kSizes) {
        for (Form f : {Form::kRR, Form::kRM}) {
          add(data_movx(false, f, size, src), {JitKind::kMovzx, 0, f});
          add(data_movx(true, f, size, src), {JitKind::kMovsx, 0, f});
        }
      }
      add(data_lea(size), {JitKind::kLea, 0, Form::kRM});
      add(data_push(Form::kR, size), {JitKind::kPush, 0, Form::kR});
      add(data_push(Form::kI, size), {JitKind::kPush, 0, Form::kI});
      add(data_pop(Form::kR, size), {JitKind::kPop, 0, Form::kR});
    }
    for (uint8_t cc = 0; cc < 16; ++cc) add(ctl_jcc(cc), {JitKind::kJcc, cc, Form::kI});
    add(alu_setcc(Form::kR), {JitKind::kSetcc, 0, Form::kR});
    add(alu_cmovcc(Form::kRR), {JitKind::kCmov, 0, Form::kRR});
    add(alu_cmovcc(Form::kRM), {JitKind::kCmov, 0, Form::kRM});
    add(kJmpRel, {JitKind::kJmp, 0, Form::kI});
    add(kCallRel, {JitKind::kCall, 0, Form::kI});
    add(kRet, {JitKind::kRet, 0, Form::kNone});
    add(ctl_jmp_indirect(Form::kR), {JitKind::kJmpInd, 0, Form::kR});
    add(ctl_jmp_indirect(Form::kM), {JitKind::kJmpInd, 0, Form::kM});
    add(ctl_call_indirect(Form::kR), {JitKind::kCallInd, 0, Form::kR});
    add(kNop, {JitKind::kNop, 0, Form::kNone});
    add(kNopSystem, {JitKind::kNop, 0, Form::kNone});
    add(kLeave, {JitKind::kLeave, 0, Form::kNone});
    for (uint8_t op = 0; op <= static_cast<uint8_t>(ShiftOp::kSar); ++op)
      for (unsigned size : kSizes)
        add(alu_shift(static_cast<ShiftOp>(op), Form::kRR, size), {JitKind::kShift, op, Form::kRR});
  }

  JitOp find(Handler h) const {
    auto it = map_.find(h);
    return it == map_.end() ? JitOp{} : it->second;
  }

 private:
  // A handler two operations share (one function for several sizes is
  // fine: the record carries its size) is left to the interpreter.
  void add(Handler h, JitOp op) {
    if (!h) return;
    auto [it, inserted] = map_.try_emplace(h, op);
    if (!inserted &&
        (it->second.kind != op.kind || it->second.op != op.op || it->second.form != op.form))
      it->second = JitOp{};
  }
  std::unordered_map<Handler, JitOp> map_;
};

}  // namespace

JitOp jit_op_of(Handler handler) {
  static const OpTable table;
  return table.find(handler);
}

}  // namespace vessel::cpu

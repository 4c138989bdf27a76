// Far JMP/CALL through system descriptors: TSS descriptors and task gates
// start a task switch (task.cc); call gates (SDM Vol. 3 5.8): 16- and 32-bit gates in
// protected mode (same privilege, or CALL to a more privileged non-conforming
// segment with the stack switch through the TSS and the copy of the gate's
// parameter count of words/doublewords), and 16-byte 64-bit gates in long
// mode (the new RSP from the TSS, SS null, no parameters). The far RET back
// to an outer level is far_return's (segments.cc).
#include "cpu/cpu.h"

namespace vessel::cpu {
namespace {

constexpr unsigned kCallGate16 = 0x4;
constexpr unsigned kTaskGate = 0x5;
constexpr unsigned kCallGate32 = 0xC;  // 64-bit call gate in long mode

bool canonical(uint64_t a) {
  return static_cast<uint64_t>(static_cast<int64_t>(a << 16) >> 16) == a;
}

}  // namespace

bool Cpu::far_gate(uint16_t selector, uint64_t raw, bool call) {
  unsigned type = (raw >> 40) & 0xF;
  unsigned gate_dpl = (raw >> 45) & 3;
  uint32_t gate_err = selector & 0xFFFC;
  bool lm = long_mode();
  TaskSwitch reason = call ? TaskSwitch::kCall : TaskSwitch::kJmp;
  bool tss = type == 0x1 || type == 0x3 || type == 0x9 || type == 0xB;
  if (lm ? type != kCallGate32
         : !tss && type != kTaskGate && type != kCallGate32 && type != kCallGate16)
    return fault(kGp, gate_err);
  if (gate_dpl < cpl_ || gate_dpl < (selector & 3u)) return fault(kGp, gate_err);
  if (tss) return task_switch(selector, reason, next_rip);  // checks busy, present
  if (!((raw >> 47) & 1)) return fault(kNp, gate_err);
  if (type == kTaskGate) return task_switch(static_cast<uint16_t>(raw >> 16), reason, next_rip);
  uint16_t cs_sel = static_cast<uint16_t>(raw >> 16);
  uint64_t offset = (raw & 0xFFFF) | (type == kCallGate32 ? ((raw >> 48) & 0xFFFF) << 16 : 0);
  unsigned params = (raw >> 32) & 0x1F;
  if (lm) {
    // The upper half of the 16-byte gate: offset 63:32, type field 0.
    uint64_t base = (selector & 4) ? ldtr.base : gdtr.base;
    uint32_t limit = (selector & 4) ? ldtr.limit : gdtr.limit;
    if ((selector & 0xFFF8) + 15u > limit) return fault(kGp, gate_err);
    uint64_t hi;
    if (!read_linear(base + (selector & 0xFFF8) + 8, 8, &hi, Access::kRead, true)) return false;
    if ((hi >> 40) & 0x1F) return fault(kGp, gate_err);
    offset |= (hi & 0xFFFFFFFF) << 32;
  }

  // The code segment the gate names.
  if ((cs_sel & 0xFFFC) == 0) return fault(kGp, 0);
  uint64_t cs_raw;
  if (!read_descriptor(cs_sel, &cs_raw, kGp)) return false;
  SegmentCache cs = unpack_descriptor(cs_sel, cs_raw);
  uint32_t cs_err = cs_sel & 0xFFFC;
  bool conforming = (cs.type & 0xC) == 0xC;
  if (!cs.s || !(cs.type & 0x8) || cs.dpl > cpl_) return fault(kGp, cs_err);
  if (!call && !conforming && cs.dpl != cpl_) return fault(kGp, cs_err);
  if (!cs.present) return fault(kNp, cs_err);
  if (lm && (!cs.l || cs.db)) return fault(kGp, cs_err);
  if (lm ? !canonical(offset) : offset > cs.limit) return fault(kGp, 0);
  bool inner = call && !conforming && cs.dpl < cpl_;
  unsigned new_cpl = inner ? cs.dpl : cpl_;
  unsigned size = lm ? 8 : type == kCallGate32 ? 4 : 2;
  uint64_t return_ip = next_rip;
  uint16_t old_cs = seg[kCs].selector;

  if (!inner) {
    if (call) {
      uint64_t saved_rsp = gpr[kRsp];
      if (!push(old_cs, size) || !push(return_ip, size)) {
        gpr[kRsp] = saved_rsp;
        return false;
      }
    }
  } else if (lm) {
    // 64-bit gate to an inner level: RSP from the TSS, SS null (RPL = new CPL).
    unsigned off = 4 + new_cpl * 8;
    if (off + 7 > tr.limit) return fault(kTs, tr.selector & 0xFFFC);
    uint64_t sp;
    if (!read_linear(tr.base + off, 8, &sp, Access::kRead, true)) return false;
    uint64_t frame[4] = {seg[kSs].selector, gpr[kRsp], old_cs, return_ip};
    for (uint64_t v : frame) {
      sp -= 8;
      if (!canonical(sp)) return fault(kStackFault, 0);
      if (!write_linear(sp, 8, v, true)) return false;
    }
    SegmentCache ss;
    ss.selector = static_cast<uint16_t>(new_cpl);
    ss.unusable = true;
    ss.present = false;
    ss.dpl = static_cast<uint8_t>(new_cpl);
    seg[kSs] = ss;
    gpr[kRsp] = sp;
  } else {
    // 16/32-bit gate to an inner level: SS:ESP for the new CPL from the TSS.
    bool tss32 = tr.type == 0x9 || tr.type == 0xB;
    unsigned sp_off = tss32 ? 4 + new_cpl * 8 : 2 + new_cpl * 4;
    unsigned ss_off = tss32 ? 8 + new_cpl * 8 : 4 + new_cpl * 4;
    if (ss_off + 1 > tr.limit) return fault(kTs, tr.selector & 0xFFFC);
    uint64_t new_sp, new_ss;
    if (!read_linear(tr.base + sp_off, tss32 ? 4 : 2, &new_sp, Access::kRead, true) ||
        !read_linear(tr.base + ss_off, 2, &new_ss, Access::kRead, true))
      return false;
    uint16_t ss_sel = static_cast<uint16_t>(new_ss);
    if ((ss_sel & 0xFFFC) == 0) return fault(kTs, 0);
    uint64_t ss_raw;
    if (!read_descriptor(ss_sel, &ss_raw, kTs)) return false;
    SegmentCache ss = unpack_descriptor(ss_sel, ss_raw);
    uint32_t ss_err = ss_sel & 0xFFFC;
    if ((ss_sel & 3) != new_cpl || ss.dpl != new_cpl || !ss.s || (ss.type & 0x8) ||
        !(ss.type & 0x2))
      return fault(kTs, ss_err);
    if (!ss.present) return fault(kStackFault, ss_err);
    // The parameters, read from the old stack before anything changes.
    uint32_t param[31];
    uint64_t old_mask = sp_mask();
    for (unsigned i = 0; i < params; ++i) {
      uint64_t v;
      if (!read(kSs, (gpr[kRsp] + i * size) & old_mask, size, &v)) return false;
      param[i] = static_cast<uint32_t>(v);
    }
    uint64_t mask = ss.db ? 0xFFFFFFFF : 0xFFFF;
    uint64_t sp = new_sp;
    auto push_new = [&](uint64_t v) {
      uint64_t nsp = (sp - size) & mask;
      // A stack that cannot take the frame is #SS(new SS).
      if (!check_segment(ss, kSs, nsp, size, true)) {
        set_pending(-1, kNoErrorCode);
        return fault(kStackFault, ss_err);
      }
      if (!write_linear((ss.base + nsp) & 0xFFFFFFFF, size, v, true)) return false;
      sp = (sp & ~mask) | nsp;
      return true;
    };
    if (!push_new(seg[kSs].selector) || !push_new(gpr[kRsp] & old_mask)) return false;
    for (unsigned i = params; i-- > 0;)
      if (!push_new(param[i])) return false;
    if (!push_new(old_cs) || !push_new(return_ip)) return false;
    if (!mark_accessed(ss_sel, ss_raw)) return false;
    ss.type |= 1;
    seg[kSs] = ss;
    gpr[kRsp] = sp;
  }
  if (!mark_accessed(cs_sel, cs_raw)) return false;
  cs.type |= 1;
  cs.selector = static_cast<uint16_t>((cs_sel & ~3) | new_cpl);
  set_segment(kCs, cs);
  next_rip = lm || type == kCallGate32 ? offset : offset & 0xFFFF;
  return true;
}

}  // namespace vessel::cpu

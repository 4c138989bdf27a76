// The decoder's records: operand fields, sizes, handler binding per operand
// form, prefixes, block-ending flags, #UD and unimplemented instructions.
#include <gtest/gtest.h>

#include <vector>

#include "cpu/decode/decoder.h"
#include "cpu/exec/handlers.h"
#include "cpu/registers.h"

namespace vessel::cpu {
namespace {

Insn decode(std::vector<uint8_t> bytes, DecodeMode mode) {
  Insn insn;
  EXPECT_TRUE(decode_insn(bytes.data(), static_cast<unsigned>(bytes.size()), mode, &insn));
  return insn;
}

TEST(CpuDecoder, RegisterForm) {
  Insn i = decode({0x01, 0xD8}, DecodeMode::k32);  // add eax, ebx
  EXPECT_EQ(i.len, 2);
  EXPECT_EQ(i.opsize, 4);
  EXPECT_EQ(i.r0, kRax);
  EXPECT_EQ(i.r1, kRbx);
  EXPECT_EQ(i.fn, alu_binary(AluOp::kAdd, Form::kRR, 4));  // the 4-byte instantiation
  EXPECT_EQ(i.flags & insn_flag::kEndsBlock, 0);
}

TEST(CpuDecoder, MemoryFormWithSib) {
  Insn i = decode({0x03, 0x44, 0x8B, 0x10}, DecodeMode::k32);  // add eax, [ebx+ecx*4+0x10]
  EXPECT_EQ(i.len, 4);
  EXPECT_EQ(i.fn, alu_binary(AluOp::kAdd, Form::kRM, 4));
  EXPECT_NE(i.fn, alu_binary(AluOp::kAdd, Form::kRM, 8));
  EXPECT_EQ(i.r0, kRax);
  EXPECT_EQ(i.base, kRbx);
  EXPECT_EQ(i.index, kRcx);
  EXPECT_EQ(i.scale, 4);
  EXPECT_EQ(i.disp, 0x10);
  EXPECT_EQ(i.seg, kDs);
  EXPECT_EQ(i.addrsize, 4);
  Insn s = decode({0x8A, 0x24, 0x24}, DecodeMode::k32);  // mov ah, [esp]
  EXPECT_EQ(s.r0, kHighByte + kRax);
  EXPECT_EQ(s.seg, kSs);
  EXPECT_EQ(s.opsize, 1);
  EXPECT_EQ(s.fn, data_mov(Form::kRM, 1));
}

TEST(CpuDecoder, ImmediateFormsSignExtend) {
  Insn i = decode({0x83, 0x00, 0xFF}, DecodeMode::k32);  // add dword [eax], -1
  EXPECT_EQ(i.fn, alu_binary(AluOp::kAdd, Form::kMI, 4));
  EXPECT_EQ(i.imm & 0xFFFFFFFF, 0xFFFFFFFFu);
  Insn m = decode({0x48, 0xC7, 0xC0, 0x00, 0x00, 0x00, 0x80}, DecodeMode::k64);  // mov rax, imm32
  EXPECT_EQ(m.opsize, 8);
  EXPECT_EQ(m.imm, 0xFFFFFFFF80000000ull);
  EXPECT_EQ(m.fn, data_mov(Form::kRI, 8));
}

TEST(CpuDecoder, RipRelativeAndRex) {
  Insn i = decode({0x48, 0x8B, 0x05, 0x10, 0x00, 0x00, 0x00}, DecodeMode::k64);
  EXPECT_EQ(i.len, 7);
  EXPECT_EQ(i.base, kRipBase);
  EXPECT_EQ(i.disp, 0x10);
  EXPECT_EQ(i.opsize, 8);
  EXPECT_EQ(i.addrsize, 8);
  Insn b = decode({0x40, 0x8A, 0xC4}, DecodeMode::k64);  // mov al, spl
  EXPECT_EQ(b.r1, kRsp);
  Insn r = decode({0x45, 0x01, 0xC8}, DecodeMode::k64);  // add r8d, r9d
  EXPECT_EQ(r.r0, kR8);
  EXPECT_EQ(r.r1, kR9);
  EXPECT_EQ(r.opsize, 4);
}

TEST(CpuDecoder, SixteenBitAddressing) {
  Insn i = decode({0x8B, 0x47, 0x02}, DecodeMode::k16);  // mov ax, [bx+2]
  EXPECT_EQ(i.opsize, 2);
  EXPECT_EQ(i.addrsize, 2);
  EXPECT_EQ(i.base, kRbx);
  EXPECT_EQ(i.disp, 2);
  Insn o = decode({0x66, 0x8B, 0x46, 0x00}, DecodeMode::k16);  // mov eax, [bp+0]
  EXPECT_EQ(o.opsize, 4);
  EXPECT_EQ(o.seg, kSs);
}

TEST(CpuDecoder, PrefixesAndBlockEnds) {
  Insn rep = decode({0xF3, 0xA4}, DecodeMode::k32);  // rep movsb
  EXPECT_TRUE(rep.flags & insn_flag::kRep);
  EXPECT_EQ(rep.fn, string_op(StringOp::kMovs));
  EXPECT_EQ(rep.opsize, 1);
  Insn seg = decode({0x26, 0xA5}, DecodeMode::k32);  // movsd with ES source
  EXPECT_EQ(seg.seg, kEs);
  Insn lock = decode({0xF0, 0x01, 0x18}, DecodeMode::k32);
  EXPECT_TRUE(lock.flags & insn_flag::kLock);
  Insn jmp = decode({0xEB, 0xFE}, DecodeMode::k32);
  EXPECT_TRUE(jmp.flags & insn_flag::kEndsBlock);
  EXPECT_EQ(jmp.fn, kJmpRel);
  EXPECT_EQ(jmp.imm, 0xFFFFFFFFFFFFFFFEull);
  Insn jcc = decode({0x0F, 0x84, 0x00, 0x01, 0x00, 0x00}, DecodeMode::k32);  // jz
  EXPECT_EQ(jcc.fn, ctl_jcc(4));
  EXPECT_NE(jcc.fn, ctl_jcc(5));
  EXPECT_EQ(jcc.op, 4);
  EXPECT_EQ(jcc.flags & insn_flag::kEndsBlock, 0);  // a side exit: not taken, the block goes on
  Insn far = decode({0xEA, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00}, DecodeMode::k32);
  EXPECT_EQ(far.fn, kJmpFar);
  EXPECT_EQ(far.imm, 0x12345678u);
  EXPECT_EQ(far.imm2, 0x08);
}

TEST(CpuDecoder, SegmentAndControlRegisterMoves) {
  Insn to_ds = decode({0x8E, 0xD8}, DecodeMode::k32);  // mov ds, ax
  EXPECT_EQ(to_ds.fn, data_mov_to_sreg(Form::kRR));
  EXPECT_EQ(to_ds.r0, kDs);
  EXPECT_EQ(to_ds.r1, kRax);
  Insn to_cs = decode({0x8E, 0xC8}, DecodeMode::k32);  // mov cs, ax: #UD
  EXPECT_EQ(to_cs.fn, kRaiseUd);
  Insn cr = decode({0x0F, 0x22, 0xD8}, DecodeMode::k32);  // mov cr3, eax
  EXPECT_EQ(cr.fn, kMovToCr);
  EXPECT_EQ(cr.r0, 3);
  EXPECT_EQ(cr.r1, kRax);
}

TEST(CpuDecoder, UndefinedAndUnimplemented) {
  EXPECT_EQ(decode({0x0F, 0x0B}, DecodeMode::k32).fn, kRaiseUd);       // ud2
  Insn aes = decode({0x66, 0x0F, 0x38, 0xDC, 0xC1}, DecodeMode::k32);  // aesenc: not implemented
  EXPECT_EQ(aes.fn, kUnimplemented);
  EXPECT_TRUE(aes.flags & insn_flag::kEndsBlock);
  Insn bad = decode({0x06}, DecodeMode::k64);  // push es: invalid in 64-bit mode
  EXPECT_EQ(bad.fn, kRaiseUd);
  EXPECT_EQ(bad.len, 1);
}

TEST(CpuDecoder, IncompleteBytesAskForMore) {
  uint8_t bytes[] = {0xB8, 0x01};  // mov eax, imm32 cut short
  Insn insn;
  EXPECT_FALSE(decode_insn(bytes, 2, DecodeMode::k32, &insn));
}

TEST(CpuDecoder, RecordIsCompact) {
  EXPECT_LE(sizeof(Insn), 48u);
}

}  // namespace
}  // namespace vessel::cpu

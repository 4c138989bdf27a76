#include "native_stub.h"

#include <cassert>
#include <cstddef>

namespace vessel::difftest {
namespace {

constexpr uint32_t block_field(size_t offset) {
  return static_cast<uint32_t>(kStateBlockAddr + offset);
}

class Emitter {
 public:
  void bytes(std::initializer_list<uint8_t> b) { out_.insert(out_.end(), b); }
  void disp32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  // ModRM mod=00 rm=100 + SIB base=101 index=100: absolute [disp32].
  void abs_modrm(int reg, uint32_t addr) {
    bytes({static_cast<uint8_t>(((reg & 7) << 3) | 4), 0x25});
    disp32(addr);
  }
  // MOV [addr], r64 (store=true: 89 /r) or MOV r64, [addr] (8B /r).
  void mov_abs(int gpr, uint32_t addr, bool store) {
    bytes({static_cast<uint8_t>(0x48 | (gpr >= 8 ? 4 : 0)), store ? uint8_t{0x89} : uint8_t{0x8B}});
    abs_modrm(gpr, addr);
  }
  // MOVDQU xmm, [addr] (F3 0F 6F) or MOVDQU [addr], xmm (F3 0F 7F).
  void movdqu_abs(int xmm, uint32_t addr, bool store) {
    bytes({0xF3});
    if (xmm >= 8) bytes({0x44});
    bytes({0x0F, store ? uint8_t{0x7F} : uint8_t{0x6F}});
    abs_modrm(xmm, addr);
  }
  // MOVQ mm, [addr] (0F 6F) or MOVQ [addr], mm (0F 7F).
  void movq_mm_abs(int mm, uint32_t addr, bool store) {
    bytes({0x0F, store ? uint8_t{0x7F} : uint8_t{0x6F}});
    abs_modrm(mm, addr);
  }
  // LDMXCSR [addr] (0F AE /2) or STMXCSR [addr] (0F AE /3).
  void mxcsr_abs(uint32_t addr, bool store) {
    bytes({0x0F, 0xAE});
    abs_modrm(store ? 3 : 2, addr);
  }
  // MOV RSP, imm32 (sign-extended; the addresses are below 2 GiB).
  void mov_rsp_imm(uint32_t v) {
    bytes({0x48, 0xC7, 0xC4});
    disp32(v);
  }
  std::vector<uint8_t> take() { return std::move(out_); }
  size_t size() const { return out_.size(); }

 private:
  std::vector<uint8_t> out_;
};

}  // namespace

std::vector<uint8_t> native_prologue() {
  Emitter e;
  e.bytes({0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57});  // push rbx..r15
  e.mov_abs(kRsp, block_field(offsetof(StateBlock, host_rsp)), true);
  e.mxcsr_abs(block_field(offsetof(StateBlock, host_mxcsr)), true);
  for (int i = 0; i < 8; ++i)
    e.movq_mm_abs(i, block_field(offsetof(StateBlock, mm) + 8 * i), false);
  e.bytes({0x0F, 0x77});  // emms
  e.mxcsr_abs(block_field(offsetof(StateBlock, mxcsr)), false);
  for (int i = 0; i < 16; ++i) {
    e.movdqu_abs(i, block_field(offsetof(StateBlock, xmm) + 16 * i), false);
  }
  e.mov_rsp_imm(static_cast<uint32_t>(kStubStackTop));
  e.bytes({0xFF, 0x34, 0x25});  // push qword [abs rflags]
  e.disp32(block_field(offsetof(StateBlock, rflags)));
  e.bytes({0x9D});  // popfq
  for (int i = 0; i < 16; ++i) e.mov_abs(i, block_field(8 * i), false);
  assert(e.size() <= kInstrAddr - kCodeAddr);
  while (e.size() < kInstrAddr - kCodeAddr) e.bytes({0x90});
  return e.take();
}

std::vector<uint8_t> native_epilogue() {
  Emitter e;
  for (int i = 0; i < 16; ++i) e.mov_abs(i, block_field(8 * i), true);
  e.mov_rsp_imm(static_cast<uint32_t>(kStubStackTop));
  e.bytes({0x9C, 0x58});  // pushfq; pop rax
  e.mov_abs(kRax, block_field(offsetof(StateBlock, rflags)), true);
  for (int i = 0; i < 16; ++i) {
    e.movdqu_abs(i, block_field(offsetof(StateBlock, xmm) + 16 * i), true);
  }
  e.mxcsr_abs(block_field(offsetof(StateBlock, mxcsr)), true);
  for (int i = 0; i < 8; ++i) e.movq_mm_abs(i, block_field(offsetof(StateBlock, mm) + 8 * i), true);
  e.bytes({0x0F, 0x77});  // emms
  e.mxcsr_abs(block_field(offsetof(StateBlock, host_mxcsr)), false);
  e.mov_abs(kRsp, block_field(offsetof(StateBlock, host_rsp)), false);
  e.bytes({0xFC});                                                        // cld
  e.bytes({0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C, 0x5D, 0x5B});  // pop r15..rbx
  e.bytes({0xC3});
  return e.take();
}

}  // namespace vessel::difftest

#include "cpu/decode/decoder.h"

#include <Zydis/Zydis.h>

#include <array>
#include <cstring>

#include "cpu/cpu.h"
#include "cpu/decode/zydis_bind.h"
#include "cpu/exec/handlers.h"

namespace vessel::cpu {
namespace {

const ZydisDecoder& decoder_for(DecodeMode mode) {
  static const auto table = [] {
    std::array<ZydisDecoder, 3> d;
    ZydisDecoderInit(&d[0], ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16);
    ZydisDecoderInit(&d[1], ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
    ZydisDecoderInit(&d[2], ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    return d;
  }();
  return table[static_cast<int>(mode)];
}

}  // namespace

bool decode_insn(const uint8_t* bytes, unsigned size, DecodeMode mode, Insn* out) {
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  ZyanStatus status = ZydisDecoderDecodeFull(&decoder_for(mode), bytes, size, &zi, ops);
  if (status == ZYDIS_STATUS_NO_MORE_DATA && size < ZYDIS_MAX_INSTRUCTION_LENGTH) return false;
  *out = Insn{};
  if (!ZYAN_SUCCESS(status)) {
    out->fn = kRaiseUd;
    out->len = 1;
    out->flags = insn_flag::kEndsBlock;
    return true;
  }
  bind_insn(zi, ops, out);
  return true;
}

const char* mnemonic_name(uint16_t mnemonic) {
  const char* name = ZydisMnemonicGetString(static_cast<ZydisMnemonic>(mnemonic));
  return name ? name : "?";
}

BlockPtr decode_block(Cpu& cpu, uint64_t linear, uint64_t gpa, DecodeMode mode) {
  std::array<Insn, BlockCache::kMaxInsns> insns;
  unsigned n = 0;
  uint32_t len1 = 0, len2 = 0;
  uint64_t gpa2 = 0;
  uint64_t page_end = (gpa | 0xFFF) + 1;
  uint64_t cur = gpa;
  uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH * 2];
  while (n < BlockCache::kMaxInsns) {
    unsigned avail = static_cast<unsigned>(page_end - cur);
    unsigned take = avail < ZYDIS_MAX_INSTRUCTION_LENGTH ? avail : ZYDIS_MAX_INSTRUCTION_LENGTH;
    cpu.read_physical(cur, bytes, take);
    Insn& insn = insns[n];
    if (!decode_insn(bytes, take, mode, &insn)) {
      // The instruction continues on the next page: only a block's first
      // instruction may straddle (its second page is checked on lookup).
      if (n > 0) break;
      uint64_t next_linear = (linear & ~0xFFFull) + 0x1000;
      if (!cpu.translate(next_linear, Access::kExec, cpu.cpl() == 3, &gpa2)) return nullptr;
      unsigned more = ZYDIS_MAX_INSTRUCTION_LENGTH - take;
      uint64_t page2 = gpa2 & ~0xFFFull;
      cpu.block_cache().reserve_page(page2);  // before reading: see Cpu::fetch_block
      cpu.read_physical(gpa2, bytes + take, more);
      decode_insn(bytes, take + more, mode, &insn);
      len2 = insn.len > avail ? insn.len - avail : 0;
      if (len2 == 0) cpu.block_cache().release_page(page2);
      len1 = avail;
      ++n;
      break;
    }
    ++n;
    cur += insn.len;
    len1 = static_cast<uint32_t>(cur - gpa);
    if ((insn.flags & insn_flag::kEndsBlock) || cur >= page_end) break;
  }
  BlockPtr block = Block::create(std::span<const Insn>(insns.data(), n));
  block->gpa = gpa;
  block->key = BlockCache::key_of(gpa, mode);
  block->len1 = len1;
  block->len2 = len2;
  block->gpa2 = len2 ? gpa2 : 0;
  return block;
}

}  // namespace vessel::cpu

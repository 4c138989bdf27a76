// Segment:offset -> linear with the segment's checks (limits, expand-down,
// type, null segment; canonical addresses in 64-bit mode), the virtual access
// entry points, the stack, and the I/O permission check.
#include "cpu/cpu.h"

namespace vessel::cpu {
namespace {

bool canonical(uint64_t a) {
  return static_cast<uint64_t>(static_cast<int64_t>(a << 16) >> 16) == a;
}

}  // namespace

bool Cpu::check_segment(const SegmentCache& s, unsigned sreg, uint64_t offset, unsigned size,
                        bool write) {
  uint8_t vector = sreg == kSs ? kStackFault : kGp;
  if (protected_mode() && !(rflags_ & rflags::kVm)) {
    if (s.unusable) return fault(vector, 0);
    bool code = s.type & 0x8;
    if (write && (code || !(s.type & 0x2))) return fault(vector, 0);
    if (!write && code && !(s.type & 0x2) && sreg != kCs) return fault(vector, 0);
    if (!code && (s.type & 0x4)) {  // expand-down: valid offsets are above the limit
      uint64_t top = s.db ? 0xFFFFFFFFull : 0xFFFFull;
      if (offset <= s.limit || offset + size - 1 > top) return fault(vector, 0);
      return true;
    }
  }
  if (offset + size - 1 > s.limit) return fault(vector, 0);
  return true;
}

bool Cpu::linearize_slow(unsigned sreg, uint64_t offset, unsigned size, bool write,
                         uint64_t* linear) {
  if (mode64()) {
    uint64_t a = offset + ((sreg == kFs || sreg == kGs) ? seg[sreg].base : 0);
    if (!canonical(a) || !canonical(a + size - 1)) return fault(sreg == kSs ? kStackFault : kGp, 0);
    *linear = a;
    return true;
  }
  if (!check_segment(seg[sreg], sreg, offset, size, write)) return false;
  *linear = (seg[sreg].base + offset) & 0xFFFFFFFF;
  return true;
}

bool Cpu::io_permitted(uint16_t port, unsigned size) {
  if (io_bp_) match_io_breakpoints(port, size);  // a trap only if the access completes
  if (!protected_mode()) return true;
  if (!(rflags_ & rflags::kVm) && cpl_ <= iopl()) return true;
  // The TSS's I/O permission bitmap.
  if (tr.unusable || (tr.type != 0x9 && tr.type != 0xB) || tr.limit < 0x67) return fault(kGp, 0);
  uint64_t base_offset;
  if (!read_linear(tr.base + 0x66, 2, &base_offset, Access::kRead, true)) return false;
  uint64_t byte = base_offset + port / 8;
  if (byte + 1 > tr.limit) return fault(kGp, 0);
  uint64_t bits;
  if (!read_linear(tr.base + byte, 2, &bits, Access::kRead, true)) return false;
  uint64_t mask = ((1u << size) - 1) << (port & 7);
  if (bits & mask) return fault(kGp, 0);
  return true;
}

}  // namespace vessel::cpu

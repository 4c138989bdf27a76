// SSE4.1 integer operations: sign/zero extensions, min/max, multiplies,
// 64-bit compare, pack, PTEST, blends, MPSADBW, PHMINPOSUW, INSERTPS and
// the element inserts/extracts (with their store-to-memory handler).
#include <cstring>
#include <type_traits>

#include "cpu/exec/sse41.h"

namespace vessel::cpu {
namespace {

template <typename T>
T lane(const Xmm& x, unsigned k) {
  T v;
  std::memcpy(&v, x.b + k * sizeof(T), sizeof(T));
  return v;
}
template <typename T>
void set_lane(Xmm& x, unsigned k, T v) {
  std::memcpy(x.b + k * sizeof(T), &v, sizeof(T));
}

// Extends the low 16 / sizeof(To) elements of `s` (type From) into d.
template <typename From, typename To>
void extend(Xmm& d, const Xmm& s) {
  Xmm r;
  for (unsigned k = 0; k < 16 / sizeof(To); ++k)
    set_lane<To>(r, k, static_cast<To>(lane<From>(s, k)));
  d = r;
}

template <typename T, typename F>
void lanewise(Xmm& d, const Xmm& s, F f) {
  for (unsigned k = 0; k < 16 / sizeof(T); ++k) set_lane<T>(d, k, f(lane<T>(d, k), lane<T>(s, k)));
}

template <typename T>
T min_of(T a, T b) {
  return b < a ? b : a;
}
template <typename T>
T max_of(T a, T b) {
  return b > a ? b : a;
}

// Lanes of T: from s where `take(k)`, else d.
template <typename T, typename F>
void blend(Xmm& d, const Xmm& s, F take) {
  for (unsigned k = 0; k < 16 / sizeof(T); ++k)
    if (take(k)) set_lane<T>(d, k, lane<T>(s, k));
}

Flow extract_to_mem(Cpu& c, const Insn& i) {
  if (!sse_usable(c)) return Flow::kFault;
  uint64_t v = reinterpret_cast<XmmToGprFn>(i.imm)(c, c.fpu.xmm[i.r1], i.imm2);
  return c.write(i.seg, c.effective_address(i), i.size2, v & size_mask(i.size2)) ? Flow::kNext
                                                                                 : Flow::kFault;
}

}  // namespace

const Handler kSse41ExtractToMem = extract_to_mem;

VESSEL_XMM_FN(pmovsxbw) {
  extend<int8_t, int16_t>(d, s);
}
VESSEL_XMM_FN(pmovsxbd) {
  extend<int8_t, int32_t>(d, s);
}
VESSEL_XMM_FN(pmovsxbq) {
  extend<int8_t, int64_t>(d, s);
}
VESSEL_XMM_FN(pmovsxwd) {
  extend<int16_t, int32_t>(d, s);
}
VESSEL_XMM_FN(pmovsxwq) {
  extend<int16_t, int64_t>(d, s);
}
VESSEL_XMM_FN(pmovsxdq) {
  extend<int32_t, int64_t>(d, s);
}
VESSEL_XMM_FN(pmovzxbw) {
  extend<uint8_t, uint16_t>(d, s);
}
VESSEL_XMM_FN(pmovzxbd) {
  extend<uint8_t, uint32_t>(d, s);
}
VESSEL_XMM_FN(pmovzxbq) {
  extend<uint8_t, uint64_t>(d, s);
}
VESSEL_XMM_FN(pmovzxwd) {
  extend<uint16_t, uint32_t>(d, s);
}
VESSEL_XMM_FN(pmovzxwq) {
  extend<uint16_t, uint64_t>(d, s);
}
VESSEL_XMM_FN(pmovzxdq) {
  extend<uint32_t, uint64_t>(d, s);
}

VESSEL_XMM_FN(pminsb) {
  lanewise<int8_t>(d, s, min_of<int8_t>);
}
VESSEL_XMM_FN(pminsd) {
  lanewise<int32_t>(d, s, min_of<int32_t>);
}
VESSEL_XMM_FN(pminuw) {
  lanewise<uint16_t>(d, s, min_of<uint16_t>);
}
VESSEL_XMM_FN(pminud) {
  lanewise<uint32_t>(d, s, min_of<uint32_t>);
}
VESSEL_XMM_FN(pmaxsb) {
  lanewise<int8_t>(d, s, max_of<int8_t>);
}
VESSEL_XMM_FN(pmaxsd) {
  lanewise<int32_t>(d, s, max_of<int32_t>);
}
VESSEL_XMM_FN(pmaxuw) {
  lanewise<uint16_t>(d, s, max_of<uint16_t>);
}
VESSEL_XMM_FN(pmaxud) {
  lanewise<uint32_t>(d, s, max_of<uint32_t>);
}

VESSEL_XMM_FN(pmulld) {
  lanewise<uint32_t>(d, s, [](uint32_t a, uint32_t b) { return a * b; });
}
VESSEL_XMM_FN(pmuldq) {
  for (unsigned k = 0; k < 2; ++k) {
    int64_t p = int64_t{lane<int32_t>(d, 2 * k)} * lane<int32_t>(s, 2 * k);
    set_lane<int64_t>(d, k, p);
  }
}
VESSEL_XMM_FN(pcmpeqq) {
  lanewise<uint64_t>(d, s, [](uint64_t a, uint64_t b) { return a == b ? ~uint64_t{0} : 0; });
}
VESSEL_XMM_FN(packusdw) {
  auto sat = [](int32_t v) { return static_cast<uint16_t>(v < 0 ? 0 : v > 65535 ? 65535 : v); };
  Xmm r;
  for (unsigned k = 0; k < 4; ++k) {
    r.w[k] = sat(lane<int32_t>(d, k));
    r.w[4 + k] = sat(lane<int32_t>(s, k));
  }
  d = r;
}

VESSEL_XMM_FN(ptest) {
  bool z = (d.q[0] & s.q[0]) == 0 && (d.q[1] & s.q[1]) == 0;
  bool cf = (~d.q[0] & s.q[0]) == 0 && (~d.q[1] & s.q[1]) == 0;
  c.lflags.put((z ? rflags::kZf : 0) | (cf ? rflags::kCf : 0));
}

VESSEL_XMM_FN(pblendw) {
  blend<uint16_t>(d, s, [imm](unsigned k) { return (imm >> k) & 1; });
}
VESSEL_XMM_FN(blendps) {
  blend<uint32_t>(d, s, [imm](unsigned k) { return (imm >> k) & 1; });
}
VESSEL_XMM_FN(blendpd) {
  blend<uint64_t>(d, s, [imm](unsigned k) { return (imm >> k) & 1; });
}
VESSEL_XMM_FN(pblendvb) {
  const Xmm& m = c.fpu.xmm[0];
  blend<uint8_t>(d, s, [&m](unsigned k) { return (m.b[k] >> 7) & 1; });
}
VESSEL_XMM_FN(blendvps) {
  const Xmm& m = c.fpu.xmm[0];
  blend<uint32_t>(d, s, [&m](unsigned k) { return (m.d[k] >> 31) & 1; });
}
VESSEL_XMM_FN(blendvpd) {
  const Xmm& m = c.fpu.xmm[0];
  blend<uint64_t>(d, s, [&m](unsigned k) { return (m.q[k] >> 63) & 1; });
}

// Eight sums of absolute differences of 4-byte groups: the destination's at
// byte offset 4*imm[2] + k against the source's 4 bytes at 4*imm[1:0].
VESSEL_XMM_FN(mpsadbw) {
  unsigned dst_off = ((imm >> 2) & 1) * 4, src_off = (imm & 3) * 4;
  Xmm r;
  for (unsigned k = 0; k < 8; ++k) {
    unsigned sum = 0;
    for (unsigned j = 0; j < 4; ++j) {
      int a = d.b[dst_off + k + j], b = s.b[src_off + j];
      sum += static_cast<unsigned>(a > b ? a - b : b - a);
    }
    r.w[k] = static_cast<uint16_t>(sum);
  }
  d = r;
}

VESSEL_XMM_FN(phminposuw) {
  unsigned best = 0;
  for (unsigned k = 1; k < 8; ++k)
    if (s.w[k] < s.w[best]) best = k;
  Xmm r{};
  r.w[0] = s.w[best];
  r.w[1] = static_cast<uint16_t>(best);
  d = r;
}

namespace {
void insert_element(Xmm& d, uint32_t v, unsigned imm) {
  d.d[(imm >> 4) & 3] = v;
  for (unsigned k = 0; k < 4; ++k)
    if ((imm >> k) & 1) d.d[k] = 0;
}
}  // namespace

VESSEL_XMM_FN(insertps) {
  insert_element(d, s.d[(imm >> 6) & 3], imm);
}
VESSEL_XMM_FN(insertps_mem) {
  insert_element(d, s.d[0], imm);
}

VESSEL_TO_GPR_FN(pextrb) {
  return s.b[imm & 15];
}
VESSEL_TO_GPR_FN(pextrd) {
  return s.d[imm & 3];
}
VESSEL_TO_GPR_FN(pextrq) {
  return s.q[imm & 1];
}
VESSEL_FROM_GPR_FN(pinsrb) {
  d.b[imm & 15] = static_cast<uint8_t>(v);
}
VESSEL_FROM_GPR_FN(pinsrd) {
  d.d[imm & 3] = static_cast<uint32_t>(v);
}
VESSEL_FROM_GPR_FN(pinsrq) {
  d.q[imm & 1] = v;
}

}  // namespace vessel::cpu

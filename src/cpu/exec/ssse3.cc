// SSSE3 packed integer operations: byte shuffle, horizontal add/subtract,
// multiply-add and rounded high multiply, sign and absolute value, and byte
// alignment. Each is written once over N bytes: N = 16 for the XMM form and
// N = 8 for the MMX form (the low quadword; the high one is left alone).
#include <cstring>
#include <type_traits>

#include "cpu/exec/ssse3.h"

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

int16_t sat16(int32_t v) {
  return static_cast<int16_t>(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

template <unsigned N>
void pshufb(Xmm& d, const Xmm& s) {
  Xmm r = d;
  for (unsigned k = 0; k < N; ++k) r.b[k] = (s.b[k] & 0x80) ? 0 : d.b[s.b[k] & (N - 1)];
  d = r;
}

// Horizontal: result lanes 0..n/2-1 from destination pairs, then source pairs.
template <unsigned N, typename T, typename F>
void horizontal(Xmm& d, const Xmm& s, F f) {
  constexpr unsigned n = N / sizeof(T);
  Xmm r = d;
  for (unsigned k = 0; k < n / 2; ++k) {
    set_lane<T>(r, k, f(lane<T>(d, 2 * k), lane<T>(d, 2 * k + 1)));
    set_lane<T>(r, n / 2 + k, f(lane<T>(s, 2 * k), lane<T>(s, 2 * k + 1)));
  }
  d = r;
}

// Lane-wise: d[k] = f(d[k], s[k]).
template <unsigned N, typename T, typename F>
void lanewise(Xmm& d, const Xmm& s, F f) {
  for (unsigned k = 0; k < N / sizeof(T); ++k) set_lane<T>(d, k, f(lane<T>(d, k), lane<T>(s, k)));
}

template <typename T>
T add_wrap(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <typename T>
T sub_wrap(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
}

template <typename T>
T sign_of(T a, T b) {
  if (b == 0) return 0;
  return b < 0 ? sub_wrap<T>(0, a) : a;
}

template <typename T>
T abs_of(T, T b) {
  return b < 0 ? sub_wrap<T>(0, b) : b;
}

template <unsigned N>
void pmaddubsw(Xmm& d, const Xmm& s) {
  for (unsigned k = 0; k < N / 2; ++k) {
    int32_t v = int32_t{d.b[2 * k]} * static_cast<int8_t>(s.b[2 * k]) +
                int32_t{d.b[2 * k + 1]} * static_cast<int8_t>(s.b[2 * k + 1]);
    set_lane<int16_t>(d, k, sat16(v));
  }
}

int16_t mulhrs(int16_t a, int16_t b) {
  int32_t v = ((int32_t{a} * b >> 14) + 1) >> 1;
  return static_cast<int16_t>(static_cast<uint16_t>(static_cast<uint32_t>(v)));
}

// The N bytes at byte offset imm of the 2N-byte value destination:source.
template <unsigned N>
void palignr(Xmm& d, const Xmm& s, unsigned imm) {
  uint8_t cat[2 * N];
  std::memcpy(cat, s.b, N);
  std::memcpy(cat + N, d.b, N);
  for (unsigned k = 0; k < N; ++k) d.b[k] = imm + k < 2 * N ? cat[imm + k] : 0;
}

}  // namespace

#define VESSEL_BOTH(name, body) \
  VESSEL_XMM_FN(name) {         \
    constexpr unsigned N = 16;  \
    body;                       \
  }                             \
  VESSEL_XMM_FN(mmx_##name) {   \
    constexpr unsigned N = 8;   \
    body;                       \
  }

VESSEL_BOTH(pshufb, pshufb<N>(d, s))
VESSEL_BOTH(phaddw, (horizontal<N, int16_t>(d, s, add_wrap<int16_t>)))
VESSEL_BOTH(phaddd, (horizontal<N, int32_t>(d, s, add_wrap<int32_t>)))
VESSEL_BOTH(phaddsw, (horizontal<N, int16_t>(d, s, [](int16_t a, int16_t b) {
              return sat16(int32_t{a} + b);
            })))
VESSEL_BOTH(phsubw, (horizontal<N, int16_t>(d, s, sub_wrap<int16_t>)))
VESSEL_BOTH(phsubd, (horizontal<N, int32_t>(d, s, sub_wrap<int32_t>)))
VESSEL_BOTH(phsubsw, (horizontal<N, int16_t>(d, s, [](int16_t a, int16_t b) {
              return sat16(int32_t{a} - b);
            })))
VESSEL_BOTH(pmaddubsw, pmaddubsw<N>(d, s))
VESSEL_BOTH(pmulhrsw, (lanewise<N, int16_t>(d, s, mulhrs)))
VESSEL_BOTH(psignb, (lanewise<N, int8_t>(d, s, sign_of<int8_t>)))
VESSEL_BOTH(psignw, (lanewise<N, int16_t>(d, s, sign_of<int16_t>)))
VESSEL_BOTH(psignd, (lanewise<N, int32_t>(d, s, sign_of<int32_t>)))
VESSEL_BOTH(pabsb, (lanewise<N, int8_t>(d, s, abs_of<int8_t>)))
VESSEL_BOTH(pabsw, (lanewise<N, int16_t>(d, s, abs_of<int16_t>)))
VESSEL_BOTH(pabsd, (lanewise<N, int32_t>(d, s, abs_of<int32_t>)))
VESSEL_BOTH(palignr, palignr<N>(d, s, imm & 0xFF))

#undef VESSEL_BOTH

}  // namespace vessel::cpu

// Host additions and multiplications with the operand order fixed: the
// compiler treats _mm_add_ps & co. as commutative and may swap the operands,
// which changes which of two NaN operands the result carries (SSE returns
// the first source's). `a` is the first source.
#pragma once

#include <immintrin.h>

namespace vessel::cpu {

inline __m128 ordered_add_ps(__m128 a, __m128 b) {
  asm volatile("addps %1, %0" : "+x"(a) : "x"(b));
  return a;
}
inline __m128 ordered_add_ss(__m128 a, __m128 b) {
  asm volatile("addss %1, %0" : "+x"(a) : "x"(b));
  return a;
}
inline __m128 ordered_mul_ps(__m128 a, __m128 b) {
  asm volatile("mulps %1, %0" : "+x"(a) : "x"(b));
  return a;
}
inline __m128d ordered_add_pd(__m128d a, __m128d b) {
  asm volatile("addpd %1, %0" : "+x"(a) : "x"(b));
  return a;
}
inline __m128d ordered_add_sd(__m128d a, __m128d b) {
  asm volatile("addsd %1, %0" : "+x"(a) : "x"(b));
  return a;
}
inline __m128d ordered_mul_pd(__m128d a, __m128d b) {
  asm volatile("mulpd %1, %0" : "+x"(a) : "x"(b));
  return a;
}

}  // namespace vessel::cpu

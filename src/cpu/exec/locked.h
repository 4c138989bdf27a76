// LOCK'ed read-modify-writes done atomically on the host. The operand is
// resolved by Cpu::lock_operand with every check of a write made first; a
// naturally aligned RAM operand is then updated with a host compare-and-swap
// loop (so another vCPU thread's locked access to it is atomic with ours); a
// misaligned, page-splitting or MMIO operand is read and written with the
// ordinary accessors while holding one process-wide mutex, which makes it
// atomic with every other such slow locked access (not with plain stores,
// nor with a host-atomic access to overlapping bytes of another size: real
// split locks are rare, and Linux treats them as bugs).
#pragma once

#include <mutex>

#include "cpu/cpu.h"

namespace vessel::cpu {

// The lock of the slow path (mmu/locked_access.cc).
std::mutex& locked_slow_mutex();

template <typename T, typename Op>
[[gnu::always_inline]] inline uint64_t host_rmw_sized(uint8_t* p, const Op& op) {
  T* t = reinterpret_cast<T*>(p);
  T old = __atomic_load_n(t, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(t, &old, static_cast<T>(op(uint64_t{old})), false,
                                      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
  }
  return old;
}

// Atomically replaces the naturally aligned `size`-byte value at `p` (1, 2,
// 4 or 8 bytes, little-endian like the guest) with op(value); returns the
// value it replaced. `op` may run more than once: it must be pure.
template <typename Op>
inline uint64_t host_rmw(uint8_t* p, unsigned size, const Op& op) {
  switch (size) {
    case 1:
      return host_rmw_sized<uint8_t>(p, op);
    case 2:
      return host_rmw_sized<uint16_t>(p, op);
    case 4:
      return host_rmw_sized<uint32_t>(p, op);
    default:
      return host_rmw_sized<uint64_t>(p, op);
  }
}

// LOCK'ed read-modify-write of `size` bytes at sreg:offset: memory becomes
// op(old) and *old the value before. False with an exception pending and
// memory unchanged on a fault.
template <typename Op>
inline bool locked_rmw(Cpu& c, unsigned sreg, uint64_t offset, unsigned size, uint64_t* old,
                       const Op& op) {
  uint8_t* host;
  switch (c.lock_operand(sreg, offset, size, &host)) {
    case Cpu::Locked::kFault:
      return false;
    case Cpu::Locked::kHost:
      *old = host_rmw(host, size, op);
      return true;
    case Cpu::Locked::kSlow:
      break;
  }
  std::lock_guard lock(locked_slow_mutex());
  uint64_t v;
  if (!c.read_for_write(sreg, offset, size, &v) || !c.write(sreg, offset, size, op(v)))
    return false;
  *old = v;
  return true;
}

// LOCK CMPXCHG16B on naturally aligned host memory: compares the 16 bytes at
// `p` with *hi:*lo; equal: stores new_hi:new_lo and returns true; else loads
// them into *hi:*lo and returns false.
inline bool host_cmpxchg16(uint8_t* p, uint64_t* lo, uint64_t* hi, uint64_t new_lo,
                           uint64_t new_hi) {
  bool equal;
  asm volatile("lock cmpxchg16b %1"
               : "=@ccz"(equal), "+m"(*reinterpret_cast<unsigned __int128*>(p)), "+a"(*lo),
                 "+d"(*hi)
               : "b"(new_lo), "c"(new_hi)
               : "memory");
  return equal;
}

}  // namespace vessel::cpu

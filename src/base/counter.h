// A statistics counter that one thread updates and any thread may read (the
// management API's counters): relaxed atomic loads and stores, which on
// x86-64 are plain moves, so counting costs what a uint64_t would. Only one
// thread may update a given counter (two writers would lose counts).
#pragma once

#include <atomic>
#include <cstdint>

namespace vessel {

class Counter {
 public:
  Counter() = default;
  Counter(const Counter& other) : v_(other.get()) {}
  Counter& operator=(const Counter& other) {
    set(other.get());
    return *this;
  }

  uint64_t get() const { return v_.load(std::memory_order_relaxed); }
  operator uint64_t() const { return get(); }  // NOLINT: reads like the number it counts
  void set(uint64_t v) { v_.store(v, std::memory_order_relaxed); }
  Counter& operator+=(uint64_t n) {
    set(get() + n);
    return *this;
  }
  Counter& operator++() { return *this += 1; }
  void operator++(int) { *this += 1; }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace vessel

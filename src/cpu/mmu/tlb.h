// The software TLB: direct-mapped, one array per access kind (read, write,
// execute). An entry maps a linear page to a host pointer (stored as an
// addend to the linear address) for RAM pages the current privilege may use
// that way. MMIO pages, pages that hold cached code (for writes) and pages
// whose dirty bit is clear (for writes) never get an entry: they take the
// slow path through the page walk every time.
#pragma once

#include <array>
#include <cstdint>

namespace vessel::cpu {

struct JitAccess;

enum class Access : uint8_t { kRead, kWrite, kExec };

// 32 bytes, so translated code finds an entry's offset with a shift and a
// mask (jit/translate.cc).
struct alignas(32) TlbEntry {
  uint64_t tag = ~0ull;   // linear page | user bit; ~0: empty (low bits never match)
  uintptr_t addend = 0;   // host address = linear + addend
  uint64_t gpa_page = 0;  // guest-physical page (for code tracking)
  uint64_t global = 0;    // 1: a global mapping (CR4.PGE and the G bit), kept across CR3 loads
};
static_assert(sizeof(TlbEntry) == 32);

class Tlb {
 public:
  static constexpr unsigned kEntries = 1024;

  static uint64_t tag_of(uint64_t linear, bool user) {
    return (linear & ~0xFFFull) | (user ? 1 : 0);
  }
  static unsigned slot_of(uint64_t linear) { return (linear >> 12) & (kEntries - 1); }

  // Host pointer for `linear` or nullptr on a miss.
  uint8_t* lookup(Access kind, uint64_t linear, bool user) {
    const TlbEntry& e = table(kind)[slot_of(linear)];
    if (e.tag != tag_of(linear, user)) return nullptr;
    return reinterpret_cast<uint8_t*>(linear + e.addend);
  }
  // The entry for `linear` or nullptr on a miss.
  const TlbEntry* find(Access kind, uint64_t linear, bool user) const {
    const TlbEntry& e = tables_[static_cast<int>(kind)][slot_of(linear)];
    return e.tag == tag_of(linear, user) ? &e : nullptr;
  }
  void fill(Access kind, uint64_t linear, bool user, uint8_t* host_page, uint64_t gpa_page,
            bool global = false) {
    TlbEntry& e = table(kind)[slot_of(linear)];
    e.tag = tag_of(linear, user);
    e.addend = reinterpret_cast<uintptr_t>(host_page) - (linear & ~0xFFFull);
    e.gpa_page = gpa_page;
    e.global = global;
  }
  // Drops every entry; a CR3 load (`keep_global`) keeps the global ones, as
  // a CPU does (and global_epoch() stays).
  void flush(bool keep_global = false) {
    if (keep_global) {
      for (auto& t : tables_)
        for (TlbEntry& e : t)
          if (!e.global) e = TlbEntry{};
    } else {
      for (auto& t : tables_) t.fill(TlbEntry{});
      ++global_epoch_;
    }
    ++epoch_;
  }
  // INVLPG: drops `linear`'s page from every table (both privileges).
  void flush_page(uint64_t linear) {
    ++epoch_;
    ++global_epoch_;
    for (auto& t : tables_) {
      TlbEntry& e = t[slot_of(linear)];
      if ((e.tag & ~1ull) == (linear & ~0xFFFull)) e = TlbEntry{};
    }
  }
  // Counts flushes: a translation remembered elsewhere (block chaining) is
  // valid only while the epoch it was made in lasts.
  uint64_t epoch() const { return epoch_; }
  // Counts the flushes that may change a global mapping.
  uint64_t global_epoch() const { return global_epoch_; }
  // Drops write entries onto guest-physical page `gpa_page` (it now holds code).
  void flush_writes_to(uint64_t gpa_page) {
    for (auto& e : table(Access::kWrite))
      if (e.tag != ~0ull && e.gpa_page == gpa_page) e = TlbEntry{};
  }

 private:
  friend struct JitAccess;  // translated code looks entries up inline (jit/)
  std::array<TlbEntry, kEntries>& table(Access kind) { return tables_[static_cast<int>(kind)]; }
  std::array<std::array<TlbEntry, kEntries>, 3> tables_{};
  uint64_t epoch_ = 0;
  uint64_t global_epoch_ = 0;
};

}  // namespace vessel::cpu

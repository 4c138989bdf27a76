// Linear -> guest-physical translation (32-bit, PAE and 4-level paging with
// 4 KiB, 2/4 MiB and 1 GiB pages; U/S, R/W with CR0.WP, NX; accessed and
// dirty bits; exact #PF error codes and CR2), the linear-access slow paths
// behind the software TLB, and physical accesses (RAM or MMIO).
#include <cstring>

#include "cpu/cpu.h"

namespace vessel::cpu {
namespace {

constexpr uint64_t kPresent = 1u << 0;
constexpr uint64_t kWritable = 1u << 1;
constexpr uint64_t kUser = 1u << 2;
constexpr uint64_t kAccessed = 1u << 5;
constexpr uint64_t kDirty = 1u << 6;
constexpr uint64_t kLarge = 1u << 7;
constexpr uint64_t kGlobal = 1u << 8;
constexpr uint64_t kNx = 1ull << 63;
// MAXPHYADDR advertised in CPUID 0x80000008: 40 bits.
constexpr uint64_t kPhysMask = (1ull << 40) - 1;
constexpr uint64_t kAddrMask = kPhysMask & ~0xFFFull;
// Bits 51:40 of a PAE/4-level entry are reserved.
constexpr uint64_t kReservedHigh = ((1ull << 52) - 1) & ~kPhysMask;

namespace pf {
constexpr uint32_t kP = 1u << 0;
constexpr uint32_t kW = 1u << 1;
constexpr uint32_t kU = 1u << 2;
constexpr uint32_t kRsvd = 1u << 3;
constexpr uint32_t kId = 1u << 4;
}  // namespace pf

}  // namespace

bool Cpu::translate(uint64_t linear, Access kind, bool user, uint64_t* gpa, bool* global) {
  if (global) *global = false;
  if (!(cr0 & cr0::kPg)) {
    *gpa = long_mode() ? linear : linear & 0xFFFFFFFF;
    return true;
  }
  bool write = kind == Access::kWrite;
  bool exec = kind == Access::kExec;
  bool nxe = efer & efer::kNxe;
  bool pae = cr4 & cr4::kPae;
  uint32_t code = (write ? pf::kW : 0) | (user ? pf::kU : 0) | (exec && nxe && pae ? pf::kId : 0);
  auto page_fault = [&](uint32_t bits) {
    cr2 = linear;
    return fault(kPf, code | bits);
  };

  // Walk: up to four levels. `entries` remembers the host pointers of the
  // entries used, to set accessed bits once the walk succeeds.
  uint64_t* used[4];
  unsigned used_count = 0;
  bool allow_write = true, allow_user = true, no_exec = false;
  uint64_t page_base = 0, page_size = 0;
  uint64_t leaf = 0;  // the entry that maps the page

  auto read_entry = [&](uint64_t addr, bool wide, uint64_t* entry, uint64_t** host) {
    uint8_t* page = bus_->ram(addr & ~0xFFFull);
    if (!page) {
      *entry = 0;  // tables outside RAM read as not present
      *host = nullptr;
      return;
    }
    uint8_t* p = page + (addr & 0xFFF);
    if (wide) {
      std::memcpy(entry, p, 8);
    } else {
      uint32_t e32;
      std::memcpy(&e32, p, 4);
      *entry = e32;
    }
    *host = reinterpret_cast<uint64_t*>(p);
  };

  if (!pae) {
    // 32-bit paging: PDE (4 MiB pages with CR4.PSE), PTE.
    uint64_t pde;
    uint64_t* host;
    read_entry((cr3 & 0xFFFFF000) + ((linear >> 22) & 0x3FF) * 4, false, &pde, &host);
    if (!(pde & kPresent)) return page_fault(0);
    used[used_count++] = host;
    allow_write &= (pde & kWritable) != 0;
    allow_user &= (pde & kUser) != 0;
    if ((pde & kLarge) && (cr4 & cr4::kPse)) {
      if (pde & (1u << 21)) return page_fault(pf::kP | pf::kRsvd);
      page_base = (pde & 0xFFC00000) | ((pde & 0x1FE000) << 19);  // PSE-36 bits 39:32
      leaf = pde;
      page_size = 1u << 22;
    } else {
      uint64_t pte;
      read_entry((pde & 0xFFFFF000) + ((linear >> 12) & 0x3FF) * 4, false, &pte, &host);
      if (!(pte & kPresent)) return page_fault(0);
      used[used_count++] = host;
      allow_write &= (pte & kWritable) != 0;
      allow_user &= (pte & kUser) != 0;
      page_base = pte & 0xFFFFF000;
      leaf = pte;
      page_size = 1u << 12;
    }
  } else {
    uint64_t table;
    int level;
    uint64_t* host;
    if (long_mode()) {
      table = cr3 & kAddrMask;
      level = 4;
    } else {
      uint64_t pdpte;
      read_entry((cr3 & 0xFFFFFFE0) + ((linear >> 30) & 3) * 8, true, &pdpte, &host);
      if (!(pdpte & kPresent)) return page_fault(0);
      if (pdpte & (kReservedHigh | 0x1E6 | kNx)) return page_fault(pf::kP | pf::kRsvd);
      table = pdpte & kAddrMask;
      level = 2;
    }
    for (; level >= 1; --level) {
      unsigned shift = 12 + 9 * (level - 1);
      uint64_t entry;
      read_entry(table + ((linear >> shift) & 0x1FF) * 8, true, &entry, &host);
      if (!(entry & kPresent)) return page_fault(0);
      uint64_t reserved = kReservedHigh | (nxe ? 0 : kNx);
      if (level == 4) reserved |= kLarge;
      bool large = level <= 3 && level >= 2 && (entry & kLarge);
      if (large) reserved |= ((1ull << shift) - 1) & ~0x1FFFull;  // bits shift-1:13
      if (entry & reserved) return page_fault(pf::kP | pf::kRsvd);
      used[used_count++] = host;
      allow_write &= (entry & kWritable) != 0;
      allow_user &= (entry & kUser) != 0;
      no_exec |= nxe && (entry & kNx);
      if (level == 1 || large) {
        page_base = entry & kAddrMask & ~((1ull << shift) - 1);
        leaf = entry;
        page_size = 1ull << shift;
        break;
      }
      table = entry & kAddrMask;
    }
  }

  // Permissions of the whole walk.
  if (user && !allow_user) return page_fault(pf::kP);
  if (write && !allow_write && (user || (cr0 & cr0::kWp))) return page_fault(pf::kP);
  if (exec && no_exec) return page_fault(pf::kP);

  // Accessed bits on every level used, dirty on the final entry for writes.
  for (unsigned i = 0; i < used_count; ++i) {
    if (!used[i]) continue;
    uint64_t bits = kAccessed | (write && i == used_count - 1 ? kDirty : 0);
    if (pae)
      __atomic_fetch_or(used[i], bits, __ATOMIC_RELAXED);
    else
      __atomic_fetch_or(reinterpret_cast<uint32_t*>(used[i]), static_cast<uint32_t>(bits),
                        __ATOMIC_RELAXED);
  }
  *gpa = page_base + (linear & (page_size - 1));
  if (global) *global = (cr4 & cr4::kPge) && (leaf & kGlobal);
  return true;
}

bool Cpu::phys_read(uint64_t gpa, unsigned size, uint64_t* value) {
  if (uint8_t* page = bus_->ram(gpa & ~0xFFFull)) {
    *value = 0;
    std::memcpy(value, page + (gpa & 0xFFF), size);
    return true;
  }
  *value = bus_->mmio_read(gpa, size) & size_mask(size);
  jit_yield();
  return true;
}

bool Cpu::phys_write(uint64_t gpa, unsigned size, uint64_t value) {
  if (uint8_t* page = bus_->ram(gpa & ~0xFFFull)) {
    if (blocks_.page_has_code(gpa & ~0xFFFull)) note_code_write(gpa, size);
    std::memcpy(page + (gpa & 0xFFF), &value, size);
    return true;
  }
  bus_->mmio_write(gpa, size, value);
  jit_yield();
  return true;
}

bool Cpu::read_linear_slow(uint64_t linear, unsigned size, uint64_t* value, Access kind,
                           bool user) {
  ++stats_.tlb_misses;
  uint64_t gpa;
  bool global;
  if (!translate(linear, kind, user, &gpa, &global)) return false;
  unsigned first = 0x1000 - (linear & 0xFFF);
  if (size <= first) {
    uint64_t page = gpa & ~0xFFFull;
    if (uint8_t* host = bus_->ram(page)) {
      if ((kind != Access::kWrite || !blocks_.page_has_code(page)) &&
          !(data_bp_ && page_has_data_breakpoint(linear)))
        tlb_.fill(kind, linear, user, host, page, global);
    }
    if (kind != Access::kExec) note_data_access(linear, size, kind == Access::kWrite);
    return phys_read(gpa, size, value);
  }
  // Crosses into the next page: both translations first, then the bytes.
  uint64_t gpa2;
  if (!translate(linear + first, kind, user, &gpa2)) return false;
  if (kind != Access::kExec) note_data_access(linear, size, kind == Access::kWrite);
  uint64_t result = 0;
  for (unsigned i = 0; i < size; ++i) {
    uint64_t b;
    phys_read(i < first ? gpa + i : gpa2 + (i - first), 1, &b);
    result |= b << (8 * i);
  }
  *value = result;
  return true;
}

bool Cpu::write_linear_slow(uint64_t linear, unsigned size, uint64_t value, bool user) {
  ++stats_.tlb_misses;
  uint64_t gpa;
  bool global;
  if (!translate(linear, Access::kWrite, user, &gpa, &global)) return false;
  unsigned first = 0x1000 - (linear & 0xFFF);
  if (size <= first) {
    uint64_t page = gpa & ~0xFFFull;
    if (uint8_t* host = bus_->ram(page)) {
      if (!blocks_.page_has_code(page) && !(data_bp_ && page_has_data_breakpoint(linear)))
        tlb_.fill(Access::kWrite, linear, user, host, page, global);
    }
    note_data_access(linear, size, true);
    return phys_write(gpa, size, value);
  }
  uint64_t gpa2;
  if (!translate(linear + first, Access::kWrite, user, &gpa2)) return false;
  note_data_access(linear, size, true);
  for (unsigned i = 0; i < size; ++i)
    phys_write(i < first ? gpa + i : gpa2 + (i - first), 1, (value >> (8 * i)) & 0xFF);
  return true;
}

}  // namespace vessel::cpu

// The device side of PCI: a function's configuration space (4 KiB: the
// 256-byte type 0 header and capabilities, then extended space, which reads
// zero) with per-byte writable and write-1-to-clear masks, so every register
// keeps its read-only bits whatever the guest writes; up to six BARs; the
// capability list; INTx; and optionally MSI-X.
//
// BARs: add_bar() fixes a BAR's kind and size (a power of two); the address
// bits below the size are read-only zero, so the sizing protocol (write all
// ones, read back) works by the masks alone. Whenever the guest writes a BAR
// or COMMAND, the decoded ranges are recomputed: a BAR whose decoding is
// enabled (COMMAND I/O or memory space) and whose address is non-zero is put
// on the IoBus, moved there or taken off, and the device hears of it through
// bar_mapped(). Accesses to a mapped BAR reach bar_read()/bar_write() with
// the offset inside the BAR, except the MSI-X table and PBA, which are served
// here. A BAR the guest places over something else (RAM, another device, past
// the port space) stays unmapped and is logged once per device.
//
// INTx: set_intx(level) drives the function's interrupt pin; the line
// reaches the GSI the bus routed it to unless COMMAND.Interrupt Disable is
// set or MSI-X is enabled. STATUS.Interrupt Status shows the device's level.
//
// Thread safety: one mutex guards config space and the mapping state; it is
// held while the IoBus is updated and while bar_mapped() runs (the bus never
// calls a device while holding its own lock, so there is no inversion).
// bar_read/bar_write run without that mutex: a subclass guards its state.
// Set-up calls (add_bar, add_capability, enable_msix, set_interrupt_pin) are
// made before the device is attached to a bus.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "bus/device.h"
#include "bus/io_bus.h"
#include "irq/irq_chip.h"
#include "pci/msix.h"
#include "pci/pci_regs.h"

namespace vessel {

struct PciIds {
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint32_t class_code = 0;  // class << 16 | subclass << 8 | programming interface
  uint8_t revision = 0;
  uint16_t subsystem_vendor = 0;
  uint16_t subsystem = 0;
};

enum class PciBarKind { kNone, kIo, kMemory32, kMemory64 };

class PciDevice {
 public:
  static constexpr int kNumBars = 6;

  PciDevice(std::string name, const PciIds& ids);
  virtual ~PciDevice();
  PciDevice(const PciDevice&) = delete;
  PciDevice& operator=(const PciDevice&) = delete;

  std::string_view name() const { return name_; }

  // --- Set-up, before attach() ----------------------------------------------
  // A BAR of `size` bytes (a power of two; at least 16 for memory, 4 for
  // I/O, at most 256 for I/O). A 64-bit BAR takes `index` and `index + 1`.
  Status add_bar(int index, PciBarKind kind, uint64_t size, bool prefetchable = false);
  // Appends a capability: `body` is its bytes after the ID and next-pointer
  // bytes, `writable` (same length, or empty for none) the guest-writable
  // bits. Returns the capability's offset in config space.
  Expected<uint32_t> add_capability(uint8_t id, std::span<const uint8_t> body,
                                    std::span<const uint8_t> writable = {});
  // INTx pin 1-4 (INTA-INTD); 0 (the default) for none.
  void set_interrupt_pin(uint8_t pin);
  // An MSI-X capability with `vectors` vectors, its table at `table_offset`
  // in BAR `table_bar` and its PBA at `pba_offset` in `pba_bar` (both 8-byte
  // aligned, inside BARs added before).
  Status enable_msix(IrqChip& irq, uint32_t vectors, int table_bar, uint64_t table_offset,
                     int pba_bar, uint64_t pba_offset);

  // --- Attachment (PciBus) ------------------------------------------------------
  // Gives the device its bus (for BAR mappings), interrupt chip and INTx GSI,
  // and sets the BARs' initial addresses. With `decode`, COMMAND starts with
  // I/O and memory decoding enabled (as firmware leaves a configured device)
  // and the BARs are mapped at once.
  Status attach(IoBus& bus, IrqChip& irq, uint32_t intx_gsi,
                const std::array<uint64_t, kNumBars>& bar_addresses, bool decode);

  // --- Configuration space accesses (from the host bridge) -------------------
  // `offset` + size must stay inside the 4 KiB config space (the caller
  // checks); reads of anything else return zeros.
  void config_read(uint32_t offset, std::span<uint8_t> data);
  void config_write(uint32_t offset, std::span<const uint8_t> data);

  // --- Runtime, any thread ------------------------------------------------------
  void set_intx(bool level);
  // Signals MSI-X `vector`; returns false when MSI-X is disabled (then the
  // device uses INTx) or absent.
  bool notify_msix(uint32_t vector);
  Msix* msix() { return msix_.get(); }

  PciBarKind bar_kind(int index) const;
  uint64_t bar_size(int index) const;
  // Where BAR `index` is decoded now (nullopt: not mapped).
  std::optional<uint64_t> bar_mapping(int index) const;
  uint16_t command() const;
  uint8_t interrupt_pin() const;

 protected:
  // Accesses inside a mapped BAR (not the MSI-X table or PBA). Defaults:
  // reads return zero, writes are dropped.
  virtual void bar_read(int bar, uint64_t offset, std::span<uint8_t> data);
  virtual void bar_write(int bar, uint64_t offset, std::span<const uint8_t> data);
  // BAR `bar` is now decoded at `address` (nullopt: no longer decoded).
  // Runs under the config-space mutex: it must not call config_read/write.
  virtual void bar_mapped(int bar, std::optional<uint64_t> address);

 private:
  class BarRegion;
  struct Bar {
    PciBarKind kind = PciBarKind::kNone;
    uint64_t size = 0;
    std::shared_ptr<BarRegion> region;
    std::optional<uint64_t> mapped;  // where it is on the IoBus now
    bool high_half = false;          // the upper dword of a 64-bit BAR
  };

  uint32_t read32_locked(uint32_t offset) const;
  uint32_t writable_mask32(uint32_t offset) const;
  void write32_raw_locked(uint32_t offset, uint32_t value);
  uint64_t bar_address_locked(int index) const;
  void update_mappings_locked();
  void unmap_locked(int index);
  void update_intx_locked();
  void msix_control_written_locked();
  void region_read(int bar, uint64_t offset, std::span<uint8_t> data);
  void region_write(int bar, uint64_t offset, std::span<const uint8_t> data);

  const std::string name_;
  mutable std::mutex mu_;
  std::array<uint8_t, pci::kExtConfigSize> config_{};
  std::array<uint8_t, pci::kExtConfigSize> writable_{};
  std::array<uint8_t, pci::kExtConfigSize> write_one_to_clear_{};
  std::array<Bar, kNumBars> bars_{};
  uint32_t next_capability_ = pci::kHeaderEnd;
  uint32_t last_capability_ = 0;  // offset of the last capability (0: none)

  IoBus* bus_ = nullptr;
  IrqChip* irq_ = nullptr;
  uint32_t intx_gsi_ = 0;
  bool intx_level_ = false;  // the device's own level
  bool intx_line_ = false;   // what the GSI was last driven to
  bool warned_bad_bar_ = false;

  std::unique_ptr<Msix> msix_;
  uint32_t msix_cap_ = 0;
  int msix_table_bar_ = -1, msix_pba_bar_ = -1;
  uint64_t msix_table_offset_ = 0, msix_pba_offset_ = 0;
};

}  // namespace vessel

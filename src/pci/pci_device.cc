#include "pci/pci_device.h"

#include <atomic>
#include <bit>
#include <cstring>

#include "base/log.h"

namespace vessel {

// The IoBus face of one BAR: forwards to its device while the device lives.
class PciDevice::BarRegion final : public Device {
 public:
  BarRegion(PciDevice* owner, int bar) : owner_(owner), bar_(bar), name_(owner->name()) {}
  std::string_view name() const override { return name_; }
  void read(uint64_t offset, std::span<uint8_t> data) override {
    PciDevice* owner = owner_.load(std::memory_order_acquire);
    if (owner == nullptr) {
      std::memset(data.data(), 0xFF, data.size());
      return;
    }
    owner->region_read(bar_, offset, data);
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    PciDevice* owner = owner_.load(std::memory_order_acquire);
    if (owner != nullptr) owner->region_write(bar_, offset, data);
  }
  void detach() { owner_.store(nullptr, std::memory_order_release); }

 private:
  std::atomic<PciDevice*> owner_;
  const int bar_;
  const std::string name_;
};

namespace {

void put16(std::array<uint8_t, pci::kExtConfigSize>& a, uint32_t off, uint16_t v) {
  a[off] = static_cast<uint8_t>(v);
  a[off + 1] = static_cast<uint8_t>(v >> 8);
}

void put32(std::array<uint8_t, pci::kExtConfigSize>& a, uint32_t off, uint32_t v) {
  put16(a, off, static_cast<uint16_t>(v));
  put16(a, off + 2, static_cast<uint16_t>(v >> 16));
}

bool overlaps(uint32_t offset, size_t size, uint32_t start, uint32_t end) {
  return offset < end && offset + size > start;
}

const char* kind_name(PciBarKind kind) {
  switch (kind) {
    case PciBarKind::kIo:
      return "I/O";
    case PciBarKind::kMemory32:
      return "32-bit memory";
    case PciBarKind::kMemory64:
      return "64-bit memory";
    case PciBarKind::kNone:
      break;
  }
  return "absent";
}

}  // namespace

PciDevice::PciDevice(std::string name, const PciIds& ids) : name_(std::move(name)) {
  put16(config_, pci::kVendorId, ids.vendor);
  put16(config_, pci::kDeviceId, ids.device);
  config_[pci::kRevision] = ids.revision;
  config_[pci::kClassCode] = static_cast<uint8_t>(ids.class_code);
  config_[pci::kClassCode + 1] = static_cast<uint8_t>(ids.class_code >> 8);
  config_[pci::kClassCode + 2] = static_cast<uint8_t>(ids.class_code >> 16);
  put16(config_, pci::kSubsystemVendorId, ids.subsystem_vendor);
  put16(config_, pci::kSubsystemId, ids.subsystem);
  put16(writable_, pci::kCommand, pci::kCommandWritable);
  put16(write_one_to_clear_, pci::kStatus, pci::kStatusWriteOneToClear);
  writable_[pci::kCacheLineSize] = 0xFF;
  writable_[pci::kInterruptLine] = 0xFF;
}

PciDevice::~PciDevice() {
  // The bus may hold the regions a little longer (or be gone already): they
  // answer like an empty bus from now on.
  for (Bar& bar : bars_) {
    if (bar.region) bar.region->detach();
  }
}

Status PciDevice::add_bar(int index, PciBarKind kind, uint64_t size, bool prefetchable) {
  if (index < 0 || index >= kNumBars) return make_error("{}: BAR {} does not exist", name_, index);
  bool is64 = kind == PciBarKind::kMemory64;
  if (kind == PciBarKind::kNone || (is64 && index + 1 >= kNumBars)) {
    return make_error("{}: BAR {} cannot be {}", name_, index, kind_name(kind));
  }
  if (bars_[index].kind != PciBarKind::kNone || bars_[index].high_half ||
      (is64 && (bars_[index + 1].kind != PciBarKind::kNone || bars_[index + 1].high_half))) {
    return make_error("{}: BAR {} is already in use", name_, index);
  }
  uint64_t min = kind == PciBarKind::kIo ? 4 : 16;
  uint64_t max = kind == PciBarKind::kIo         ? 256
                 : kind == PciBarKind::kMemory32 ? (uint64_t{1} << 31)
                                                 : (uint64_t{1} << 63);
  if (!std::has_single_bit(size) || size < min || size > max) {
    return make_error("{}: BAR {} size {:#x} is not a power of two from {:#x} to {:#x}", name_,
                      index, size, min, max);
  }
  uint32_t off = pci::kBar0 + 4 * static_cast<uint32_t>(index);
  uint64_t address_bits = ~(size - 1);
  uint32_t flags = kind == PciBarKind::kIo
                       ? pci::kBarIo
                       : (is64 ? pci::kBarMem64 : 0) | (prefetchable ? pci::kBarPrefetchable : 0);
  uint32_t low_mask = static_cast<uint32_t>(address_bits) &
                      (kind == PciBarKind::kIo ? pci::kBarIoAddressMask : pci::kBarMemAddressMask);
  put32(config_, off, flags);
  put32(writable_, off, low_mask);
  if (is64) put32(writable_, off + 4, static_cast<uint32_t>(address_bits >> 32));
  bars_[index].kind = kind;
  bars_[index].size = size;
  bars_[index].region = std::make_shared<BarRegion>(this, index);
  if (is64) bars_[index + 1].high_half = true;
  return ok_status();
}

Expected<uint32_t> PciDevice::add_capability(uint8_t id, std::span<const uint8_t> body,
                                             std::span<const uint8_t> writable) {
  if (!writable.empty() && writable.size() != body.size()) {
    return make_error("{}: capability {:#x}: writable mask does not match its body", name_, id);
  }
  uint32_t size = (2 + static_cast<uint32_t>(body.size()) + 3) & ~3u;
  uint32_t off = next_capability_;
  if (off + size > pci::kConfigSize) {
    return make_error("{}: capability {:#x} does not fit in config space", name_, id);
  }
  config_[off] = id;
  config_[off + 1] = 0;
  std::memcpy(&config_[off + 2], body.data(), body.size());
  if (!writable.empty()) std::memcpy(&writable_[off + 2], writable.data(), writable.size());
  if (last_capability_ == 0) {
    config_[pci::kCapabilitiesPointer] = static_cast<uint8_t>(off);
  } else {
    config_[last_capability_ + 1] = static_cast<uint8_t>(off);
  }
  config_[pci::kStatus] |= pci::kStatusCapList;
  last_capability_ = off;
  next_capability_ = off + size;
  return off;
}

void PciDevice::set_interrupt_pin(uint8_t pin) {
  config_[pci::kInterruptPin] = pin <= 4 ? pin : 0;
}

Status PciDevice::enable_msix(IrqChip& irq, uint32_t vectors, int table_bar, uint64_t table_offset,
                              int pba_bar, uint64_t pba_offset) {
  if (msix_) return make_error("{}: MSI-X is already enabled", name_);
  if (vectors < 1 || vectors > pci::kMsixMaxVectors) {
    return make_error("{}: {} MSI-X vectors (1 to {} possible)", name_, vectors,
                      pci::kMsixMaxVectors);
  }
  auto fits = [&](int bar, uint64_t offset, uint64_t bytes) {
    return bar >= 0 && bar < kNumBars && bars_[bar].kind != PciBarKind::kNone &&
           bars_[bar].kind != PciBarKind::kIo && offset % 8 == 0 && offset <= UINT32_MAX &&
           bytes <= bars_[bar].size && offset <= bars_[bar].size - bytes;
  };
  uint64_t table_bytes = uint64_t{vectors} * pci::kMsixEntrySize;
  uint64_t pba_bytes = (uint64_t{vectors} + 63) / 64 * 8;
  if (!fits(table_bar, table_offset, table_bytes) || !fits(pba_bar, pba_offset, pba_bytes)) {
    return make_error("{}: MSI-X table or PBA does not fit in its memory BAR", name_);
  }
  if (table_bar == pba_bar && table_offset < pba_offset + pba_bytes &&
      pba_offset < table_offset + table_bytes) {
    return make_error("{}: MSI-X table and PBA overlap", name_);
  }
  uint8_t body[pci::kMsixCapSize - 2] = {};
  uint16_t control = static_cast<uint16_t>(vectors - 1);
  body[0] = static_cast<uint8_t>(control);
  body[1] = static_cast<uint8_t>(control >> 8);
  uint32_t table = static_cast<uint32_t>(table_offset) | static_cast<uint32_t>(table_bar);
  uint32_t pba = static_cast<uint32_t>(pba_offset) | static_cast<uint32_t>(pba_bar);
  for (int i = 0; i < 4; i++) {
    body[2 + i] = static_cast<uint8_t>(table >> (8 * i));
    body[6 + i] = static_cast<uint8_t>(pba >> (8 * i));
  }
  uint8_t writable[pci::kMsixCapSize - 2] = {};
  writable[1] = (pci::kMsixControlEnable | pci::kMsixControlFunctionMask) >> 8;
  VESSEL_ASSIGN(uint32_t cap, add_capability(pci::kCapMsix, body, writable));
  msix_ = std::make_unique<Msix>(irq, vectors);
  msix_cap_ = cap;
  msix_table_bar_ = table_bar;
  msix_pba_bar_ = pba_bar;
  msix_table_offset_ = table_offset;
  msix_pba_offset_ = pba_offset;
  return ok_status();
}

Status PciDevice::attach(IoBus& bus, IrqChip& irq, uint32_t intx_gsi,
                         const std::array<uint64_t, kNumBars>& bar_addresses, bool decode) {
  std::lock_guard lock(mu_);
  bus_ = &bus;
  irq_ = &irq;
  intx_gsi_ = intx_gsi;
  if (config_[pci::kInterruptPin] != 0)
    config_[pci::kInterruptLine] = static_cast<uint8_t>(intx_gsi);
  for (int i = 0; i < kNumBars; i++) {
    const Bar& bar = bars_[i];
    if (bar.kind == PciBarKind::kNone) continue;
    uint64_t address = bar_addresses[i];
    if (address % bar.size != 0) {
      return make_error("{}: BAR {} address {:#x} is not aligned to its size {:#x}", name_, i,
                        address, bar.size);
    }
    uint32_t off = pci::kBar0 + 4 * static_cast<uint32_t>(i);
    uint32_t flags = read32_locked(off) & ~writable_mask32(off);
    write32_raw_locked(off, flags | static_cast<uint32_t>(address));
    if (bar.kind == PciBarKind::kMemory64) {
      write32_raw_locked(off + 4, static_cast<uint32_t>(address >> 32));
    }
  }
  if (decode) {
    put16(config_, pci::kCommand,
          static_cast<uint16_t>(read32_locked(pci::kCommand) | pci::kCommandIo |
                                pci::kCommandMemory));
  }
  update_mappings_locked();
  for (int i = 0; i < kNumBars; i++) {
    if (decode && bars_[i].kind != PciBarKind::kNone && !bars_[i].mapped) {
      return make_error("{}: BAR {} ({}, {:#x} bytes at {:#x}) could not be mapped", name_, i,
                        kind_name(bars_[i].kind), bars_[i].size, bar_addresses[i]);
    }
  }
  return ok_status();
}

uint32_t PciDevice::writable_mask32(uint32_t offset) const {
  return uint32_t{writable_[offset]} | uint32_t{writable_[offset + 1]} << 8 |
         uint32_t{writable_[offset + 2]} << 16 | uint32_t{writable_[offset + 3]} << 24;
}

uint32_t PciDevice::read32_locked(uint32_t offset) const {
  return uint32_t{config_[offset]} | uint32_t{config_[offset + 1]} << 8 |
         uint32_t{config_[offset + 2]} << 16 | uint32_t{config_[offset + 3]} << 24;
}

void PciDevice::write32_raw_locked(uint32_t offset, uint32_t value) {
  put32(config_, offset, value);
}

void PciDevice::config_read(uint32_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); i++) {
    uint64_t at = uint64_t{offset} + i;
    data[i] = at < config_.size() ? config_[at] : 0;
  }
}

void PciDevice::config_write(uint32_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < data.size(); i++) {
    uint64_t at = uint64_t{offset} + i;
    if (at >= config_.size()) break;
    uint8_t w = writable_[at];
    uint8_t value = static_cast<uint8_t>((config_[at] & ~w) | (data[i] & w));
    config_[at] = static_cast<uint8_t>(value & ~(data[i] & write_one_to_clear_[at]));
  }
  bool command = overlaps(offset, data.size(), pci::kCommand, pci::kCommand + 2);
  if (command || overlaps(offset, data.size(), pci::kBar0, pci::kBar0 + 4 * kNumBars)) {
    update_mappings_locked();
  }
  if (msix_ && overlaps(offset, data.size(), msix_cap_ + pci::kMsixControl,
                        msix_cap_ + pci::kMsixControl + 2)) {
    msix_control_written_locked();
  } else if (command) {
    update_intx_locked();
  }
}

uint64_t PciDevice::bar_address_locked(int index) const {
  uint32_t off = pci::kBar0 + 4 * static_cast<uint32_t>(index);
  uint32_t low = read32_locked(off);
  switch (bars_[index].kind) {
    case PciBarKind::kIo:
      return low & pci::kBarIoAddressMask;
    case PciBarKind::kMemory32:
      return low & pci::kBarMemAddressMask;
    case PciBarKind::kMemory64:
      return uint64_t{read32_locked(off + 4)} << 32 | (low & pci::kBarMemAddressMask);
    case PciBarKind::kNone:
      break;
  }
  return 0;
}

void PciDevice::unmap_locked(int index) {
  Bar& bar = bars_[index];
  if (!bar.mapped) return;
  if (bar.kind == PciBarKind::kIo) {
    bus_->remove_pio(static_cast<uint16_t>(*bar.mapped), bar.region.get());
  } else {
    bus_->remove_mmio(*bar.mapped, bar.region.get());
  }
  bar.mapped.reset();
}

void PciDevice::update_mappings_locked() {
  if (bus_ == nullptr) return;
  uint16_t command = static_cast<uint16_t>(read32_locked(pci::kCommand));
  std::array<std::optional<uint64_t>, kNumBars> want{};
  std::array<bool, kNumBars> changed{};
  for (int i = 0; i < kNumBars; i++) {
    const Bar& bar = bars_[i];
    if (bar.kind == PciBarKind::kNone) continue;
    bool io = bar.kind == PciBarKind::kIo;
    bool decode = command & (io ? pci::kCommandIo : pci::kCommandMemory);
    uint64_t address = bar_address_locked(i);
    if (decode && address != 0) want[i] = address;
    if (want[i] != bar.mapped) {
      changed[i] = true;
      unmap_locked(i);  // first take every moving BAR off, so BARs may swap places
    }
  }
  for (int i = 0; i < kNumBars; i++) {
    if (!changed[i]) continue;
    Bar& bar = bars_[i];
    if (want[i]) {
      uint64_t address = *want[i];
      Status s = ok_status();
      if (bar.kind == PciBarKind::kIo) {
        s = address + bar.size <= 0x10000
                ? bus_->add_pio(static_cast<uint16_t>(address), static_cast<uint32_t>(bar.size),
                                bar.region)
                : make_error("I/O range {:#x}+{:#x} goes past port 0xffff", address, bar.size);
      } else {
        s = address + bar.size > address
                ? bus_->add_mmio(address, bar.size, bar.region)
                : make_error("MMIO range {:#x}+{:#x} wraps around", address, bar.size);
      }
      if (s.ok()) {
        bar.mapped = address;
      } else if (!warned_bad_bar_) {
        warned_bad_bar_ = true;
        log_warn("pci {}: the guest placed BAR {} where it cannot be decoded: {}", name_, i,
                 s.error().message);
      }
    }
    bar_mapped(i, bar.mapped);
  }
}

void PciDevice::update_intx_locked() {
  if (irq_ == nullptr || config_[pci::kInterruptPin] == 0) return;
  uint16_t command = static_cast<uint16_t>(read32_locked(pci::kCommand));
  bool line = intx_level_ && !(command & pci::kCommandIntxDisable) && !(msix_ && msix_->enabled());
  if (line == intx_line_) return;
  intx_line_ = line;
  irq_->set_level(intx_gsi_, line);
}

void PciDevice::msix_control_written_locked() {
  uint16_t control = static_cast<uint16_t>(config_[msix_cap_ + pci::kMsixControl] |
                                           config_[msix_cap_ + pci::kMsixControl + 1] << 8);
  msix_->set_control(control & pci::kMsixControlEnable, control & pci::kMsixControlFunctionMask);
  update_intx_locked();
}

void PciDevice::set_intx(bool level) {
  std::lock_guard lock(mu_);
  intx_level_ = level;
  if (level) {
    config_[pci::kStatus] |= pci::kStatusInterrupt;
  } else {
    config_[pci::kStatus] &= static_cast<uint8_t>(~pci::kStatusInterrupt);
  }
  update_intx_locked();
}

bool PciDevice::notify_msix(uint32_t vector) {
  return msix_ && msix_->notify(vector);
}

PciBarKind PciDevice::bar_kind(int index) const {
  return index >= 0 && index < kNumBars ? bars_[index].kind : PciBarKind::kNone;
}

uint64_t PciDevice::bar_size(int index) const {
  return index >= 0 && index < kNumBars ? bars_[index].size : 0;
}

std::optional<uint64_t> PciDevice::bar_mapping(int index) const {
  if (index < 0 || index >= kNumBars) return std::nullopt;
  std::lock_guard lock(mu_);
  return bars_[index].mapped;
}

uint16_t PciDevice::command() const {
  std::lock_guard lock(mu_);
  return static_cast<uint16_t>(read32_locked(pci::kCommand));
}

uint8_t PciDevice::interrupt_pin() const {
  std::lock_guard lock(mu_);
  return config_[pci::kInterruptPin];
}

void PciDevice::region_read(int bar, uint64_t offset, std::span<uint8_t> data) {
  if (msix_) {
    if (bar == msix_table_bar_ && offset >= msix_table_offset_ &&
        offset - msix_table_offset_ < msix_->table_bytes()) {
      msix_->table_read(offset - msix_table_offset_, data);
      return;
    }
    if (bar == msix_pba_bar_ && offset >= msix_pba_offset_ &&
        offset - msix_pba_offset_ < msix_->pba_bytes()) {
      msix_->pba_read(offset - msix_pba_offset_, data);
      return;
    }
  }
  bar_read(bar, offset, data);
}

void PciDevice::region_write(int bar, uint64_t offset, std::span<const uint8_t> data) {
  if (msix_) {
    if (bar == msix_table_bar_ && offset >= msix_table_offset_ &&
        offset - msix_table_offset_ < msix_->table_bytes()) {
      msix_->table_write(offset - msix_table_offset_, data);
      return;
    }
    if (bar == msix_pba_bar_ && offset >= msix_pba_offset_ &&
        offset - msix_pba_offset_ < msix_->pba_bytes()) {
      return;  // the PBA is read-only
    }
  }
  bar_write(bar, offset, data);
}

void PciDevice::bar_read(int, uint64_t, std::span<uint8_t> data) {
  std::memset(data.data(), 0, data.size());
}

void PciDevice::bar_write(int, uint64_t, std::span<const uint8_t>) {}

void PciDevice::bar_mapped(int, std::optional<uint64_t>) {}

}  // namespace vessel

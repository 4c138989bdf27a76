#include "virtio/virtio_pci.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "devices/register_bytes.h"
#include "pci/pci_regs.h"
#include "virtio/virtio_spec.h"

namespace vessel {

namespace {

constexpr uint32_t kCommonImageSize = 0x40;

// The body of a struct virtio_pci_cap after cap_vndr and cap_next.
std::vector<uint8_t> cap_body(uint8_t type, uint32_t offset, uint32_t length,
                              std::optional<uint32_t> notify_multiplier = std::nullopt) {
  std::vector<uint8_t> b(notify_multiplier ? 18 : 14, 0);
  b[0] = static_cast<uint8_t>(b.size() + 2);  // cap_len, with the two header bytes
  b[1] = type;
  b[2] = VirtioPciDevice::kBar;
  store_le(std::span<uint8_t>(b).subspan(6, 4), offset);
  store_le(std::span<uint8_t>(b).subspan(10, 4), length);
  if (notify_multiplier) store_le(std::span<uint8_t>(b).subspan(14, 4), *notify_multiplier);
  return b;
}

struct Field {
  uint32_t offset;
  uint32_t size;
};
// The writable fields of the common configuration, in address order.
constexpr Field kWritableFields[] = {
    {virtio::common::kDeviceFeatureSelect, 4}, {virtio::common::kDriverFeatureSelect, 4},
    {virtio::common::kDriverFeature, 4},       {virtio::common::kMsixConfig, 2},
    {virtio::common::kDeviceStatus, 1},        {virtio::common::kQueueSelect, 2},
    {virtio::common::kQueueSize, 2},           {virtio::common::kQueueMsixVector, 2},
    {virtio::common::kQueueEnable, 2},         {virtio::common::kQueueDesc, 8},
    {virtio::common::kQueueDriver, 8},         {virtio::common::kQueueDevice, 8},
};

}  // namespace

Expected<std::shared_ptr<VirtioPciDevice>> VirtioPciDevice::create(
    std::unique_ptr<VirtioDevice> device, GuestMemory& mem, IrqChip& irq) {
  uint16_t queues = device->num_queues();
  if (queues == 0 || queues > kMaxQueues) {
    return make_error("virtio device {} has {} queues (1 to {} supported)", device->name(), queues,
                      kMaxQueues);
  }
  if (device->config_size() > kNotifyOffset - kDeviceCfgOffset) {
    return make_error("virtio device {}: configuration space of {} bytes is too large",
                      device->name(), device->config_size());
  }
  PciIds ids;
  ids.vendor = virtio::kPciVendor;
  ids.device = static_cast<uint16_t>(virtio::kPciModernDeviceBase + device->device_type());
  ids.class_code = device->pci_class();
  ids.revision = virtio::kPciRevisionModern;
  ids.subsystem_vendor = virtio::kPciVendor;
  ids.subsystem = virtio::kPciSubsystemModern;
  std::shared_ptr<VirtioPciDevice> dev(new VirtioPciDevice(std::move(device), mem, ids));

  VESSEL_TRY(dev->add_bar(kBar, PciBarKind::kMemory64, kBarSize));
  auto add = [&](const std::vector<uint8_t>& body) -> Status {
    auto at = dev->add_capability(pci::kCapVendor, body);
    if (!at.ok()) return at.error();
    return ok_status();
  };
  VESSEL_TRY(add(cap_body(virtio::kPciCapCommonCfg, kCommonOffset, virtio::common::kSize)));
  VESSEL_TRY(add(cap_body(virtio::kPciCapNotifyCfg, kNotifyOffset, queues * kNotifyMultiplier,
                          kNotifyMultiplier)));
  VESSEL_TRY(add(cap_body(virtio::kPciCapIsrCfg, kIsrOffset, 1)));
  if (dev->device_->config_size() > 0) {
    VESSEL_TRY(
        add(cap_body(virtio::kPciCapDeviceCfg, kDeviceCfgOffset, dev->device_->config_size())));
  }
  VESSEL_TRY(dev->enable_msix(irq, queues + 1u, kBar, kMsixTableOffset, kBar, kMsixPbaOffset));
  dev->set_interrupt_pin(1);

  dev->event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (dev->event_fd_ < 0) {
    return make_error("virtio {}: eventfd: {}", dev->device_->name(), std::strerror(errno));
  }
  return dev;
}

VirtioPciDevice::VirtioPciDevice(std::unique_ptr<VirtioDevice> device, GuestMemory& mem,
                                 const PciIds& ids)
    : PciDevice(std::string("virtio-") + std::string(device->name()), ids),
      device_(std::move(device)),
      mem_(mem) {
  uint16_t n = device_->num_queues();
  pending_ = std::make_unique<std::atomic<bool>[]>(n);
  for (uint16_t q = 0; q < n; q++) {
    auto queue = std::make_unique<Queue>(mem_);
    queue->max_size = device_->queue_max_size(q);
    queue->size = queue->max_size;
    queues_.push_back(std::move(queue));
    pending_[q].store(false);
  }
  device_->attach_host(*this);
}

VirtioPciDevice::~VirtioPciDevice() {
  // The device goes first: its I/O threads may still kick (write event_fd_)
  // until it has waited for them.
  device_.reset();
  if (loop_ && event_fd_ >= 0) loop_->remove_fd(event_fd_);
  if (event_fd_ >= 0) ::close(event_fd_);
}

Status VirtioPciDevice::attach_event_loop(EventLoop& loop) {
  VESSEL_TRY(device_->attach_event_loop(loop));
  VESSEL_TRY(loop.add_fd(event_fd_, EPOLLIN, [this](uint32_t) { process_notifications(); }));
  loop_ = &loop;
  return ok_status();
}

uint8_t VirtioPciDevice::device_status() const {
  std::lock_guard lock(mu_);
  return status_;
}

uint64_t VirtioPciDevice::driver_features() const {
  std::lock_guard lock(mu_);
  return driver_features_;
}

uint64_t VirtioPciDevice::offered_features() const {
  return device_->device_features() | virtio::kFeatureVersion1 | virtio::kFeatureIndirectDesc |
         virtio::kFeatureEventIdx;
}

// --- BAR accesses (vCPU threads) ---------------------------------------------------

void VirtioPciDevice::bar_read(int bar, uint64_t offset, std::span<uint8_t> data) {
  for (auto& b : data) b = 0;
  if (bar != kBar) return;
  std::lock_guard lock(mu_);
  if (offset < kCommonImageSize) {
    uint8_t image[kCommonImageSize];
    common_image_locked(image);
    for (size_t i = 0; i < data.size() && offset + i < kCommonImageSize; i++) {
      data[i] = image[offset + i];
    }
  } else if (offset == kIsrOffset) {
    // Reading the ISR acknowledges it (virtio 1.1, 4.1.4.5).
    data[0] = isr_;
    isr_ = 0;
    set_intx(false);
  } else if (offset >= kDeviceCfgOffset && offset < kDeviceCfgOffset + device_->config_size()) {
    uint32_t at = static_cast<uint32_t>(offset - kDeviceCfgOffset);
    uint32_t n =
        std::min<uint32_t>(static_cast<uint32_t>(data.size()), device_->config_size() - at);
    device_->config_read(at, data.first(n));
  }
}

void VirtioPciDevice::bar_write(int bar, uint64_t offset, std::span<const uint8_t> data) {
  if (bar != kBar) return;
  if (offset >= kNotifyOffset && offset < kNotifyOffset + queues_.size() * kNotifyMultiplier) {
    notify(static_cast<uint16_t>((offset - kNotifyOffset) / kNotifyMultiplier));
    return;
  }
  std::lock_guard lock(mu_);
  if (offset < kCommonImageSize) {
    common_write_locked(offset, data);
  } else if (offset >= kDeviceCfgOffset && offset < kDeviceCfgOffset + device_->config_size()) {
    uint32_t at = static_cast<uint32_t>(offset - kDeviceCfgOffset);
    uint32_t n =
        std::min<uint32_t>(static_cast<uint32_t>(data.size()), device_->config_size() - at);
    device_->config_write(at, data.first(n));
  }
}

void VirtioPciDevice::common_image_locked(uint8_t* image) const {
  std::memset(image, 0, kCommonImageSize);
  auto put = [&](uint32_t offset, uint32_t size, uint64_t value) {
    store_le(std::span<uint8_t>(image + offset, size), value);
  };
  namespace c = virtio::common;
  put(c::kDeviceFeatureSelect, 4, device_feature_select_);
  if (device_feature_select_ < 2) {
    put(c::kDeviceFeature, 4, offered_features() >> (32 * device_feature_select_));
  }
  put(c::kDriverFeatureSelect, 4, driver_feature_select_);
  if (driver_feature_select_ < 2) {
    put(c::kDriverFeature, 4, driver_features_ >> (32 * driver_feature_select_));
  }
  put(c::kMsixConfig, 2, msix_config_);
  put(c::kNumQueues, 2, queues_.size());
  put(c::kDeviceStatus, 1, status_);
  put(c::kConfigGeneration, 1, config_generation_);
  put(c::kQueueSelect, 2, queue_select_);
  if (queue_select_ < queues_.size()) {
    const Queue& q = *queues_[queue_select_];
    put(c::kQueueSize, 2, q.size);
    put(c::kQueueMsixVector, 2, q.msix_vector);
    put(c::kQueueEnable, 2, q.enabled ? 1 : 0);
    put(c::kQueueNotifyOff, 2, queue_select_);
    put(c::kQueueDesc, 8, q.desc);
    put(c::kQueueDriver, 8, q.driver);
    put(c::kQueueDevice, 8, q.device);
  }
  // A queue that does not exist reads size 0 (virtio 1.1, 4.1.4.3).
}

void VirtioPciDevice::common_write_locked(uint64_t offset, std::span<const uint8_t> data) {
  // Merge the written bytes into the registers as they read now, then apply
  // each writable field the access touched: any size and alignment works.
  uint8_t image[kCommonImageSize];
  common_image_locked(image);
  uint64_t end = std::min<uint64_t>(offset + data.size(), kCommonImageSize);
  for (uint64_t i = offset; i < end; i++) image[i] = data[i - offset];
  for (const Field& f : kWritableFields) {
    if (f.offset + f.size <= offset || f.offset >= end) continue;
    apply_common_field_locked(f.offset,
                              load_le(std::span<const uint8_t>(image + f.offset, f.size)));
  }
}

void VirtioPciDevice::apply_common_field_locked(uint32_t field, uint64_t value) {
  namespace c = virtio::common;
  auto vector = [&](uint64_t v) -> uint16_t {
    // A vector the MSI-X table lacks cannot be used: it reads back NO_VECTOR.
    if (v == virtio::kMsiNoVector || v < msix()->vectors()) return static_cast<uint16_t>(v);
    return virtio::kMsiNoVector;
  };
  Queue* q = queue_select_ < queues_.size() ? queues_[queue_select_].get() : nullptr;
  switch (field) {
    case c::kDeviceFeatureSelect:
      device_feature_select_ = static_cast<uint32_t>(value);
      return;
    case c::kDriverFeatureSelect:
      driver_feature_select_ = static_cast<uint32_t>(value);
      return;
    case c::kDriverFeature:
      // Features are fixed once FEATURES_OK is set.
      if ((status_ & virtio::kStatusFeaturesOk) || driver_feature_select_ >= 2) return;
      {
        uint32_t shift = 32 * driver_feature_select_;
        driver_features_ =
            (driver_features_ & ~(0xFFFF'FFFFull << shift)) | ((value & 0xFFFF'FFFFull) << shift);
      }
      return;
    case c::kMsixConfig:
      msix_config_ = vector(value);
      return;
    case c::kDeviceStatus:
      write_status_locked(static_cast<uint8_t>(value));
      return;
    case c::kQueueSelect:
      queue_select_ = static_cast<uint16_t>(value);
      return;
    case c::kQueueMsixVector:
      if (q) q->msix_vector = vector(value);
      return;
    default:
      break;
  }
  // The ring's registers stay as they are once the queue is enabled.
  if (!q || q->enabled) return;
  switch (field) {
    case c::kQueueSize:
      q->size = static_cast<uint16_t>(value);
      return;
    case c::kQueueEnable:
      if (value == 1) enable_queue_locked(queue_select_);
      return;
    case c::kQueueDesc:
      q->desc = value;
      return;
    case c::kQueueDriver:
      q->driver = value;
      return;
    case c::kQueueDevice:
      q->device = value;
      return;
    default:
      return;
  }
}

void VirtioPciDevice::write_status_locked(uint8_t value) {
  if (value == 0) {
    reset_locked();
    return;
  }
  uint8_t old = status_;
  // Status bits are set by the driver one by one and cleared only by a reset;
  // DEVICE_NEEDS_RESET is the device's.
  uint8_t now = static_cast<uint8_t>((value & ~virtio::kStatusNeedsReset) |
                                     (old & virtio::kStatusNeedsReset));
  if ((now & virtio::kStatusFeaturesOk) && !(old & virtio::kStatusFeaturesOk)) {
    bool subset = (driver_features_ & ~offered_features()) == 0;
    bool modern = (driver_features_ & virtio::kFeatureVersion1) != 0;
    if (!subset || !modern) now &= static_cast<uint8_t>(~virtio::kStatusFeaturesOk);
  }
  status_ = now;
  if ((now & virtio::kStatusDriverOk) && !(old & virtio::kStatusDriverOk)) {
    device_->activate(driver_features_);
    // Buffers made available before DRIVER_OK are looked at now.
    for (uint16_t q = 0; q < queues_.size(); q++) {
      if (queues_[q]->enabled) notify(q);
    }
  }
}

void VirtioPciDevice::enable_queue_locked(uint16_t q) {
  Queue& queue = *queues_[q];
  if (queue.size > queue.max_size) {
    mark_broken_locked(
        q, make_error("queue size {} is larger than the device's {}", queue.size, queue.max_size));
    return;
  }
  Virtqueue::Layout layout{queue.size, queue.desc, queue.driver, queue.device};
  auto st = queue.vq.start(layout, driver_features_);
  if (!st.ok()) {
    mark_broken_locked(q, st.error());
    return;
  }
  queue.enabled = true;
}

void VirtioPciDevice::reset_locked() {
  device_->reset();
  device_feature_select_ = driver_feature_select_ = 0;
  driver_features_ = 0;
  msix_config_ = virtio::kMsiNoVector;
  status_ = 0;
  queue_select_ = 0;
  isr_ = 0;
  set_intx(false);
  for (uint16_t q = 0; q < queues_.size(); q++) {
    Queue& queue = *queues_[q];
    queue.size = queue.max_size;
    queue.msix_vector = virtio::kMsiNoVector;
    queue.enabled = false;
    queue.desc = queue.driver = queue.device = 0;
    queue.vq.reset();
    pending_[q].store(false);
  }
}

// --- Notifications (vCPU threads) and processing (event loop) -----------------------

void VirtioPciDevice::notify(uint16_t q) {
  if (q >= queues_.size()) return;
  pending_[q].store(true, std::memory_order_release);
  uint64_t one = 1;
  // A full counter (never in practice) still leaves the fd readable.
  [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof(one));
}

void VirtioPciDevice::process_notifications() {
  uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(event_fd_, &count, sizeof(count));
  std::lock_guard lock(mu_);
  for (uint16_t q = 0; q < queues_.size(); q++) {
    if (pending_[q].exchange(false, std::memory_order_acquire)) process_queue_locked(q);
  }
  if (config_pending_.exchange(false, std::memory_order_acquire) &&
      (status_ & virtio::kStatusDriverOk)) {
    config_generation_++;
    signal_config_locked();
  }
}

void VirtioPciDevice::config_changed() {
  config_pending_.store(true, std::memory_order_release);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof(one));
}

void VirtioPciDevice::process_queue_locked(uint16_t q) {
  Queue& queue = *queues_[q];
  if (!(status_ & virtio::kStatusDriverOk) || (status_ & virtio::kStatusNeedsReset) ||
      !queue.enabled) {
    return;
  }
  auto st = device_->process_queue(q, queue.vq);
  if (!st.ok()) {
    mark_broken_locked(q, st.error());
    return;
  }
  auto need = queue.vq.need_interrupt();
  if (!need.ok()) {
    mark_broken_locked(q, need.error());
  } else if (*need) {
    signal_queue_locked(q);
  }
}

void VirtioPciDevice::mark_broken_locked(uint16_t q, const Error& error) {
  if (!warned_) {
    warned_ = true;
    log_warn(
        "{}: queue {}: {}: the device needs a reset (further errors of this device are "
        "not logged)",
        name(), q, error.message);
  }
  if (status_ & virtio::kStatusNeedsReset) return;
  status_ |= virtio::kStatusNeedsReset;
  signal_config_locked();
}

void VirtioPciDevice::signal_queue_locked(uint16_t q) {
  if (msix()->enabled()) {
    uint16_t v = queues_[q]->msix_vector;
    if (v != virtio::kMsiNoVector) notify_msix(v);
    return;
  }
  raise_isr_locked(virtio::kIsrQueue);
}

void VirtioPciDevice::signal_config_locked() {
  if (msix()->enabled()) {
    if (msix_config_ != virtio::kMsiNoVector) notify_msix(msix_config_);
    return;
  }
  raise_isr_locked(virtio::kIsrConfig);
}

void VirtioPciDevice::raise_isr_locked(uint8_t bits) {
  isr_ |= bits;
  set_intx(true);
}

}  // namespace vessel

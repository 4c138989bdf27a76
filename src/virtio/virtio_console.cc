#include "virtio/virtio_console.h"

#include <algorithm>
#include <array>

#include "virtio/virtio_spec.h"

namespace vessel {

VirtioConsole::VirtioConsole(OutputSink sink, std::optional<WindowSize> size)
    : sink_(std::move(sink)), size_(size) {}

uint16_t VirtioConsole::device_type() const {
  return virtio::kDeviceConsole;
}

void VirtioConsole::config_read(uint32_t offset, std::span<uint8_t> data) {
  // struct virtio_console_config: cols, rows, max_nr_ports (emerg_wr is not offered).
  std::array<uint8_t, kConfigSize> image{};
  WindowSize ws = size_.value_or(WindowSize{});
  image[0] = static_cast<uint8_t>(ws.cols);
  image[1] = static_cast<uint8_t>(ws.cols >> 8);
  image[2] = static_cast<uint8_t>(ws.rows);
  image[3] = static_cast<uint8_t>(ws.rows >> 8);
  image[4] = 1;  // max_nr_ports
  for (size_t i = 0; i < data.size(); i++) {
    uint64_t at = uint64_t{offset} + i;
    data[i] = at < image.size() ? image[at] : 0;
  }
}

size_t VirtioConsole::offer_input(std::span<const uint8_t> bytes) {
  size_t taken;
  {
    std::lock_guard lock(mu_);
    taken = std::min(bytes.size(), kMaxBacklog - backlog_.size());
    backlog_.append(reinterpret_cast<const char*>(bytes.data()), taken);
  }
  if (taken > 0 && host_) host_->kick(kReceiveQueue);
  return taken;
}

size_t VirtioConsole::backlog() const {
  std::lock_guard lock(mu_);
  return backlog_.size();
}

Status VirtioConsole::process_queue(uint16_t q, Virtqueue& vq) {
  if (q == kReceiveQueue) return receive(vq);
  if (q == kTransmitQueue) return transmit(vq);
  return ok_status();
}

Status VirtioConsole::receive(Virtqueue& vq) {
  std::lock_guard lock(mu_);
  // Buffers are taken only while input waits: an empty backlog leaves the
  // driver's buffers on the ring for later input.
  while (!backlog_.empty()) {
    auto got = vq.pop(chain_);
    if (!got.ok()) return got.error();
    if (!*got) return ok_status();  // no buffers yet: the driver notifies when it adds some
    if (!chain_.readable().empty()) {
      return make_error("console receive buffer {} has a device-readable part", chain_.head());
    }
    auto n =
        chain_.write_to(vq.memory(), 0,
                        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(backlog_.data()),
                                                 backlog_.size()));
    if (!n.ok()) return n.error();  // GuestMemory::write noted the write for the soft CPU
    backlog_.erase(0, *n);
    bytes_received_ += *n;
    VESSEL_TRY(vq.push(chain_.head(), static_cast<uint32_t>(*n)));
  }
  return ok_status();
}

Status VirtioConsole::transmit(Virtqueue& vq) {
  std::array<uint8_t, 4096> buf;
  for (;;) {
    auto got = vq.pop(chain_);
    if (!got.ok()) return got.error();
    if (!*got) return ok_status();
    if (!chain_.writable().empty()) {
      return make_error("console transmit buffer {} has a device-writable part", chain_.head());
    }
    for (uint64_t offset = 0; offset < chain_.readable_bytes();) {
      auto n = chain_.read_from(vq.memory(), offset, buf);
      if (!n.ok()) return n.error();
      if (*n == 0) break;
      if (sink_) sink_(std::span<const uint8_t>(buf.data(), *n));
      offset += *n;
      bytes_sent_ += *n;
    }
    VESSEL_TRY(vq.push(chain_.head(), 0));
  }
}

}  // namespace vessel

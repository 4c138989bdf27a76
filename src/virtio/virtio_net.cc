#include "virtio/virtio_net.h"

#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "virtio/virtio_spec.h"

namespace vessel {

using namespace virtio_net;

VirtioNet::VirtioNet(std::unique_ptr<NetBackend> backend, MacAddress mac)
    : backend_(std::move(backend)), mac_(mac), mtu_(backend_->mtu()) {
  rx_frame_.reserve(NetBackend::kMaxFrameBytes);
  tx_frame_.reserve(NetBackend::kMaxFrameBytes);
  held_.resize(4);
}

VirtioNet::~VirtioNet() = default;

uint16_t VirtioNet::device_type() const {
  return virtio::kDeviceNet;
}

uint64_t VirtioNet::device_features() const {
  return kFeatureMac | kFeatureStatus | kFeatureMrgRxbuf | kFeatureMtu | kFeatureCsum |
         kFeatureGuestCsum;
}

void VirtioNet::config_read(uint32_t offset, std::span<uint8_t> data) {
  uint8_t image[kConfigSize] = {};
  std::memcpy(image + kConfigMac, mac_.data(), mac_.size());
  image[kConfigStatus] = kStatusLinkUp;
  image[kConfigMaxPairs] = 1;
  image[kConfigMtu] = static_cast<uint8_t>(mtu_);
  image[kConfigMtu + 1] = static_cast<uint8_t>(mtu_ >> 8);
  for (size_t i = 0; i < data.size(); i++) {
    data[i] = offset + i < kConfigSize ? image[offset + i] : 0;
  }
}

void VirtioNet::activate(uint64_t features) {
  mergeable_ = (features & kFeatureMrgRxbuf) != 0;
  csum_ = (features & kFeatureCsum) != 0;
  guest_csum_ = (features & kFeatureGuestCsum) != 0;
}

void VirtioNet::reset() {
  mergeable_ = csum_ = guest_csum_ = false;
  have_frame_ = false;
  held_count_ = 0;
  held_bytes_ = 0;
  backend_->rx_backlog().clear();
}

void VirtioNet::attach_host(VirtioHost& host) {
  VirtioDevice::attach_host(host);
  VirtioHost* h = &host;
  backend_->set_callbacks([h] { h->kick(kRxQueue); }, [h] { h->kick(kTxQueue); });
}

Status VirtioNet::attach_event_loop(EventLoop& loop) {
  return backend_->start(loop);
}

Status VirtioNet::process_queue(uint16_t q, Virtqueue& vq) {
  if (q == kRxQueue) return process_rx(vq);
  if (q == kTxQueue) return process_tx(vq);
  return ok_status();
}

void VirtioNet::warn_once(const std::string& what) {
  if (warned_) return;
  warned_ = true;
  log_warn("virtio-net: {} (dropped; further malformed frames are dropped silently)", what);
}

// --- receive ----------------------------------------------------------------------

Expected<bool> VirtioNet::hold_rx_chain(Virtqueue& vq) {
  if (held_count_ == held_.size()) held_.resize(held_.size() * 2);
  DescChain& chain = held_[held_count_];
  auto got = vq.pop(chain);
  if (!got.ok()) return got.error();
  if (!*got) return false;
  if (!chain.readable().empty()) {
    return make_error("receive chain {} has a device-readable buffer", chain.head());
  }
  if (chain.writable_bytes() < kHeaderSize) {
    return make_error("receive chain {} holds {} bytes, less than the {}-byte header", chain.head(),
                      chain.writable_bytes(), kHeaderSize);
  }
  held_count_++;
  held_bytes_ += chain.writable_bytes();
  return true;
}

Status VirtioNet::write_rx_frame(Virtqueue& vq, uint32_t chains) {
  GuestMemory& mem = vq.memory();
  uint8_t header[kHeaderSize] = {};
  // The backends' frames carry complete checksums (slirp makes them; the
  // kernel completes a TAP's before userspace reads it): the guest need not
  // verify them again.
  if (guest_csum_) header[0] = kHdrFlagDataValid;
  header[kHeaderNumBuffers] = static_cast<uint8_t>(chains);
  header[kHeaderNumBuffers + 1] = static_cast<uint8_t>(chains >> 8);
  std::span<const uint8_t> rest(rx_frame_);
  // chains <= the ring's size <= kQueueSize; one used-index update for all.
  Virtqueue::UsedElem used[kQueueSize];
  for (uint32_t i = 0; i < chains; i++) {
    const DescChain& chain = held_[i];
    uint64_t written = 0;
    if (i == 0) {
      VESSEL_ASSIGN(uint64_t n, chain.write_to(mem, 0, header));
      written = n;
    }
    uint64_t take = std::min<uint64_t>(chain.writable_bytes() - written, rest.size());
    VESSEL_ASSIGN(uint64_t n, chain.write_to(mem, written, rest.first(take)));
    written += n;
    rest = rest.subspan(take);
    used[i] = {chain.head(), static_cast<uint32_t>(written)};
  }
  return vq.push_many(std::span<const Virtqueue::UsedElem>(used, chains));
}

Status VirtioNet::process_rx(Virtqueue& vq) {
  const uint32_t ring_size = std::min<uint32_t>(vq.layout().size, kQueueSize);
  for (;;) {
    if (!have_frame_) {
      if (!backend_->rx_backlog().pop_swap(rx_frame_)) return ok_status();
      have_frame_ = true;
    }
    const uint64_t need = kHeaderSize + rx_frame_.size();
    if (!mergeable_) {
      if (held_count_ == 0) {
        VESSEL_ASSIGN(bool got, hold_rx_chain(vq));
        if (!got) return ok_status();  // wait for the guest to post buffers
      }
      if (held_bytes_ < need) {
        // Does not fit one chain: drop the frame, keep the chain.
        stats_.rx_dropped++;
        have_frame_ = false;
        continue;
      }
      VESSEL_TRY(write_rx_frame(vq, 1));
    } else {
      while (held_bytes_ < need && held_count_ < ring_size) {
        VESSEL_ASSIGN(bool got, hold_rx_chain(vq));
        if (!got) return ok_status();  // keep what we hold until more arrive
      }
      if (held_bytes_ < need) {
        // Every chain of the ring together is too small: drop the frame and
        // keep the chains for the next ones.
        stats_.rx_dropped++;
        have_frame_ = false;
        continue;
      }
      VESSEL_TRY(write_rx_frame(vq, held_count_));
    }
    stats_.rx_frames++;
    stats_.rx_bytes += rx_frame_.size();
    have_frame_ = false;
    held_count_ = 0;
    held_bytes_ = 0;
  }
}

// --- transmit ---------------------------------------------------------------------

namespace {

// The Internet checksum (RFC 1071) of `data`, folded and complemented, in
// network byte order as a number.
uint16_t internet_checksum(std::span<const uint8_t> data) {
  uint64_t sum = 0;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < data.size()) sum += static_cast<uint32_t>(data[i] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

Expected<bool> VirtioNet::complete_checksum(Virtqueue& vq, uint64_t frame_len) {
  uint8_t hdr[kHeaderSize];
  VESSEL_ASSIGN(uint64_t got, tx_chain_.read_from(vq.memory(), 0, hdr));
  if (got < kHeaderSize || !(hdr[0] & kHdrFlagNeedsCsum)) return true;
  // The driver left the checksum to us: the sum from csum_start to the end
  // (the field holds the pseudo-header's sum) goes at csum_start + csum_offset.
  const uint64_t start = hdr[6] | hdr[7] << 8;
  const uint64_t offset = hdr[8] | hdr[9] << 8;
  if (!csum_ || start >= frame_len || start + offset + 2 > frame_len) {
    warn_once(fmt::format("transmit chain {} asks for a checksum at {}+{} in a {}-byte frame{}",
                          tx_chain_.head(), start, offset, frame_len,
                          csum_ ? "" : " without VIRTIO_NET_F_CSUM"));
    return false;
  }
  uint16_t sum = internet_checksum(std::span<const uint8_t>(tx_frame_).subspan(start));
  if (sum == 0) sum = 0xFFFF;  // 0 means "no checksum" to UDP
  tx_frame_[start + offset] = static_cast<uint8_t>(sum >> 8);
  tx_frame_[start + offset + 1] = static_cast<uint8_t>(sum);
  return true;
}

Status VirtioNet::process_tx(Virtqueue& vq) {
  for (;;) {
    if (!backend_->can_send()) return ok_status();  // the backend kicks us later
    auto got = vq.pop(tx_chain_);
    if (!got.ok()) return got.error();
    if (!*got) return ok_status();
    const uint64_t len = tx_chain_.readable_bytes();
    bool sent = false;
    if (!tx_chain_.writable().empty()) {
      warn_once(fmt::format("transmit chain {} has a device-writable buffer", tx_chain_.head()));
    } else if (len < kHeaderSize) {
      warn_once(fmt::format("transmit chain {} holds {} bytes, less than the header",
                            tx_chain_.head(), len));
    } else if (len - kHeaderSize > NetBackend::kMaxFrameBytes) {
      warn_once(fmt::format("transmit chain {} holds a {}-byte frame, over the {} limit",
                            tx_chain_.head(), len - kHeaderSize, NetBackend::kMaxFrameBytes));
    } else {
      tx_frame_.resize(len - kHeaderSize);
      VESSEL_ASSIGN(uint64_t n, tx_chain_.read_from(vq.memory(), kHeaderSize, tx_frame_));
      tx_frame_.resize(n);
      VESSEL_ASSIGN(bool ok, complete_checksum(vq, n));
      if (ok) {
        sent = backend_->send(tx_frame_);
        if (sent) stats_.tx_bytes += n;
      }
    }
    if (sent) {
      stats_.tx_frames++;
    } else {
      stats_.tx_dropped++;
    }
    VESSEL_TRY(vq.push(tx_chain_.head(), 0));
  }
}

std::vector<std::pair<std::string, uint64_t>> VirtioNet::counters() const {
  return {{"rx_frames", stats_.rx_frames},
          {"rx_bytes", stats_.rx_bytes},
          {"rx_dropped", stats_.rx_dropped},
          {"tx_frames", stats_.tx_frames},
          {"tx_bytes", stats_.tx_bytes},
          {"tx_dropped", stats_.tx_dropped},
          // Frames the backend dropped with its receive backlog full.
          {"rx_backlog_dropped", backend_->rx_backlog().drops()}};
}

}  // namespace vessel

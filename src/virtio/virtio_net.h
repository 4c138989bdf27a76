// virtio-net, the network device (virtio 1.1, 5.1): a receive queue (0) and
// a transmit queue (1) of Ethernet frames, each preceded by a 12-byte
// struct virtio_net_hdr_v1, between the guest and a NetBackend
// (net/net_backend.h: user-mode networking through libslirp, or a TAP).
//
// Features: MAC (the address in the configuration space), STATUS (the link
// is always up), MTU (the MTU the backend supports), MRG_RXBUF (a received
// frame may span several receive chains; the header's num_buffers says how
// many; without it each frame must fit one chain), CSUM (the driver may send
// frames whose TCP/UDP checksum the device completes) and GUEST_CSUM
// (received frames are marked DATA_VALID: the backends' checksums are
// complete, the guest need not verify them).
//
// Receive: frames wait in the backend's backlog until the guest posts
// buffers; the backend kicks queue 0 when frames arrive, the driver when it
// adds buffers; both run process_queue(0), which writes as many frames as
// the posted chains hold. Chains taken for a frame that does not fit yet
// are kept (not returned) until more arrive. Transmit: each chain's header
// and frame are gathered into a reused buffer and handed to the backend.
//
// The guest is hostile: a transmit chain shorter than the header, with a
// device-writable buffer or a frame over NetBackend::kMaxFrameBytes is
// returned unsent (logged once); a receive chain with a device-readable
// buffer, or too small for the header, breaks the rules (the device then
// needs a reset). Nothing is allocated per frame in steady state.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/counter.h"
#include "net/net_backend.h"
#include "virtio/virtio_device.h"

namespace vessel {

namespace virtio_net {
// Feature bits (spec 5.1.3).
inline constexpr uint64_t kFeatureCsum = 1ull << 0;
inline constexpr uint64_t kFeatureGuestCsum = 1ull << 1;
inline constexpr uint64_t kFeatureMtu = 1ull << 3;
inline constexpr uint64_t kFeatureMac = 1ull << 5;
inline constexpr uint64_t kFeatureMrgRxbuf = 1ull << 15;
inline constexpr uint64_t kFeatureStatus = 1ull << 16;
// struct virtio_net_config: mac[6], status u16, max_virtqueue_pairs u16, mtu u16.
inline constexpr uint32_t kConfigMac = 0;
inline constexpr uint32_t kConfigStatus = 6;
inline constexpr uint32_t kConfigMaxPairs = 8;
inline constexpr uint32_t kConfigMtu = 10;
inline constexpr uint32_t kConfigSize = 12;
inline constexpr uint16_t kStatusLinkUp = 1;
// struct virtio_net_hdr_v1: flags u8, gso_type u8, hdr_len u16, gso_size u16,
// csum_start u16, csum_offset u16, num_buffers u16.
inline constexpr uint32_t kHeaderSize = 12;
inline constexpr uint32_t kHeaderNumBuffers = 10;
inline constexpr uint8_t kHdrFlagNeedsCsum = 1;
inline constexpr uint8_t kHdrFlagDataValid = 2;
}  // namespace virtio_net

using MacAddress = std::array<uint8_t, 6>;

class VirtioNet : public VirtioDevice {
 public:
  static constexpr uint16_t kRxQueue = 0;
  static constexpr uint16_t kTxQueue = 1;
  static constexpr uint16_t kQueueSize = 256;

  struct Stats {
    Counter rx_frames, rx_bytes;
    Counter rx_dropped;  // too big for the posted buffers
    Counter tx_frames, tx_bytes;
    Counter tx_dropped;  // malformed chains, or the backend refused
  };

  // The MTU offered to the driver is the backend's.
  VirtioNet(std::unique_ptr<NetBackend> backend, MacAddress mac);
  ~VirtioNet() override;

  std::string_view name() const override { return "net"; }
  uint16_t device_type() const override;
  uint32_t pci_class() const override { return 0x020000; }  // Ethernet controller
  uint64_t device_features() const override;
  uint16_t num_queues() const override { return 2; }
  uint16_t queue_max_size(uint16_t) const override { return kQueueSize; }
  uint32_t config_size() const override { return virtio_net::kConfigSize; }
  void config_read(uint32_t offset, std::span<uint8_t> data) override;
  void activate(uint64_t features) override;
  void reset() override;
  Status process_queue(uint16_t q, Virtqueue& vq) override;
  void attach_host(VirtioHost& host) override;
  Status attach_event_loop(EventLoop& loop) override;

  // Statistics; read under the transport's lock (or with the loop idle).
  const Stats& stats() const { return stats_; }
  std::vector<std::pair<std::string, uint64_t>> counters() const override;
  NetBackend& backend() { return *backend_; }

 private:
  Status process_rx(Virtqueue& vq);
  Status process_tx(Virtqueue& vq);
  // Takes the next receive chain into held_[held_count_]: false if none.
  Expected<bool> hold_rx_chain(Virtqueue& vq);
  Status write_rx_frame(Virtqueue& vq, uint32_t chains);
  // Fills in the checksum of tx_frame_ if its header asks for it (CSUM);
  // false (dropped) when the request is malformed.
  Expected<bool> complete_checksum(Virtqueue& vq, uint64_t frame_len);
  void warn_once(const std::string& what);

  std::unique_ptr<NetBackend> backend_;
  MacAddress mac_;
  uint16_t mtu_;
  bool mergeable_ = false;
  bool csum_ = false;        // the driver may leave tx checksums to us
  bool guest_csum_ = false;  // rx frames may be marked DATA_VALID

  // Receive: the frame being delivered and the chains taken for it.
  std::vector<uint8_t> rx_frame_;
  bool have_frame_ = false;
  std::vector<DescChain> held_;  // grows to the longest merge seen
  uint32_t held_count_ = 0;
  uint64_t held_bytes_ = 0;
  // Transmit.
  DescChain tx_chain_;
  std::vector<uint8_t> tx_frame_;

  Stats stats_;
  bool warned_ = false;
};

}  // namespace vessel

// virtio-rng, the entropy device (virtio 1.1, 5.4): one request queue whose
// device-writable buffers the device fills with bytes from the host's
// getrandom(2). No feature bits, no configuration space. A request with a
// device-readable buffer breaks the rules (the device needs a reset); each
// request is filled with at most kMaxRequestBytes, and the used length says
// how many bytes were written.
#pragma once

#include <cstdint>

#include "base/counter.h"
#include "virtio/virtio_device.h"

namespace vessel {

class VirtioRng : public VirtioDevice {
 public:
  static constexpr uint64_t kMaxRequestBytes = 64 * 1024;
  static constexpr uint16_t kQueueSize = 64;

  std::string_view name() const override { return "rng"; }
  uint16_t device_type() const override;
  uint16_t num_queues() const override { return 1; }
  uint16_t queue_max_size(uint16_t) const override { return kQueueSize; }
  Status process_queue(uint16_t q, Virtqueue& vq) override;

  uint64_t bytes_served() const { return bytes_served_.get(); }
  std::vector<std::pair<std::string, uint64_t>> counters() const override {
    return {{"requests", requests_.get()}, {"bytes", bytes_served_.get()}};
  }

 private:
  DescChain chain_;
  Counter requests_, bytes_served_;  // read by the API thread
};

}  // namespace vessel

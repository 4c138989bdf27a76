#include "virtio/virtio_rng.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "virtio/virtio_spec.h"

namespace vessel {

namespace {

// Fills `out` from getrandom(2); false if the host refuses.
bool host_random(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

uint16_t VirtioRng::device_type() const {
  return virtio::kDeviceEntropy;
}

Status VirtioRng::process_queue(uint16_t, Virtqueue& vq) {
  for (;;) {
    auto got = vq.pop(chain_);
    if (!got.ok()) return got.error();
    if (!*got) return ok_status();
    if (!chain_.readable().empty()) {
      return make_error("entropy request {} has a device-readable buffer", chain_.head());
    }
    // Straight into guest RAM, at most kMaxRequestBytes per request.
    uint64_t written = 0;
    for (const VirtqBuffer& b : chain_.writable()) {
      uint64_t n = std::min<uint64_t>(b.len, kMaxRequestBytes - written);
      if (n == 0) break;
      auto span = vq.memory().span(b.gpa, n);
      if (!span.ok()) return span.error();
      bool filled = host_random(*span);
      vq.memory().note_write(b.gpa, n);
      if (!filled) break;
      written += n;
    }
    requests_++;
    bytes_served_ += written;
    VESSEL_TRY(vq.push(chain_.head(), static_cast<uint32_t>(written)));
  }
}

}  // namespace vessel

#include "virtio/virtqueue.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <utility>

#include "virtio/virtio_spec.h"

namespace vessel {

namespace {

struct RawDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(RawDesc) == virtio::kDescSize);

// Byte sizes of the ring parts for a queue of `n` entries (event fields included).
uint64_t desc_bytes(uint64_t n) {
  return n * virtio::kDescSize;
}
uint64_t avail_bytes(uint64_t n) {
  return 4 + 2 * n + 2;
}
uint64_t used_bytes(uint64_t n) {
  return 4 + virtio::kUsedElemSize * n + 2;
}

bool in_ram(const GuestMemory& mem, uint64_t gpa, uint64_t len) {
  if (len == 0) return true;
  if (gpa + len < gpa) return false;  // wraps
  return mem.contains(gpa, len);
}

}  // namespace

// --- DescChain -----------------------------------------------------------------

void DescChain::clear(uint16_t head) {
  head_ = head;
  buffers_.clear();
  readable_count_ = 0;
  readable_bytes_ = 0;
  writable_bytes_ = 0;
}

Expected<uint64_t> DescChain::read_from(const GuestMemory& mem, uint64_t offset,
                                        std::span<uint8_t> dst) const {
  uint64_t done = 0;
  for (const VirtqBuffer& b : readable()) {
    if (done == dst.size()) break;
    if (offset >= b.len) {
      offset -= b.len;
      continue;
    }
    uint64_t n = std::min<uint64_t>(b.len - offset, dst.size() - done);
    VESSEL_TRY(mem.read(b.gpa + offset, dst.data() + done, n));
    done += n;
    offset = 0;
  }
  return done;
}

Expected<uint64_t> DescChain::write_to(GuestMemory& mem, uint64_t offset,
                                       std::span<const uint8_t> src) const {
  uint64_t done = 0;
  for (const VirtqBuffer& b : writable()) {
    if (done == src.size()) break;
    if (offset >= b.len) {
      offset -= b.len;
      continue;
    }
    uint64_t n = std::min<uint64_t>(b.len - offset, src.size() - done);
    VESSEL_TRY(mem.write(b.gpa + offset, src.data() + done, n));
    done += n;
    offset = 0;
  }
  return done;
}

// --- Virtqueue -------------------------------------------------------------------

Status Virtqueue::start(const Layout& l, uint64_t features) {
  reset();
  if (l.size == 0 || l.size > virtio::kMaxQueueSize || !std::has_single_bit(l.size)) {
    return make_error("queue size {} is not a power of two from 1 to {}", l.size,
                      virtio::kMaxQueueSize);
  }
  if (l.desc % virtio::kDescAlign || !in_ram(mem_, l.desc, desc_bytes(l.size))) {
    return make_error("descriptor table at {:#x} ({} entries) is misaligned or outside RAM", l.desc,
                      l.size);
  }
  if (l.avail % virtio::kAvailAlign || !in_ram(mem_, l.avail, avail_bytes(l.size))) {
    return make_error("available ring at {:#x} ({} entries) is misaligned or outside RAM", l.avail,
                      l.size);
  }
  if (l.used % virtio::kUsedAlign || !in_ram(mem_, l.used, used_bytes(l.size))) {
    return make_error("used ring at {:#x} ({} entries) is misaligned or outside RAM", l.used,
                      l.size);
  }
  layout_ = l;
  indirect_ = (features & virtio::kFeatureIndirectDesc) != 0;
  event_idx_ = (features & virtio::kFeatureEventIdx) != 0;
  started_ = true;
  return ok_status();
}

void Virtqueue::reset() {
  layout_ = Layout{};
  started_ = false;
  indirect_ = event_idx_ = false;
  last_avail_ = used_idx_ = signalled_used_ = 0;
  broken_.clear();
}

Error Virtqueue::fail(std::string message) {
  if (broken_.empty()) broken_ = message;
  return Error{std::move(message)};
}

Expected<uint16_t> Virtqueue::read_avail_idx() const {
  return mem_.read_obj<uint16_t>(layout_.avail + 2);
}

Expected<bool> Virtqueue::pop(DescChain& chain) {
  if (!broken_.empty()) return Error{broken_};
  if (!started_) return false;
  auto idx = read_avail_idx();
  if (!idx.ok()) return fail(idx.error().message);
  uint16_t pending = static_cast<uint16_t>(*idx - last_avail_);
  if (pending == 0 && event_idx_) {
    // Ask for a notification at the next entry, then look again: the driver
    // may have added one before it could see avail_event.
    uint64_t avail_event = layout_.used + 4 + uint64_t{virtio::kUsedElemSize} * layout_.size;
    auto st = mem_.write_obj<uint16_t>(avail_event, last_avail_);
    if (!st.ok()) return fail(st.error().message);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    idx = read_avail_idx();
    if (!idx.ok()) return fail(idx.error().message);
    pending = static_cast<uint16_t>(*idx - last_avail_);
  }
  if (pending == 0) return false;
  if (pending > layout_.size) {
    return fail(
        fmt::format("available index jumped to {} with {} entries consumed: {} new "
                    "entries in a queue of {}",
                    *idx, last_avail_, pending, layout_.size));
  }
  // The ring entries are read after the index that published them.
  std::atomic_thread_fence(std::memory_order_acquire);
  uint64_t slot =
      layout_.avail + 4 + 2 * uint64_t{static_cast<uint16_t>(last_avail_ % layout_.size)};
  auto head = mem_.read_obj<uint16_t>(slot);
  if (!head.ok()) return fail(head.error().message);
  last_avail_++;
  VESSEL_TRY(walk(*head, chain));
  return true;
}

Status Virtqueue::walk(uint16_t head, DescChain& chain) {
  chain.clear(head);
  if (head >= layout_.size) {
    return fail(fmt::format("chain head {} is outside the queue of {}", head, layout_.size));
  }
  uint64_t table = layout_.desc;  // the table being walked
  uint32_t table_size = layout_.size;
  bool indirect = false;
  uint32_t count = 0;
  uint32_t index = head;
  for (;;) {
    if (++count > table_size) {
      return fail(
          fmt::format("descriptor chain from head {} is longer than its {} of {} "
                      "entries (a loop?)",
                      head, indirect ? "indirect table" : "queue", table_size));
    }
    auto d = mem_.read_obj<RawDesc>(table + uint64_t{index} * virtio::kDescSize);
    if (!d.ok()) return fail(d.error().message);
    if (d->flags & virtio::kDescFlagIndirect) {
      if (!indirect_) {
        return fail(
            fmt::format("descriptor {} of chain {} is indirect, but "
                        "VIRTIO_F_INDIRECT_DESC was not negotiated",
                        index, head));
      }
      if (indirect) {
        return fail(fmt::format("nested indirect table in chain {}", head));
      }
      if (d->flags & virtio::kDescFlagNext) {
        return fail(
            fmt::format("descriptor {} of chain {} is both indirect and chained", index, head));
      }
      if (d->len == 0 || d->len % virtio::kDescSize ||
          d->len / virtio::kDescSize > virtio::kMaxQueueSize) {
        return fail(fmt::format("indirect table of chain {} has a bad length {}", head, d->len));
      }
      if (!in_ram(mem_, d->addr, d->len) || d->addr % 8) {
        return fail(
            fmt::format("indirect table of chain {} at {:#x} ({} bytes) is outside RAM "
                        "or misaligned",
                        head, d->addr, d->len));
      }
      indirect = true;
      table = d->addr;
      table_size = d->len / virtio::kDescSize;
      count = 0;
      index = 0;
      continue;
    }
    if (!in_ram(mem_, d->addr, d->len)) {
      return fail(fmt::format("buffer {:#x}+{:#x} of chain {} is outside guest RAM", d->addr,
                              d->len, head));
    }
    bool writable = (d->flags & virtio::kDescFlagWrite) != 0;
    if (writable) {
      chain.writable_bytes_ += d->len;
    } else {
      if (!chain.buffers_.empty() && chain.buffers_.back().writable) {
        return fail(
            fmt::format("chain {} has a device-readable buffer after a "
                        "device-writable one",
                        head));
      }
      chain.readable_bytes_ += d->len;
      chain.readable_count_++;
    }
    chain.buffers_.push_back({d->addr, d->len, writable});
    if (!(d->flags & virtio::kDescFlagNext)) return ok_status();
    index = d->next;
    if (index >= table_size) {
      return fail(fmt::format("chain {} links to descriptor {}, outside its {} of {}", head, index,
                              indirect ? "indirect table" : "queue", table_size));
    }
  }
}

Status Virtqueue::push(uint16_t head, uint32_t written) {
  if (!broken_.empty()) return Error{broken_};
  if (!started_) return make_error("push on a queue that is not started");
  uint64_t elem = layout_.used + 4 +
                  uint64_t{virtio::kUsedElemSize} * static_cast<uint16_t>(used_idx_ % layout_.size);
  uint32_t entry[2] = {head, written};
  auto st = mem_.write(elem, entry, sizeof(entry));
  if (!st.ok()) return fail(st.error().message);
  // The entry is visible before the index that publishes it.
  std::atomic_thread_fence(std::memory_order_release);
  used_idx_++;
  st = mem_.write_obj<uint16_t>(layout_.used + 2, used_idx_);
  if (!st.ok()) return fail(st.error().message);
  return ok_status();
}

Status Virtqueue::push_many(std::span<const UsedElem> elems) {
  if (!broken_.empty()) return Error{broken_};
  if (!started_) return make_error("push on a queue that is not started");
  uint16_t idx = used_idx_;
  for (const UsedElem& e : elems) {
    uint64_t elem = layout_.used + 4 +
                    uint64_t{virtio::kUsedElemSize} * static_cast<uint16_t>(idx % layout_.size);
    uint32_t entry[2] = {e.head, e.written};
    auto st = mem_.write(elem, entry, sizeof(entry));
    if (!st.ok()) return fail(st.error().message);
    idx++;
  }
  // The entries are visible before the index that publishes them.
  std::atomic_thread_fence(std::memory_order_release);
  used_idx_ = idx;
  auto st = mem_.write_obj<uint16_t>(layout_.used + 2, used_idx_);
  if (!st.ok()) return fail(st.error().message);
  return ok_status();
}

Expected<bool> Virtqueue::need_interrupt() {
  if (!broken_.empty()) return Error{broken_};
  if (!started_) return false;
  uint16_t old = signalled_used_;
  uint16_t now = used_idx_;
  signalled_used_ = now;
  if (old == now) return false;
  // The used index is published before the driver's wishes are read.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (event_idx_) {
    auto used_event = mem_.read_obj<uint16_t>(layout_.avail + 4 + 2 * uint64_t{layout_.size});
    if (!used_event.ok()) return fail(used_event.error().message);
    // Interrupt when used_event lies in [old, now): the driver asked to hear
    // once the device passed it.
    return static_cast<uint16_t>(now - *used_event - 1) < static_cast<uint16_t>(now - old);
  }
  auto flags = mem_.read_obj<uint16_t>(layout_.avail);
  if (!flags.ok()) return fail(flags.error().message);
  return (*flags & virtio::kAvailFlagNoInterrupt) == 0;
}

}  // namespace vessel

// The split virtqueue (virtio 1.x, 2.7), device side: the descriptor table,
// the available ring the driver fills and the used ring the device returns
// buffers on, with indirect descriptor tables (VIRTIO_F_INDIRECT_DESC) and
// notification suppression through used_event / avail_event
// (VIRTIO_F_EVENT_IDX).
//
// The guest is hostile. pop() walks a chain checking every descriptor: head
// and next indices inside the queue (or the indirect table), chains no longer
// than the queue (or the table) so a loop ends, buffers inside guest RAM
// without wrapping, indirect tables well formed (a multiple of 16 bytes, in
// RAM, not nested, not combined with NEXT, only when negotiated), no
// device-readable buffer after a device-writable one, and an available index
// that never runs more than the queue size ahead of the device. The first
// violation returns an Error naming it and breaks the queue: every later call
// fails until reset() (the transport then sets DEVICE_NEEDS_RESET).
//
// Threading: a Virtqueue is used by one thread at a time (the transport's
// lock). It keeps a reused segment buffer, so popping allocates nothing once
// the buffer has grown to the longest chain seen.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "memory/guest_memory.h"

namespace vessel {

// One buffer of a descriptor chain: guest-physical, checked to be in RAM.
struct VirtqBuffer {
  uint64_t gpa = 0;
  uint32_t len = 0;
  bool writable = false;  // device-writable (VIRTQ_DESC_F_WRITE)
};

// A chain taken from the available ring: its head (the id returned on the
// used ring) and its buffers, device-readable ones first.
class DescChain {
 public:
  uint16_t head() const { return head_; }
  std::span<const VirtqBuffer> buffers() const { return buffers_; }
  std::span<const VirtqBuffer> readable() const {
    return std::span<const VirtqBuffer>(buffers_).first(readable_count_);
  }
  std::span<const VirtqBuffer> writable() const {
    return std::span<const VirtqBuffer>(buffers_).subspan(readable_count_);
  }
  uint64_t readable_bytes() const { return readable_bytes_; }
  uint64_t writable_bytes() const { return writable_bytes_; }

  // Copies up to `dst.size()` bytes from the readable buffers, starting
  // `offset` bytes in; returns how many were copied.
  Expected<uint64_t> read_from(const GuestMemory& mem, uint64_t offset,
                               std::span<uint8_t> dst) const;
  // Copies `src` into the writable buffers, starting `offset` bytes in, as
  // far as they reach; returns how many bytes were written.
  Expected<uint64_t> write_to(GuestMemory& mem, uint64_t offset,
                              std::span<const uint8_t> src) const;

 private:
  friend class Virtqueue;
  void clear(uint16_t head);

  uint16_t head_ = 0;
  std::vector<VirtqBuffer> buffers_;
  size_t readable_count_ = 0;
  uint64_t readable_bytes_ = 0;
  uint64_t writable_bytes_ = 0;
};

class Virtqueue {
 public:
  struct Layout {
    uint16_t size = 0;   // a power of two, 1..32768
    uint64_t desc = 0;   // descriptor table
    uint64_t avail = 0;  // driver area
    uint64_t used = 0;   // device area
  };

  explicit Virtqueue(GuestMemory& mem) : mem_(mem) {}

  // Checks the layout (size, alignment, every part inside guest RAM) and
  // starts the queue with the negotiated `features` (indirect, event idx).
  Status start(const Layout& layout, uint64_t features);
  // Back to the state before start(): stopped, indices zero, not broken.
  void reset();
  bool started() const { return started_; }
  bool broken() const { return !broken_.empty(); }
  const Layout& layout() const { return layout_; }
  // The guest memory the rings and buffers are in.
  GuestMemory& memory() const { return mem_; }

  // Takes the next available chain into `chain`: true when one was taken,
  // false when the ring is empty (with event idx, avail_event is published
  // first so the driver notifies for the next one). An Error when the driver
  // broke the ring.
  Expected<bool> pop(DescChain& chain);
  // Puts chain `head` on the used ring with `written` bytes written to its
  // writable buffers.
  Status push(uint16_t head, uint32_t written);
  // Puts several chains on the used ring with one index update, so the
  // driver sees all of them or none (a received frame merged over several
  // chains).
  struct UsedElem {
    uint16_t head = 0;
    uint32_t written = 0;
  };
  Status push_many(std::span<const UsedElem> elems);
  // After pushes: whether the driver asked for an interrupt for them
  // (used_event with event idx, else the avail ring's NO_INTERRUPT flag).
  // False when nothing was pushed since the last call.
  Expected<bool> need_interrupt();

  uint16_t last_avail() const { return last_avail_; }
  uint16_t used_idx() const { return used_idx_; }

 private:
  Error fail(std::string message);
  Expected<uint16_t> read_avail_idx() const;
  Status walk(uint16_t head, DescChain& chain);

  GuestMemory& mem_;
  Layout layout_;
  bool started_ = false;
  bool indirect_ = false;
  bool event_idx_ = false;
  uint16_t last_avail_ = 0;      // next available entry the device reads
  uint16_t used_idx_ = 0;        // next used entry the device writes
  uint16_t signalled_used_ = 0;  // used_idx_ when need_interrupt() last ran
  std::string broken_;           // why the queue is broken ("" if it is not)
};

}  // namespace vessel

// A bounded FIFO of Ethernet frames shared by two threads: a network
// backend's receive backlog (frames waiting for the guest to post receive
// buffers) and the hand-over of transmitted frames to a backend thread.
//
// Bounded by a frame count and a byte total; a frame that does not fit is
// dropped and counted. The slots are vectors that keep their capacity:
// frames move in and out by copying into a slot or by swapping buffers, so
// once the slots have grown to the frame sizes seen, nothing is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace vessel {

class FrameQueue {
 public:
  FrameQueue(size_t max_frames, size_t max_bytes);

  // Copies `frame` in. Returns false (and counts a drop) when it does not
  // fit. `was_empty` tells whether the queue was empty before.
  bool push(std::span<const uint8_t> frame, bool* was_empty = nullptr);
  // Moves `frame` in by swapping buffers: `frame` gets a slot's old buffer
  // (of any size) back. Same outcome as push().
  bool push_swap(std::vector<uint8_t>& frame, bool* was_empty = nullptr);
  // Takes the oldest frame by swapping it into `out` (whose old buffer goes
  // back to the slot). False when empty.
  bool pop_swap(std::vector<uint8_t>& out);

  size_t frames() const;
  size_t bytes() const;
  bool full() const;  // no room for another frame
  uint64_t drops() const;
  size_t max_frames() const { return slots_.size(); }
  // Forgets every frame (not the drop count).
  void clear();

 private:
  bool room_locked(size_t len) const;

  mutable std::mutex mu_;
  std::vector<std::vector<uint8_t>> slots_;  // a ring of max_frames slots
  size_t max_bytes_;
  size_t head_ = 0;   // oldest frame
  size_t count_ = 0;  // frames queued
  size_t bytes_ = 0;  // their bytes
  uint64_t drops_ = 0;
};

}  // namespace vessel

#include "net/frame_queue.h"

#include <algorithm>

namespace vessel {

FrameQueue::FrameQueue(size_t max_frames, size_t max_bytes)
    : slots_(std::max<size_t>(max_frames, 1)), max_bytes_(max_bytes) {}

bool FrameQueue::room_locked(size_t len) const {
  return count_ < slots_.size() && bytes_ + len <= max_bytes_;
}

bool FrameQueue::push(std::span<const uint8_t> frame, bool* was_empty) {
  std::lock_guard lock(mu_);
  if (was_empty) *was_empty = count_ == 0;
  if (!room_locked(frame.size())) {
    drops_++;
    return false;
  }
  auto& slot = slots_[(head_ + count_) % slots_.size()];
  slot.assign(frame.begin(), frame.end());  // reuses the slot's capacity
  count_++;
  bytes_ += frame.size();
  return true;
}

bool FrameQueue::push_swap(std::vector<uint8_t>& frame, bool* was_empty) {
  std::lock_guard lock(mu_);
  if (was_empty) *was_empty = count_ == 0;
  if (!room_locked(frame.size())) {
    drops_++;
    return false;
  }
  auto& slot = slots_[(head_ + count_) % slots_.size()];
  slot.swap(frame);
  count_++;
  bytes_ += slot.size();
  return true;
}

bool FrameQueue::pop_swap(std::vector<uint8_t>& out) {
  std::lock_guard lock(mu_);
  if (count_ == 0) return false;
  auto& slot = slots_[head_];
  out.swap(slot);
  head_ = (head_ + 1) % slots_.size();
  count_--;
  bytes_ -= out.size();
  return true;
}

size_t FrameQueue::frames() const {
  std::lock_guard lock(mu_);
  return count_;
}

size_t FrameQueue::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

bool FrameQueue::full() const {
  std::lock_guard lock(mu_);
  return count_ == slots_.size() || bytes_ >= max_bytes_;
}

uint64_t FrameQueue::drops() const {
  std::lock_guard lock(mu_);
  return drops_;
}

void FrameQueue::clear() {
  std::lock_guard lock(mu_);
  head_ = count_ = bytes_ = 0;
}

}  // namespace vessel

// Which guest RAM pages hold code a software vCPU has cached, and the
// notices a store from outside the vCPUs (device DMA, the VMM) into such a
// page sends them, so they drop the overwritten blocks before running them
// again.
//
// Each page has a count of the vCPUs caching code on it (a vCPU's block
// cache watches a page before it reads code bytes from it, and unwatches it
// when no block is left there). A writer stores its bytes first, then, after
// a full fence, reads the counts of the pages it wrote: either the vCPU's
// watch came first and the writer sees it and queues a notice, or the
// writer's bytes came first and the vCPU decodes the new bytes. A notice is a
// range pushed onto every registered CodeWriteQueue (one per soft vCPU)
// plus an atomic flag the vCPU polls between blocks. The vCPU's hot path
// takes no lock; writers take one only when they hit a watched page.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace vessel {

// The notices for one vCPU: written ranges, bounded (past kCapacity the
// queue only remembers that it overflowed, and the vCPU drops all its code).
class CodeWriteQueue {
 public:
  struct Range {
    uint64_t gpa;
    uint64_t len;
  };
  static constexpr size_t kCapacity = 64;

  CodeWriteQueue() { ranges_.reserve(kCapacity); }
  // Any thread: [gpa, gpa + len) was written.
  void push(uint64_t gpa, uint64_t len);
  // Set while notices wait; the vCPU polls it between blocks.
  const std::atomic<bool>& pending() const { return pending_; }
  // The vCPU: appends the waiting ranges to `out` and clears the queue;
  // false when some were lost to overflow.
  template <typename Out>
  bool take(std::vector<Out>& out) {
    std::lock_guard lock(mu_);
    pending_.store(false, std::memory_order_relaxed);
    for (const Range& r : ranges_) out.push_back(Out{r.gpa, r.len});
    ranges_.clear();
    bool complete = !overflow_;
    overflow_ = false;
    return complete;
  }

 private:
  std::mutex mu_;
  std::vector<Range> ranges_;  // guarded by mu_
  bool overflow_ = false;      // guarded by mu_
  std::atomic<bool> pending_{false};
};

class CodeTracker {
 public:
  struct Span {
    uint64_t gpa;   // first byte
    uint64_t size;  // bytes (a multiple of 4 KiB)
  };
  // Tracks the pages of the RAM regions `spans`; null when the host has no
  // address space left for the counts.
  static std::unique_ptr<CodeTracker> create(const std::vector<Span>& spans);
  ~CodeTracker();
  CodeTracker(const CodeTracker&) = delete;
  CodeTracker& operator=(const CodeTracker&) = delete;

  // A vCPU starts or stops caching code on `gpa_page` (ignored outside RAM).
  // watch() is a full barrier: bytes read after it are either the latest or
  // a notice for the newer ones follows.
  void watch(uint64_t gpa_page);
  void unwatch(uint64_t gpa_page);
  // Whether some vCPU caches code on the page of `gpa`.
  bool watched(uint64_t gpa) const;

  void add_queue(CodeWriteQueue* queue);
  void remove_queue(CodeWriteQueue* queue);

  // After [gpa, gpa + len) was stored to: notices for the watched pages.
  void note_write(uint64_t gpa, uint64_t len);

 private:
  struct Region {
    uint64_t gpa, pages;
    uint16_t* counts;  // per page, used only through __atomic builtins
  };
  CodeTracker() = default;
  uint16_t* count_of(uint64_t gpa) const;

  std::vector<Region> regions_;
  std::mutex mu_;
  std::vector<CodeWriteQueue*> queues_;  // guarded by mu_
};

}  // namespace vessel

#include "memory/code_tracker.h"

#include <sys/mman.h>

#include <algorithm>

namespace vessel {

void CodeWriteQueue::push(uint64_t gpa, uint64_t len) {
  {
    std::lock_guard lock(mu_);
    if (!ranges_.empty()) {
      Range& last = ranges_.back();
      if (gpa >= last.gpa && gpa <= last.gpa + last.len) {  // overlaps or extends the last one
        last.len = std::max(last.gpa + last.len, gpa + len) - last.gpa;
        pending_.store(true, std::memory_order_release);
        return;
      }
    }
    if (ranges_.size() < kCapacity)
      ranges_.push_back({gpa, len});
    else
      overflow_ = true;
  }
  pending_.store(true, std::memory_order_release);
}

std::unique_ptr<CodeTracker> CodeTracker::create(const std::vector<Span>& spans) {
  std::unique_ptr<CodeTracker> t(new CodeTracker());
  for (const Span& s : spans) {
    uint64_t pages = s.size >> 12;
    // One count per page, in MAP_NORESERVE memory: the counts of pages
    // nobody caches code on stay zero pages and cost nothing.
    void* p = ::mmap(nullptr, std::max<uint64_t>(pages * sizeof(uint16_t), 1),
                     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    t->regions_.push_back({s.gpa, pages, static_cast<uint16_t*>(p)});
  }
  return t;
}

CodeTracker::~CodeTracker() {
  for (const Region& r : regions_)
    ::munmap(r.counts, std::max<uint64_t>(r.pages * sizeof(uint16_t), 1));
}

uint16_t* CodeTracker::count_of(uint64_t gpa) const {
  for (const Region& r : regions_) {
    uint64_t page = (gpa - r.gpa) >> 12;
    if (gpa >= r.gpa && page < r.pages) return r.counts + page;
  }
  return nullptr;
}

void CodeTracker::watch(uint64_t gpa_page) {
  if (uint16_t* c = count_of(gpa_page)) __atomic_fetch_add(c, 1, __ATOMIC_SEQ_CST);
}

void CodeTracker::unwatch(uint64_t gpa_page) {
  if (uint16_t* c = count_of(gpa_page)) __atomic_fetch_sub(c, 1, __ATOMIC_SEQ_CST);
}

bool CodeTracker::watched(uint64_t gpa) const {
  const uint16_t* c = count_of(gpa);
  return c && __atomic_load_n(c, __ATOMIC_SEQ_CST) != 0;
}

void CodeTracker::add_queue(CodeWriteQueue* queue) {
  std::lock_guard lock(mu_);
  queues_.push_back(queue);
}

void CodeTracker::remove_queue(CodeWriteQueue* queue) {
  std::lock_guard lock(mu_);
  queues_.erase(std::remove(queues_.begin(), queues_.end(), queue), queues_.end());
}

void CodeTracker::note_write(uint64_t gpa, uint64_t len) {
  if (len == 0) return;
  // The bytes were stored before this fence; a vCPU's watch is a locked
  // read-modify-write. One of the two sees the other (see the header).
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  uint64_t end = gpa + len;
  for (uint64_t at = gpa; at < end;) {
    uint64_t stop = std::min(end, (at | 0xFFF) + 1);
    if (const uint16_t* c = count_of(at); c && __atomic_load_n(c, __ATOMIC_RELAXED) != 0) {
      std::lock_guard lock(mu_);
      for (CodeWriteQueue* q : queues_) q->push(at, stop - at);
    }
    at = stop;
  }
}

}  // namespace vessel

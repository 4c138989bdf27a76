#include "virtio/virtio_balloon.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "base/event_loop.h"
#include "base/log.h"
#include "virtio/virtio_spec.h"

namespace vessel {

namespace {

// reject() kinds, each logged once per device.
enum RejectBit : unsigned {
  kBadPfnLength = 0,
  kPfnOutsideRam = 1,
  kWritableBuffer = 2,
  kBadStatsLength = 3,
  kBadReport = 4,
  kDiscardFailed = 5,
};

// Statistics read from one statsq buffer at most; the rest is ignored.
constexpr uint64_t kMaxStatsPerBuffer = 64;
// PFNs read from guest memory at a time.
constexpr size_t kPfnBatch = 256;

}  // namespace

std::string_view VirtioBalloon::stat_name(uint16_t tag) {
  static constexpr std::array<std::string_view, kMaxStatTags> kNames = {
      "swap-in",          "swap-out",     "major-faults",
      "minor-faults",     "free-memory",  "total-memory",
      "available-memory", "disk-caches",  "hugetlb-allocations",
      "hugetlb-failures", "oom-kills",    "alloc-stalls",
      "async-scans",      "direct-scans", "async-reclaims",
      "direct-reclaims",
  };
  return tag < kNames.size() ? kNames[tag] : std::string_view();
}

VirtioBalloon::VirtioBalloon(const Options& options) : options_(options) {}

VirtioBalloon::~VirtioBalloon() {
  if (loop_ && timer_ != EventLoop::kNoTimer) loop_->remove_timer(timer_);
  // A summary for -v (the system test reads it).
  Counters c = balloon_counters();
  log_info(
      "virtio-balloon: target {} pages, actual {}, inflated {}, deflated {}, reported {}, "
      "rejected {}",
      c.target_pages, c.actual_pages, c.inflated_pages, c.deflated_pages, c.reported_pages,
      c.rejected);
  Stats s = stats();
  if (!s.valid) return;
  std::string line;
  for (uint16_t tag = 0; tag < kMaxStatTags; tag++) {
    if (s.values[tag]) line += fmt::format(" {}={}", stat_name(tag), *s.values[tag]);
  }
  log_info("virtio-balloon: guest statistics{} ({} ms old)", line,
           std::chrono::duration_cast<std::chrono::milliseconds>(s.age).count());
}

uint16_t VirtioBalloon::device_type() const {
  return virtio::kDeviceBalloon;
}

uint64_t VirtioBalloon::device_features() const {
  uint64_t f = kFeatureStatsVq;
  if (options_.deflate_on_oom) f |= kFeatureDeflateOnOom;
  if (options_.free_page_reporting) f |= kFeaturePageReporting;
  return f;
}

VirtioBalloon::QueueKind VirtioBalloon::queue_kind(uint16_t q) const {
  uint64_t f = features_.load(std::memory_order_acquire);
  // The queues that exist under `f`, in the spec's order, numbered densely.
  std::array<QueueKind, kNumQueues> present{};
  size_t n = 0;
  present[n++] = QueueKind::kInflate;
  present[n++] = QueueKind::kDeflate;
  if (f & kFeatureStatsVq) present[n++] = QueueKind::kStats;
  if (f & kFeaturePageReporting) present[n++] = QueueKind::kReporting;
  return q < n ? present[q] : QueueKind::kNone;
}

std::optional<uint16_t> VirtioBalloon::stats_queue() const {
  for (uint16_t q = 0; q < kNumQueues; q++) {
    if (queue_kind(q) == QueueKind::kStats) return q;
  }
  return std::nullopt;
}

void VirtioBalloon::set_target_bytes(uint64_t bytes) {
  uint64_t pages = std::min<uint64_t>(bytes >> kPageShift, UINT32_MAX);
  num_pages_.store(static_cast<uint32_t>(pages), std::memory_order_release);
  if (host_) host_->config_changed();
}

void VirtioBalloon::request_stats() {
  want_stats_.store(true, std::memory_order_release);
  auto q = stats_queue();
  if (q && host_) host_->kick(*q);
}

VirtioBalloon::Stats VirtioBalloon::stats() const {
  std::lock_guard lock(stats_mu_);
  Stats s = stats_;
  if (s.valid) s.age = std::chrono::steady_clock::now() - stats_time_;
  return s;
}

VirtioBalloon::Counters VirtioBalloon::balloon_counters() const {
  Counters c;
  c.target_pages = num_pages_.load(std::memory_order_acquire);
  c.actual_pages = actual_.load(std::memory_order_acquire);
  c.inflated_pages = inflated_.load(std::memory_order_relaxed);
  c.deflated_pages = deflated_.load(std::memory_order_relaxed);
  c.reported_pages = reported_.load(std::memory_order_relaxed);
  c.rejected = rejected_.load(std::memory_order_relaxed);
  return c;
}

std::vector<std::pair<std::string, uint64_t>> VirtioBalloon::counters() const {
  Counters c = balloon_counters();
  return {{"target_pages", c.target_pages},     {"actual_pages", c.actual_pages},
          {"inflated_pages", c.inflated_pages}, {"deflated_pages", c.deflated_pages},
          {"reported_pages", c.reported_pages}, {"rejected", c.rejected}};
}

void VirtioBalloon::config_read(uint32_t offset, std::span<uint8_t> data) {
  std::array<uint8_t, kConfigSize> cfg{};
  uint32_t num_pages = num_pages_.load(std::memory_order_acquire);
  uint32_t actual = actual_.load(std::memory_order_acquire);
  std::memcpy(cfg.data() + kConfigNumPages, &num_pages, 4);
  std::memcpy(cfg.data() + kConfigActual, &actual, 4);
  for (size_t i = 0; i < data.size(); i++) {
    uint64_t at = uint64_t{offset} + i;
    data[i] = at < kConfigSize ? cfg[at] : 0;
  }
}

void VirtioBalloon::config_write(uint32_t offset, std::span<const uint8_t> data) {
  // Only `actual` is the driver's to write; the rest is read-only.
  uint32_t actual = actual_.load(std::memory_order_acquire);
  uint8_t bytes[4];
  std::memcpy(bytes, &actual, 4);
  bool touched = false;
  for (size_t i = 0; i < data.size(); i++) {
    uint64_t at = uint64_t{offset} + i;
    if (at >= kConfigActual && at < kConfigActual + 4) {
      bytes[at - kConfigActual] = data[i];
      touched = true;
    }
  }
  if (!touched) return;
  std::memcpy(&actual, bytes, 4);
  uint32_t before = actual_.exchange(actual, std::memory_order_acq_rel);
  uint32_t target = num_pages_.load(std::memory_order_acquire);
  if (actual != before && actual == target) {
    log_info("virtio-balloon: the balloon reached its target of {} pages ({} MiB)", target,
             (uint64_t{target} << kPageShift) >> 20);
  }
}

void VirtioBalloon::activate(uint64_t features) {
  features_.store(features, std::memory_order_release);
}

void VirtioBalloon::reset() {
  features_.store(0, std::memory_order_release);
  actual_.store(0, std::memory_order_release);
  want_stats_.store(false, std::memory_order_release);
  stats_head_.reset();
}

Status VirtioBalloon::attach_event_loop(EventLoop& loop) {
  loop_ = &loop;
  if (options_.stats_period.count() <= 0) return ok_status();
  VESSEL_ASSIGN(timer_, loop.add_timer(options_.stats_period, /*periodic=*/true,
                                       [this] { request_stats(); }));
  return ok_status();
}

void VirtioBalloon::reject(unsigned bit, std::string_view what) {
  rejected_.fetch_add(1, std::memory_order_relaxed);
  if (warned_ & (1u << bit)) return;
  warned_ |= 1u << bit;
  log_warn("virtio-balloon: {} (logged once)", what);
}

Status VirtioBalloon::process_queue(uint16_t q, Virtqueue& vq) {
  switch (queue_kind(q)) {
    case QueueKind::kInflate:
      return process_pages(vq, /*inflate=*/true);
    case QueueKind::kDeflate:
      return process_pages(vq, /*inflate=*/false);
    case QueueKind::kStats:
      return process_stats(vq);
    case QueueKind::kReporting:
      return process_reporting(vq);
    case QueueKind::kNone:
      break;
  }
  // A queue the negotiated features do not have: return its chains unused.
  for (;;) {
    auto got = vq.pop(chain_);
    if (!got.ok()) return got.error();
    if (!*got) return ok_status();
    VESSEL_TRY(vq.push(chain_.head(), 0));
  }
}

Status VirtioBalloon::process_pages(Virtqueue& vq, bool inflate) {
  GuestMemory& mem = vq.memory();
  std::array<uint32_t, kPfnBatch> pfns;
  for (;;) {
    auto got = vq.pop(chain_);
    if (!got.ok()) return got.error();
    if (!*got) return ok_status();
    if (!chain_.writable().empty()) reject(kWritableBuffer, "a PFN chain has a writable buffer");
    if (chain_.readable_bytes() % 4 != 0) {
      reject(kBadPfnLength, "a PFN buffer is not a whole number of 32-bit PFNs");
    }
    uint64_t total = chain_.readable_bytes() / 4;
    // Runs of consecutive PFNs are discarded with one madvise.
    uint64_t run_start = 0, run_pages = 0;
    auto flush = [&] {
      if (run_pages == 0) return;
      if (inflate) {
        auto st = mem.discard(run_start << kPageShift, run_pages << kPageShift);
        if (!st.ok()) reject(kDiscardFailed, st.error().message);
      }
      run_pages = 0;
    };
    for (uint64_t done = 0; done < total;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kPfnBatch, total - done));
      auto read = chain_.read_from(
          mem, done * 4, std::span<uint8_t>(reinterpret_cast<uint8_t*>(pfns.data()), n * 4));
      if (!read.ok()) return read.error();
      for (size_t i = 0; i < n; i++) {
        uint64_t pfn = pfns[i];
        if (!mem.contains(pfn << kPageShift, kPageSize)) {
          reject(kPfnOutsideRam, "a PFN outside guest RAM");
          continue;
        }
        if (run_pages && pfn == run_start + run_pages) {
          run_pages++;
        } else {
          flush();
          run_start = pfn;
          run_pages = 1;
        }
        (inflate ? inflated_ : deflated_).fetch_add(1, std::memory_order_relaxed);
      }
      done += n;
    }
    flush();
    VESSEL_TRY(vq.push(chain_.head(), 0));
  }
}

void VirtioBalloon::parse_stats(const GuestMemory& mem) {
  if (chain_.readable_bytes() % kStatSize != 0) {
    reject(kBadStatsLength, "a statistics buffer is not a whole number of statistics");
  }
  uint64_t n = std::min(chain_.readable_bytes() / kStatSize, kMaxStatsPerBuffer);
  std::array<uint8_t, kMaxStatsPerBuffer * kStatSize> raw;
  auto read = chain_.read_from(mem, 0, std::span<uint8_t>(raw.data(), n * kStatSize));
  if (!read.ok() || *read != n * kStatSize) return;
  Stats fresh;
  fresh.valid = true;
  for (uint64_t i = 0; i < n; i++) {
    uint16_t tag;
    uint64_t value;
    std::memcpy(&tag, raw.data() + i * kStatSize, 2);
    std::memcpy(&value, raw.data() + i * kStatSize + 2, 8);
    if (tag < kMaxStatTags) fresh.values[tag] = value;
  }
  std::lock_guard lock(stats_mu_);
  stats_ = fresh;
  stats_time_ = std::chrono::steady_clock::now();
}

Status VirtioBalloon::process_stats(Virtqueue& vq) {
  for (;;) {
    auto got = vq.pop(chain_);
    if (!got.ok()) return got.error();
    if (!*got) break;
    // The driver only ever has one buffer out; a second one returns the
    // first rather than leaking it.
    if (stats_head_) VESSEL_TRY(vq.push(*stats_head_, 0));
    if (!chain_.writable().empty())
      reject(kWritableBuffer, "a statistics chain has a writable buffer");
    parse_stats(vq.memory());
    stats_head_ = chain_.head();
  }
  // Returning the buffer is how the device asks for fresh values.
  if (stats_head_ && want_stats_.exchange(false, std::memory_order_acq_rel)) {
    uint16_t head = *stats_head_;
    stats_head_.reset();
    VESSEL_TRY(vq.push(head, 0));
  }
  return ok_status();
}

Status VirtioBalloon::process_reporting(Virtqueue& vq) {
  GuestMemory& mem = vq.memory();
  for (;;) {
    auto got = vq.pop(chain_);
    if (!got.ok()) return got.error();
    if (!*got) return ok_status();
    // Linux hands the free ranges as device-writable buffers; either kind
    // is a range to discard. Nothing is written back.
    for (const VirtqBuffer& b : chain_.buffers()) {
      auto st = mem.discard(b.gpa, b.len);
      if (!st.ok()) {
        reject(kBadReport, st.error().message);
        continue;
      }
      reported_.fetch_add(b.len >> kPageShift, std::memory_order_relaxed);
    }
    VESSEL_TRY(vq.push(chain_.head(), 0));
  }
}

}  // namespace vessel

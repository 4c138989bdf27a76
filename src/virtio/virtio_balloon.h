// virtio-balloon, the memory balloon (virtio 1.2, 5.5). The host sets a
// target (num_pages, 4 KiB pages); the guest's driver inflates the balloon
// towards it by handing pages to the device on inflateq (their PFNs) and
// takes them back on deflateq, then writes the balloon's size to `actual`.
// Inflated pages are given back to the host (GuestMemory::discard, madvise),
// so vessel's resident memory falls; deflated pages need nothing (anonymous
// memory refills with zeros on the next touch).
//
// Features offered: STATS_VQ (the guest's memory statistics on statsq),
// PAGE_REPORTING (free page reporting: the guest hands ranges of free memory
// on reporting_vq, which are discarded too) and, when configured,
// DEFLATE_ON_OOM. Not offered: MUST_TELL_HOST (the device never needs to
// hear before a page is reused), FREE_PAGE_HINT, PAGE_POISON.
//
// Queues: the transport always has four (inflateq, deflateq and two more);
// which is which depends on the negotiated features, as the spec numbers
// only the queues that exist: 0 inflateq, 1 deflateq, then statsq if
// STATS_VQ, then reporting_vq if PAGE_REPORTING (free_page_vq would come
// between them, but FREE_PAGE_HINT is never offered).
//
// Statistics (5.5.6.3): the driver puts one buffer of (tag u16, value u64)
// pairs on statsq; the device keeps it and returns it when it wants fresh
// values, and the driver answers with the buffer refilled. The device asks
// on request_stats() and every stats period.
//
// Hostile guests: PFNs outside RAM, lengths that are not whole PFNs or
// statistics, unaligned reports are logged once each and skipped; the chain
// is returned all the same and nothing crashes.
//
// Threading: set_target_bytes(), request_stats(), stats() and balloon_counters() are
// safe from any thread (the lead's API); the rest runs under the transport's
// lock like every VirtioDevice.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

#include "base/event_loop.h"
#include "virtio/virtio_device.h"

namespace vessel {

class VirtioBalloon : public VirtioDevice {
 public:
  // Feature bits (5.5.3).
  static constexpr uint64_t kFeatureMustTellHost = 1ull << 0;
  static constexpr uint64_t kFeatureStatsVq = 1ull << 1;
  static constexpr uint64_t kFeatureDeflateOnOom = 1ull << 2;
  static constexpr uint64_t kFeatureFreePageHint = 1ull << 3;
  static constexpr uint64_t kFeaturePagePoison = 1ull << 4;
  static constexpr uint64_t kFeaturePageReporting = 1ull << 5;

  // The balloon's page: PFNs on inflateq/deflateq count 4 KiB pages.
  static constexpr uint64_t kPageShift = 12;
  static constexpr uint64_t kPageSize = 1ull << kPageShift;
  static constexpr uint16_t kQueueSize = 128;
  static constexpr uint16_t kNumQueues = 4;
  // Configuration (5.5.4): num_pages u32, actual u32, free_page_hint_cmd_id
  // u32, poison_val u32.
  static constexpr uint32_t kConfigNumPages = 0;
  static constexpr uint32_t kConfigActual = 4;
  static constexpr uint32_t kConfigSize = 16;
  // One statistic on statsq: le16 tag, le64 value, packed.
  static constexpr uint32_t kStatSize = 10;

  enum class QueueKind { kInflate, kDeflate, kStats, kReporting, kNone };

  struct Options {
    bool deflate_on_oom = false;
    bool free_page_reporting = true;
    // How often the device asks for fresh statistics; 0: only on request.
    std::chrono::seconds stats_period{5};
  };

  // The statistics tags (5.5.6.3); Linux sends some beyond these, kept too.
  enum StatTag : uint16_t {
    kStatSwapIn = 0,
    kStatSwapOut = 1,
    kStatMajorFaults = 2,
    kStatMinorFaults = 3,
    kStatFreeMemory = 4,
    kStatTotalMemory = 5,
    kStatAvailableMemory = 6,
    kStatDiskCaches = 7,
    kStatHugetlbAllocations = 8,
    kStatHugetlbFailures = 9,
  };
  static constexpr size_t kMaxStatTags = 16;
  // A short name for a tag ("swap-in", "free-memory", ...), "" if unknown.
  static std::string_view stat_name(uint16_t tag);

  struct Stats {
    // values[tag], for the tags the guest sent in its last answer.
    std::array<std::optional<uint64_t>, kMaxStatTags> values{};
    // Whether the guest has ever sent statistics, and how long ago it last did.
    bool valid = false;
    std::chrono::steady_clock::duration age{};
  };

  struct Counters {
    uint32_t target_pages = 0;    // num_pages, the host's target
    uint32_t actual_pages = 0;    // actual, as the driver last wrote it
    uint64_t inflated_pages = 0;  // PFNs taken on inflateq (and discarded)
    uint64_t deflated_pages = 0;  // PFNs taken on deflateq
    uint64_t reported_pages = 0;  // 4 KiB pages discarded from reporting_vq
    uint64_t rejected = 0;        // PFNs / ranges skipped as bad input
  };

  explicit VirtioBalloon(const Options& options);
  ~VirtioBalloon() override;

  // --- Any thread ---
  // Sets the target to `bytes` (rounded down to 4 KiB pages, at most
  // 2^32-1 pages) and tells the driver with a configuration change.
  void set_target_bytes(uint64_t bytes);
  // Asks the guest for fresh statistics now (if it has a buffer out).
  void request_stats();
  Stats stats() const;
  Counters balloon_counters() const;
  std::vector<std::pair<std::string, uint64_t>> counters() const override;
  // The role of transport queue `q` under the negotiated features.
  QueueKind queue_kind(uint16_t q) const;

  // --- VirtioDevice ---
  std::string_view name() const override { return "balloon"; }
  uint16_t device_type() const override;
  uint64_t device_features() const override;
  uint16_t num_queues() const override { return kNumQueues; }
  uint16_t queue_max_size(uint16_t) const override { return kQueueSize; }
  uint32_t config_size() const override { return kConfigSize; }
  void config_read(uint32_t offset, std::span<uint8_t> data) override;
  void config_write(uint32_t offset, std::span<const uint8_t> data) override;
  void activate(uint64_t features) override;
  void reset() override;
  Status process_queue(uint16_t q, Virtqueue& vq) override;
  Status attach_event_loop(EventLoop& loop) override;

 private:
  Status process_pages(Virtqueue& vq, bool inflate);
  Status process_stats(Virtqueue& vq);
  Status process_reporting(Virtqueue& vq);
  void parse_stats(const GuestMemory& mem);
  // Logs `what` the first time bad input of kind `bit` shows up.
  void reject(unsigned bit, std::string_view what);
  std::optional<uint16_t> stats_queue() const;

  Options options_;
  DescChain chain_;
  std::atomic<uint64_t> features_{0};  // negotiated, 0 before DRIVER_OK
  std::atomic<uint32_t> num_pages_{0};
  std::atomic<uint32_t> actual_{0};
  std::atomic<uint64_t> inflated_{0}, deflated_{0}, reported_{0}, rejected_{0};
  std::atomic<bool> want_stats_{false};
  // The stats buffer the device holds (statsq), under the transport's lock.
  std::optional<uint16_t> stats_head_;
  unsigned warned_ = 0;  // reject() bits already logged

  mutable std::mutex stats_mu_;  // guards stats_ and stats_time_
  Stats stats_;
  std::chrono::steady_clock::time_point stats_time_{};

  EventLoop* loop_ = nullptr;
  EventLoop::TimerId timer_ = EventLoop::kNoTimer;
};

}  // namespace vessel

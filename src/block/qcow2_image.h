// The qcow2 image behind block/qcow2.h (internal to the qcow2_*.cc files).
//
// Layout facts (qcow2 specification, all integers big-endian): a header in
// cluster 0; a guest cluster index splits into an L1 index and an L2 index;
// L1 entries point at L2 tables (one cluster each), L2 entries at data
// clusters. Every host cluster has a reference count, kept in refcount
// blocks (one cluster each) that the refcount table points at. Bit 63 of an
// L1/L2 entry (COPIED) says the cluster's refcount is exactly 1, so it may
// be written in place; otherwise it is shared with a snapshot and copied
// before a write.
//
// Metadata handling here: the L1 table and the refcount table live in
// memory whole; L2 tables and refcount blocks go through a bounded cache of
// cluster buffers. Changes are marked dirty and written at the end of each
// operation in a crash-safe order: refcount blocks, then L2 tables, then L1;
// clusters freed by the operation lose their references first and their
// refcounts afterwards. New clusters are only ever taken from the end of
// the file (see block_image.h), which is extended before anything points
// there. All metadata I/O uses aligned buffers and offsets/lengths that are
// multiples of meta_align_, so it also works on an O_DIRECT file.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/owned_fd.h"
#include "block/block_image.h"

namespace vessel::qcow2 {

inline constexpr uint32_t kMagic = 0x514649fb;  // "QFI\xfb"
inline constexpr uint64_t kCopied = 1ull << 63;
inline constexpr uint64_t kCompressed = 1ull << 62;
inline constexpr uint64_t kZeroFlag = 1ull;
inline constexpr uint64_t kOffsetMask = 0x00fffffffffffe00ull;  // bits 9..55
// Incompatible feature bits.
inline constexpr uint64_t kIncompatDirty = 1ull << 0;
inline constexpr uint64_t kIncompatCorrupt = 1ull << 1;
inline constexpr uint64_t kIncompatDataFile = 1ull << 2;
inline constexpr uint64_t kIncompatCompression = 1ull << 3;
inline constexpr uint64_t kIncompatExtendedL2 = 1ull << 4;
// Header field offsets.
inline constexpr size_t kHdrRefcountTableOffset = 48;
inline constexpr size_t kHdrAutoclear = 88;
inline constexpr size_t kV2HeaderLength = 72;
inline constexpr size_t kV3HeaderLength = 104;
// Upper bounds on in-memory tables, against hostile headers.
inline constexpr uint64_t kMaxTableBytes = 32ull << 20;

inline uint64_t load_be(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}
inline void store_be(uint8_t* p, int bytes, uint64_t v) {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

// A zeroed buffer aligned to BlockImage::kDirectAlign.
class AlignedBuf {
 public:
  AlignedBuf() = default;
  static Expected<AlignedBuf> make(size_t size);
  uint8_t* data() const { return ptr_.get(); }
  size_t size() const { return size_; }
  uint64_t be64(size_t index) const { return load_be(data() + index * 8, 8); }
  void set_be64(size_t index, uint64_t v) { store_be(data() + index * 8, 8, v); }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> ptr_;
  size_t size_ = 0;
};

// One cached metadata cluster (an L2 table or a refcount block) and the
// byte range of it that still has to be written.
struct MetaCluster {
  uint64_t offset = 0;
  bool is_l2 = false;
  AlignedBuf buf;
  size_t dirty_lo = 0, dirty_hi = 0;
  std::list<uint64_t>::iterator lru;
};

struct Header {
  uint32_t version = 0;
  uint32_t cluster_bits = 0;
  uint64_t size = 0;
  uint32_t l1_size = 0;
  uint64_t l1_offset = 0;
  uint64_t refcount_table_offset = 0;
  uint32_t refcount_table_clusters = 0;
  uint32_t refcount_order = 4;
  uint64_t incompatible = 0;
  uint64_t autoclear = 0;
};

class Qcow2Image : public BlockImage {
 public:
  // Parses and checks the header and reads the tables (qcow2.cc).
  static Expected<std::unique_ptr<BlockImage>> open(OwnedFd fd, const BlockOpenOptions& options);

  std::string_view format() const override { return "qcow2"; }
  uint64_t size() const override { return size_; }
  bool read_only() const override { return read_only_; }
  int fd() const override { return fd_.get(); }
  CacheMode cache() const override { return cache_; }

  Status map(uint64_t offset, uint64_t length, bool write, std::vector<BlockRun>& runs) override;
  Status flush() override;
  Status write_zeroes(uint64_t offset, uint64_t length, bool unmap) override;
  Status discard(uint64_t offset, uint64_t length) override;

 private:
  Qcow2Image() = default;

  // --- qcow2_meta.cc: metadata I/O, cache, refcounts, allocation.
  Status read_meta(uint64_t offset, uint8_t* out, size_t length);
  Status write_meta(uint64_t offset, const uint8_t* data, size_t lo, size_t hi);
  Expected<MetaCluster*> load_cluster(uint64_t offset, bool is_l2);
  Expected<MetaCluster*> new_cluster(uint64_t offset, bool is_l2);
  void mark_dirty(MetaCluster* m, size_t lo, size_t hi);
  void mark_l1_dirty(size_t index);
  Status flush_dirty();
  // Writes back what is dirty and frees what the operation released; called
  // at the end of every operation and at safe points inside long ones.
  Status finish_op();
  Status trim_cache();
  // Calls step(gc, in, n) for each piece of guest bytes [offset, offset +
  // length) inside one guest cluster gc (starting `in` bytes into it, `n`
  // long), trimming the metadata cache before each, then finish_op(). The
  // first error is returned (finish_op() runs either way). qcow2_map.cc.
  template <typename Step>
  Status for_each_cluster(uint64_t offset, uint64_t length, Step step);
  // Whether the piece (gc, in, n) covers guest cluster gc whole, or up to
  // the disk's end.
  bool whole_cluster(uint64_t gc, uint64_t in, uint64_t n) const {
    return in == 0 && (n == cluster_size_ || (gc << cluster_bits_) + n == size_);
  }
  Status check_host_cluster(uint64_t offset, const char* what) const;
  uint64_t refblock_entries() const { return (cluster_size_ * 8) >> refcount_order_; }
  uint64_t refcount_max() const {
    return refcount_order_ == 6 ? ~0ull : (1ull << (1u << refcount_order_)) - 1;
  }
  uint64_t get_refcount_in(const uint8_t* block, uint64_t index) const;
  void set_refcount_in(uint8_t* block, uint64_t index, uint64_t value) const;
  Expected<uint64_t> get_refcount(uint64_t host_offset);
  // Sets a cluster's refcount, allocating refcount blocks (and growing the
  // refcount table) as needed.
  Status set_refcount(uint64_t host_offset, uint64_t value);
  Expected<MetaCluster*> refblock_for(uint64_t host_offset, bool allocate);
  Status grow_refcount_table(uint64_t needed_index);
  Status extend_file(uint64_t end);
  // Takes `count` contiguous clusters at the end of the file, refcount 1.
  Expected<uint64_t> alloc_clusters(uint64_t count);
  // Drops one reference now (the caller has already removed the pointer
  // to it from the tables on disk).
  Status release_cluster(uint64_t host_offset, bool punch);

  // --- qcow2_map.cc: guest cluster lookup and update.
  Status check_range(uint64_t offset, uint64_t length, bool write) const;
  // The L2 entry of guest cluster `gc` (0 when its L2 table is missing).
  Expected<uint64_t> l2_entry(uint64_t gc);
  // The L2 table of guest cluster `gc`, allocated or copied so that it may
  // be changed.
  Expected<MetaCluster*> writable_l2(uint64_t gc);
  // The host cluster of `gc` to write to (allocating / copying it).
  Expected<uint64_t> writable_cluster(uint64_t gc);
  enum class Drop { kDiscard, kZeroes, kZeroesUnmap };
  Status drop_cluster(uint64_t gc, Drop how);
  Status zero_partial(uint64_t offset, uint64_t length);

  OwnedFd fd_;
  bool read_only_ = true;
  CacheMode cache_ = CacheMode::kWriteback;
  uint32_t version_ = 3;
  uint32_t cluster_bits_ = 16;
  uint64_t cluster_size_ = 0;
  uint32_t l2_bits_ = 0;  // log2 of the entries per L2 table
  uint64_t size_ = 0;
  uint32_t refcount_order_ = 4;
  uint64_t meta_align_ = BlockImage::kSectorSize;

  AlignedBuf header_;  // the first header_.size() bytes of cluster 0
  uint64_t l1_offset_ = 0;
  uint64_t l1_entries_ = 0;
  AlignedBuf l1_;  // whole clusters
  size_t l1_dirty_lo_ = 0, l1_dirty_hi_ = 0;
  uint64_t reftable_offset_ = 0;
  AlignedBuf reftable_;  // refcount_table_clusters whole clusters

  uint64_t file_size_ = 0;  // as far as this image knows (it extends it)
  uint64_t next_free_ = 0;  // where the next cluster is taken from

  std::unordered_map<uint64_t, std::unique_ptr<MetaCluster>> cache_map_;
  std::list<uint64_t> lru_;  // front: most recently used
  size_t cache_limit_ = 0;   // clusters
  struct PendingFree {
    uint64_t host_offset;
    bool punch;
  };
  std::vector<PendingFree> pending_free_;
  bool dirty_ = false;  // something in the cache or L1 waits to be written

  std::mutex mu_;
};

}  // namespace vessel::qcow2

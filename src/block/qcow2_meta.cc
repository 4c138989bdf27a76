// qcow2 metadata: aligned I/O, the L2 table / refcount block cache with its
// ordered write-back, refcounts, and cluster allocation at the end of the
// file (growing the refcount table when it is full).
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "block/block_file.h"
#include "block/qcow2_image.h"

namespace vessel::qcow2 {

Status Qcow2Image::read_meta(uint64_t offset, uint8_t* out, size_t length) {
  // Like read_file_exact, but what lies past the end of the file reads as
  // zero (qemu-img leaves the last table's cluster short).
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd_.get(), out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return make_error("qcow2 metadata read at {:#x}: {}", offset + done, std::strerror(errno));
    }
    if (n == 0) {
      std::memset(out + done, 0, length - done);
      break;
    }
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

Status Qcow2Image::write_meta(uint64_t offset, const uint8_t* data, size_t lo, size_t hi) {
  lo &= ~(meta_align_ - 1);
  hi = (hi + meta_align_ - 1) & ~(meta_align_ - 1);
  if (hi <= lo) return ok_status();
  auto st = write_file_exact(fd_.get(), offset + lo, std::span<const uint8_t>(data + lo, hi - lo));
  if (!st.ok()) return with_context(st.error(), "qcow2 metadata");
  file_size_ = std::max(file_size_, offset + hi);
  return ok_status();
}

Status Qcow2Image::check_host_cluster(uint64_t offset, const char* what) const {
  if (offset % cluster_size_ != 0 || offset >= file_size_) {
    return make_error("qcow2 {} offset {:#x} is unaligned or past the end of the image file", what,
                      offset);
  }
  return ok_status();
}

Expected<MetaCluster*> Qcow2Image::load_cluster(uint64_t offset, bool is_l2) {
  auto it = cache_map_.find(offset);
  if (it != cache_map_.end()) {
    MetaCluster* m = it->second.get();
    lru_.splice(lru_.begin(), lru_, m->lru);
    return m;
  }
  VESSEL_TRY(check_host_cluster(offset, is_l2 ? "L2 table" : "refcount block"));
  auto m = std::make_unique<MetaCluster>();
  VESSEL_ASSIGN(m->buf, AlignedBuf::make(cluster_size_));
  VESSEL_TRY(read_meta(offset, m->buf.data(), cluster_size_));
  m->offset = offset;
  m->is_l2 = is_l2;
  lru_.push_front(offset);
  m->lru = lru_.begin();
  MetaCluster* raw = m.get();
  cache_map_[offset] = std::move(m);
  return raw;
}

Expected<MetaCluster*> Qcow2Image::new_cluster(uint64_t offset, bool is_l2) {
  auto it = cache_map_.find(offset);
  if (it != cache_map_.end()) {
    lru_.erase(it->second->lru);
    cache_map_.erase(it);
  }
  auto m = std::make_unique<MetaCluster>();
  VESSEL_ASSIGN(m->buf, AlignedBuf::make(cluster_size_));
  m->offset = offset;
  m->is_l2 = is_l2;
  lru_.push_front(offset);
  m->lru = lru_.begin();
  MetaCluster* raw = m.get();
  cache_map_[offset] = std::move(m);
  mark_dirty(raw, 0, cluster_size_);
  return raw;
}

void Qcow2Image::mark_dirty(MetaCluster* m, size_t lo, size_t hi) {
  dirty_ = true;
  if (m->dirty_hi <= m->dirty_lo) {
    m->dirty_lo = lo;
    m->dirty_hi = hi;
  } else {
    m->dirty_lo = std::min(m->dirty_lo, lo);
    m->dirty_hi = std::max(m->dirty_hi, hi);
  }
}

void Qcow2Image::mark_l1_dirty(size_t index) {
  dirty_ = true;
  size_t lo = index * 8, hi = lo + 8;
  if (l1_dirty_hi_ <= l1_dirty_lo_) {
    l1_dirty_lo_ = lo;
    l1_dirty_hi_ = hi;
  } else {
    l1_dirty_lo_ = std::min(l1_dirty_lo_, lo);
    l1_dirty_hi_ = std::max(l1_dirty_hi_, hi);
  }
}

Status Qcow2Image::flush_dirty() {
  // Refcounts first, then the L2 tables that point at counted clusters,
  // then the L1 entries that point at written L2 tables.
  if (!dirty_) return ok_status();
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& [offset, m] : cache_map_) {
      if (m->is_l2 != (pass == 1) || m->dirty_hi <= m->dirty_lo) continue;
      VESSEL_TRY(write_meta(offset, m->buf.data(), m->dirty_lo, m->dirty_hi));
      m->dirty_lo = m->dirty_hi = 0;
    }
  }
  if (l1_dirty_hi_ > l1_dirty_lo_) {
    VESSEL_TRY(write_meta(l1_offset_, l1_.data(), l1_dirty_lo_, l1_dirty_hi_));
    l1_dirty_lo_ = l1_dirty_hi_ = 0;
  }
  dirty_ = false;
  return ok_status();
}

Status Qcow2Image::finish_op() {
  VESSEL_TRY(flush_dirty());
  if (!pending_free_.empty()) {
    std::vector<PendingFree> frees;
    frees.swap(pending_free_);
    for (const PendingFree& f : frees) {
      VESSEL_ASSIGN(uint64_t rc, get_refcount(f.host_offset));
      if (rc == 0) continue;  // already free: nothing to undo
      VESSEL_TRY(set_refcount(f.host_offset, rc - 1));
      // Never reused this session (allocation only appends), so the space
      // can go back to the host file system.
      if (rc == 1 && f.punch) (void)zero_file_range(fd_.get(), f.host_offset, cluster_size_, true);
    }
    VESSEL_TRY(flush_dirty());
  }
  return trim_cache();
}

Status Qcow2Image::trim_cache() {
  if (cache_map_.size() <= cache_limit_) return ok_status();
  VESSEL_TRY(flush_dirty());
  while (cache_map_.size() > cache_limit_ && !lru_.empty()) {
    uint64_t victim = lru_.back();
    lru_.pop_back();
    cache_map_.erase(victim);
  }
  return ok_status();
}

uint64_t Qcow2Image::get_refcount_in(const uint8_t* block, uint64_t index) const {
  uint32_t bits = 1u << refcount_order_;
  if (bits >= 8) return load_be(block + index * (bits / 8), static_cast<int>(bits / 8));
  uint64_t bit = index * bits;
  return (block[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
}

void Qcow2Image::set_refcount_in(uint8_t* block, uint64_t index, uint64_t value) const {
  uint32_t bits = 1u << refcount_order_;
  if (bits >= 8) {
    store_be(block + index * (bits / 8), static_cast<int>(bits / 8), value);
    return;
  }
  uint64_t bit = index * bits;
  uint8_t mask = static_cast<uint8_t>(((1u << bits) - 1) << (bit % 8));
  block[bit / 8] = static_cast<uint8_t>((block[bit / 8] & ~mask) | ((value << (bit % 8)) & mask));
}

Expected<MetaCluster*> Qcow2Image::refblock_for(uint64_t host_offset, bool allocate) {
  uint64_t table_index = (host_offset >> cluster_bits_) / refblock_entries();
  if (table_index >= reftable_.size() / 8) {
    if (!allocate) return static_cast<MetaCluster*>(nullptr);
    VESSEL_TRY(grow_refcount_table(table_index));
  }
  uint64_t block = reftable_.be64(table_index) & ~(cluster_size_ - 1);
  if (block != 0) return load_cluster(block, false);
  if (!allocate) return static_cast<MetaCluster*>(nullptr);

  // A new refcount block at the end of the file, written before the table
  // points at it. It counts itself when it covers its own cluster.
  uint64_t at = next_free_;
  next_free_ += cluster_size_;
  VESSEL_TRY(extend_file(next_free_));
  VESSEL_ASSIGN(MetaCluster * m, new_cluster(at, false));
  uint64_t own_index = at >> cluster_bits_;
  if (own_index / refblock_entries() == table_index) {
    set_refcount_in(m->buf.data(), own_index % refblock_entries(), 1);
  } else {
    VESSEL_TRY(set_refcount(at, 1));
  }
  VESSEL_TRY(write_meta(at, m->buf.data(), 0, cluster_size_));
  m->dirty_lo = m->dirty_hi = 0;
  reftable_.set_be64(table_index, at);
  VESSEL_TRY(write_meta(reftable_offset_, reftable_.data(), table_index * 8, table_index * 8 + 8));
  return m;
}

Expected<uint64_t> Qcow2Image::get_refcount(uint64_t host_offset) {
  VESSEL_ASSIGN(MetaCluster * m, refblock_for(host_offset, false));
  if (m == nullptr) return uint64_t{0};
  return get_refcount_in(m->buf.data(), (host_offset >> cluster_bits_) % refblock_entries());
}

Status Qcow2Image::set_refcount(uint64_t host_offset, uint64_t value) {
  if (value > refcount_max()) {
    return make_error("qcow2 refcount of cluster {:#x} would overflow {} bits", host_offset,
                      1u << refcount_order_);
  }
  VESSEL_ASSIGN(MetaCluster * m, refblock_for(host_offset, true));
  uint64_t index = (host_offset >> cluster_bits_) % refblock_entries();
  set_refcount_in(m->buf.data(), index, value);
  uint64_t bit = index << refcount_order_;
  mark_dirty(m, bit / 8, bit / 8 + std::max<uint64_t>(1, (1u << refcount_order_) / 8));
  return ok_status();
}

Status Qcow2Image::grow_refcount_table(uint64_t needed_index) {
  const uint64_t cs = cluster_size_;
  const uint64_t per_block_bytes = refblock_entries() * cs;  // host bytes one block covers
  uint64_t old_entries = reftable_.size() / 8;
  uint64_t entries = std::max(needed_index + 1, old_entries * 2);
  uint64_t clusters = 0;
  for (;;) {
    clusters = (entries * 8 + cs - 1) / cs;
    // Room for the new table and the refcount blocks describing it.
    uint64_t end = next_free_ + 2 * (clusters + 2) * cs;
    uint64_t need = end / per_block_bytes + 1;
    if (need <= entries) break;
    entries = need;
  }
  if (clusters * cs > kMaxTableBytes) return make_error("qcow2 refcount table would be too large");
  VESSEL_ASSIGN(AlignedBuf table, AlignedBuf::make(clusters * cs));
  std::memcpy(table.data(), reftable_.data(), reftable_.size());

  uint64_t table_at = next_free_;
  next_free_ += clusters * cs;
  // Count the new table's clusters and any refcount blocks this needs
  // (which are counted in turn as the loop reaches them).
  for (uint64_t c = table_at; c < next_free_; c += cs) {
    uint64_t ti = (c >> cluster_bits_) / refblock_entries();
    uint64_t block = table.be64(ti) & ~(cs - 1);
    MetaCluster* m = nullptr;
    if (block == 0) {
      block = next_free_;
      next_free_ += cs;
      VESSEL_ASSIGN(m, new_cluster(block, false));
      table.set_be64(ti, block);
    } else {
      VESSEL_ASSIGN(m, load_cluster(block, false));
    }
    uint64_t index = (c >> cluster_bits_) % refblock_entries();
    if (get_refcount_in(m->buf.data(), index) != 0) {
      return make_error("qcow2 image is corrupt: free cluster {:#x} has a refcount", c);
    }
    set_refcount_in(m->buf.data(), index, 1);
    mark_dirty(m, 0, cs);
  }
  VESSEL_TRY(extend_file(next_free_));
  VESSEL_TRY(flush_dirty());
  VESSEL_TRY(write_meta(table_at, table.data(), 0, clusters * cs));
  if (cache_ != CacheMode::kUnsafe && ::fdatasync(fd_.get()) != 0) {
    return make_error("qcow2: fdatasync failed: {}", std::strerror(errno));
  }
  // Switch the header over, then release the old table.
  store_be(header_.data() + kHdrRefcountTableOffset, 8, table_at);
  store_be(header_.data() + kHdrRefcountTableOffset + 8, 4, clusters);
  VESSEL_TRY(write_meta(0, header_.data(), 0, kHdrRefcountTableOffset + 12));
  uint64_t old_at = reftable_offset_;
  uint64_t old_clusters = reftable_.size() / cs;
  reftable_ = std::move(table);
  reftable_offset_ = table_at;
  for (uint64_t i = 0; i < old_clusters; ++i) pending_free_.push_back({old_at + i * cs, true});
  return ok_status();
}

Status Qcow2Image::extend_file(uint64_t end) {
  if (end <= file_size_) return ok_status();
  if (::ftruncate(fd_.get(), static_cast<off_t>(end)) != 0) {
    return make_error("cannot extend the qcow2 image file to {} bytes: {}", end,
                      std::strerror(errno));
  }
  file_size_ = end;
  return ok_status();
}

Expected<uint64_t> Qcow2Image::alloc_clusters(uint64_t count) {
  uint64_t start = next_free_;
  for (uint64_t i = 0; i < count; ++i) {
    VESSEL_ASSIGN(uint64_t rc, get_refcount(start + i * cluster_size_));
    if (rc != 0) {
      return make_error(
          "qcow2 image is corrupt: cluster {:#x} past the end of the file has a "
          "refcount (try 'qemu-img check -r all')",
          start + i * cluster_size_);
    }
  }
  next_free_ += count * cluster_size_;
  VESSEL_TRY(extend_file(next_free_));
  for (uint64_t i = 0; i < count; ++i) VESSEL_TRY(set_refcount(start + i * cluster_size_, 1));
  return start;
}

Status Qcow2Image::release_cluster(uint64_t host_offset, bool punch) {
  pending_free_.push_back({host_offset, punch});
  return ok_status();
}

}  // namespace vessel::qcow2

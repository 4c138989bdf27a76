// qcow2 guest-cluster mapping: lookups for reads, allocation and
// copy-on-write for writes, and zeroing / discarding whole clusters.
#include <cstring>

#include "block/block_file.h"
#include "block/qcow2_image.h"

namespace vessel::qcow2 {

Status Qcow2Image::check_range(uint64_t offset, uint64_t length, bool write) const {
  if (offset > size_ || length > size_ - offset) {
    return make_error("access at {:#x}+{:#x} is outside the {}-byte disk", offset, length, size_);
  }
  if (write && read_only_) return make_error("the disk is read-only");
  return ok_status();
}

Expected<uint64_t> Qcow2Image::l2_entry(uint64_t gc) {
  uint64_t l1_index = gc >> l2_bits_;
  uint64_t l2_offset = l1_.be64(l1_index) & kOffsetMask;
  if (l2_offset == 0) return uint64_t{0};
  VESSEL_ASSIGN(MetaCluster * m, load_cluster(l2_offset, true));
  return m->buf.be64(gc & ((1ull << l2_bits_) - 1));
}

Expected<MetaCluster*> Qcow2Image::writable_l2(uint64_t gc) {
  uint64_t l1_index = gc >> l2_bits_;
  uint64_t entry = l1_.be64(l1_index);
  uint64_t l2_offset = entry & kOffsetMask;
  if (l2_offset == 0) {
    VESSEL_ASSIGN(uint64_t at, alloc_clusters(1));
    VESSEL_ASSIGN(MetaCluster * m, new_cluster(at, true));
    l1_.set_be64(l1_index, at | kCopied);
    mark_l1_dirty(l1_index);
    return m;
  }
  VESSEL_ASSIGN(MetaCluster * old, load_cluster(l2_offset, true));
  if (entry & kCopied) return old;
  VESSEL_ASSIGN(uint64_t rc, get_refcount(l2_offset));
  if (rc == 0) {
    return make_error("qcow2 image is corrupt: L2 table {:#x} has refcount 0", l2_offset);
  }
  if (rc > 1) {
    // Shared with a snapshot: copy it. The data clusters it points at keep
    // their refcounts (each counts the L1 tables that reach it).
    VESSEL_ASSIGN(uint64_t at, alloc_clusters(1));
    VESSEL_ASSIGN(MetaCluster * m, new_cluster(at, true));
    std::memcpy(m->buf.data(), old->buf.data(), cluster_size_);
    VESSEL_TRY(release_cluster(l2_offset, false));
    l1_.set_be64(l1_index, at | kCopied);
    mark_l1_dirty(l1_index);
    return m;
  }
  l1_.set_be64(l1_index, entry | kCopied);
  mark_l1_dirty(l1_index);
  return old;
}

Expected<uint64_t> Qcow2Image::writable_cluster(uint64_t gc) {
  VESSEL_ASSIGN(MetaCluster * m, writable_l2(gc));
  size_t index = gc & ((1ull << l2_bits_) - 1);
  uint64_t entry = m->buf.be64(index);
  if (entry & kCompressed) {
    return make_error("compressed qcow2 cluster at guest offset {:#x} is not supported",
                      gc << cluster_bits_);
  }
  uint64_t host = entry & kOffsetMask;
  bool zero = version_ == 3 && (entry & kZeroFlag) != 0;
  if (host != 0) VESSEL_TRY(check_host_cluster(host, "data cluster"));
  if (host != 0 && !zero && (entry & kCopied)) return host;

  uint64_t rc = 0;
  if (host != 0) {
    VESSEL_ASSIGN(rc, get_refcount(host));
    if (rc == 0) {
      return make_error("qcow2 image is corrupt: data cluster {:#x} has refcount 0", host);
    }
  }
  if (rc == 1) {
    // Ours alone: write in place (a zero-flagged one is zeroed first).
    if (zero) VESSEL_TRY(zero_file_range(fd_.get(), host, cluster_size_, true));
    m->buf.set_be64(index, host | kCopied);
    mark_dirty(m, index * 8, index * 8 + 8);
    return host;
  }
  // Unallocated, or shared with a snapshot: a new cluster from the end of
  // the file (reading as zero), with the old data copied in when there is
  // any; the L2 entry changes only after that.
  VESSEL_ASSIGN(uint64_t at, alloc_clusters(1));
  if (host != 0) {
    if (!zero) {
      VESSEL_ASSIGN(AlignedBuf copy, AlignedBuf::make(cluster_size_));
      VESSEL_TRY(read_meta(host, copy.data(), cluster_size_));
      VESSEL_TRY(write_meta(at, copy.data(), 0, cluster_size_));
    }
    VESSEL_TRY(release_cluster(host, false));
  }
  m->buf.set_be64(index, at | kCopied);
  mark_dirty(m, index * 8, index * 8 + 8);
  return at;
}

template <typename Step>
Status Qcow2Image::for_each_cluster(uint64_t offset, uint64_t length, Step step) {
  auto body = [&]() -> Status {
    while (length > 0) {
      VESSEL_TRY(trim_cache());
      uint64_t in = offset & (cluster_size_ - 1);
      uint64_t n = std::min(length, cluster_size_ - in);
      VESSEL_TRY(step(offset >> cluster_bits_, in, n));
      offset += n;
      length -= n;
    }
    return ok_status();
  };
  Status st = body();
  Status done = finish_op();
  return st.ok() ? done : st;
}

Status Qcow2Image::map(uint64_t offset, uint64_t length, bool write, std::vector<BlockRun>& runs) {
  std::lock_guard lock(mu_);
  VESSEL_TRY(check_range(offset, length, write));
  const size_t first = runs.size();
  auto add = [&](uint64_t len, uint64_t host) {
    if (runs.size() > first) {
      BlockRun& last = runs.back();
      bool joins = host == BlockRun::kZero ? last.host_offset == BlockRun::kZero
                                           : last.host_offset != BlockRun::kZero &&
                                                 last.host_offset + last.length == host;
      if (joins) {
        last.length += len;
        return;
      }
    }
    runs.push_back({len, host});
  };
  Status st = for_each_cluster(offset, length, [&](uint64_t gc, uint64_t in, uint64_t n) -> Status {
    if (write) {
      VESSEL_ASSIGN(uint64_t host, writable_cluster(gc));
      add(n, host + in);
    } else {
      VESSEL_ASSIGN(uint64_t entry, l2_entry(gc));
      if (entry & kCompressed) {
        return make_error("compressed qcow2 cluster at guest offset {:#x} is not supported",
                          gc << cluster_bits_);
      }
      uint64_t host = entry & kOffsetMask;
      if (host == 0 || (version_ == 3 && (entry & kZeroFlag))) {
        add(n, BlockRun::kZero);
      } else {
        if (host % cluster_size_ != 0 || host >= file_size_) {
          return make_error(
              "qcow2 L2 entry for guest offset {:#x} points at {:#x}, unaligned or past the end "
              "of the image file",
              gc << cluster_bits_, host);
        }
        // Bytes of the cluster past the end of the file read as zero.
        uint64_t start = host + in;
        uint64_t inside = start >= file_size_ ? 0 : std::min(n, file_size_ - start);
        if (inside > 0) add(inside, start);
        if (inside < n) add(n - inside, BlockRun::kZero);
      }
    }
    return ok_status();
  });
  if (!st.ok()) runs.resize(first);
  return st;
}

Status Qcow2Image::flush() {
  std::lock_guard lock(mu_);
  return finish_op();
}

Status Qcow2Image::drop_cluster(uint64_t gc, Drop how) {
  VESSEL_ASSIGN(uint64_t entry, l2_entry(gc));
  if (entry == 0) return ok_status();  // unallocated: reads as zero (no backing files)
  if (entry & kCompressed) {
    return make_error("compressed qcow2 cluster at guest offset {:#x} is not supported",
                      gc << cluster_bits_);
  }
  uint64_t host = entry & kOffsetMask;
  bool zero = version_ == 3 && (entry & kZeroFlag) != 0;
  if (host == 0 && (zero || how == Drop::kDiscard)) return ok_status();
  if (host != 0) VESSEL_TRY(check_host_cluster(host, "data cluster"));
  VESSEL_ASSIGN(MetaCluster * m, writable_l2(gc));
  size_t index = gc & ((1ull << l2_bits_) - 1);
  const uint64_t zero_entry = version_ == 3 ? kZeroFlag : 0;
  uint64_t next = how == Drop::kDiscard ? 0 : zero_entry;
  if (how == Drop::kZeroes && host != 0) {
    uint64_t rc = 1;
    if (!(entry & kCopied)) {
      VESSEL_ASSIGN(rc, get_refcount(host));
    }
    if (rc == 1) {
      // Keep the space: v3 marks it as reading zero, v2 zeroes it.
      if (version_ == 3) {
        next = host | kCopied | kZeroFlag;
      } else {
        VESSEL_TRY(zero_file_range(fd_.get(), host, cluster_size_, false));
        return ok_status();
      }
    }
  }
  m->buf.set_be64(index, next);
  mark_dirty(m, index * 8, index * 8 + 8);
  if (host != 0 && (next & kOffsetMask) == 0) VESSEL_TRY(release_cluster(host, true));
  return ok_status();
}

Status Qcow2Image::zero_partial(uint64_t offset, uint64_t length) {
  uint64_t gc = offset >> cluster_bits_;
  VESSEL_ASSIGN(uint64_t entry, l2_entry(gc));
  uint64_t host = entry & kOffsetMask;
  if (host == 0 || (version_ == 3 && (entry & kZeroFlag))) return ok_status();
  VESSEL_ASSIGN(uint64_t target, writable_cluster(gc));
  return zero_file_range(fd_.get(), target + (offset & (cluster_size_ - 1)), length, false);
}

Status Qcow2Image::write_zeroes(uint64_t offset, uint64_t length, bool unmap) {
  std::lock_guard lock(mu_);
  VESSEL_TRY(check_range(offset, length, true));
  return for_each_cluster(offset, length, [&](uint64_t gc, uint64_t in, uint64_t n) -> Status {
    if (whole_cluster(gc, in, n)) {
      return drop_cluster(gc, unmap ? Drop::kZeroesUnmap : Drop::kZeroes);
    }
    return zero_partial((gc << cluster_bits_) + in, n);
  });
}

Status Qcow2Image::discard(uint64_t offset, uint64_t length) {
  std::lock_guard lock(mu_);
  VESSEL_TRY(check_range(offset, length, true));
  return for_each_cluster(offset, length, [&](uint64_t gc, uint64_t in, uint64_t n) -> Status {
    // Partial clusters are left alone, which discard allows.
    return whole_cluster(gc, in, n) ? drop_cluster(gc, Drop::kDiscard) : ok_status();
  });
}

}  // namespace vessel::qcow2

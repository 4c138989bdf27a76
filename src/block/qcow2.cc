// qcow2 detection and opening: the header, its extensions and feature bits,
// and the checks on every offset and size it holds.
#include "block/qcow2.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "block/block_file.h"
#include "block/qcow2_image.h"

namespace vessel {

Expected<bool> is_qcow2_file(int fd) {
  // One aligned block (so that an O_DIRECT file can be read); small images
  // (512-byte clusters) may be shorter than that.
  VESSEL_ASSIGN(qcow2::AlignedBuf block, qcow2::AlignedBuf::make(BlockImage::kDirectAlign));
  ssize_t n;
  do {
    n = ::pread(fd, block.data(), BlockImage::kDirectAlign, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return make_error("cannot read the disk image: {}", std::strerror(errno));
  return n >= 4 && qcow2::load_be(block.data(), 4) == qcow2::kMagic;
}

Expected<std::unique_ptr<BlockImage>> open_qcow2_image(OwnedFd fd,
                                                       const BlockOpenOptions& options) {
  return qcow2::Qcow2Image::open(std::move(fd), options);
}

namespace qcow2 {

namespace {

constexpr uint32_t kExtEnd = 0;
constexpr uint32_t kExtFeatureNames = 0x6803f857;

// The smallest offset/length granule metadata I/O on `fd` must use.
uint64_t direct_io_alignment(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_DIRECT) == 0) return BlockImage::kSectorSize;
#ifdef STATX_DIOALIGN
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
      (stx.stx_mask & STATX_DIOALIGN) != 0 && stx.stx_dio_offset_align != 0) {
    uint64_t align = stx.stx_dio_offset_align;
    if (align < BlockImage::kSectorSize) align = BlockImage::kSectorSize;
    return align;
  }
#endif
  return BlockImage::kDirectAlign;
}

// Names of incompatible feature bits from the feature name table
// extension, for error messages.
std::string feature_names(const uint8_t* ext, uint32_t length, uint64_t bits) {
  std::string names;
  for (uint32_t at = 0; at + 48 <= length; at += 48) {
    if (ext[at] != 0 || ext[at + 1] >= 64) continue;  // type 0: incompatible
    if ((bits & (1ull << ext[at + 1])) == 0) continue;
    const char* name = reinterpret_cast<const char*>(ext + at + 2);
    if (!names.empty()) names += ", ";
    names += std::string(name, strnlen(name, 46));
  }
  return names;
}

}  // namespace

Expected<AlignedBuf> AlignedBuf::make(size_t size) {
  AlignedBuf b;
  size_t rounded = (size + BlockImage::kDirectAlign - 1) & ~(BlockImage::kDirectAlign - 1);
  void* raw = nullptr;
  if (rounded == 0 || ::posix_memalign(&raw, BlockImage::kDirectAlign, rounded) != 0) {
    return make_error("out of memory ({} bytes for qcow2 metadata)", size);
  }
  std::memset(raw, 0, rounded);
  b.ptr_.reset(static_cast<uint8_t*>(raw));
  b.size_ = size;
  return b;
}

Expected<std::unique_ptr<BlockImage>> Qcow2Image::open(OwnedFd fd,
                                                       const BlockOpenOptions& options) {
  std::unique_ptr<Qcow2Image> img(new Qcow2Image());
  img->read_only_ = options.read_only;
  img->cache_ = options.cache;
  img->meta_align_ = direct_io_alignment(fd.get());
  VESSEL_ASSIGN(img->file_size_, image_file_size(fd.get()));
  img->fd_ = std::move(fd);
  const uint64_t file_size = img->file_size_;

  // The fixed header fields all lie in the first 112 bytes.
  uint64_t first = std::max<uint64_t>(img->meta_align_, BlockImage::kDirectAlign);
  VESSEL_ASSIGN(AlignedBuf head, AlignedBuf::make(first));
  VESSEL_TRY(img->read_meta(0, head.data(), first));
  const uint8_t* h = head.data();
  if (file_size < kV2HeaderLength || load_be(h, 4) != kMagic) {
    return make_error("not a qcow2 image (no 'QFI\\xfb' header)");
  }
  Header hdr;
  hdr.version = static_cast<uint32_t>(load_be(h + 4, 4));
  if (hdr.version != 2 && hdr.version != 3) {
    return make_error("qcow2 version {} is not supported (only 2 and 3)", hdr.version);
  }
  uint64_t backing_offset = load_be(h + 8, 8);
  hdr.cluster_bits = static_cast<uint32_t>(load_be(h + 20, 4));
  hdr.size = load_be(h + 24, 8);
  uint32_t crypt = static_cast<uint32_t>(load_be(h + 32, 4));
  hdr.l1_size = static_cast<uint32_t>(load_be(h + 36, 4));
  hdr.l1_offset = load_be(h + 40, 8);
  hdr.refcount_table_offset = load_be(h + 48, 8);
  hdr.refcount_table_clusters = static_cast<uint32_t>(load_be(h + 56, 4));
  uint64_t header_length = kV2HeaderLength;
  uint8_t compression_type = 0;
  if (hdr.version == 3) {
    hdr.incompatible = load_be(h + 72, 8);
    hdr.autoclear = load_be(h + 88, 8);
    hdr.refcount_order = static_cast<uint32_t>(load_be(h + 96, 4));
    header_length = load_be(h + 100, 4);
    if (header_length < kV3HeaderLength || header_length % 8 != 0) {
      return make_error("bad qcow2 v3 header length {}", header_length);
    }
    if (header_length > kV3HeaderLength) compression_type = h[104];
  }

  if (hdr.cluster_bits < 9 || hdr.cluster_bits > 21) {
    return make_error("qcow2 cluster_bits {} is out of range (9..21)", hdr.cluster_bits);
  }
  const uint64_t cs = 1ull << hdr.cluster_bits;
  if (header_length > cs) return make_error("qcow2 header is larger than a cluster");
  if (cs < img->meta_align_) {
    return make_error(
        "qcow2 cluster size {} is below this file's {}-byte direct I/O alignment: use a cache "
        "mode other than none",
        cs, img->meta_align_);
  }
  if (hdr.refcount_order > 6) {
    return make_error("qcow2 refcount_order {} is out of range (0..6)", hdr.refcount_order);
  }

  // Read the whole first cluster: header extensions may fill it.
  VESSEL_ASSIGN(img->header_, AlignedBuf::make(cs));
  VESSEL_TRY(img->read_meta(0, img->header_.data(), cs));
  h = img->header_.data();

  // Feature bits and extensions.
  std::string names;
  for (uint64_t at = header_length; hdr.version == 3 && at + 8 <= cs;) {
    uint32_t type = static_cast<uint32_t>(load_be(h + at, 4));
    uint32_t len = static_cast<uint32_t>(load_be(h + at + 4, 4));
    if (type == kExtEnd) break;
    if (len > cs - at - 8)
      return make_error("qcow2 header extension {:#x} overruns cluster 0", type);
    if (type == kExtFeatureNames) {
      names = feature_names(h + at + 8, len, hdr.incompatible & ~uint64_t{0x1f});
    }
    at += 8 + ((uint64_t{len} + 7) & ~uint64_t{7});
  }
  if (hdr.incompatible & kIncompatDirty) {
    return make_error(
        "qcow2 image is marked dirty (not closed cleanly, refcounts may be stale): run "
        "'qemu-img check -r all' on it first");
  }
  if (hdr.incompatible & kIncompatDataFile) {
    return make_error("qcow2 images with an external data file are not supported");
  }
  if (hdr.incompatible & kIncompatExtendedL2) {
    return make_error("qcow2 images with extended L2 entries (subclusters) are not supported");
  }
  if ((hdr.incompatible & kIncompatCompression) && compression_type != 0) {
    return make_error("qcow2 compression type {} is not supported (only zlib)", compression_type);
  }
  uint64_t unknown = hdr.incompatible & ~uint64_t{0x1f};
  if (unknown != 0) {
    return make_error("qcow2 image uses unknown incompatible features {:#x}{}{}", unknown,
                      names.empty() ? "" : ": ", names);
  }
  if ((hdr.incompatible & kIncompatCorrupt) && !img->read_only_) {
    return make_error(
        "qcow2 image is marked corrupt: open it read-only, or repair it with 'qemu-img check -r "
        "all'");
  }
  if (backing_offset != 0) {
    return make_error(
        "qcow2 images with a backing file are not supported (flatten it with "
        "'qemu-img convert')");
  }
  if (crypt != 0) return make_error("encrypted qcow2 images are not supported");

  // Sizes and tables.
  img->version_ = hdr.version;
  img->cluster_bits_ = hdr.cluster_bits;
  img->cluster_size_ = cs;
  img->l2_bits_ = hdr.cluster_bits - 3;
  img->refcount_order_ = hdr.refcount_order;
  if (hdr.size > (1ull << 60)) return make_error("qcow2 disk size {} is too large", hdr.size);
  img->size_ = hdr.size & ~(BlockImage::kSectorSize - 1);
  uint64_t l1_shift = hdr.cluster_bits + img->l2_bits_;
  uint64_t l1_needed = (hdr.size + (1ull << l1_shift) - 1) >> l1_shift;
  if (hdr.l1_size < l1_needed) {
    return make_error("qcow2 L1 table ({} entries) is too small for a {}-byte disk", hdr.l1_size,
                      hdr.size);
  }
  uint64_t l1_bytes = uint64_t{hdr.l1_size} * 8;
  if (l1_bytes > kMaxTableBytes) return make_error("qcow2 L1 table is too large");
  if (hdr.l1_offset % cs != 0 || (l1_bytes != 0 && hdr.l1_offset == 0) ||
      hdr.l1_offset > file_size || l1_bytes > file_size - hdr.l1_offset) {
    return make_error("qcow2 L1 table offset {:#x} (+{} bytes) is invalid or outside the file",
                      hdr.l1_offset, l1_bytes);
  }
  uint64_t rt_bytes = uint64_t{hdr.refcount_table_clusters} * cs;
  uint64_t file_clusters_end = (file_size + cs - 1) & ~(cs - 1);
  if (rt_bytes == 0 || rt_bytes > kMaxTableBytes) {
    return make_error("qcow2 refcount table size ({} clusters) is invalid",
                      hdr.refcount_table_clusters);
  }
  if (hdr.refcount_table_offset % cs != 0 || hdr.refcount_table_offset == 0 ||
      hdr.refcount_table_offset > file_clusters_end ||
      rt_bytes > file_clusters_end - hdr.refcount_table_offset) {
    return make_error("qcow2 refcount table offset {:#x} is invalid or outside the file",
                      hdr.refcount_table_offset);
  }
  img->l1_offset_ = hdr.l1_offset;
  img->l1_entries_ = hdr.l1_size;
  uint64_t l1_alloc = std::max<uint64_t>((l1_bytes + cs - 1) & ~(cs - 1), cs);
  VESSEL_ASSIGN(img->l1_, AlignedBuf::make(l1_alloc));
  if (l1_bytes > 0) VESSEL_TRY(img->read_meta(hdr.l1_offset, img->l1_.data(), l1_alloc));
  // Entries past l1_size in the last cluster are not ours: never written
  // from here (writes are limited to the table's bytes, rounded to
  // meta_align_ inside the cluster, and keep what was read).
  for (uint64_t i = 0; i < img->l1_entries_; ++i) {
    uint64_t e = img->l1_.be64(i);
    uint64_t off = e & kOffsetMask;
    if (off != 0) VESSEL_TRY(img->check_host_cluster(off, "L2 table"));
  }
  img->reftable_offset_ = hdr.refcount_table_offset;
  VESSEL_ASSIGN(img->reftable_, AlignedBuf::make(rt_bytes));
  VESSEL_TRY(img->read_meta(hdr.refcount_table_offset, img->reftable_.data(), rt_bytes));
  for (uint64_t i = 0; i < rt_bytes / 8; ++i) {
    uint64_t off = img->reftable_.be64(i) & ~(cs - 1);
    if (off != 0) VESSEL_TRY(img->check_host_cluster(off, "refcount block"));
  }

  img->next_free_ = file_clusters_end;
  // Cache: up to 8 MiB of L2 tables and refcount blocks, at least 4.
  img->cache_limit_ = std::clamp<size_t>((8u << 20) / cs, 4, 256);

  if (!img->read_only_ && hdr.autoclear != 0) {
    // Autoclear features (e.g. dirty bitmaps) are not kept up to date by
    // this writer, so their bits are cleared as the format requires.
    store_be(img->header_.data() + kHdrAutoclear, 8, 0);
    VESSEL_TRY(img->write_meta(0, img->header_.data(), 0, kHdrAutoclear + 8));
  }
  return std::unique_ptr<BlockImage>(std::move(img));
}

}  // namespace qcow2
}  // namespace vessel

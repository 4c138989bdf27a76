#include "virtio/virtio_blk.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "devices/register_bytes.h"
#include "virtio/virtio_spec.h"

namespace vessel {

namespace vb = virtio_blk;

// A request in flight: what the engine needs, and what the device needs to
// answer the chain when it comes back.
struct VirtioBlk::Request : IoRequest {
  // One chain's answer.
  struct Chain {
    uint16_t head = 0;
    uint64_t status_gpa = 0;
    uint32_t used = 0;   // bytes written to the writable buffers with the status
    uint32_t type = 0;   // the request type (statistics)
    uint64_t bytes = 0;  // data bytes (statistics)
  };
  Chain chain;
  std::vector<Chain> merged;        // chains merged into this transfer (VirtioBlk::merge)
  uint64_t sector = 0;              // IN/OUT: the first sector
  std::vector<VirtqBuffer> filled;  // IN: the guest buffers the read fills (note_write)
};

namespace {

constexpr uint64_t kSector = BlockImage::kSectorSize;

// Appends the guest buffers for bytes [skip, skip + len) of `bufs` as host
// iovecs (and as guest ranges to `ranges`, when given).
Status add_buffers(GuestMemory& mem, std::span<const VirtqBuffer> bufs, uint64_t skip, uint64_t len,
                   std::vector<iovec>& iov, std::vector<VirtqBuffer>* ranges) {
  for (const VirtqBuffer& b : bufs) {
    if (len == 0) break;
    if (skip >= b.len) {
      skip -= b.len;
      continue;
    }
    uint64_t n = std::min<uint64_t>(b.len - skip, len);
    VESSEL_ASSIGN(std::span<uint8_t> span, mem.span(b.gpa + skip, n));
    iov.push_back({span.data(), span.size()});
    if (ranges) ranges->push_back({b.gpa + skip, static_cast<uint32_t>(n), true});
    len -= n;
    skip = 0;
  }
  return ok_status();
}

}  // namespace

Expected<std::unique_ptr<VirtioBlk>> VirtioBlk::create(std::unique_ptr<BlockImage> image,
                                                       const IoEngineOptions& engine,
                                                       std::string id) {
  if (id.size() > kIdBytes) return make_error("disk id '{}' is longer than {} bytes", id, kIdBytes);
  std::unique_ptr<VirtioBlk> blk(new VirtioBlk(std::move(image), std::move(id)));
  VirtioBlk* raw = blk.get();
  VESSEL_ASSIGN(blk->engine_, create_io_engine(
                                  *blk->image_,
                                  [raw] {
                                    if (raw->host_) raw->host_->kick(0);
                                  },
                                  engine));
  return blk;
}

VirtioBlk::VirtioBlk(std::unique_ptr<BlockImage> image, std::string id)
    : image_(std::move(image)), id_(std::move(id)) {}

VirtioBlk::~VirtioBlk() {
  // No I/O thread may touch guest RAM or kick the transport past this point.
  if (engine_) engine_->drain();
  engine_.reset();
}

uint16_t VirtioBlk::device_type() const {
  return virtio::kDeviceBlock;
}

uint64_t VirtioBlk::device_features() const {
  uint64_t f = vb::kFeatureSizeMax | vb::kFeatureSegMax | vb::kFeatureBlkSize | vb::kFeatureFlush;
  if (image_->read_only()) return f | vb::kFeatureRo;
  return f | vb::kFeatureDiscard | vb::kFeatureWriteZeroes;
}

void VirtioBlk::config_read(uint32_t offset, std::span<uint8_t> data) {
  uint8_t cfg[vb::kConfigSize] = {};
  auto put = [&](uint32_t at, size_t size, uint64_t v) {
    store_le(std::span<uint8_t>(cfg + at, size), v);
  };
  put(vb::kCfgCapacity, 8, image_->size() / kSector);
  put(vb::kCfgSizeMax, 4, kSizeMax);
  put(vb::kCfgSegMax, 4, kSegMax);
  put(vb::kCfgBlkSize, 4, kSector);
  put(vb::kCfgMaxDiscardSectors, 4, kMaxDiscardSectors);
  put(vb::kCfgMaxDiscardSeg, 4, kMaxDiscardSegments);
  put(vb::kCfgDiscardSectorAlignment, 4, BlockImage::kDirectAlign / kSector);
  put(vb::kCfgMaxWriteZeroesSectors, 4, kMaxDiscardSectors);
  put(vb::kCfgMaxWriteZeroesSeg, 4, kMaxDiscardSegments);
  put(vb::kCfgWriteZeroesMayUnmap, 1, 1);
  for (size_t i = 0; i < data.size(); i++) {
    data[i] = offset + i < vb::kConfigSize ? cfg[offset + i] : 0;
  }
}

Status VirtioBlk::attach_event_loop(EventLoop& loop) {
  return engine_->attach_event_loop(loop);
}

void VirtioBlk::reset() {
  engine_->drain();
  std::vector<std::unique_ptr<IoRequest>> dropped;
  engine_->take_completed(dropped);
  for (auto& r : dropped) {
    r->clear();
    free_.emplace_back(static_cast<Request*>(r.release()));
  }
}

std::unique_ptr<VirtioBlk::Request> VirtioBlk::new_request() {
  if (free_.empty()) return std::make_unique<Request>();
  std::unique_ptr<Request> r = std::move(free_.back());
  free_.pop_back();
  r->clear();
  r->merged.clear();
  r->filled.clear();
  return r;
}

void VirtioBlk::count(uint32_t type, uint64_t bytes, bool ok) {
  if (!ok) {
    ++stats_.errors;
    return;
  }
  switch (type) {
    case vb::kTypeIn:
      ++stats_.read_ops;
      stats_.read_bytes += bytes;
      break;
    case vb::kTypeOut:
      ++stats_.write_ops;
      stats_.write_bytes += bytes;
      break;
    case vb::kTypeFlush:
      ++stats_.flush_ops;
      break;
    case vb::kTypeDiscard:
    case vb::kTypeWriteZeroes:
      ++stats_.discard_ops;
      break;
    default:
      break;
  }
}

std::vector<std::pair<std::string, uint64_t>> VirtioBlk::counters() const {
  return {{"read_ops", stats_.read_ops},   {"read_bytes", stats_.read_bytes},
          {"write_ops", stats_.write_ops}, {"write_bytes", stats_.write_bytes},
          {"flush_ops", stats_.flush_ops}, {"discard_ops", stats_.discard_ops},
          {"errors", stats_.errors},       {"merged_ops", stats_.merged_ops}};
}

Status VirtioBlk::finish(Virtqueue& vq, uint16_t head, uint64_t status_gpa, uint32_t used,
                         uint8_t status) {
  VESSEL_TRY(vq.memory().write(status_gpa, &status, 1));
  return vq.push(head, used);
}

Status VirtioBlk::complete_finished(Virtqueue& vq) {
  finished_.clear();
  engine_->take_completed(finished_);
  Status result = ok_status();
  for (auto& done : finished_) {
    auto* req = static_cast<Request*>(done.get());
    bool ok = req->error == 0;
    if (ok) {
      for (const VirtqBuffer& b : req->filled) vq.memory().note_write(b.gpa, b.len);
    }
    auto answer = [&](const Request::Chain& c) {
      count(c.type, c.bytes, ok);
      if (result.ok()) {
        result = finish(vq, c.head, c.status_gpa, ok ? c.used : 1,
                        ok ? vb::kStatusOk : vb::kStatusIoErr);
      }
    };
    answer(req->chain);
    for (const Request::Chain& c : req->merged) answer(c);
    req->clear();
    free_.emplace_back(static_cast<Request*>(done.release()));
  }
  finished_.clear();
  return result;
}

Status VirtioBlk::process_queue(uint16_t, Virtqueue& vq) {
  VESSEL_TRY(complete_finished(vq));
  // The last read or write started, held back while the next chain may
  // continue it.
  std::unique_ptr<Request> held;
  Status result = ok_status();
  for (;;) {
    auto got = vq.pop(chain_);
    if (!got.ok() || !*got) {
      if (!got.ok()) result = got.error();
      break;
    }
    auto req = start_request(vq);
    if (!req.ok()) {
      result = req.error();
      break;
    }
    if (!*req) continue;  // answered at once
    if (held && merge(*held, **req)) {
      free_.push_back(std::move(*req));
      continue;
    }
    if (held) engine_->submit(std::move(held));
    held = std::move(*req);
  }
  if (held) engine_->submit(std::move(held));
  return result;
}

bool VirtioBlk::merge(Request& held, Request& next) {
  bool io = held.op == IoRequest::Op::kRead || held.op == IoRequest::Op::kWrite;
  uint64_t held_bytes = held.chain.bytes;
  for (const Request::Chain& c : held.merged) held_bytes += c.bytes;
  if (!io || next.op != held.op || held.runs.empty() || next.runs.empty() ||
      next.sector != held.sector + held_bytes / kSector ||
      held.iov.size() + next.iov.size() > IOV_MAX ||
      held_bytes + next.chain.bytes > kMaxRequestBytes) {
    return false;
  }
  // The file runs, the boundary's two joined where they are contiguous.
  auto run = next.runs.begin();
  BlockRun& last = held.runs.back();
  if (last.host_offset == BlockRun::kZero ? run->host_offset == BlockRun::kZero
                                          : run->host_offset == last.host_offset + last.length) {
    last.length += run->length;
    ++run;
  }
  held.runs.insert(held.runs.end(), run, next.runs.end());
  held.iov.insert(held.iov.end(), next.iov.begin(), next.iov.end());
  held.filled.insert(held.filled.end(), next.filled.begin(), next.filled.end());
  held.merged.push_back(next.chain);
  ++stats_.merged_ops;
  return true;
}

Expected<uint8_t> VirtioBlk::segments_request(Virtqueue& vq, uint32_t type, Request& req) {
  uint64_t bytes = chain_.readable_bytes() - 16;
  if (chain_.writable_bytes() != 1 || bytes == 0 || bytes % 16 != 0 ||
      bytes / 16 > kMaxDiscardSegments) {
    return vb::kStatusIoErr;
  }
  struct Range {
    uint64_t offset, length;
    bool unmap;
  };
  std::vector<Range> ranges;
  uint64_t sectors = image_->size() / kSector;
  for (uint64_t at = 16; at < 16 + bytes; at += 16) {
    uint8_t seg[16];
    VESSEL_ASSIGN(uint64_t n, chain_.read_from(vq.memory(), at, seg));
    if (n != 16) return vb::kStatusIoErr;
    uint64_t sector = load_le(std::span<const uint8_t>(seg, 8));
    uint64_t count = load_le(std::span<const uint8_t>(seg + 8, 4));
    uint32_t flags = static_cast<uint32_t>(load_le(std::span<const uint8_t>(seg + 12, 4)));
    uint32_t allowed = type == vb::kTypeWriteZeroes ? vb::kSegmentUnmap : 0;
    if (flags & ~allowed) return vb::kStatusUnsupp;
    if (count > kMaxDiscardSectors || sector > sectors || count > sectors - sector) {
      return vb::kStatusIoErr;
    }
    ranges.push_back({sector * kSector, count * kSector, (flags & vb::kSegmentUnmap) != 0});
  }
  BlockImage* image = image_.get();
  req.op = IoRequest::Op::kCall;
  req.call = [image, type, ranges = std::move(ranges)]() -> Status {
    for (const Range& r : ranges) {
      if (type == vb::kTypeDiscard) {
        VESSEL_TRY(image->discard(r.offset, r.length));
      } else {
        VESSEL_TRY(image->write_zeroes(r.offset, r.length, r.unmap));
      }
    }
    return ok_status();
  };
  return vb::kStatusOk;
}

Expected<std::unique_ptr<VirtioBlk::Request>> VirtioBlk::start_request(Virtqueue& vq) {
  GuestMemory& mem = vq.memory();
  uint16_t head = chain_.head();
  // The status byte: the last byte of the last non-empty writable buffer.
  uint64_t status_gpa = 0;
  bool have_status = false;
  auto writable = chain_.writable();
  for (size_t i = writable.size(); i-- > 0;) {
    if (writable[i].len > 0) {
      status_gpa = writable[i].gpa + writable[i].len - 1;
      have_status = true;
      break;
    }
  }
  if (!have_status) return make_error("block request {} has no writable status byte", head);
  auto answer = [&](uint8_t status, uint32_t used = 1) -> Expected<std::unique_ptr<Request>> {
    if (status != vb::kStatusOk) ++stats_.errors;
    VESSEL_TRY(finish(vq, head, status_gpa, used, status));
    return std::unique_ptr<Request>{};
  };
  if (chain_.readable_bytes() < 16) return answer(vb::kStatusIoErr);
  uint8_t hdr[16];
  VESSEL_ASSIGN(uint64_t got, chain_.read_from(mem, 0, hdr));
  if (got != 16) return answer(vb::kStatusIoErr);
  uint32_t type = static_cast<uint32_t>(load_le(std::span<const uint8_t>(hdr, 4)));
  uint64_t sector = load_le(std::span<const uint8_t>(hdr + 8, 8));
  uint64_t extra_in = chain_.readable_bytes() - 16;  // readable bytes after the header
  uint64_t extra_out = chain_.writable_bytes() - 1;  // writable bytes before the status
  bool ro = image_->read_only();
  uint64_t sectors = image_->size() / kSector;

  std::unique_ptr<Request> req = new_request();
  req->chain = {head, status_gpa, 1, type, 0};
  switch (type) {
    case vb::kTypeIn:
    case vb::kTypeOut: {
      bool in = type == vb::kTypeIn;
      uint64_t len = in ? extra_out : extra_in;
      if ((in ? extra_in : extra_out) != 0) return answer(vb::kStatusIoErr);  // wrong direction
      if (ro && !in) return answer(vb::kStatusIoErr);
      if (len % kSector != 0 || len > kMaxRequestBytes) return answer(vb::kStatusIoErr);
      if (sector > sectors || len / kSector > sectors - sector) return answer(vb::kStatusIoErr);
      if (!image_->map(sector * kSector, len, !in, req->runs).ok()) {
        return answer(vb::kStatusIoErr);
      }
      Status s = in ? add_buffers(mem, writable, 0, len, req->iov, &req->filled)
                    : add_buffers(mem, chain_.readable(), 16, len, req->iov, nullptr);
      if (!s.ok()) return answer(vb::kStatusIoErr);
      req->op = in ? IoRequest::Op::kRead : IoRequest::Op::kWrite;
      req->chain.used = static_cast<uint32_t>((in ? len : 0) + 1);
      req->chain.bytes = len;
      req->sector = sector;
      break;
    }
    case vb::kTypeFlush:
      if (extra_out != 0) return answer(vb::kStatusIoErr);
      req->op = IoRequest::Op::kFlush;
      break;
    case vb::kTypeGetId: {
      if (extra_in != 0 || extra_out == 0) return answer(vb::kStatusIoErr);
      uint8_t id[kIdBytes] = {};
      std::memcpy(id, id_.data(), std::min(id_.size(), kIdBytes));
      uint64_t n = std::min<uint64_t>(extra_out, kIdBytes);
      VESSEL_ASSIGN(uint64_t wrote, chain_.write_to(mem, 0, std::span<const uint8_t>(id, n)));
      return answer(vb::kStatusOk, static_cast<uint32_t>(wrote + 1));
    }
    case vb::kTypeDiscard:
    case vb::kTypeWriteZeroes: {
      if (ro) return answer(vb::kStatusIoErr);
      VESSEL_ASSIGN(uint8_t status, segments_request(vq, type, *req));
      if (status != vb::kStatusOk) return answer(status);
      break;
    }
    default:
      return answer(vb::kStatusUnsupp);
  }
  return req;
}

}  // namespace vessel

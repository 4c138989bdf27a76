// virtio-blk, the block device (virtio 1.2, 5.2): one request queue of 256
// entries over a BlockImage (raw or qcow2), its data I/O done by an IoEngine
// (aio=threads or aio=io_uring, block/io_engine.h) so neither a vCPU nor the
// event loop waits for the host's disk.
//
// Requests: IN, OUT, FLUSH, GET_ID (20 bytes: "vessel-disk<N>" or the
// serial), DISCARD and WRITE_ZEROES (segments of sector, count, flags; the
// unmap flag only for write-zeroes); any other type answers UNSUPP. Each
// chain is header (16 readable bytes), data, and a status byte: the last
// byte of the last device-writable buffer.
//
// The guest is hostile. A chain without a writable byte for the status
// breaks the rules (the transport marks the device as needing reset).
// Everything else answers IOERR: a header shorter than 16 readable bytes (or
// in a writable buffer), data buffers in the wrong direction, a data length
// that is not a multiple of 512 or is larger than kMaxRequestBytes, sectors
// past the end (or overflowing), malformed or oversized discard/write-zeroes
// segments, and writes of any kind to a read-only disk. UNSUPP: unknown
// request types and unknown segment flags.
//
// Completion: the engine's notify kicks the queue; process_queue() first
// returns the finished requests (status byte, used length, note_write of the
// data read), then starts the new ones. reset() waits for the requests in
// flight, so no I/O thread writes guest RAM after a device reset.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/counter.h"
#include "block/block_image.h"
#include "block/io_engine.h"
#include "virtio/virtio_device.h"

namespace vessel {

namespace virtio_blk {
// Feature bits (5.2.3).
inline constexpr uint64_t kFeatureSizeMax = 1ull << 1;
inline constexpr uint64_t kFeatureSegMax = 1ull << 2;
inline constexpr uint64_t kFeatureRo = 1ull << 5;
inline constexpr uint64_t kFeatureBlkSize = 1ull << 6;
inline constexpr uint64_t kFeatureFlush = 1ull << 9;
inline constexpr uint64_t kFeatureDiscard = 1ull << 13;
inline constexpr uint64_t kFeatureWriteZeroes = 1ull << 14;
// Request types (5.2.6).
inline constexpr uint32_t kTypeIn = 0;
inline constexpr uint32_t kTypeOut = 1;
inline constexpr uint32_t kTypeFlush = 4;
inline constexpr uint32_t kTypeGetId = 8;
inline constexpr uint32_t kTypeDiscard = 11;
inline constexpr uint32_t kTypeWriteZeroes = 13;
// Status byte.
inline constexpr uint8_t kStatusOk = 0;
inline constexpr uint8_t kStatusIoErr = 1;
inline constexpr uint8_t kStatusUnsupp = 2;
// Discard / write-zeroes segment flags.
inline constexpr uint32_t kSegmentUnmap = 1;
// struct virtio_blk_config offsets.
inline constexpr uint32_t kCfgCapacity = 0;
inline constexpr uint32_t kCfgSizeMax = 8;
inline constexpr uint32_t kCfgSegMax = 12;
inline constexpr uint32_t kCfgBlkSize = 20;
inline constexpr uint32_t kCfgMaxDiscardSectors = 36;
inline constexpr uint32_t kCfgMaxDiscardSeg = 40;
inline constexpr uint32_t kCfgDiscardSectorAlignment = 44;
inline constexpr uint32_t kCfgMaxWriteZeroesSectors = 48;
inline constexpr uint32_t kCfgMaxWriteZeroesSeg = 52;
inline constexpr uint32_t kCfgWriteZeroesMayUnmap = 56;
inline constexpr uint32_t kConfigSize = 60;
}  // namespace virtio_blk

class VirtioBlk : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint32_t kSizeMax = 64 * 1024;  // one data buffer at most
  static constexpr uint32_t kSegMax = kQueueSize - 2;
  // A conforming driver never sends more (kSegMax * kSizeMax); more is IOERR.
  static constexpr uint64_t kMaxRequestBytes = uint64_t{kSegMax} * kSizeMax;
  static constexpr uint32_t kMaxDiscardSectors = 1u << 22;  // 2 GiB per segment
  static constexpr uint32_t kMaxDiscardSegments = 32;
  static constexpr size_t kIdBytes = 20;

  // `id` answers GET_ID (at most kIdBytes, zero-padded).
  static Expected<std::unique_ptr<VirtioBlk>> create(std::unique_ptr<BlockImage> image,
                                                     const IoEngineOptions& engine, std::string id);
  ~VirtioBlk() override;

  std::string_view name() const override { return "blk"; }
  uint16_t device_type() const override;
  uint32_t pci_class() const override { return 0x010000; }  // mass storage, SCSI
  uint64_t device_features() const override;
  uint16_t num_queues() const override { return 1; }
  uint16_t queue_max_size(uint16_t) const override { return kQueueSize; }
  uint32_t config_size() const override { return virtio_blk::kConfigSize; }
  void config_read(uint32_t offset, std::span<uint8_t> data) override;
  void reset() override;
  Status process_queue(uint16_t q, Virtqueue& vq) override;
  Status attach_event_loop(EventLoop& loop) override;

  // Waits for every request in flight (tests; reset and shutdown do it too).
  void wait_for_io() { engine_->drain(); }
  uint64_t in_flight() const { return engine_->in_flight(); }
  BlockImage& image() { return *image_; }
  // read_ops/bytes, write_ops/bytes, flush_ops, discard_ops (discard and
  // write-zeroes), errors (requests answered IOERR or UNSUPP), merged_ops
  // (reads and writes done as part of the transfer of the one before).
  std::vector<std::pair<std::string, uint64_t>> counters() const override;

 private:
  struct Request;

  VirtioBlk(std::unique_ptr<BlockImage> image, std::string id);
  // The request for the chain in chain_, or nullptr where it was answered
  // at once.
  Expected<std::unique_ptr<Request>> start_request(Virtqueue& vq);
  // Appends `next` to `held` when both read, or both write, and `next`
  // starts where `held` ends (one host transfer for both, as the guest
  // splits a large transfer at kSegMax buffers); false otherwise.
  bool merge(Request& held, Request& next);
  Status finish(Virtqueue& vq, uint16_t head, uint64_t status_gpa, uint32_t used, uint8_t status);
  Status complete_finished(Virtqueue& vq);
  void count(uint32_t type, uint64_t bytes, bool ok);
  std::unique_ptr<Request> new_request();
  // Discard / write-zeroes: the segments, checked; or the status to answer.
  Expected<uint8_t> segments_request(Virtqueue& vq, uint32_t type, Request& req);

  std::unique_ptr<BlockImage> image_;
  std::string id_;
  std::unique_ptr<IoEngine> engine_;
  DescChain chain_;
  std::vector<std::unique_ptr<IoRequest>> finished_;
  std::vector<std::unique_ptr<Request>> free_;
  struct Stats {
    Counter read_ops, read_bytes, write_ops, write_bytes, flush_ops, discard_ops, errors,
        merged_ops;
  } stats_;
};

}  // namespace vessel

// The I/O engines (aio=threads, aio=io_uring) on real files in every cache
// mode: round trips, zero runs, bounce buffers for O_DIRECT with misaligned
// buffers and offsets, short files, flush, calls, many requests at once.
#include "block/io_engine.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <tuple>

#include "block/block_image.h"
#include "block_test_util.h"

namespace vessel {
namespace {

using testing::disk_byte;
using testing::TempImage;

constexpr uint64_t kDiskSize = 1 << 20;

// A buffer with a chosen misalignment from a 4 KiB boundary.
struct TestBuffer {
  TestBuffer(size_t size, size_t misalign) {
    void* p = nullptr;
    EXPECT_EQ(posix_memalign(&p, 4096, size + misalign + 4096), 0);
    raw.reset(static_cast<uint8_t*>(p));
    data = raw.get() + misalign;
    len = size;
  }
  std::unique_ptr<uint8_t, decltype(&std::free)> raw{nullptr, &std::free};
  uint8_t* data = nullptr;
  size_t len = 0;
};

class EngineTest : public ::testing::TestWithParam<std::tuple<AioMode, CacheMode>> {
 protected:
  void SetUp() override { open_engine(std::nullopt); }
  void open_engine(std::optional<DirectAlign> align) {
    engine.reset();
    BlockOpenOptions o;
    o.path = file.path();
    o.format = BlockFormat::kRaw;
    o.cache = std::get<1>(GetParam());
    auto img = open_block_image(o);
    ASSERT_TRUE(img.ok()) << img.error().message;
    image = std::move(*img);
    IoEngineOptions eo;
    eo.mode = std::get<0>(GetParam());
    eo.align = align;
    auto e = create_io_engine(
        *image, [this] { notified++; }, eo);
    ASSERT_TRUE(e.ok()) << e.error().message;
    engine = std::move(*e);
  }
  // Submits, waits, returns the request's error.
  int run(std::unique_ptr<IoRequest> req) {
    engine->submit(std::move(req));
    engine->drain();
    std::vector<std::unique_ptr<IoRequest>> done;
    engine->take_completed(done);
    EXPECT_EQ(done.size(), 1u);
    return done.empty() ? -1 : done[0]->error;
  }
  std::unique_ptr<IoRequest> rw(IoRequest::Op op, uint64_t offset, std::vector<iovec> iov) {
    auto req = std::make_unique<IoRequest>();
    req->op = op;
    uint64_t len = 0;
    for (auto& v : iov) len += v.iov_len;
    req->runs.push_back({len, offset});
    req->iov = std::move(iov);
    return req;
  }

  TempImage file{kDiskSize};
  std::unique_ptr<BlockImage> image;
  std::atomic<int> notified{0};
  std::unique_ptr<IoEngine> engine;
};

TEST_P(EngineTest, WriteFlushReadRoundTrip) {
  TestBuffer a(4096, 0), b(8192, 0), out(12288, 0);
  for (size_t i = 0; i < a.len; i++) a.data[i] = static_cast<uint8_t>(i ^ 0x5A);
  for (size_t i = 0; i < b.len; i++) b.data[i] = static_cast<uint8_t>(i * 3);
  EXPECT_EQ(run(rw(IoRequest::Op::kWrite, 8192, {{a.data, a.len}, {b.data, b.len}})), 0);
  auto flush = std::make_unique<IoRequest>();
  flush->op = IoRequest::Op::kFlush;
  EXPECT_EQ(run(std::move(flush)), 0);
  EXPECT_EQ(run(rw(IoRequest::Op::kRead, 8192, {{out.data, 4096}, {out.data + 4096, 8192}})), 0);
  EXPECT_EQ(std::memcmp(out.data, a.data, 4096), 0);
  EXPECT_EQ(std::memcmp(out.data + 4096, b.data, 8192), 0);
  auto on_disk = file.read(8192, 4096);
  EXPECT_EQ(std::memcmp(on_disk.data(), a.data, 4096), 0);
  EXPECT_EQ(file.read(8192 - 1, 1)[0], disk_byte(8192 - 1));  // neighbours untouched
  EXPECT_EQ(file.read(8192 + 12288, 1)[0], disk_byte(8192 + 12288));
  EXPECT_GE(notified.load(), 3);
  EXPECT_EQ(engine->in_flight(), 0u);
}

TEST_P(EngineTest, MisalignedBuffersAndOffsetsAreBounced) {
  // A 4 KiB direct I/O alignment forced, so 512-byte sectors need a
  // read-modify-write under cache=none (and nothing special otherwise).
  open_engine(DirectAlign{4096, 4096});
  TestBuffer w(1024, 1), r(1536, 3);
  for (size_t i = 0; i < w.len; i++) w.data[i] = static_cast<uint8_t>(0xC0 + i);
  EXPECT_EQ(run(rw(IoRequest::Op::kWrite, 4096 + 512, {{w.data, 512}, {w.data + 512, 512}})), 0);
  EXPECT_EQ(run(rw(IoRequest::Op::kRead, 4096, {{r.data, 1536}})), 0);
  for (size_t i = 0; i < 512; i++) EXPECT_EQ(r.data[i], disk_byte(4096 + i)) << i;
  EXPECT_EQ(std::memcmp(r.data + 512, w.data, 1024), 0);
  auto around = file.read(4096, 4096);
  EXPECT_EQ(std::memcmp(around.data() + 512, w.data, 1024), 0);
  for (size_t i = 1536; i < 4096; i++) ASSERT_EQ(around[i], disk_byte(4096 + i)) << i;
  // Aligned offsets, misaligned memory: a plain bounce.
  TestBuffer w2(4096, 8);
  std::memset(w2.data, 0x77, 4096);
  EXPECT_EQ(run(rw(IoRequest::Op::kWrite, 65536, {{w2.data, 4096}})), 0);
  EXPECT_EQ(file.read(65536, 4096), std::vector<uint8_t>(4096, 0x77));
}

TEST_P(EngineTest, ZeroRunsAndTheEndOfTheFileReadAsZero) {
  TestBuffer out(1536, 0);
  std::memset(out.data, 0xEE, out.len);
  auto req = std::make_unique<IoRequest>();
  req->op = IoRequest::Op::kRead;
  req->runs = {{512, BlockRun::kZero}, {512, 0}, {512, kDiskSize}};  // the last past the end
  req->iov = {{out.data, 1536}};
  EXPECT_EQ(run(std::move(req)), 0);
  for (size_t i = 0; i < 512; i++) ASSERT_EQ(out.data[i], 0) << i;
  for (size_t i = 0; i < 512; i++) ASSERT_EQ(out.data[512 + i], disk_byte(i)) << i;
  for (size_t i = 1024; i < 1536; i++) ASSERT_EQ(out.data[i], 0) << i;
}

TEST_P(EngineTest, MismatchedRunsAndBuffersFail) {
  TestBuffer out(512, 0);
  auto req = rw(IoRequest::Op::kRead, 0, {{out.data, 512}});
  req->runs[0].length = 1024;
  EXPECT_EQ(run(std::move(req)), EINVAL);
  auto w = rw(IoRequest::Op::kWrite, 0, {{out.data, 512}});
  w->runs[0].host_offset = BlockRun::kZero;
  EXPECT_EQ(run(std::move(w)), EINVAL);
}

TEST_P(EngineTest, CallsRunOnAnIoThread) {
  auto req = std::make_unique<IoRequest>();
  req->op = IoRequest::Op::kCall;
  std::atomic<bool> ran{false};
  req->call = [&] {
    ran = true;
    return ok_status();
  };
  EXPECT_EQ(run(std::move(req)), 0);
  EXPECT_TRUE(ran);
  auto bad = std::make_unique<IoRequest>();
  bad->op = IoRequest::Op::kCall;
  bad->call = [] { return Status(make_error("no")); };
  EXPECT_EQ(run(std::move(bad)), EIO);
}

TEST_P(EngineTest, ManyRequestsAtOnce) {
  constexpr int kCount = 600;  // more than an io_uring's entries
  TestBuffer buf(kCount * 512, 0);
  for (int i = 0; i < kCount; i++) {
    engine->submit(rw(IoRequest::Op::kRead, uint64_t(i) * 512, {{buf.data + i * 512, 512}}));
  }
  engine->drain();
  std::vector<std::unique_ptr<IoRequest>> done;
  engine->take_completed(done);
  ASSERT_EQ(done.size(), size_t{kCount});
  for (auto& d : done) EXPECT_EQ(d->error, 0);
  for (size_t i = 0; i < kCount * 512; i++) ASSERT_EQ(buf.data[i], disk_byte(i)) << i;
}

TEST_P(EngineTest, UnsafeFlushCompletesAtOnce) {
  auto flush = std::make_unique<IoRequest>();
  flush->op = IoRequest::Op::kFlush;
  engine->submit(std::move(flush));
  std::vector<std::unique_ptr<IoRequest>> done;
  if (std::get<1>(GetParam()) == CacheMode::kUnsafe) {
    // Before any wait.
    engine->take_completed(done);
    EXPECT_EQ(done.size(), 1u);
  }
  engine->drain();
  engine->take_completed(done);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0]->error, 0);
}

// `pages` 4 KiB pages of `buf`, listed in a scrambled order (a guest's
// scattered page cache or user buffer).
std::vector<iovec> scattered_pages(TestBuffer& buf, size_t pages) {
  std::vector<iovec> iov;
  for (size_t i = 0; i < pages; i++) iov.push_back({buf.data + (i * 37 % pages) * 4096, 4096});
  return iov;
}

TEST_P(EngineTest, ScatteredPagesRoundTripThroughTheCoalescingPool) {
  constexpr size_t kPages = 128;  // 512 KiB in 4 KiB pieces: coalesced with O_DIRECT
  TestBuffer w(kPages * 4096, 0), r(kPages * 4096, 0);
  for (size_t i = 0; i < w.len; i++) w.data[i] = static_cast<uint8_t>(i * 7 + (i >> 12));
  std::memset(r.data, 0xEE, r.len);
  std::vector<iovec> w_iov = scattered_pages(w, kPages), r_iov = scattered_pages(r, kPages);
  CoalescePoolStats before = coalesce_pool_stats();
  EXPECT_EQ(run(rw(IoRequest::Op::kWrite, 65536, w_iov)), 0);
  EXPECT_EQ(run(rw(IoRequest::Op::kRead, 65536, r_iov)), 0);
  CoalescePoolStats after = coalesce_pool_stats();
  // The file holds the pieces in list order; the read put them back.
  auto on_disk = file.read(65536, kPages * 4096);
  for (size_t i = 0; i < kPages; i++) {
    ASSERT_EQ(std::memcmp(on_disk.data() + i * 4096, w_iov[i].iov_base, 4096), 0) << i;
  }
  EXPECT_EQ(std::memcmp(r.data, w.data, w.len), 0);
  EXPECT_EQ(file.read(65535, 1)[0], disk_byte(65535));
  bool direct = std::get<1>(GetParam()) == CacheMode::kNone;
  EXPECT_EQ(after.segments - before.segments, direct ? 2u : 0u);
  EXPECT_EQ(after.in_use, 0u) << "every buffer is back in the pool";
}

TEST_P(EngineTest, CoalescedRunsShareABufferAndReadZerosPastTheEnd) {
  // One request: two scattered 64 KiB runs apart on the file (a qcow2
  // image's clusters), the second crossing the end of the file.
  constexpr size_t kPages = 32;
  TestBuffer w(kPages * 4096, 0), r(kPages * 4096, 0);
  for (size_t i = 0; i < w.len; i++) w.data[i] = static_cast<uint8_t>(i * 13 + (i >> 12));
  std::memset(r.data, 0xEE, r.len);
  constexpr uint64_t kFar = kDiskSize - 32 * 1024;
  auto two_runs = [&](IoRequest::Op op, TestBuffer& buf) {
    auto req = rw(op, 0, scattered_pages(buf, kPages));
    req->runs = {{64 * 1024, 128 * 1024}, {64 * 1024, kFar}};
    return req;
  };
  bool direct = std::get<1>(GetParam()) == CacheMode::kNone;
  CoalescePoolStats before = coalesce_pool_stats();
  auto plan = two_runs(IoRequest::Op::kRead, r);
  ASSERT_TRUE(plan_request(*plan, engine->direct_align()).ok());
  ASSERT_EQ(plan->segments.size(), 2u);
  if (direct) {
    EXPECT_EQ(plan->buffers.size(), 1u) << "both runs are packed into one pool buffer";
    EXPECT_EQ(plan->segments[1].bounce, plan->segments[0].bounce + 64 * 1024);
    EXPECT_EQ(coalesce_pool_stats().in_use, before.in_use + 1);
  }
  plan.reset();

  // The read first: 32 KiB of the file, then zeros.
  EXPECT_EQ(run(two_runs(IoRequest::Op::kRead, r)), 0);
  std::vector<iovec> pieces = scattered_pages(r, kPages);
  for (size_t page = 16; page < kPages; page++) {
    const uint8_t* p = static_cast<const uint8_t*>(pieces[page].iov_base);
    uint64_t at = kFar + (page - 16) * 4096;
    for (size_t i = 0; i < 4096; i += 511) {
      ASSERT_EQ(p[i], at + i < kDiskSize ? disk_byte(at + i) : 0) << page << " " << i;
    }
  }
  EXPECT_EQ(run(two_runs(IoRequest::Op::kWrite, w)), 0);
  EXPECT_EQ(run(two_runs(IoRequest::Op::kRead, r)), 0);
  EXPECT_EQ(std::memcmp(r.data, w.data, w.len), 0);
  EXPECT_EQ(file.read(128 * 1024 - 1, 1)[0], disk_byte(128 * 1024 - 1));
  EXPECT_EQ(file.read(192 * 1024, 1)[0], disk_byte(192 * 1024));
  EXPECT_EQ(coalesce_pool_stats().segments - before.segments, direct ? 8u : 0u);
  EXPECT_EQ(coalesce_pool_stats().in_use, 0u);
}

std::string param_name(const ::testing::TestParamInfo<EngineTest::ParamType>& info) {
  return std::string(aio_mode_name(std::get<0>(info.param))) + "_" +
         std::string(cache_mode_name(std::get<1>(info.param)));
}

INSTANTIATE_TEST_SUITE_P(
    AllModes, EngineTest,
    ::testing::Combine(::testing::Values(AioMode::kThreads, AioMode::kIoUring),
                       ::testing::Values(CacheMode::kNone, CacheMode::kWriteback,
                                         CacheMode::kWritethrough, CacheMode::kUnsafe)),
    param_name);

TEST(CoalescePlanTest, LongSegmentsAreCutAndAnEmptyPoolGoesDirect) {
  const DirectAlign align{512, 512};
  ASSERT_EQ(coalesce_pool_stats().in_use, 0u);
  // 3 MiB of scattered pages: a 2 MiB and a 1 MiB coalesced segment, the
  // write's data copied in list order.
  constexpr size_t kPages = 768;
  TestBuffer buf(kPages * 4096, 0);
  for (size_t i = 0; i < buf.len; i++) buf.data[i] = static_cast<uint8_t>(i >> 12);
  IoRequest req;
  req.op = IoRequest::Op::kWrite;
  req.runs = {{kPages * 4096, 1 << 20}};
  req.iov = scattered_pages(buf, kPages);
  ASSERT_TRUE(plan_request(req, align).ok());
  ASSERT_EQ(req.segments.size(), 2u);
  EXPECT_EQ(req.segments[0].offset, 1u << 20);
  EXPECT_EQ(req.segments[0].length, kCoalesceBytes);
  EXPECT_EQ(req.segments[1].offset, (1u << 20) + kCoalesceBytes);
  EXPECT_EQ(req.segments[1].length, kPages * 4096 - kCoalesceBytes);
  for (const IoSegment& seg : req.segments) {
    ASSERT_TRUE(seg.bounce);
    ASSERT_EQ(seg.iov.size(), 1u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(seg.iov[0].iov_base) % (2u << 20), 0u);
  }
  for (size_t page = 0; page < kPages; page++) {
    const IoSegment& seg = req.segments[page * 4096 / kCoalesceBytes];
    const uint8_t* copied = seg.bounce + (page * 4096) % kCoalesceBytes;
    ASSERT_EQ(std::memcmp(copied, req.iov[page].iov_base, 4096), 0) << page;
  }
  EXPECT_EQ(coalesce_pool_stats().in_use, 2u);

  // Few large pieces stay direct.
  IoRequest whole;
  whole.op = IoRequest::Op::kRead;
  whole.runs = {{1 << 20, 0}};
  whole.iov = {{buf.data, 1 << 19}, {buf.data + (1 << 19), 1 << 19}};
  ASSERT_TRUE(plan_request(whole, align).ok());
  ASSERT_EQ(whole.segments.size(), 1u);
  EXPECT_FALSE(whole.segments[0].bounce);
  EXPECT_EQ(whole.segments[0].iov.size(), 2u);

  // With every buffer taken, a fragmented segment goes direct.
  std::vector<IoRequest> more(kCoalesceBuffers);
  for (IoRequest& r : more) {
    r.op = IoRequest::Op::kRead;
    r.runs = {{16 * 4096, 0}};
    r.iov = scattered_pages(buf, 16);
    ASSERT_TRUE(plan_request(r, align).ok());
    ASSERT_EQ(r.segments.size(), 1u);
  }
  for (size_t i = 0; i < more.size(); i++) {
    EXPECT_EQ(more[i].segments[0].bounce != nullptr, i + 2 < kCoalesceBuffers) << i;
    if (!more[i].segments[0].bounce) {
      EXPECT_EQ(more[i].segments[0].iov.size(), 16u);
    }
  }
  EXPECT_EQ(coalesce_pool_stats().in_use, kCoalesceBuffers);
  req.clear();
  EXPECT_EQ(coalesce_pool_stats().in_use, kCoalesceBuffers - 2);
  EXPECT_EQ(coalesce_pool_stats().mapped, kCoalesceBuffers) << "no unmapping while in use";
  for (IoRequest& r : more) r.clear();
  EXPECT_EQ(coalesce_pool_stats().in_use, 0u);
  EXPECT_EQ(coalesce_pool_stats().mapped, kCoalesceIdle) << "the idle rest is unmapped";
}

// A loop block device over a file (needs root and /dev/loop-control).
class LoopDevice {
 public:
  explicit LoopDevice(const std::string& file) {
    int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) {
      why_ = std::string("cannot open /dev/loop-control: ") + std::strerror(errno);
      return;
    }
    int n = ioctl(control, LOOP_CTL_GET_FREE);
    close(control);
    if (n < 0) {
      why_ = std::string("no free loop device: ") + std::strerror(errno);
      return;
    }
    int backing = open(file.c_str(), O_RDWR | O_CLOEXEC);
    fd_ = open(("/dev/loop" + std::to_string(n)).c_str(), O_RDWR | O_CLOEXEC);
    if (backing < 0 || fd_ < 0 || ioctl(fd_, LOOP_SET_FD, backing) != 0) {
      why_ = std::string("cannot attach a loop device: ") + std::strerror(errno);
      if (fd_ >= 0) close(fd_);
      fd_ = -1;
    }
    if (backing >= 0) close(backing);
  }
  ~LoopDevice() {
    if (fd_ < 0) return;
    ioctl(fd_, LOOP_CLR_FD, 0);
    close(fd_);
  }
  int fd() const { return fd_; }
  const std::string& why() const { return why_; }

 private:
  int fd_ = -1;
  std::string why_;
};

// A short read ends the image only at its end: a file's size, or a block
// device's capacity (whose fstat st_size is 0).
TEST(AtEndOfImageTest, FileSizeOrDeviceCapacity) {
  TempImage file(3 * 4096);
  int fd = open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(at_end_of_image(fd, 0));
  EXPECT_FALSE(at_end_of_image(fd, 3 * 4096 - 1));
  EXPECT_TRUE(at_end_of_image(fd, 3 * 4096));
  EXPECT_TRUE(at_end_of_image(fd, 5 * 4096));
  close(fd);

  LoopDevice dev(file.path());
  if (dev.fd() < 0) GTEST_SKIP() << dev.why();
  EXPECT_FALSE(at_end_of_image(dev.fd(), 4096)) << "a device is not at its end mid-way";
  EXPECT_TRUE(at_end_of_image(dev.fd(), 3 * 4096));
}

TEST(AioModeTest, Parse) {
  EXPECT_EQ(*parse_aio_mode("threads"), AioMode::kThreads);
  EXPECT_EQ(*parse_aio_mode("io_uring"), AioMode::kIoUring);
  auto bad = parse_aio_mode("uring");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("threads or io_uring"), std::string::npos);
}

TEST(DirectAlignTest, ProbeGivesPowersOfTwo) {
  TempImage file(4096);
  int fd = open(file.path().c_str(), O_RDONLY | O_DIRECT);
  ASSERT_GE(fd, 0);
  DirectAlign a = probe_direct_align(fd);
  close(fd);
  EXPECT_TRUE(a.direct());
  EXPECT_EQ(a.offset & (a.offset - 1), 0u);
  EXPECT_EQ(a.memory & (a.memory - 1), 0u);
  EXPECT_LE(a.offset, 4096u);
}

}  // namespace
}  // namespace vessel

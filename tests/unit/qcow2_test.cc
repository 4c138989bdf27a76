// qcow2 images made by qemu-img: written through BlockImage::map() and
// pwrite, then checked with `qemu-img check` and compared byte for byte
// with `qemu-img convert -O raw`; hostile images give errors.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "block/block_image.h"

namespace vessel {
namespace {

namespace fs = std::filesystem;

struct CmdResult {
  int status = -1;
  std::string output;
};

CmdResult run_cmd(const std::string& cmd) {
  CmdResult r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool have_qemu_img() {
  return run_cmd("qemu-img --version && qemu-io --version").status == 0;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::vector<uint8_t> data;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return data;
  std::fseek(f, 0, SEEK_END);
  data.resize(static_cast<size_t>(std::ftell(f)));
  std::fseek(f, 0, SEEK_SET);
  size_t got = std::fread(data.data(), 1, data.size(), f);
  data.resize(got);
  std::fclose(f);
  return data;
}

void patch_file(const std::string& path, uint64_t offset, const std::vector<uint8_t>& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)),
            static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

std::vector<uint8_t> be(uint64_t v, int bytes) {
  std::vector<uint8_t> out(static_cast<size_t>(bytes));
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) out[static_cast<size_t>(i)] = uint8_t(v);
  return out;
}

uint64_t load_be_at(const std::vector<uint8_t>& d, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | d[at + static_cast<size_t>(i)];
  return v;
}

// A 4096-aligned buffer (for cache=none).
struct Buf {
  explicit Buf(size_t n) : size(n) {
    void* raw = nullptr;
    EXPECT_EQ(::posix_memalign(&raw, 4096, std::max<size_t>(n, 4096)), 0);
    ptr = static_cast<uint8_t*>(raw);
  }
  ~Buf() { std::free(ptr); }
  uint8_t* ptr;
  size_t size;
};

Status write_at(BlockImage& img, uint64_t offset, const uint8_t* data, uint64_t len) {
  std::vector<BlockRun> runs;
  VESSEL_TRY(img.map(offset, len, true, runs));
  uint64_t done = 0, total = 0;
  for (const BlockRun& r : runs) total += r.length;
  if (total != len) return make_error("runs add up to {} not {}", total, len);
  Buf tmp(len);
  std::memcpy(tmp.ptr, data, len);
  for (const BlockRun& r : runs) {
    if (r.host_offset == BlockRun::kZero) return make_error("zero run for a write");
    if (::pwrite(img.fd(), tmp.ptr + done, r.length, static_cast<off_t>(r.host_offset)) !=
        static_cast<ssize_t>(r.length)) {
      return make_error("pwrite failed: {}", std::strerror(errno));
    }
    done += r.length;
  }
  return ok_status();
}

Expected<std::vector<uint8_t>> read_at(BlockImage& img, uint64_t offset, uint64_t len) {
  std::vector<BlockRun> runs;
  VESSEL_TRY(img.map(offset, len, false, runs));
  Buf tmp(len);
  uint64_t done = 0;
  for (const BlockRun& r : runs) {
    if (r.host_offset == BlockRun::kZero) {
      std::memset(tmp.ptr + done, 0, r.length);
    } else {
      ssize_t n = ::pread(img.fd(), tmp.ptr + done, r.length, static_cast<off_t>(r.host_offset));
      if (n != static_cast<ssize_t>(r.length)) return make_error("short pread");
    }
    done += r.length;
  }
  if (done != len) return make_error("runs add up to {} not {}", done, len);
  return std::vector<uint8_t>(tmp.ptr, tmp.ptr + len);
}

class Qcow2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_qemu_img()) GTEST_SKIP() << "qemu-img/qemu-io not installed (Debian qemu-utils)";
    char tmpl[] = "/tmp/vessel-qcow2-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  std::string create(const std::string& name, const std::string& opts, const std::string& size) {
    std::string p = path(name);
    CmdResult r = run_cmd("qemu-img create -q -f qcow2 -o " + opts + " " + p + " " + size);
    EXPECT_EQ(r.status, 0) << r.output;
    return p;
  }

  static Expected<std::unique_ptr<BlockImage>> open(const std::string& p, bool ro = false,
                                                    CacheMode cache = CacheMode::kWriteback) {
    BlockOpenOptions o;
    o.path = p;
    o.read_only = ro;
    o.cache = cache;
    return open_block_image(o);
  }

  // qemu-img check is clean and the raw conversion equals `expected`.
  void verify(const std::string& p, const std::vector<uint8_t>& expected) {
    CmdResult c = run_cmd("qemu-img check " + p);
    EXPECT_EQ(c.status, 0) << c.output;
    EXPECT_NE(c.output.find("No errors were found"), std::string::npos) << c.output;
    EXPECT_EQ(c.output.find("leak"), std::string::npos) << c.output;
    std::string raw = p + ".raw";
    CmdResult v = run_cmd("qemu-img convert -O raw " + p + " " + raw);
    ASSERT_EQ(v.status, 0) << v.output;
    std::vector<uint8_t> got = read_file(raw);
    ASSERT_EQ(got.size(), expected.size());
    size_t first_diff = got.size();
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i] != expected[i]) {
        first_diff = i;
        break;
      }
    }
    EXPECT_EQ(first_diff, got.size()) << "converted image differs at byte " << first_diff;
    fs::remove(raw);
  }

  std::string dir_;
};

struct Layout {
  const char* compat;
  uint64_t cluster;
  int refcount_bits;
};

class Qcow2RoundTrip : public Qcow2Test, public ::testing::WithParamInterface<Layout> {};

TEST_P(Qcow2RoundTrip, ScatteredWritesCheckCleanAndConvertEqual) {
  const Layout l = GetParam();
  const uint64_t disk = 16ull << 20;
  std::string p = create("t.qcow2",
                         fmt::format("compat={},cluster_size={},refcount_bits={}", l.compat,
                                     l.cluster, l.refcount_bits),
                         "16M");
  std::vector<uint8_t> model(disk, 0);
  std::mt19937_64 rng(l.cluster * 131 + static_cast<uint64_t>(l.refcount_bits));
  {
    auto img = open(p);
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_EQ((*img)->format(), "qcow2");
    EXPECT_EQ((*img)->size(), disk);
    for (int i = 0; i < 60; ++i) {
      uint64_t len = (1 + rng() % 96) * 512;
      uint64_t off = (rng() % ((disk - len) / 512)) * 512;
      std::vector<uint8_t> data(len);
      for (auto& b : data) b = static_cast<uint8_t>(rng());
      ASSERT_TRUE(write_at(**img, off, data.data(), len).ok()) << off;
      std::memcpy(model.data() + off, data.data(), len);
    }
    // The last sector and one straddling a cluster boundary.
    std::vector<uint8_t> tail(1024, 0x5a);
    ASSERT_TRUE(write_at(**img, disk - 1024, tail.data(), tail.size()).ok());
    std::memcpy(model.data() + disk - 1024, tail.data(), tail.size());
    uint64_t cross = 7 * l.cluster - 512;
    ASSERT_TRUE(write_at(**img, cross, tail.data(), tail.size()).ok());
    std::memcpy(model.data() + cross, tail.data(), tail.size());
    ASSERT_TRUE((*img)->flush().ok());
    auto back = read_at(**img, 0, disk);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(*back == model);
  }
  {
    auto img = open(p, true);
    ASSERT_TRUE(img.ok()) << img.error().message;
    auto back = read_at(**img, 0, disk);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(*back == model);
  }
  verify(p, model);
}

INSTANTIATE_TEST_SUITE_P(Layouts, Qcow2RoundTrip,
                         ::testing::Values(Layout{"0.10", 65536, 16}, Layout{"0.10", 512, 16},
                                           Layout{"1.1", 512, 16}, Layout{"1.1", 4096, 16},
                                           Layout{"1.1", 65536, 16}, Layout{"1.1", 2 << 20, 16},
                                           Layout{"1.1", 4096, 1}, Layout{"1.1", 512, 2},
                                           Layout{"1.1", 65536, 8}, Layout{"1.1", 4096, 64}));

TEST_F(Qcow2Test, ReadsDataWrittenByQemuIo) {
  for (const char* compat : {"0.10", "1.1"}) {
    std::string p =
        create(std::string("q") + compat + ".qcow2", std::string("compat=") + compat, "4M");
    CmdResult w = run_cmd("qemu-io -f qcow2 -c 'write -P 0xab 64k 128k' " + p);
    ASSERT_EQ(w.status, 0) << w.output;
    auto img = open(p, true);
    ASSERT_TRUE(img.ok()) << img.error().message;
    auto back = read_at(**img, 0, 4 << 20);
    ASSERT_TRUE(back.ok()) << back.error().message;
    for (size_t i = 0; i < back->size(); ++i) {
      uint8_t want = (i >= 65536 && i < 65536 + 131072) ? 0xab : 0;
      ASSERT_EQ((*back)[i], want) << "byte " << i << " compat " << compat;
    }
  }
}

TEST_F(Qcow2Test, RefcountTableGrowsWith512ByteClusters) {
  // 512-byte clusters, 16-bit refcounts: one refcount-table cluster covers
  // 64 blocks x 256 clusters = 8 MiB of file; write 12 MiB.
  std::string p = create("g.qcow2", "compat=1.1,cluster_size=512", "32M");
  uint64_t before = load_be_at(read_file(p), 48, 8);
  std::vector<uint8_t> model(32 << 20, 0);
  {
    auto img = open(p);
    ASSERT_TRUE(img.ok()) << img.error().message;
    std::vector<uint8_t> data(65536);
    for (uint64_t off = 0; off < (12u << 20); off += data.size()) {
      for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>((off >> 16) + i);
      uint64_t at = (off * 5 / 2) % (32u << 20);  // spread, overlapping later
      ASSERT_TRUE(write_at(**img, at, data.data(), data.size()).ok()) << at;
      std::memcpy(model.data() + at, data.data(), data.size());
    }
  }
  std::vector<uint8_t> file = read_file(p);
  EXPECT_NE(load_be_at(file, 48, 8), before) << "refcount table did not move";
  EXPECT_GT(load_be_at(file, 56, 4), 1u);
  verify(p, model);
}

TEST_F(Qcow2Test, WriteZeroesAndDiscard) {
  for (const char* compat : {"0.10", "1.1"}) {
    std::string p = create(std::string("z") + compat + ".qcow2",
                           std::string("compat=") + compat + ",cluster_size=4096", "8M");
    std::vector<uint8_t> model(8 << 20, 0);
    auto img = open(p);
    ASSERT_TRUE(img.ok()) << img.error().message;
    std::vector<uint8_t> data(model.size());
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + i / 4096);
    ASSERT_TRUE(write_at(**img, 0, data.data(), data.size()).ok());
    model = data;
    auto zero = [&](uint64_t off, uint64_t len) { std::memset(model.data() + off, 0, len); };
    ASSERT_TRUE((*img)->write_zeroes(4096, 3 * 4096, true).ok());  // whole, unmap
    zero(4096, 3 * 4096);
    ASSERT_TRUE((*img)->write_zeroes(65536, 8 * 4096, false).ok());  // whole, keep
    zero(65536, 8 * 4096);
    ASSERT_TRUE((*img)->write_zeroes(200 * 4096 + 512, 1024, false).ok());  // partial
    zero(200 * 4096 + 512, 1024);
    ASSERT_TRUE((*img)->write_zeroes(300 * 4096 + 1024, 3 * 4096, true).ok());  // mixed
    zero(300 * 4096 + 1024, 3 * 4096);
    ASSERT_TRUE((*img)->discard(1 << 20, 1 << 20).ok());  // whole clusters
    zero(1 << 20, 1 << 20);
    ASSERT_TRUE((*img)->discard(500 * 4096 + 512, 2048).ok());  // partial: unchanged
    // Written again after being zeroed / discarded.
    std::vector<uint8_t> again(2048, 0xee);
    ASSERT_TRUE(write_at(**img, 65536 + 512, again.data(), again.size()).ok());
    std::memcpy(model.data() + 65536 + 512, again.data(), again.size());
    ASSERT_TRUE(write_at(**img, (1 << 20) + 4096, again.data(), again.size()).ok());
    std::memcpy(model.data() + (1 << 20) + 4096, again.data(), again.size());
    auto back = read_at(**img, 0, model.size());
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_TRUE(*back == model) << compat;
    img->reset();
    verify(p, model);
  }
}

TEST_F(Qcow2Test, CopyOnWriteKeepsSnapshotIntact) {
  std::string p = create("s.qcow2", "compat=1.1,cluster_size=65536", "4M");
  ASSERT_EQ(run_cmd("qemu-io -f qcow2 -c 'write -P 0x11 0 1M' " + p).status, 0);
  ASSERT_EQ(run_cmd("qemu-img snapshot -c s1 " + p).status, 0);
  std::vector<uint8_t> snap(4 << 20, 0);
  std::memset(snap.data(), 0x11, 1 << 20);
  std::vector<uint8_t> model = snap;
  {
    auto img = open(p);
    ASSERT_TRUE(img.ok()) << img.error().message;
    std::vector<uint8_t> data(4096, 0x22);
    for (uint64_t off : {uint64_t{4096}, uint64_t{300000 & ~4095ull}, uint64_t{2 << 20}}) {
      ASSERT_TRUE(write_at(**img, off, data.data(), data.size()).ok());
      std::memcpy(model.data() + off, data.data(), data.size());
    }
    ASSERT_TRUE((*img)->discard(512 * 1024, 65536).ok());
    std::memset(model.data() + 512 * 1024, 0, 65536);
    ASSERT_TRUE((*img)->write_zeroes(640 * 1024, 65536, true).ok());
    std::memset(model.data() + 640 * 1024, 0, 65536);
  }
  verify(p, model);
  std::string raw = p + ".snap";
  CmdResult c = run_cmd("qemu-img convert -l snapshot.name=s1 -O raw " + p + " " + raw);
  ASSERT_EQ(c.status, 0) << c.output;
  EXPECT_TRUE(read_file(raw) == snap) << "snapshot changed";
}

TEST_F(Qcow2Test, CacheNoneUsesAlignedMetadataIo) {
  std::string p = create("d.qcow2", "compat=1.1,cluster_size=65536", "16M");
  auto img = open(p, false, CacheMode::kNone);
  if (!img.ok() && img.error().message.find("O_DIRECT") != std::string::npos) {
    GTEST_SKIP() << img.error().message;
  }
  ASSERT_TRUE(img.ok()) << img.error().message;
  std::vector<uint8_t> model(16 << 20, 0);
  std::vector<uint8_t> data(3 * 65536);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i / 4096 + 1);
  for (uint64_t off : {uint64_t{0}, uint64_t{5 << 20}, uint64_t{(16 << 20) - 3 * 65536}}) {
    ASSERT_TRUE(write_at(**img, off, data.data(), data.size()).ok());
    std::memcpy(model.data() + off, data.data(), data.size());
  }
  ASSERT_TRUE((*img)->write_zeroes(5 << 20, 65536, true).ok());
  std::memset(model.data() + (5 << 20), 0, 65536);
  auto back = read_at(**img, 0, model.size());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(*back == model);
  img->reset();
  verify(p, model);
  // 512-byte clusters with O_DIRECT: work, or a clear error.
  std::string small = create("d512.qcow2", "compat=1.1,cluster_size=512", "1M");
  auto s = open(small, false, CacheMode::kNone);
  if (!s.ok()) {
    EXPECT_NE(s.error().message.find("cache mode"), std::string::npos) << s.error().message;
  } else {
    ASSERT_TRUE(write_at(**s, 4096, data.data(), 8192).ok());
    s->reset();
    std::vector<uint8_t> m(1 << 20, 0);
    std::memcpy(m.data() + 4096, data.data(), 8192);
    verify(small, m);
  }
}

TEST_F(Qcow2Test, ReadOnlyRefusesWrites) {
  std::string p = create("r.qcow2", "compat=1.1", "1M");
  auto img = open(p, true);
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_TRUE((*img)->read_only());
  std::vector<BlockRun> runs;
  EXPECT_FALSE((*img)->map(0, 4096, true, runs).ok());
  EXPECT_FALSE((*img)->write_zeroes(0, 65536, true).ok());
  EXPECT_FALSE((*img)->discard(0, 65536).ok());
  EXPECT_FALSE((*img)->map(1 << 20, 512, false, runs).ok());  // past the end
  EXPECT_TRUE((*img)->map(0, 4096, false, runs).ok());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].host_offset, BlockRun::kZero);
}

TEST_F(Qcow2Test, ConcurrentWritersFromSeveralThreads) {
  std::string p = create("c.qcow2", "compat=1.1,cluster_size=4096", "8M");
  std::vector<uint8_t> model(8 << 20, 0);
  auto img = open(p);
  ASSERT_TRUE(img.ok()) << img.error().message;
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<uint8_t> data(6144, static_cast<uint8_t>(0x10 + t));
      // Interleaved 8 KiB slots: threads allocate in the same L2 tables.
      for (uint64_t slot = static_cast<uint64_t>(t); slot < 1024; slot += 4) {
        if (!write_at(**img, slot * 8192 + 1024, data.data(), data.size()).ok()) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(failures[static_cast<size_t>(t)], 0);
    for (uint64_t slot = static_cast<uint64_t>(t); slot < 1024; slot += 4) {
      std::memset(model.data() + slot * 8192 + 1024, 0x10 + t, 6144);
    }
  }
  img->reset();
  verify(p, model);
}

// Opening `p` fails with an error containing `want`.
void expect_open_error(const std::string& p, const std::string& want, bool ro = false) {
  BlockOpenOptions o;
  o.path = p;
  o.format = BlockFormat::kQcow2;
  o.read_only = ro;
  auto img = open_block_image(o);
  ASSERT_FALSE(img.ok()) << "opened " << p;
  EXPECT_NE(img.error().message.find(want), std::string::npos) << img.error().message;
}

TEST_F(Qcow2Test, HostileHeadersGiveClearErrors) {
  std::string base = create("h.qcow2", "compat=1.1", "16M");
  ASSERT_EQ(run_cmd("qemu-io -f qcow2 -c 'write -P 0x33 0 128k' " + base).status, 0);
  auto variant = [&](const std::string& name, uint64_t at, std::vector<uint8_t> bytes) {
    std::string p = path(name);
    fs::copy_file(base, p);
    patch_file(p, at, bytes);
    return p;
  };
  std::string t = path("trunc.qcow2");
  fs::copy_file(base, t);
  fs::resize_file(t, 100);
  expect_open_error(t, "qcow2");
  fs::remove(t);
  fs::copy_file(base, t);
  fs::resize_file(t, 0x20000);  // L1 table (at 0x30000) gone
  expect_open_error(t, "L1 table");
  expect_open_error(variant("v.qcow2", 4, be(4, 4)), "version 4");
  expect_open_error(variant("cb.qcow2", 20, be(30, 4)), "cluster_bits 30");
  expect_open_error(variant("l1u.qcow2", 40, be(0x30008, 8)), "L1 table offset");
  expect_open_error(variant("l1p.qcow2", 40, be(1ull << 50, 8)), "L1 table offset");
  expect_open_error(variant("l1s.qcow2", 36, be(0x40000000, 4)), "L1 table is too large");
  expect_open_error(variant("l1z.qcow2", 36, be(0, 4)), "too small");
  expect_open_error(variant("rt.qcow2", 48, be(0x7fff0000, 8)), "refcount table offset");
  expect_open_error(variant("rtc.qcow2", 56, be(0xffffffff, 4)), "refcount table size");
  expect_open_error(variant("ro.qcow2", 96, be(7, 4)), "refcount_order 7");
  expect_open_error(variant("dirty.qcow2", 72, be(1, 8)), "qemu-img check -r all");
  expect_open_error(variant("ext.qcow2", 72, be(4, 8)), "external data file");
  expect_open_error(variant("l2x.qcow2", 72, be(16, 8)), "extended L2");
  expect_open_error(variant("unk.qcow2", 72, be(1ull << 40, 8)), "unknown incompatible");
  expect_open_error(variant("crypt.qcow2", 32, be(1, 4)), "encrypted");
  std::string corrupt = variant("corrupt.qcow2", 72, be(2, 8));
  expect_open_error(corrupt, "corrupt");
  {
    BlockOpenOptions o;
    o.path = corrupt;
    o.read_only = true;
    EXPECT_TRUE(open_block_image(o).ok()) << "a corrupt image still opens read-only";
  }

  // An L2 entry pointing past the end of the file: the read fails.
  std::vector<uint8_t> file = read_file(base);
  uint64_t l1 = load_be_at(file, 40, 8);
  uint64_t l2 = load_be_at(file, l1, 8) & 0x00fffffffffffe00ull;
  ASSERT_NE(l2, 0u);
  std::string past = variant("past.qcow2", l2 + 8, be((1ull << 63) | 0x7fff0000ull, 8));
  auto img = open(past, true);
  ASSERT_TRUE(img.ok()) << img.error().message;
  std::vector<BlockRun> runs;
  EXPECT_TRUE((*img)->map(0, 65536, false, runs).ok());
  Status st = (*img)->map(65536, 512, false, runs);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("past the end"), std::string::npos) << st.error().message;
  auto rw = open(past);
  ASSERT_TRUE(rw.ok());
  EXPECT_FALSE((*rw)->map(65536, 512, true, runs).ok());
}

TEST_F(Qcow2Test, BackingFileAndCompressedClustersAreRefused) {
  std::string base = create("base.qcow2", "compat=1.1", "4M");
  std::string over = path("over.qcow2");
  CmdResult r = run_cmd("qemu-img create -q -f qcow2 -b " + base + " -F qcow2 " + over);
  ASSERT_EQ(r.status, 0) << r.output;
  expect_open_error(over, "backing file");

  ASSERT_EQ(run_cmd("qemu-io -f qcow2 -c 'write -P 0x44 0 256k' " + base).status, 0);
  std::string comp = path("comp.qcow2");
  r = run_cmd("qemu-img convert -c -O qcow2 " + base + " " + comp);
  ASSERT_EQ(r.status, 0) << r.output;
  auto img = open(comp);
  ASSERT_TRUE(img.ok()) << img.error().message;
  std::vector<BlockRun> runs;
  Status st = (*img)->map(0, 4096, false, runs);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("compressed"), std::string::npos) << st.error().message;
  EXPECT_TRUE(runs.empty());
  EXPECT_FALSE((*img)->map(0, 4096, true, runs).ok());
  EXPECT_TRUE((*img)->map(1 << 20, 4096, false, runs).ok());  // unallocated part still reads
}

TEST_F(Qcow2Test, RandomlyCorruptedMetadataNeverCrashes) {
  std::string base = create("f.qcow2", "compat=1.1,cluster_size=4096", "2M");
  ASSERT_EQ(run_cmd("qemu-io -f qcow2 -c 'write -P 0x55 0 1M' " + base).status, 0);
  std::vector<uint8_t> orig = read_file(base);
  std::mt19937_64 rng(7);
  int opened = 0;
  for (int i = 0; i < 150; ++i) {
    std::vector<uint8_t> bad = orig;
    for (int k = 0; k < 4; ++k) {
      // Metadata lives in the first few clusters and the L2 table.
      size_t at = (k == 0) ? rng() % 112 : rng() % std::min<size_t>(bad.size(), 6 * 4096);
      bad[at] = static_cast<uint8_t>(rng());
    }
    std::string p = path("fz.qcow2");
    FILE* f = std::fopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(bad.data(), 1, bad.size(), f);
    std::fclose(f);
    auto img = open(p);
    if (!img.ok()) continue;
    ++opened;
    uint64_t size = std::min<uint64_t>((*img)->size(), 4 << 20);
    std::vector<BlockRun> runs;
    for (uint64_t off = 0; off + 65536 <= size; off += 65536) {
      runs.clear();
      (void)(*img)->map(off, 65536, false, runs);
      runs.clear();
      (void)(*img)->map(off, 4096, true, runs);
      (void)(*img)->discard(off + 8192, 4096);
    }
  }
  EXPECT_GT(opened, 0);
}

}  // namespace
}  // namespace vessel

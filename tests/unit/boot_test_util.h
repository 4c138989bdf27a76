// Helpers for the boot tests: temporary files, little-endian pokes, and
// builders for synthetic ELF images and notes.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "memory/guest_memory.h"

namespace vessel::test {

using Buf = std::vector<uint8_t>;

template <typename T>
void poke(Buf& b, size_t off, T v) {
  if (b.size() < off + sizeof(T)) b.resize(off + sizeof(T));
  std::memcpy(b.data() + off, &v, sizeof(T));
}

template <typename T>
T peek(const Buf& b, size_t off) {
  T v{};
  EXPECT_LE(off + sizeof(T), b.size());
  if (off + sizeof(T) <= b.size()) std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

template <typename T>
T guest(const GuestMemory& m, uint64_t gpa) {
  auto v = m.read_obj<T>(gpa);
  EXPECT_TRUE(v.ok()) << "guest read at " << gpa;
  return v.ok() ? *v : T{};
}

inline Buf guest_bytes(const GuestMemory& m, uint64_t gpa, size_t len) {
  Buf b(len);
  EXPECT_TRUE(m.read(gpa, b.data(), len).ok());
  return b;
}

inline std::string guest_string(const GuestMemory& m, uint64_t gpa) {
  std::string s;
  for (;;) {
    auto c = m.read_obj<char>(gpa++);
    if (!c.ok() || *c == 0) return s;
    s.push_back(*c);
  }
}

inline Buf pattern(size_t n, uint8_t seed) {
  Buf b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return b;
}

// A file in $TMPDIR (or /tmp), deleted when the object goes.
class TempFile {
 public:
  explicit TempFile(const Buf& contents) {
    const char* dir = getenv("TMPDIR");
    path_ = std::string(dir ? dir : "/tmp") + "/vessel-boot-test-XXXXXX";
    int fd = mkstemp(path_.data());
    EXPECT_GE(fd, 0);
    size_t done = 0;
    while (done < contents.size()) {
      ssize_t n = write(fd, contents.data() + done, contents.size() - done);
      EXPECT_GT(n, 0);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fd);
  }
  ~TempFile() { unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::unique_ptr<GuestMemory> make_memory(uint64_t size) {
  auto m = GuestMemory::create(size);
  EXPECT_TRUE(m.ok());
  return m.ok() ? std::move(*m) : nullptr;
}

struct TestSegment {
  uint32_t type = 1;  // PT_LOAD
  uint64_t paddr = 0;
  Buf data;
  uint64_t memsz = 0;  // 0: data.size()
};

// An ELF executable (x86-64 if is64, else i386) with the given program
// headers; segment contents follow the program headers, 16-byte aligned.
inline Buf make_elf(bool is64, uint64_t entry, const std::vector<TestSegment>& segs) {
  Buf b;
  size_t ehsize = is64 ? 64 : 52, phsize = is64 ? 56 : 32;
  b.resize(ehsize + phsize * segs.size());
  b[0] = 0x7F, b[1] = 'E', b[2] = 'L', b[3] = 'F';
  b[4] = is64 ? 2 : 1;
  b[5] = 1;
  b[6] = 1;
  poke<uint16_t>(b, 16, 2);
  poke<uint16_t>(b, 18, is64 ? 62 : 3);
  poke<uint32_t>(b, 20, 1);
  if (is64) {
    poke<uint64_t>(b, 24, entry);
    poke<uint64_t>(b, 32, ehsize);
    poke<uint16_t>(b, 52, 64);
    poke<uint16_t>(b, 54, 56);
    poke<uint16_t>(b, 56, static_cast<uint16_t>(segs.size()));
  } else {
    poke<uint32_t>(b, 24, static_cast<uint32_t>(entry));
    poke<uint32_t>(b, 28, static_cast<uint32_t>(ehsize));
    poke<uint16_t>(b, 40, 52);
    poke<uint16_t>(b, 42, 32);
    poke<uint16_t>(b, 44, static_cast<uint16_t>(segs.size()));
  }
  for (size_t i = 0; i < segs.size(); i++) {
    const TestSegment& s = segs[i];
    size_t off = (b.size() + 15) & ~size_t{15};
    b.resize(off);
    b.insert(b.end(), s.data.begin(), s.data.end());
    uint64_t memsz = s.memsz ? s.memsz : s.data.size();
    size_t ph = ehsize + i * phsize;
    if (is64) {
      poke<uint32_t>(b, ph, s.type);
      poke<uint64_t>(b, ph + 8, off);
      poke<uint64_t>(b, ph + 16, s.paddr);
      poke<uint64_t>(b, ph + 24, s.paddr);
      poke<uint64_t>(b, ph + 32, s.data.size());
      poke<uint64_t>(b, ph + 40, memsz);
    } else {
      poke<uint32_t>(b, ph, s.type);
      poke<uint32_t>(b, ph + 4, static_cast<uint32_t>(off));
      poke<uint32_t>(b, ph + 8, static_cast<uint32_t>(s.paddr));
      poke<uint32_t>(b, ph + 12, static_cast<uint32_t>(s.paddr));
      poke<uint32_t>(b, ph + 16, static_cast<uint32_t>(s.data.size()));
      poke<uint32_t>(b, ph + 20, static_cast<uint32_t>(memsz));
    }
  }
  return b;
}

// One ELF note: namesz, descsz, type, name + NUL padded to 4, desc padded to 4.
inline Buf make_note(const std::string& name, uint32_t type, const Buf& desc) {
  Buf b;
  poke<uint32_t>(b, 0, static_cast<uint32_t>(name.size() + 1));
  poke<uint32_t>(b, 4, static_cast<uint32_t>(desc.size()));
  poke<uint32_t>(b, 8, type);
  b.insert(b.end(), name.begin(), name.end());
  b.push_back(0);
  while (b.size() % 4) b.push_back(0);
  b.insert(b.end(), desc.begin(), desc.end());
  while (b.size() % 4) b.push_back(0);
  return b;
}

}  // namespace vessel::test

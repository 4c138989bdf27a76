// Kernel files are hostile input: corrupted images must give an error or a
// load, never a crash or an out-of-bounds access (run under ASan to see one).
#include <gtest/gtest.h>

#include <random>

#include "boot/loader.h"
#include "boot_test_util.h"

namespace vessel {
namespace {

using test::Buf;

Buf seed_bzimage() {
  Buf b(5 * 512 + 0x1000, 0);
  b[0x1f1] = 4;
  b[0x201] = 0x66;
  test::poke<uint32_t>(b, 0x202, 0x53726448);
  test::poke<uint16_t>(b, 0x206, 0x020F);
  test::poke<uint32_t>(b, 0x230, 0x200000);
  b[0x234] = 1;
  test::poke<uint16_t>(b, 0x236, 1);
  test::poke<uint32_t>(b, 0x238, 255);
  test::poke<uint64_t>(b, 0x258, 0x1000000);
  test::poke<uint32_t>(b, 0x260, 0x100000);
  return b;
}

Buf seed_pvh() {
  Buf note = test::make_note("Xen", 18, Buf{0x40, 0, 0, 1, 0, 0, 0, 0});
  return test::make_elf(true, 0, {{1, 0x1000000, test::pattern(256, 1), 0x1000}, {4, 0, note, 0}});
}

Buf seed_multiboot_aout() {
  Buf b = test::pattern(0x400, 2);
  uint32_t flags = 0x10003;
  test::poke<uint32_t>(b, 0, 0x1BADB002);
  test::poke<uint32_t>(b, 4, flags);
  test::poke<uint32_t>(b, 8, 0u - 0x1BADB002u - flags);
  test::poke<uint32_t>(b, 12, 0x100000);
  test::poke<uint32_t>(b, 16, 0x100000);
  test::poke<uint32_t>(b, 20, 0);
  test::poke<uint32_t>(b, 24, 0x102000);
  test::poke<uint32_t>(b, 28, 0x100020);
  return b;
}

// Flips random bytes of a valid image, mostly in its headers, sometimes
// truncates it, re-seals a multiboot checksum half the time, and loads it.
void mutate_and_load(const Buf& seed, uint32_t rng_seed, int rounds) {
  std::mt19937 rng(rng_seed);
  auto mem = test::make_memory(32 << 20);
  for (int i = 0; i < rounds; i++) {
    Buf b = seed;
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < flips; f++) {
      size_t pos = rng() % (rng() % 2 ? std::min<size_t>(b.size(), 0x300) : b.size());
      b[pos] = static_cast<uint8_t>(rng());
    }
    if (rng() % 4 == 0) b.resize(rng() % b.size() + 1);
    if (b.size() >= 12 && test::peek<uint32_t>(b, 0) == 0x1BADB002 && rng() % 2) {
      test::poke<uint32_t>(b, 8, 0u - 0x1BADB002u - test::peek<uint32_t>(b, 4));
    }
    test::TempFile file(b);
    BootSpec spec;
    spec.kernel_path = file.path();
    auto r = load_kernel(*mem, spec);
    if (!r.ok()) {
      EXPECT_FALSE(r.error().message.empty());
    }
  }
}

TEST(HostileKernel, MutatedBzImages) {
  mutate_and_load(seed_bzimage(), 1, 300);
}
TEST(HostileKernel, MutatedPvhElf) {
  mutate_and_load(seed_pvh(), 2, 300);
}
TEST(HostileKernel, MutatedMultiboot) {
  mutate_and_load(seed_multiboot_aout(), 3, 300);
}

TEST(HostileKernel, SeedsLoad) {
  auto mem = test::make_memory(32 << 20);
  for (const Buf& seed : {seed_bzimage(), seed_pvh(), seed_multiboot_aout()}) {
    test::TempFile file(seed);
    BootSpec spec;
    spec.kernel_path = file.path();
    auto r = load_kernel(*mem, spec);
    EXPECT_TRUE(r.ok()) << r.error().message;
  }
}

}  // namespace
}  // namespace vessel

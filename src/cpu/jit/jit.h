// The translating tier of the software CPU: blocks that run often are
// compiled to host x86-64 code (Xbyak). The same block cache serves both
// tiers (a Block carries its translated code), so invalidation on stores
// into code, on flushes and on capacity stays in one place.
//
// Translated code pins the Cpu in rbx and caches guest registers in host
// registers within a block, writing them back before every exit, so every
// exit leaves the state precise. Frequent integer instructions are emitted
// inline, with the software TLB's fast path for their memory operands; anything else (and
// every slow path) calls the record's interpreter handler, so coverage is
// total. Condition flags live in the host's RFLAGS between instructions and
// are stored only where they can be observed (an exit, a handler call, a
// memory access that may fault) and are not overwritten first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "cpu/decode/block_cache.h"
#include "cpu/decode/insn.h"
#include "cpu/jit/translate.h"

namespace vessel::cpu {

class Cpu;
struct Block;

struct JitOptions {
  // Default: on, with a block translated once it has run kDefaultThreshold
  // times; VESSEL_JIT=off|on|always overrides it (always: threshold 0).
  // VESSEL_JIT_PERFMAP=1 writes /tmp/perf-PID.map (one symbol per translated
  // block, named by its guest-physical address) for `perf report`.
  static constexpr uint32_t kDefaultThreshold = 32;
  bool enabled = true;
  uint32_t threshold = kDefaultThreshold;
  // The code buffer: flushed whole when a translation does not fit.
  size_t code_bytes = size_t{32} << 20;
  bool perf_map = false;
  static JitOptions from_env();
};

struct JitStats {
  uint64_t blocks = 0;            // blocks translated
  uint64_t inline_records = 0;    // records emitted as host code
  uint64_t fallback_records = 0;  // records that call their handler
  uint64_t declined = 0;          // blocks left to the interpreter
  uint64_t flushes = 0;           // code buffer resets (full, or the block cache flushed)
  uint64_t code_bytes = 0;        // bytes of code in the buffer now
  uint64_t patched = 0;           // direct exits patched to enter their next block
  uint64_t unpatched = 0;         // ...and undone because that block was dropped
};

class Jit final : public BlockDropListener {
 public:
  Jit(Cpu& cpu, size_t code_bytes, bool perf_map = false);
  ~Jit();
  Jit(const Jit&) = delete;
  Jit& operator=(const Jit&) = delete;

  // Translates `block` (sets block.jit_code), or marks it jit_failed.
  // Called between blocks only: no translated code is running.
  void translate(Block& block);
  // Runs the block's translated code from its first record. Returns as the
  // interpreter's block loop would end: cur_insn() names the record that
  // returned (kEnd, kFault, kHalt) or the one to run next (kChain).
  Flow run(const Block& block);
  // Translated code left `from` through direct exit `site` and goes on into
  // `to` (translated, at linear address `linear`): patches the site to enter
  // `to` directly when both lie in the same guest page, else sends the site
  // to the plain linking path for good. Leaves it as it is when `to` is not
  // translated yet.
  void link_site(const JitExitSite& site, const Block& from, Block& to, uint64_t linear);
  // A block with patched exits into it is dropped: unpatches them.
  void dropped(Block& block) override;

  const JitStats& stats() const { return stats_; }
  size_t code_bytes() const { return code_bytes_; }

 private:
  void reset_code();
  // Points the jmp (E9 rel32) at `at` to `to`.
  static void patch_jmp(uint8_t* at, const void* to);

  // Exits patched to enter a block: a list per block through `next`
  // (Block::jit_in is the first index; index 0 is unused).
  struct InLink {
    uint8_t* site;
    const uint8_t* tail;  // where the site jumped before
    uint32_t next;
  };
  std::vector<InLink> in_links_{InLink{}};
  static constexpr size_t kMaxInLinks = size_t{1} << 20;

  Cpu& cpu_;
  uint8_t* code_ = nullptr;  // code_bytes_, read/write/execute
  size_t code_bytes_;
  size_t used_ = 0;        // bytes in use (the entry stub first)
  size_t stub_bytes_ = 0;  // the entry/exit stub at the start
  using EnterFn = Flow (*)(Cpu*, const void*);
  EnterFn enter_ = nullptr;
  JitExits exits_;              // in the entry stub
  uint64_t cache_flushes_ = 0;  // the block cache's flush count the code was made in
  JitStats stats_;
  std::FILE* perf_map_ = nullptr;
};

}  // namespace vessel::cpu

// Decoded blocks, cached by guest-physical address and decode mode. A block
// is a run of records that ends at control flow (or a system instruction, a
// page end, or kMaxInsns). Code-page tracking: every guest-physical page that
// holds bytes of a cached block is known, and a store into such a page
// invalidates exactly the blocks whose bytes overlap the store. Invalidated
// blocks are retired (freed) only at block boundaries, so the block running
// the store stays valid memory until it ends. Memory is bounded: past
// kMaxRecords records the whole cache is flushed.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "cpu/cpu_bus.h"
#include "cpu/decode/insn.h"

namespace vessel::cpu {

struct JitAccess;

// Decode modes (what changes how bytes decode): default code size.
enum class DecodeMode : uint8_t { k16 = 0, k32 = 1, k64 = 2 };

// A block remembered at a linear address, for chaining (a block's
// successors, the CPU's jump cache): valid while the CPU's chaining epoch
// (TLB, mode and block-cache epochs) is the one it was recorded in, or, for
// a block in a global page, while its global chaining epoch is (a CR3 load
// leaves global mappings: Cpu::ChainEpochs).
struct Successor {
  uint64_t linear = ~0ull;  // linear address of the successor's first byte
  uint64_t epoch = ~0ull;
  uint64_t global_epoch = ~0ull;  // ~0: not in a global page
  struct Block* block = nullptr;
};

// A block and its records in one allocation (the records follow the header,
// then one block_end record), so entering a block touches one run of memory.
// Made by Block::create.
struct Block;
struct BlockDeleter {
  void operator()(Block* b) const;
};
using BlockPtr = std::unique_ptr<Block, BlockDeleter>;

struct Block {
  uint64_t key = 0;    // gpa << 2 | mode
  uint32_t count = 0;  // records
  Successor next[2];   // most recent first
  uint64_t gpa = 0;    // first byte
  uint32_t len1 = 0;   // bytes on the first page
  uint32_t len2 = 0;   // bytes on the next linear page (an instruction crossing it)
  uint64_t gpa2 = 0;   // guest-physical address of that next page's first byte
  // The translating tier (jit/): runs counted towards translation, and the
  // translated code (nullptr until then) with the CPL it was made for.
  uint32_t heat = 0;
  uint8_t jit_cpl = 0;
  bool jit_failed = false;  // the translator declined it: stays interpreted
  const void* jit_code = nullptr;
  const void* jit_body = nullptr;  // where direct exits of other blocks enter it
  uint32_t jit_in = 0;             // the Jit's list of exits patched to enter it (0: none)

  // A block holding a copy of `records`.
  static BlockPtr create(std::span<const Insn> records);
  Insn* insns() { return reinterpret_cast<Insn*>(this + 1); }
  const Insn* insns() const { return reinterpret_cast<const Insn*>(this + 1); }
  // Bytes of the allocation.
  size_t bytes() const { return sizeof(Block) + (count + 1) * sizeof(Insn); }

 private:
  Block() = default;
};
static_assert(sizeof(Block) % alignof(Insn) == 0);

struct BlockCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t invalidations = 0;  // blocks dropped by stores into code
  uint64_t flushes = 0;        // whole-cache flushes (capacity, CR changes)
  uint64_t blocks = 0;         // blocks cached now
  uint64_t records = 0;        // records cached now
  uint64_t bytes = 0;          // memory the cached blocks take
};

// Told when a block with patched direct exits into it (Block::jit_in) is
// dropped, before its memory may go: the translating tier unpatches them.
class BlockDropListener {
 public:
  virtual void dropped(Block& block) = 0;

 protected:
  ~BlockDropListener() = default;
};

class BlockCache {
 public:
  static constexpr unsigned kMaxInsns = 32;          // records per block
  // ~20 MiB of records: the ~375 K a Linux boot decodes fit without a flush.
  static constexpr uint64_t kMaxRecords = 1u << 19;

  BlockCache() = default;
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;
  ~BlockCache();
  // The bus told which pages hold cached code (CpuBus::code_page_cached).
  void set_bus(CpuBus* bus) { bus_ = bus; }
  void set_drop_listener(BlockDropListener* listener) { drop_listener_ = listener; }

  static uint64_t key_of(uint64_t gpa, DecodeMode mode) {
    return (gpa << 2) | static_cast<uint64_t>(mode);
  }

  // The cached block for (gpa, mode), or nullptr.
  Block* find(uint64_t gpa, DecodeMode mode) {
    uint64_t key = key_of(gpa, mode);
    Block*& slot = front_[front_slot(key)];
    if (slot && slot->key == key) {
      ++stats_.hits;
      return slot;
    }
    auto it = map_.find(key);
    if (it == map_.end()) {
      ++stats_.misses;
      return nullptr;
    }
    ++stats_.hits;
    slot = it->second.get();
    return slot;
  }
  // Flushes when a block of kMaxInsns records would not fit: called before
  // a block is decoded, so insert() never flushes the pages reserved for it.
  void make_room() {
    if (stats_.records + kMaxInsns > kMaxRecords) flush();
  }
  // Adds a decoded block (its key, gpa and lengths set). Returns it.
  Block* insert(BlockPtr block);

  // Called before a block's bytes on guest-physical page `gpa_page` are
  // read: from here on the page counts as holding code (the bus reports
  // stores others make to it). release_page undoes it if no block was
  // cached there after all (the decode faulted).
  void reserve_page(uint64_t gpa_page);
  void release_page(uint64_t gpa_page);
  // True when guest-physical page `gpa_page` holds cached code.
  bool page_has_code(uint64_t gpa_page) const { return pages_.count(gpa_page) != 0; }
  // A store of `size` bytes at `gpa` happened: drops every block overlapping
  // it. Returns true when any block was dropped.
  bool invalidate(uint64_t gpa, unsigned size);
  // Drops everything.
  void flush();
  // Frees blocks dropped since the last call. Call only between blocks.
  void retire() { graveyard_.clear(); }

  const BlockCacheStats& stats() const { return stats_; }
  // Drops every block's translated code (the translating tier's buffer was
  // reset or the tier replaced); blocks may be translated again.
  void forget_translations() {
    for (auto& [key, block] : map_) {
      block->jit_code = block->jit_body = nullptr;
      block->jit_in = 0;
      block->jit_failed = false;
    }
  }
  // Counts drops and flushes: a Block* remembered elsewhere is valid only
  // while the epoch it was taken in lasts.
  uint64_t epoch() const { return epoch_; }

 private:
  static constexpr unsigned kFrontSlots = 1u << 15;
  static unsigned front_slot(uint64_t key) { return (key ^ (key >> 17)) & (kFrontSlots - 1); }
  void drop(Block* block);
  void add_page(uint64_t page, Block* block);
  void remove_page(uint64_t page, Block* block);

  friend struct JitAccess;  // translated code reads the epoch (jit/)
  std::unordered_map<uint64_t, BlockPtr> map_;
  std::unordered_map<uint64_t, std::vector<Block*>> pages_;  // gpa page -> blocks touching it
  std::array<Block*, kFrontSlots> front_{};
  std::vector<BlockPtr> graveyard_;
  CpuBus* bus_ = nullptr;
  BlockDropListener* drop_listener_ = nullptr;
  BlockCacheStats stats_;
  uint64_t epoch_ = 0;
};

}  // namespace vessel::cpu

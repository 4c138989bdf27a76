#include "cpu/decode/block_cache.h"

#include <algorithm>
#include <memory>
#include <new>

namespace vessel::cpu {
namespace {

constexpr uint64_t kPageMask = ~0xFFFull;

}  // namespace

BlockPtr Block::create(std::span<const Insn> records) {
  auto count = static_cast<uint32_t>(records.size());
  // One more record past the last: block_end, where a chain of handlers stops.
  void* raw = ::operator new(sizeof(Block) + (count + 1) * sizeof(Insn));
  Block* b = new (raw) Block();
  b->count = count;
  Insn* end = std::uninitialized_copy(records.begin(), records.end(), b->insns());
  new (end) Insn{};
  end->fn = block_end;
  return BlockPtr(b);
}

void BlockDeleter::operator()(Block* b) const {
  // Block and Insn are trivially destructible: only the memory goes.
  static_assert(std::is_trivially_destructible_v<Block> && std::is_trivially_destructible_v<Insn>);
  b->~Block();
  ::operator delete(b);
}

BlockCache::~BlockCache() {
  if (bus_)
    for (const auto& [page, blocks] : pages_) bus_->code_page_cached(page, false);
}

void BlockCache::reserve_page(uint64_t gpa_page) {
  auto [it, added] = pages_.try_emplace(gpa_page);
  if (added && bus_) bus_->code_page_cached(gpa_page, true);
}

void BlockCache::release_page(uint64_t gpa_page) {
  auto it = pages_.find(gpa_page);
  if (it == pages_.end() || !it->second.empty()) return;
  pages_.erase(it);
  if (bus_) bus_->code_page_cached(gpa_page, false);
}

Block* BlockCache::insert(BlockPtr block) {
  if (stats_.records + block->count > kMaxRecords) flush();
  Block* b = block.get();
  // The new block's pages first: dropping a block it replaces must not
  // leave them without code for a moment (the bus would stop watching them).
  add_page(b->gpa & kPageMask, b);
  if (b->len2) add_page(b->gpa2 & kPageMask, b);
  if (auto old = map_.find(b->key); old != map_.end()) drop(old->second.get());
  stats_.blocks++;
  stats_.records += b->count;
  stats_.bytes += b->bytes();
  map_.emplace(b->key, std::move(block));
  front_[front_slot(b->key)] = b;
  return b;
}

void BlockCache::add_page(uint64_t page, Block* block) {
  reserve_page(page);  // normally reserved already, before the bytes were read
  pages_[page].push_back(block);
}

void BlockCache::remove_page(uint64_t page, Block* block) {
  auto it = pages_.find(page);
  if (it == pages_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), block), v.end());
  if (v.empty()) {
    pages_.erase(it);
    if (bus_) bus_->code_page_cached(page, false);
  }
}

void BlockCache::drop(Block* b) {
  ++epoch_;
  if (b->jit_in && drop_listener_) drop_listener_->dropped(*b);
  remove_page(b->gpa & kPageMask, b);
  if (b->len2) remove_page(b->gpa2 & kPageMask, b);
  Block*& slot = front_[front_slot(b->key)];
  if (slot == b) slot = nullptr;
  stats_.blocks--;
  stats_.records -= b->count;
  stats_.bytes -= b->bytes();
  auto it = map_.find(b->key);
  if (it != map_.end() && it->second.get() == b) {
    graveyard_.push_back(std::move(it->second));
    map_.erase(it);
  }
}

bool BlockCache::invalidate(uint64_t gpa, unsigned size) {
  auto it = pages_.find(gpa & kPageMask);
  if (it == pages_.end()) return false;
  uint64_t end = gpa + size;
  std::vector<Block*> hit;
  for (Block* b : it->second) {
    bool overlaps = (gpa < b->gpa + b->len1 && b->gpa < end) ||
                    (b->len2 && gpa < b->gpa2 + b->len2 && b->gpa2 < end);
    if (overlaps) hit.push_back(b);
  }
  for (Block* b : hit) drop(b);
  stats_.invalidations += hit.size();
  return !hit.empty();
}

void BlockCache::flush() {
  for (auto& [key, block] : map_) graveyard_.push_back(std::move(block));
  map_.clear();
  if (bus_)
    for (const auto& [page, blocks] : pages_) bus_->code_page_cached(page, false);
  pages_.clear();
  front_.fill(nullptr);
  stats_.flushes++;
  ++epoch_;
  stats_.blocks = stats_.records = stats_.bytes = 0;
}

}  // namespace vessel::cpu

#include "block/qcow2.h"

#include <cstdlib>
#include <cstring>

#include "block/block_file.h"

namespace vessel {

Expected<bool> is_qcow2_file(int fd) {
  VESSEL_ASSIGN(uint64_t size, image_file_size(fd));
  if (size < BlockImage::kDirectAlign) return false;
  // One aligned block, so that an O_DIRECT file can be read.
  void* raw = nullptr;
  if (::posix_memalign(&raw, BlockImage::kDirectAlign, BlockImage::kDirectAlign) != 0) {
    return make_error("out of memory");
  }
  std::unique_ptr<uint8_t, decltype(&std::free)> block(static_cast<uint8_t*>(raw), &std::free);
  VESSEL_TRY(read_file_exact(fd, 0, std::span<uint8_t>(block.get(), BlockImage::kDirectAlign)));
  static constexpr uint8_t kMagic[4] = {'Q', 'F', 'I', 0xFB};
  return std::memcmp(block.get(), kMagic, sizeof(kMagic)) == 0;
}

Expected<std::unique_ptr<BlockImage>> open_qcow2_image(OwnedFd, const BlockOpenOptions&) {
  return make_error("qcow2 images are not supported yet");
}

}  // namespace vessel

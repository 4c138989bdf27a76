// The qcow2 image format (versions 2 and 3), block/block_image.h's second
// format.
#pragma once

#include <memory>

#include "base/error.h"
#include "base/owned_fd.h"
#include "block/block_image.h"

namespace vessel {

// Whether the file starts with the qcow2 magic ("QFI\xfb").
Expected<bool> is_qcow2_file(int fd);
// Opens the qcow2 image in `fd` (opened by open_image_file for `options`).
Expected<std::unique_ptr<BlockImage>> open_qcow2_image(OwnedFd fd, const BlockOpenOptions& options);

}  // namespace vessel

// Reads a file the boot path needs (kernel, initrd) whole into memory, with
// errors that name the file and say what is wrong with it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace vessel {

// `what` names the file's role in messages ("kernel", "initrd"); files larger
// than `max_size` bytes (the guest's memory) are refused.
Expected<std::vector<uint8_t>> read_boot_file(const std::string& path, std::string_view what,
                                              uint64_t max_size);

}  // namespace vessel

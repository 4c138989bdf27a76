// The --disk option: PATH[,format=raw|qcow2][,readonly=on|off]
// [,cache=none|writeback|writethrough|unsafe][,aio=threads|io_uring][,serial=ID].
// Defaults: format detected from the file, read-write, cache=writeback,
// aio=threads, serial "vessel-disk<N>" (N counts the disks from 0).
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "block/block_image.h"
#include "block/io_engine.h"

namespace vessel {

struct DiskOptions {
  BlockOpenOptions image;  // path, format, read_only, cache
  AioMode aio = AioMode::kThreads;
  std::string serial;  // empty: the default
};

inline constexpr size_t kDiskSerialMax = 20;  // virtio-blk GET_ID answers 20 bytes

// Parses one --disk value. Errors are one line naming the offending part:
// an empty path, a part without '=', an unknown key, a bad value, a key given
// twice, a serial longer than 20 bytes.
Expected<DiskOptions> parse_disk_options(std::string_view text);

}  // namespace vessel

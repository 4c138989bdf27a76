// The --balloon option (Cloud Hypervisor's form):
//
//   [size=SIZE][,deflate_on_oom=on|off][,free_page_reporting=on|off]
//   [,stats_period=SECONDS]
//
// size= is the balloon's initial target (bytes, with K/M/G suffixes; a bare
// number is bytes; default 0): the guest inflates the balloon to it once its
// driver starts. deflate_on_oom (default off) offers VIRTIO_BALLOON_F_
// DEFLATE_ON_OOM, free_page_reporting (default on) the reporting queue.
// stats_period (0 to 3600 seconds, default 5; 0: only on request) is how
// often the device asks the guest for fresh memory statistics. An empty
// string takes every default.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace vessel {

struct BalloonOptions {
  uint64_t size_bytes = 0;
  bool deflate_on_oom = false;
  bool free_page_reporting = true;
  uint32_t stats_period_s = 5;
};

Expected<BalloonOptions> parse_balloon_options(std::string_view text);

}  // namespace vessel

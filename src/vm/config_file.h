// vessel --config FILE: the whole VM described in TOML (toml++, Debian's
// libtomlplusplus-dev). Every key is a command-line flag of the same name
// (with '_' for '-'); a flag given on the command line overrides the file's
// value, and --disk or --net on the command line replace the file's disks or
// NICs. Relative paths are relative to the current directory, as on the
// command line.
//
//   kernel = "build/guest/vmlinuz"       # strings: kernel, initrd, cmdline,
//   initrd = "build/guest/initramfs.cpio.gz"   #   accel, jit, console,
//   cmdline = "console=ttyS0 quiet"      #   api_socket, uuid, kernel_format, load_addr
//   memory = "512M"                      # a size string, or an integer of MiB
//   cpus = 1
//   rng = true                           # booleans: rng, debug_exit, reboot
//   balloon = true                       # or a table:
//   [balloon]                            #   size, deflate_on_oom,
//   size = "256M"                        #   free_page_reporting, stats_period
//   [[disk]]                             # one table per disk: path (required),
//   path = "disk.qcow2"                  #   format, readonly, cache, aio, serial
//   cache = "none"
//   [[net]]                              # one table per NIC: mode = "user"
//   mode = "user"                        #   (hostfwd = [...], mtu) or "tap"
//   hostfwd = ["tcp::2222-:22"]          #   (tap = NAME); mac
//
// Each value is checked as its flag would be; an unknown key, a value of the
// wrong type or a bad value is an error that names the key ("vm.toml:
// disk[2].cache: ..."), as is a TOML syntax error (with its line and column).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace vessel {

// What the file sets, as the text the matching flag would take; a key the
// file does not have stays empty.
struct ConfigFileValues {
  std::optional<std::string> kernel, initrd, cmdline, memory, accel, jit, kernel_format, load_addr,
      console, api_socket, uuid;
  std::optional<int> cpus;
  std::optional<bool> debug_exit, rng, reboot;
  std::optional<std::string> balloon;                   // --balloon's text ("" for defaults)
  std::optional<std::vector<std::string>> disks, nets;  // --disk and --net texts
};

// Parses TOML `text`; `source` names it in errors (the file's name).
Expected<ConfigFileValues> parse_config_file(std::string_view text, std::string_view source);
// Reads and parses the file at `path`.
Expected<ConfigFileValues> load_config_file(const std::string& path);

}  // namespace vessel

#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

namespace vessel {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kWarn};
}

void set_log_level(LogLevel level) {
  g_level.store(level, std::memory_order_relaxed);
}
LogLevel log_level() {
  return g_level.load(std::memory_order_relaxed);
}

void log_line(LogLevel level, std::string_view message) {
  static constexpr const char* kNames[] = {"debug: ", "", "warning: ", "error: "};
  // The terminal may be in raw mode while a guest console runs: end lines
  // with CR LF on a terminal so they start at column 0. One write() so lines never interleave.
  static const bool kTty = ::isatty(STDERR_FILENO) == 1;
  std::string line =
      fmt::format("vessel: {}{}{}", kNames[static_cast<int>(level)], message, kTty ? "\r\n" : "\n");
  ssize_t unused = ::write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

}  // namespace vessel

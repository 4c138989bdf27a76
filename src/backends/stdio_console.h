// The guest console on vessel's own terminal: guest output goes to stdout;
// stdin, when it is open, feeds the guest. On a terminal, stdin is put in raw
// mode (restored at exit) and Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A,
// as in QEMU. A closed, absent or exhausted stdin just means no input.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "base/error.h"
#include "base/event_loop.h"

namespace vessel {

class StdioConsole {
 public:
  // `to_guest` offers bytes to the guest's console device and returns how
  // many it took; the rest is offered again later. `on_quit` runs on the
  // event loop when the user types the quit escape.
  StdioConsole(EventLoop& loop, std::function<size_t(std::span<const uint8_t>)> to_guest,
               std::function<void()> on_quit);
  ~StdioConsole();
  StdioConsole(const StdioConsole&) = delete;
  StdioConsole& operator=(const StdioConsole&) = delete;

  // Starts reading stdin on the event loop. Call on the loop thread or before
  // the loop runs.
  Status start();

  // Writes guest output to stdout. Safe from any thread.
  static void write_output(std::span<const uint8_t> bytes);

  // Bytes from the terminal after escape processing (exposed for tests).
  // Returns false when the quit escape was seen.
  bool filter_input(std::span<const uint8_t> raw, std::string& out);

 private:
  void on_stdin_readable();
  void flush_pending();

  EventLoop& loop_;
  std::function<size_t(std::span<const uint8_t>)> to_guest_;
  std::function<void()> on_quit_;
  bool is_tty_ = false;
  bool watching_ = false;
  bool escape_ = false;  // the last byte was Ctrl-A
  std::string pending_;  // read from stdin, not yet taken by the guest
  EventLoop::TimerId retry_timer_ = EventLoop::kNoTimer;
};

}  // namespace vessel

#include "backends/stdio_console.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <mutex>

#include "base/log.h"

namespace vessel {
namespace {

constexpr uint8_t kCtrlA = 0x01;
constexpr size_t kMaxPending = 4096;

std::mutex g_tty_mu;
bool g_tty_saved = false;
termios g_saved_termios;
int g_saved_flags = -1;  // stdin's file status flags before O_NONBLOCK

void restore_terminal() {
  std::lock_guard lock(g_tty_mu);
  // stdin's open file description is shared with the shell: undo O_NONBLOCK.
  if (g_saved_flags >= 0) {
    ::fcntl(STDIN_FILENO, F_SETFL, g_saved_flags);
    g_saved_flags = -1;
  }
  if (g_tty_saved) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
    g_tty_saved = false;
  }
}

void make_raw() {
  std::lock_guard lock(g_tty_mu);
  static bool registered = false;
  if (!registered) {
    std::atexit(restore_terminal);
    registered = true;
  }
  if (g_tty_saved || ::tcgetattr(STDIN_FILENO, &g_saved_termios) != 0) return;
  termios raw = g_saved_termios;
  ::cfmakeraw(&raw);
  raw.c_oflag |= OPOST | ONLCR;  // keep vessel's own messages readable; the guest sends CR LF
  if (::tcsetattr(STDIN_FILENO, TCSANOW, &raw) != 0) return;
  g_tty_saved = true;
}

}  // namespace

StdioConsole::StdioConsole(EventLoop& loop,
                           std::function<size_t(std::span<const uint8_t>)> to_guest,
                           std::function<void()> on_quit)
    : loop_(loop), to_guest_(std::move(to_guest)), on_quit_(std::move(on_quit)) {}

StdioConsole::~StdioConsole() {
  if (watching_) loop_.remove_fd(STDIN_FILENO);
  if (retry_timer_ != EventLoop::kNoTimer) loop_.remove_timer(retry_timer_);
  restore_terminal();
}

Status StdioConsole::start() {
  struct stat st;
  if (::fstat(STDIN_FILENO, &st) != 0) return ok_status();  // no stdin at all: no input
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    // epoll cannot watch files; a file on stdin is not a console.
    log_debug("stdin is not a terminal, pipe or socket: the guest gets no console input");
    return ok_status();
  }
  is_tty_ = ::isatty(STDIN_FILENO) == 1;
  int flags = ::fcntl(STDIN_FILENO, F_GETFL);
  if (flags >= 0) {
    std::lock_guard lock(g_tty_mu);
    g_saved_flags = flags;
    ::fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK);
  }
  auto st_add = loop_.add_fd(STDIN_FILENO, EPOLLIN, [this](uint32_t) { on_stdin_readable(); });
  if (!st_add.ok()) {
    log_debug("stdin cannot be watched ({}): the guest gets no console input",
              st_add.error().message);
    return ok_status();
  }
  watching_ = true;
  if (is_tty_) make_raw();
  return ok_status();
}

bool StdioConsole::filter_input(std::span<const uint8_t> raw, std::string& out) {
  for (uint8_t c : raw) {
    if (escape_) {
      escape_ = false;
      if (c == 'x' || c == 'X') return false;
      if (c == kCtrlA) out.push_back(static_cast<char>(kCtrlA));
      // Any other key after Ctrl-A is dropped, as QEMU does.
      continue;
    }
    if (is_tty_ && c == kCtrlA) {
      escape_ = true;
      continue;
    }
    out.push_back(static_cast<char>(c));
  }
  return true;
}

void StdioConsole::on_stdin_readable() {
  uint8_t buf[512];
  ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {  // end of input (or an error): stop watching, keep the VM running
    loop_.remove_fd(STDIN_FILENO);
    watching_ = false;
    return;
  }
  if (!filter_input(std::span<const uint8_t>(buf, static_cast<size_t>(n)), pending_)) {
    on_quit_();
    return;
  }
  flush_pending();
}

void StdioConsole::flush_pending() {
  if (!pending_.empty()) {
    size_t taken = to_guest_(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(pending_.data()), pending_.size()));
    pending_.erase(0, taken);
  }
  // While the guest is not taking input, stop reading stdin (the terminal
  // buffers it) and retry on a short timer.
  bool want_timer = !pending_.empty();
  if (want_timer && retry_timer_ == EventLoop::kNoTimer) {
    auto t = loop_.add_timer(std::chrono::milliseconds(5), true, [this] { flush_pending(); });
    if (t.ok()) retry_timer_ = *t;
  } else if (!want_timer && retry_timer_ != EventLoop::kNoTimer) {
    loop_.remove_timer(retry_timer_);
    retry_timer_ = EventLoop::kNoTimer;
  }
  if (watching_) {
    (void)loop_.modify_fd(STDIN_FILENO, pending_.size() >= kMaxPending ? 0u : uint32_t{EPOLLIN});
  }
}

void StdioConsole::write_output(std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(STDOUT_FILENO, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stdout closed: drop output, keep the guest running
    done += static_cast<size_t>(n);
  }
}

}  // namespace vessel

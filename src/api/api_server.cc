#include "api/api_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/thread_name.h"

namespace vessel {
namespace {

Expected<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return make_error("API socket path '{}' must be 1 to {} bytes", path,
                      sizeof(addr.sun_path) - 1);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// A socket file at `path` that nothing accepts on is left over from a VMM
// that died: it may be replaced. Anything else may not.
Status clear_stale_socket(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return ok_status();
    return errno_error(fmt::format("API socket '{}'", path));
  }
  if (!S_ISSOCK(st.st_mode))
    return make_error("API socket '{}': the path exists and is not a socket", path);
  OwnedFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return errno_error("socket");
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
    return make_error("API socket '{}' is in use by another process", path);
  }
  if (::unlink(path.c_str()) != 0)
    return errno_error(fmt::format("removing stale API socket '{}'", path));
  return ok_status();
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

Expected<std::unique_ptr<ApiServer>> ApiServer::start(const std::string& path, Handler handler) {
  VESSEL_ASSIGN(sockaddr_un addr, unix_address(path));
  VESSEL_TRY(clear_stale_socket(path, addr));
  OwnedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("API socket");
  // The file is created by bind() with the process umask; tighten it before
  // listen(): until then no client can connect.
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return errno_error(fmt::format("API socket '{}': bind", path));
  }
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), 16) != 0) {
    Error e = errno_error(fmt::format("API socket '{}'", path));
    ::unlink(path.c_str());
    return e;
  }
  OwnedFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop.valid()) {
    ::unlink(path.c_str());
    return errno_error("eventfd");
  }
  std::unique_ptr<ApiServer> server(
      new ApiServer(path, std::move(fd), std::move(stop), std::move(handler)));
  server->thread_ = std::thread([s = server.get()] { s->serve(); });
  return server;
}

ApiServer::ApiServer(std::string path, OwnedFd listen, OwnedFd stop, Handler handler)
    : path_(std::move(path)),
      listen_(std::move(listen)),
      stop_(std::move(stop)),
      handler_(std::move(handler)) {}

ApiServer::~ApiServer() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  ::unlink(path_.c_str());
}

void ApiServer::serve() {
  set_thread_name("vessel-api");
  for (;;) {
    pollfd fds[2] = {{listen_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log_error("API socket: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    OwnedFd client(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client.valid()) continue;
    serve_client(client.get());
  }
}

void ApiServer::serve_client(int fd) {
  std::string data;
  http::Request request;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kClientTimeoutMs);
  for (;;) {
    http::ParseResult r = http::parse_request(data, request);
    if (r.kind == http::ParseResult::Kind::kBad) {
      http::Response bad{r.status, "application/json",
                         nlohmann::json{{"error", r.message}}.dump() + "\n"};
      write_all(fd, bad.serialize());
      return;
    }
    if (r.kind == http::ParseResult::Kind::kDone) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (left <= 0 || ::poll(fds, 2, static_cast<int>(left)) <= 0 || fds[1].revents) return;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return;  // closed (or failed) before a whole request
    data.append(buf, static_cast<size_t>(n));
  }
  write_all(fd, handler_(request).serialize());
}

}  // namespace vessel

#include "api/api_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "api/http.h"
#include "base/owned_fd.h"

namespace vessel {

Expected<ApiReply> api_call(const std::string& socket_path, const std::string& method,
                            const std::string& path, const std::string& body, int timeout_ms) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path)) {
    return make_error("API socket path '{}' is empty or too long", socket_path);
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  OwnedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    if (err == ENOENT)
      return make_error("no API socket at '{}' (is vessel running with --api-socket?)",
                        socket_path);
    if (err == ECONNREFUSED)
      return make_error("nothing listens on '{}' (vessel has exited?)", socket_path);
    return errno_error(fmt::format("connecting to '{}'", socket_path), err);
  }
  std::string request =
      fmt::format("{} {} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n", method, path);
  if (!body.empty()) request += "Content-Type: application/json\r\n";
  request += fmt::format("Content-Length: {}\r\n\r\n{}", body.size(), body);
  std::string_view out = request;
  while (!out.empty()) {
    ssize_t n = ::send(fd.get(), out.data(), out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_error("sending the request");
    out.remove_prefix(static_cast<size_t>(n));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string data;
  bool eof = false;
  for (;;) {
    int status = 0;
    std::string text;
    http::ParseResult r = http::parse_response(data, eof, status, text);
    if (r.kind == http::ParseResult::Kind::kBad)
      return make_error("bad answer from the VMM: {}", r.message);
    if (r.kind == http::ParseResult::Kind::kDone) {
      ApiReply reply;
      reply.status = status;
      if (text.find_first_not_of(" \t\r\n") != std::string::npos) {
        reply.body = nlohmann::json::parse(text, nullptr, false);
        if (reply.body.is_discarded())
          return make_error("the VMM answered {} with a body that is not JSON", status);
      }
      return reply;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd p{fd.get(), POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
      return make_error("the VMM did not answer within {} ms", timeout_ms);
    }
    char buf[8192];
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("reading the answer");
    if (n == 0) eof = true;
    data.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace vessel

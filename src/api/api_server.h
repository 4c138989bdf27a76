// The management API's listener: HTTP/1.1 (api/http.h) on a Unix stream
// socket, one thread that accepts a connection at a time, reads one request,
// hands it to the handler and writes the answer. The socket file is created
// with owner-only permissions (0600); a stale socket file nobody listens on is
// replaced, anything else at the path is an error. The destructor stops the
// thread and removes the file.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "api/http.h"
#include "base/error.h"
#include "base/owned_fd.h"

namespace vessel {

class ApiServer {
 public:
  using Handler = std::function<http::Response(const http::Request&)>;

  // A client that sends nothing for this long is dropped.
  static constexpr int kClientTimeoutMs = 5000;

  static Expected<std::unique_ptr<ApiServer>> start(const std::string& path, Handler handler);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  const std::string& path() const { return path_; }

 private:
  ApiServer(std::string path, OwnedFd listen, OwnedFd stop, Handler handler);
  void serve();
  void serve_client(int fd);

  std::string path_;
  OwnedFd listen_;
  OwnedFd stop_;  // an eventfd: readable once the destructor runs
  Handler handler_;
  std::thread thread_;
};

}  // namespace vessel

// The client end of the management API (vesselctl, tests): one HTTP request
// over the VM's Unix socket, answered with the status and the JSON body.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace vessel {

struct ApiReply {
  int status = 0;
  nlohmann::json body;  // null for an empty body (204)
};

// Sends `method path` with `body` (empty: none) to the API socket at
// `socket_path`. Fails with a clear message when the socket is missing, the
// VMM does not answer within `timeout_ms`, or the answer is not HTTP/JSON.
Expected<ApiReply> api_call(const std::string& socket_path, const std::string& method,
                            const std::string& path, const std::string& body = {},
                            int timeout_ms = 10000);

}  // namespace vessel

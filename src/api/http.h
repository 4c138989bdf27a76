// The little of HTTP/1.1 (RFC 9112) the management API needs, for both ends
// of a Unix socket: requests with a Content-Length body (no chunked bodies, no
// pipelining: one request per connection, answered with Connection: close),
// and responses with a Content-Length body. cpp-httplib in Debian 12 (0.11)
// cannot listen on a Unix socket, so this is written here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace vessel::http {

inline constexpr size_t kMaxHeaderBytes = 16 * 1024;
inline constexpr size_t kMaxBodyBytes = 1024 * 1024;

struct Request {
  std::string method;                          // "GET", "PUT", ...
  std::string path;                            // the target without its query string
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;

  // The response as bytes on the wire, with Content-Length and Connection: close.
  std::string serialize() const;
};

// What parsing a message received so far found.
struct ParseResult {
  enum class Kind { kIncomplete, kDone, kBad };
  Kind kind = Kind::kIncomplete;
  int status = 400;     // kBad: the status to answer with
  std::string message;  // kBad: why
};

// Parses `data` (everything received so far) as one request.
ParseResult parse_request(std::string_view data, Request& out);

// Parses `data` as one response (client side): the status and the body.
// A response without Content-Length ends with the connection (`eof`).
ParseResult parse_response(std::string_view data, bool eof, int& status, std::string& body);

std::string_view reason_phrase(int status);

}  // namespace vessel::http

#include "api/http.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace vessel::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

ParseResult bad(int status, std::string message) {
  return {ParseResult::Kind::kBad, status, std::move(message)};
}

// Splits the head (start line and header lines) from the body. Returns the
// length of the head with its blank line, or 0 while it is incomplete.
size_t head_length(std::string_view data) {
  size_t end = data.find("\r\n\r\n");
  if (end != std::string_view::npos) return end + 4;
  end = data.find("\n\n");
  return end == std::string_view::npos ? 0 : end + 2;
}

// Parses the header lines after the start line into `headers`.
bool parse_headers(std::string_view head, std::map<std::string, std::string>& headers) {
  while (!head.empty()) {
    size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
    line = trim(line);
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    headers[lower(trim(line.substr(0, colon)))] = std::string(trim(line.substr(colon + 1)));
  }
  return true;
}

// The Content-Length header: nullopt if absent, -1 if malformed.
std::optional<int64_t> content_length(const std::map<std::string, std::string>& headers) {
  auto it = headers.find("content-length");
  if (it == headers.end()) return std::nullopt;
  int64_t n = -1;
  const std::string& v = it->second;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < 0) return -1;
  return n;
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string Response::serialize() const {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", status, reason_phrase(status));
  if (status != 204) {
    out += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", content_type, body.size());
  }
  out += "Connection: close\r\n\r\n";
  if (status != 204) out += body;
  return out;
}

ParseResult parse_request(std::string_view data, Request& out) {
  size_t head = head_length(data);
  if (head == 0) {
    if (data.size() > kMaxHeaderBytes) return bad(431, "request header too large");
    return {};
  }
  if (head > kMaxHeaderBytes) return bad(431, "request header too large");
  std::string_view text = data.substr(0, head);
  size_t nl = text.find('\n');
  std::string_view start = trim(text.substr(0, nl));
  // METHOD SP TARGET SP VERSION
  size_t sp1 = start.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : start.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) {
    return bad(400, "malformed request line");
  }
  std::string_view method = start.substr(0, sp1);
  std::string_view target = start.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = start.substr(sp2 + 1);
  if (method.empty() || target.empty() || target.front() != '/') {
    return bad(400, "malformed request line");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return bad(505, "only HTTP/1.x is served");
  out = Request{};
  out.method = std::string(method);
  out.path = std::string(target.substr(0, target.find('?')));
  if (!parse_headers(text.substr(nl + 1), out.headers)) return bad(400, "malformed header line");
  if (out.headers.count("transfer-encoding")) {
    return bad(501, "chunked request bodies are not supported: send Content-Length");
  }
  auto length = content_length(out.headers);
  if (length && *length < 0) return bad(400, "malformed Content-Length");
  uint64_t n = length ? static_cast<uint64_t>(*length) : 0;
  if (n > kMaxBodyBytes) return bad(413, "request body too large");
  if (data.size() - head < n) return {};
  out.body = std::string(data.substr(head, n));
  return {ParseResult::Kind::kDone, 0, {}};
}

ParseResult parse_response(std::string_view data, bool eof, int& status, std::string& body) {
  size_t head = head_length(data);
  if (head == 0) {
    if (eof) return bad(0, "the connection closed before a complete response header");
    return {};
  }
  std::string_view text = data.substr(0, head);
  size_t nl = text.find('\n');
  std::string_view start = trim(text.substr(0, nl));
  if (start.substr(0, 5) != "HTTP/" || start.size() < 12) return bad(0, "malformed status line");
  int code = 0;
  auto [p, ec] = std::from_chars(start.data() + 9, start.data() + 12, code);
  if (ec != std::errc() || p != start.data() + 12) return bad(0, "malformed status line");
  std::map<std::string, std::string> headers;
  if (!parse_headers(text.substr(nl + 1), headers)) return bad(0, "malformed header line");
  auto length = content_length(headers);
  if (length && *length < 0) return bad(0, "malformed Content-Length");
  std::string_view rest = data.substr(head);
  if (length) {
    if (rest.size() < static_cast<uint64_t>(*length)) {
      if (eof) return bad(0, "the connection closed in the middle of the response body");
      return {};
    }
    rest = rest.substr(0, static_cast<size_t>(*length));
  } else if (!eof && code != 204) {
    return {};
  }
  status = code;
  body = std::string(rest);
  return {ParseResult::Kind::kDone, 0, {}};
}

}  // namespace vessel::http

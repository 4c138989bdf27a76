// The management API without a VM: HTTP request and response parsing
// (api/http.h) and the endpoints (api/api_routes.h) against a fake VmApi
// that records what it was asked.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/api_routes.h"
#include "api/http.h"

namespace vessel {
namespace {

using http::ParseResult;

ParseResult parse(std::string_view text, http::Request& req) {
  return http::parse_request(text, req);
}

TEST(HttpParse, GetRequestWithHeaders) {
  http::Request req;
  ParseResult r =
      parse("GET /api/v1/vm.info?x=1 HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n", req);
  ASSERT_EQ(r.kind, ParseResult::Kind::kDone);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/api/v1/vm.info");
  EXPECT_EQ(req.headers["host"], "localhost");
  EXPECT_EQ(req.headers["accept"], "*/*");
  EXPECT_TRUE(req.body.empty());
}

TEST(HttpParse, IncompleteUntilHeaderAndBodyHaveArrived) {
  const std::string full =
      "PUT /api/v1/vm.resize HTTP/1.1\r\nContent-Length: 26\r\n\r\n{\"desired_balloon\":65536}\n";
  http::Request req;
  for (size_t n = 0; n < full.size(); n++) {
    EXPECT_EQ(parse(std::string_view(full).substr(0, n), req).kind, ParseResult::Kind::kIncomplete)
        << n << " bytes";
  }
  ASSERT_EQ(parse(full, req).kind, ParseResult::Kind::kDone);
  EXPECT_EQ(req.body, "{\"desired_balloon\":65536}\n");
}

TEST(HttpParse, BadRequestsGetTheirStatus) {
  struct Case {
    std::string text;
    int status;
  };
  const std::vector<Case> cases = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET /x HTTP/2\r\n\r\n", 505},
      {"GET /x HTTP/1.1\r\nno colon here\r\n\r\n", 400},
      {"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"PUT /x HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400},
      {"PUT /x HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n", 400},
      {"PUT /x HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413},
      {"GET /x HTTP/1.1\r\nX: " + std::string(http::kMaxHeaderBytes, 'a') + "\r\n\r\n", 431},
      // Never ends its header: refused once it is too long to be one.
      {"GET /x HTTP/1.1\r\nX: " + std::string(http::kMaxHeaderBytes, 'a'), 431},
  };
  for (const Case& c : cases) {
    http::Request req;
    ParseResult r = parse(c.text, req);
    EXPECT_EQ(r.kind, ParseResult::Kind::kBad) << c.text.substr(0, 60);
    EXPECT_EQ(r.status, c.status) << c.text.substr(0, 60);
    EXPECT_FALSE(r.message.empty());
  }
}

TEST(HttpParse, ResponseWithAndWithoutLength) {
  int status = 0;
  std::string body;
  const std::string with = "HTTP/1.1 409 Conflict\r\nContent-Length: 5\r\n\r\nhello";
  EXPECT_EQ(http::parse_response(with.substr(0, with.size() - 1), false, status, body).kind,
            ParseResult::Kind::kIncomplete);
  ASSERT_EQ(http::parse_response(with, false, status, body).kind, ParseResult::Kind::kDone);
  EXPECT_EQ(status, 409);
  EXPECT_EQ(body, "hello");
  // Without Content-Length the body runs to the end of the connection.
  const std::string without = "HTTP/1.1 200 OK\r\n\r\nsome";
  EXPECT_EQ(http::parse_response(without, false, status, body).kind,
            ParseResult::Kind::kIncomplete);
  ASSERT_EQ(http::parse_response(without, true, status, body).kind, ParseResult::Kind::kDone);
  EXPECT_EQ(body, "some");
  EXPECT_EQ(http::parse_response("HTTP/1.1 200", true, status, body).kind, ParseResult::Kind::kBad);
  EXPECT_EQ(http::parse_response("SMTP 220 hi\r\n\r\n", false, status, body).kind,
            ParseResult::Kind::kBad);
}

TEST(HttpParse, SerializedResponseParsesBack) {
  http::Response out{404, "application/json", "{\"error\":\"nope\"}\n"};
  std::string wire = out.serialize();
  EXPECT_NE(wire.find("HTTP/1.1 404 Not Found\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Connection: close\r\n"), std::string::npos);
  int status = 0;
  std::string body;
  ASSERT_EQ(http::parse_response(wire, false, status, body).kind, ParseResult::Kind::kDone);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(body, out.body);
}

// A VM that records the actions asked of it.
class FakeVm : public VmApi {
 public:
  std::string state() override { return state_; }
  nlohmann::json info() override { return {{"state", state_}}; }
  ApiStatus pause() override { return act("pause"); }
  ApiStatus resume() override { return act("resume"); }
  ApiStatus power_button() override { return act("power-button"); }
  ApiStatus shutdown() override { return act("shutdown"); }
  nlohmann::json counters() override { return {{"vcpu0", {{"instructions", 42}}}}; }
  ApiStatus set_balloon(uint64_t bytes) override {
    balloon_bytes = bytes;
    return act("balloon");
  }
  nlohmann::json balloon() override { return {{"present", true}}; }

  ApiStatus act(const std::string& what) {
    actions.push_back(what);
    return next_error ? *next_error : ApiStatus::success();
  }

  std::string state_ = "Running";
  std::vector<std::string> actions;
  std::optional<ApiStatus> next_error;
  uint64_t balloon_bytes = 0;
};

http::Response call(FakeVm& vm, std::string method, std::string path, std::string body = {}) {
  http::Request req;
  req.method = std::move(method);
  req.path = std::move(path);
  req.body = std::move(body);
  return handle_api_request(req, vm);
}

std::string error_of(const http::Response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : "<no error>";
}

TEST(ApiRoutes, ActionsReachTheVm) {
  FakeVm vm;
  EXPECT_EQ(call(vm, "PUT", "/api/v1/vm.pause").status, 204);
  EXPECT_EQ(call(vm, "PUT", "/api/v1/vm.resume", "{}").status, 204);
  EXPECT_EQ(call(vm, "PUT", "/api/v1/vm.power-button").status, 204);
  EXPECT_EQ(call(vm, "PUT", "/api/v1/vm.shutdown").status, 204);
  EXPECT_EQ(call(vm, "PUT", "/api/v1/vmm.shutdown").status, 204);
  http::Response r = call(vm, "PUT", "/api/v1/vm.resize", R"({"desired_balloon": 67108864})");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(vm.balloon_bytes, 64u << 20);
  EXPECT_EQ(vm.actions, (std::vector<std::string>{"pause", "resume", "power-button", "shutdown",
                                                  "shutdown", "balloon"}));
}

TEST(ApiRoutes, ReadsAnswerJson) {
  FakeVm vm;
  http::Response ping = call(vm, "GET", "/api/v1/vmm.ping");
  ASSERT_EQ(ping.status, 200);
  auto j = nlohmann::json::parse(ping.body);
  EXPECT_EQ(j["version"], VESSEL_VERSION);
  EXPECT_GT(j["pid"].get<int64_t>(), 0);
  http::Response counters = call(vm, "GET", "/api/v1/vm.counters");
  ASSERT_EQ(counters.status, 200);
  EXPECT_EQ(nlohmann::json::parse(counters.body)["vcpu0"]["instructions"], 42);
  EXPECT_EQ(call(vm, "GET", "/api/v1/vm.info").status, 200);
  EXPECT_EQ(call(vm, "GET", "/api/v1/vm.balloon").status, 200);
  EXPECT_TRUE(vm.actions.empty());
}

TEST(ApiRoutes, BadRequestsAreJsonErrorsAndTouchNothing) {
  FakeVm vm;
  struct Case {
    std::string method, path, body;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"GET", "/api/v1/nope", "", 404, "unknown endpoint"},
      {"GET", "/index.html", "", 404, "/api/v1/"},
      {"POST", "/api/v1/vm.pause", "", 405, "takes PUT"},
      {"GET", "/api/v1/vm.pause", "", 405, "takes PUT"},
      {"PUT", "/api/v1/vm.resize", "{bad", 400, "not valid JSON"},
      {"PUT", "/api/v1/vm.pause", "[1, 2]", 400, "JSON object"},
      {"PUT", "/api/v1/vm.resize", "{}", 400, "desired_balloon is missing"},
      {"PUT", "/api/v1/vm.resize", R"({"desired_balloon": "lots"})", 400, "number of bytes"},
      {"PUT", "/api/v1/vm.resize", R"({"desired_balloon": -1})", 400, "number of bytes"},
      {"PUT", "/api/v1/vm.resize", R"({"desired_balloon": 1.5})", 400, "number of bytes"},
      {"PUT", "/api/v1/vm.resize", R"({"desired_vcpus": 2})", 400, "not supported"},
      {"PUT", "/api/v1/vm.resize", R"({"desired_balloon": 0, "x": 1})", 400, "unknown field 'x'"},
  };
  for (const Case& c : cases) {
    http::Response r = call(vm, c.method, c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body;
    EXPECT_NE(error_of(r).find(c.says), std::string::npos)
        << c.method << " " << c.path << ": " << r.body;
  }
  EXPECT_TRUE(vm.actions.empty());
}

TEST(ApiRoutes, TheVmsRefusalComesBackWithItsStatus) {
  FakeVm vm;
  vm.next_error = ApiStatus::failure(409, "the VM is already paused");
  http::Response r = call(vm, "PUT", "/api/v1/vm.pause");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r), "the VM is already paused");
  vm.next_error = ApiStatus::failure(400, "a balloon of 2 bytes is larger than the guest's memory");
  r = call(vm, "PUT", "/api/v1/vm.resize", R"({"desired_balloon": 2})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_of(r).find("larger than"), std::string::npos);
}

TEST(ApiRoutes, AStoppedVmRefusesActionsButStillAnswersReads) {
  FakeVm vm;
  vm.state_ = "Shutdown";
  for (const char* action : {"vm.pause", "vm.resume", "vm.power-button", "vm.shutdown"}) {
    http::Response r = call(vm, "PUT", std::string("/api/v1/") + action);
    EXPECT_EQ(r.status, 409) << action;
    EXPECT_NE(error_of(r).find("shut down"), std::string::npos) << action << ": " << r.body;
  }
  EXPECT_EQ(call(vm, "PUT", "/api/v1/vm.resize", R"({"desired_balloon": 0})").status, 409);
  EXPECT_TRUE(vm.actions.empty());
  http::Response info = call(vm, "GET", "/api/v1/vm.info");
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(nlohmann::json::parse(info.body)["state"], "Shutdown");
  EXPECT_EQ(call(vm, "GET", "/api/v1/vm.counters").status, 200);
}

}  // namespace
}  // namespace vessel

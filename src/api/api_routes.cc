#include "api/api_routes.h"

#include <unistd.h>

#include <functional>
#include <string_view>

namespace vessel {
namespace {

constexpr std::string_view kPrefix = "/api/v1/";

http::Response json_response(int status, const nlohmann::json& body) {
  return {status, "application/json", body.dump() + "\n"};
}

http::Response error_response(int status, const std::string& message) {
  return json_response(status, {{"error", message}});
}

http::Response no_content() {
  return {204, "application/json", {}};
}

http::Response from_status(const ApiStatus& s) {
  return s.ok ? no_content() : error_response(s.error.status, s.error.message);
}

// The request's JSON body: an object, or an empty object when there is none.
bool parse_body(const http::Request& req, nlohmann::json& out, http::Response& error) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    out = nlohmann::json::object();
    return true;
  }
  out = nlohmann::json::parse(req.body, nullptr, false);
  if (out.is_discarded()) {
    error = error_response(400, "the request body is not valid JSON");
    return false;
  }
  if (!out.is_object()) {
    error = error_response(400, "the request body must be a JSON object");
    return false;
  }
  return true;
}

http::Response resize(const nlohmann::json& body, VmApi& vm) {
  for (const auto& [key, value] : body.items()) {
    if (key == "desired_balloon") continue;
    if (key == "desired_vcpus" || key == "desired_ram") {
      return error_response(
          400, "vm.resize: only desired_balloon can change (" + key + " is not supported)");
    }
    return error_response(400, "vm.resize: unknown field '" + key + "'");
  }
  auto it = body.find("desired_balloon");
  if (it == body.end()) return error_response(400, "vm.resize: desired_balloon is missing");
  if (!it->is_number_unsigned()) {
    return error_response(400, "vm.resize: desired_balloon must be a number of bytes (>= 0)");
  }
  return from_status(vm.set_balloon(it->get<uint64_t>()));
}

struct Route {
  std::string_view name;
  std::string_view method;
  bool needs_running_vm;  // refused once the VM has shut down
  std::function<http::Response(const nlohmann::json& body, VmApi& vm)> run;
};

const Route kRoutes[] = {
    {"vmm.ping", "GET", false,
     [](const nlohmann::json&, VmApi&) {
       return json_response(200, {{"version", VESSEL_VERSION},
                                  {"pid", static_cast<int64_t>(::getpid())},
                                  {"features", {"soft", "kvm"}}});
     }},
    {"vmm.shutdown", "PUT", false,
     [](const nlohmann::json&, VmApi& vm) { return from_status(vm.shutdown()); }},
    {"vm.info", "GET", false,
     [](const nlohmann::json&, VmApi& vm) { return json_response(200, vm.info()); }},
    {"vm.pause", "PUT", true,
     [](const nlohmann::json&, VmApi& vm) { return from_status(vm.pause()); }},
    {"vm.resume", "PUT", true,
     [](const nlohmann::json&, VmApi& vm) { return from_status(vm.resume()); }},
    {"vm.power-button", "PUT", true,
     [](const nlohmann::json&, VmApi& vm) { return from_status(vm.power_button()); }},
    {"vm.shutdown", "PUT", true,
     [](const nlohmann::json&, VmApi& vm) { return from_status(vm.shutdown()); }},
    {"vm.counters", "GET", false,
     [](const nlohmann::json&, VmApi& vm) { return json_response(200, vm.counters()); }},
    {"vm.resize", "PUT", true, resize},
    {"vm.balloon", "GET", false,
     [](const nlohmann::json&, VmApi& vm) { return json_response(200, vm.balloon()); }},
};

}  // namespace

http::Response handle_api_request(const http::Request& request, VmApi& vm) {
  std::string_view path = request.path;
  if (path.substr(0, kPrefix.size()) != kPrefix) {
    return error_response(404, "unknown path " + request.path + " (the API is under /api/v1/)");
  }
  std::string_view name = path.substr(kPrefix.size());
  for (const Route& route : kRoutes) {
    if (route.name != name) continue;
    if (request.method != route.method) {
      return error_response(405, std::string(name) + " takes " + std::string(route.method) +
                                     ", not " + request.method);
    }
    nlohmann::json body;
    http::Response error;
    if (!parse_body(request, body, error)) return error;
    if (route.needs_running_vm && vm.state() == "Shutdown") {
      return error_response(409, "the VM has shut down");
    }
    return route.run(body, vm);
  }
  return error_response(404, "unknown endpoint " + request.path);
}

}  // namespace vessel

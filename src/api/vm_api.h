// What the management API (api/api_routes.h) can do to a VM: the VM
// implements it (vm/vm_api.cc), tests use a fake. Every call is made on the
// API thread and must not wait on the guest.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace vessel {

// A failed request: the HTTP status to answer with and why.
struct ApiError {
  int status = 400;
  std::string message;
};

// The outcome of an action: nullopt-like "ok" when `error` is empty.
struct ApiStatus {
  bool ok = true;
  ApiError error;
  static ApiStatus success() { return {}; }
  static ApiStatus failure(int status, std::string message) {
    return {false, {status, std::move(message)}};
  }
};

class VmApi {
 public:
  virtual ~VmApi() = default;
  // "Running", "Paused" or "Shutdown" (Cloud Hypervisor's names).
  virtual std::string state() = 0;
  // vm.info: configuration, state, memory.
  virtual nlohmann::json info() = 0;
  virtual ApiStatus pause() = 0;
  virtual ApiStatus resume() = 0;
  // The ACPI power button: the guest shuts itself down.
  virtual ApiStatus power_button() = 0;
  // Stops the VM at once (vessel exits).
  virtual ApiStatus shutdown() = 0;
  // vm.counters: {"name": {"counter": value, ...}, ...}.
  virtual nlohmann::json counters() = 0;
  // The balloon: a new target size in bytes, and its state.
  virtual ApiStatus set_balloon(uint64_t bytes) = 0;
  virtual nlohmann::json balloon() = 0;
};

}  // namespace vessel

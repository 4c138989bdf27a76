// The management API's endpoints, modelled on Cloud Hypervisor's REST API
// (docs/api.md lists them all and where Vessel differs):
//
//   GET  /api/v1/vmm.ping           {"version", "pid", "features"}
//   PUT  /api/v1/vmm.shutdown       stop the VM at once; vessel exits
//   GET  /api/v1/vm.info            {"config", "state", "memory_actual_size"}
//   PUT  /api/v1/vm.pause           204; 409 if already paused
//   PUT  /api/v1/vm.resume          204; 409 if not paused
//   PUT  /api/v1/vm.power-button    204: ACPI power button
//   PUT  /api/v1/vm.shutdown        204: stop at once
//   GET  /api/v1/vm.counters        per vCPU, device and memory counters
//   PUT  /api/v1/vm.resize          {"desired_balloon": bytes} (only the balloon)
//   GET  /api/v1/vm.balloon         balloon target, size and guest statistics
//
// Errors are {"error": "..."} with a 4xx/5xx status. PUT bodies are optional
// except for vm.resize; a body that is present must be a JSON object.
#pragma once

#include "api/http.h"
#include "api/vm_api.h"

namespace vessel {

http::Response handle_api_request(const http::Request& request, VmApi& vm);

}  // namespace vessel

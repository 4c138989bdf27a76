#include "accel/vcpu.h"

namespace vessel {

const char* to_string(VcpuExit::Kind kind) {
  switch (kind) {
    case VcpuExit::Kind::kHalt:
      return "halt";
    case VcpuExit::Kind::kShutdown:
      return "shutdown (triple fault)";
    case VcpuExit::Kind::kPowerOff:
      return "power-off";
    case VcpuExit::Kind::kReset:
      return "reset";
    case VcpuExit::Kind::kInterrupted:
      return "interrupted";
    case VcpuExit::Kind::kInternalError:
      return "internal error";
  }
  return "unknown";
}

}  // namespace vessel

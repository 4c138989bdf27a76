// A VM: guest memory + an I/O bus + vCPUs, with the PC platform devices, the
// console and an event-loop thread. Vm::run() boots it and returns when the
// guest powers off, resets, triple-faults, or something asks it to stop.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "accel/accelerator.h"
#include "api/api_server.h"
#include "api/vm_api.h"
#include "backends/stdio_console.h"
#include "base/event_loop.h"
#include "block/disk_options.h"
#include "boot/loader.h"
#include "bus/io_bus.h"
#include "devices/power_control.h"
#include "memory/guest_memory.h"
#include "net/net_options.h"
#include "virtio/balloon_options.h"
#include "vm/vcpu_thread.h"

namespace vessel {

// The device that gets the console input (stdin): the 16550 UART (ttyS0) or a
// virtio console (hvc0). Output of both goes to stdout either way.
enum class ConsoleDevice { kSerial, kVirtio };

struct VmConfig {
  BootSpec boot;
  uint64_t memory_bytes = 256ull << 20;
  int cpus = 1;
  bool debug_exit = false;    // the isa-debug-exit-style port at 0xF4
  bool console_input = true;  // read stdin into the guest's console
  bool rng = false;           // a virtio-rng device on PCI
  // kVirtio: stdin goes to a virtio console on PCI (hvc0) instead of the UART.
  ConsoleDevice console = ConsoleDevice::kSerial;

  // virtio-blk disks, in order (the guest's vda, vdb, ...).
  std::vector<DiskOptions> disks;
  std::vector<NetOptions> nets;           // a virtio-net device on PCI for each
  std::optional<BalloonOptions> balloon;  // a virtio-balloon device on PCI

  // The management API's Unix socket (api/api_routes.h); empty: none.
  std::string api_socket;
};

struct VmOutcome {
  enum class Kind { kPowerOff, kReset, kDebugExit, kTripleFault, kQuit, kSignal, kError };
  Kind kind = Kind::kError;
  int exit_status = 1;  // what vessel should exit with
  std::string message;  // for everything but a clean power-off
};

class Platform;  // the PC devices (vm/platform.h)
class VirtioPciDevice;
class VirtioConsole;
class VirtioBalloon;

class Vm : public PowerControl, public VmApi {
 public:
  static constexpr int kMaxCpus = 64;

  static Expected<std::unique_ptr<Vm>> create(const VmConfig& config,
                                              std::unique_ptr<Accelerator> accel);
  ~Vm() override;

  // Starts the vCPUs and blocks until the VM stops.
  VmOutcome run();

  // PowerControl: from devices, on any thread.
  void request_stop(StopReason reason, int exit_status) override;
  // Stops the VM with an arbitrary outcome. The first request wins.
  void stop_with(VmOutcome outcome);

  GuestMemory& memory() { return *memory_; }
  IoBus& bus() { return bus_; }
  Accelerator& accelerator() { return *accel_; }
  EventLoop& event_loop() { return *loop_; }
  // The virtio-balloon device (--balloon), nullptr without one. Its
  // set_target_bytes(), request_stats(), stats() and counters() are safe
  // from any thread while the Vm exists.
  VirtioBalloon* balloon_device() { return balloon_; }

  // VmApi (vm/vm_api.cc): the management API's view, from its thread.
  std::string state() override;
  nlohmann::json info() override;
  ApiStatus pause() override;
  ApiStatus resume() override;
  ApiStatus power_button() override;
  ApiStatus shutdown() override;
  nlohmann::json counters() override;
  ApiStatus set_balloon(uint64_t bytes) override;
  nlohmann::json balloon() override;

 private:
  Vm() = default;
  bool on_vcpu_exit(Vcpu& vcpu, const Expected<VcpuExit>& exit);
  Status start_threads();
  Status add_virtio_devices();
  void stop_threads();

  VmConfig config_;
  std::unique_ptr<Accelerator> accel_;
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<EventLoopTimeSource> time_;  // the emulated timers' clock
  IoBus bus_;  // after time_: the devices on it (the soft PIT) cancel timers on it
  std::unique_ptr<Platform> platform_;
  std::vector<std::shared_ptr<VirtioPciDevice>> virtio_;  // also on the PCI bus
  VirtioConsole* virtio_console_ = nullptr;               // owned by its entry in virtio_
  VirtioBalloon* balloon_ = nullptr;                      // owned by its entry in virtio_
  std::unique_ptr<StdioConsole> console_;
  BootImage boot_image_;
  std::vector<std::unique_ptr<VcpuThread>> vcpus_;
  std::unique_ptr<ApiServer> api_;  // stopped before the vCPUs and devices go
  std::mutex api_mu_;               // one API action at a time
  bool paused_ = false;             // guarded by api_mu_
  std::thread loop_thread_;
  int signal_fd_ = -1;

  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<VmOutcome> outcome_;
  std::optional<VmOutcome> signal_outcome_;  // a signal seen, even after another stop
};

}  // namespace vessel

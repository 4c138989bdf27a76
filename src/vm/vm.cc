#include "vm/vm.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/api_routes.h"
#include "base/log.h"
#include "base/thread_name.h"
#include "net/slirp_backend.h"
#include "net/tap_backend.h"
#include "pci/pci_bus.h"
#include "virtio/virtio_balloon.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_rng.h"
#include "vm/platform.h"
#include "vm/register_dump.h"

namespace vessel {

Expected<std::unique_ptr<Vm>> Vm::create(const VmConfig& config,
                                         std::unique_ptr<Accelerator> accel) {
  if (config.cpus < 1 || config.cpus > kMaxCpus) {
    return make_error("--cpus {} is out of range (1 to {})", config.cpus, kMaxCpus);
  }
  std::unique_ptr<Vm> vm(new Vm());
  vm->config_ = config;
  vm->config_.boot.cpus = config.cpus;
  vm->accel_ = std::move(accel);

  VESSEL_ASSIGN(vm->memory_, GuestMemory::create(config.memory_bytes));
  VESSEL_TRY(vm->accel_->map_memory(*vm->memory_));
  VESSEL_ASSIGN(vm->loop_, EventLoop::create());
  vm->time_ = std::make_unique<EventLoopTimeSource>(*vm->loop_);
  VESSEL_TRY(vm->accel_->create_irq_chip(vm->bus_, *vm->time_, config.cpus));

  PlatformConfig pc;
  pc.debug_exit = config.debug_exit;
  VESSEL_ASSIGN(vm->platform_, Platform::create(pc, vm->bus_, vm->accel_->irq_chip(), *vm));
  VESSEL_TRY(vm->add_virtio_devices());
  VESSEL_ASSIGN(vm->boot_image_, load_kernel(*vm->memory_, vm->config_.boot));
  log_info("loaded {} kernel, entry {:#x}", vm->boot_image_.format, vm->boot_image_.entry);

  Vm* raw = vm.get();
  vm->platform_->set_console_output(
      [](std::span<const uint8_t> bytes) { StdioConsole::write_output(bytes); });
  if (config.console_input) {
    vm->console_ = std::make_unique<StdioConsole>(
        *vm->loop_,
        [raw](std::span<const uint8_t> bytes) {
          if (raw->virtio_console_) return raw->virtio_console_->offer_input(bytes);
          return raw->platform_->console_input(bytes);
        },
        [raw] {
          raw->stop_with({VmOutcome::Kind::kQuit, 0, "quit from the console (Ctrl-A x)"});
        });
  }
  return vm;
}

namespace {

Expected<std::unique_ptr<VirtioDevice>> make_net_device(const NetOptions& o) {
  std::unique_ptr<NetBackend> backend;
  if (o.kind == NetOptions::Kind::kTap) {
    VESSEL_ASSIGN(auto tap, TapBackend::open(o.tap_name));
    backend = std::move(tap);
  } else {
    VESSEL_ASSIGN(auto user,
                  SlirpBackend::create(o.forwards, o.mtu ? o.mtu : SlirpBackend::kDefaultMtu));
    backend = std::move(user);
  }
  return std::unique_ptr<VirtioDevice>(std::make_unique<VirtioNet>(std::move(backend), o.mac));
}

}  // namespace

Status Vm::add_virtio_devices() {
  std::vector<std::unique_ptr<VirtioDevice>> devices;
  if (config_.rng) devices.push_back(std::make_unique<VirtioRng>());
  if (config_.console == ConsoleDevice::kVirtio) {
    // F_SIZE with the terminal's size when vessel runs on one.
    std::optional<VirtioConsole::WindowSize> size;
    winsize ws{};
    if (::isatty(STDIN_FILENO) == 1 && ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 &&
        ws.ws_col > 0 && ws.ws_row > 0) {
      size = VirtioConsole::WindowSize{ws.ws_col, ws.ws_row};
    }
    auto console = std::make_unique<VirtioConsole>(
        [](std::span<const uint8_t> bytes) { StdioConsole::write_output(bytes); }, size);
    virtio_console_ = console.get();
    devices.push_back(std::move(console));
  }
  for (size_t i = 0; i < config_.disks.size(); i++) {
    const DiskOptions& disk = config_.disks[i];
    auto image = open_block_image(disk.image);
    if (!image.ok()) return with_context(image.error(), "--disk");
    IoEngineOptions engine;
    engine.mode = disk.aio;
    std::string id = disk.serial.empty() ? fmt::format("vessel-disk{}", i) : disk.serial;
    auto blk = VirtioBlk::create(std::move(*image), engine, id);
    if (!blk.ok()) return with_context(blk.error(), "--disk '" + disk.image.path + "'");
    devices.push_back(std::move(*blk));
  }
  for (const NetOptions& net : config_.nets) {
    auto dev = make_net_device(net);
    if (!dev.ok()) return with_context(dev.error(), "--net");
    devices.push_back(std::move(*dev));
  }
  if (config_.balloon) {
    const BalloonOptions& o = *config_.balloon;
    VirtioBalloon::Options options;
    options.deflate_on_oom = o.deflate_on_oom;
    options.free_page_reporting = o.free_page_reporting;
    options.stats_period = std::chrono::seconds(o.stats_period_s);
    auto balloon = std::make_unique<VirtioBalloon>(options);
    balloon->set_target_bytes(o.size_bytes);
    balloon_ = balloon.get();
    devices.push_back(std::move(balloon));
  }
  for (auto& device : devices) {
    std::string name(device->name());
    VESSEL_ASSIGN(auto pci,
                  VirtioPciDevice::create(std::move(device), *memory_, accel_->irq_chip()));
    auto slot = platform_->pci().add(pci);
    if (!slot.ok()) return with_context(slot.error(), "virtio " + name);
    VESSEL_TRY(pci->attach_event_loop(*loop_));
    log_info("virtio-{} at PCI 00:{:02x}.0", name, *slot);
    virtio_.push_back(std::move(pci));
  }
  return ok_status();
}

Vm::~Vm() {
  stop_threads();
  // The accelerator's interrupt controllers go while the clock and event
  // loop their timers were armed on still exist (the bus, destroyed before
  // those, holds the last of their devices).
  balloon_ = nullptr;
  virtio_.clear();
  platform_.reset();
  accel_.reset();
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

void Vm::request_stop(StopReason reason, int exit_status) {
  switch (reason) {
    case StopReason::kPowerOff:
      stop_with({VmOutcome::Kind::kPowerOff, 0, ""});
      break;
    case StopReason::kReset:
      stop_with({VmOutcome::Kind::kReset, 2, "the guest asked for a reset"});
      break;
    case StopReason::kDebugExit:
      stop_with({VmOutcome::Kind::kDebugExit, exit_status & 0xff,
                 fmt::format("the guest wrote to the debug-exit port (exit status {})",
                             exit_status & 0xff)});
      break;
  }
}

void Vm::stop_with(VmOutcome outcome) {
  {
    std::lock_guard lock(mu_);
    if (outcome_) return;
    outcome_ = std::move(outcome);
  }
  cv_.notify_all();
}

bool Vm::on_vcpu_exit(Vcpu& vcpu, const Expected<VcpuExit>& exit) {
  if (!exit.ok()) {
    stop_with({VmOutcome::Kind::kError, 1,
               fmt::format("vCPU {} failed: {}", vcpu.id(), exit.error().message)});
    return false;
  }
  switch (exit->kind) {
    case VcpuExit::Kind::kInterrupted:
      return true;
    case VcpuExit::Kind::kHalt:
      // Halted with nothing that can wake it: the vCPU stays parked, as a
      // real CPU would, until the VM is stopped.
      log_info("vCPU {} halted with interrupts disabled", vcpu.id());
      return false;
    case VcpuExit::Kind::kPowerOff:
      request_stop(StopReason::kPowerOff, 0);
      return false;
    case VcpuExit::Kind::kReset:
      request_stop(StopReason::kReset, 0);
      return false;
    case VcpuExit::Kind::kShutdown: {
      std::string dump;
      auto state = vcpu.state();
      if (state.ok()) dump = fmt::format("\n{}", format_register_dump(*state));
      stop_with({VmOutcome::Kind::kTripleFault, 2,
                 fmt::format("vCPU {} triple-faulted (shutdown){}", vcpu.id(), dump)});
      return false;
    }
    case VcpuExit::Kind::kInternalError:
      stop_with({VmOutcome::Kind::kError, 1,
                 fmt::format("vCPU {}: accelerator error: {}", vcpu.id(), exit->detail)});
      return false;
  }
  return false;
}

Status Vm::start_threads() {
  // SIGINT/SIGTERM/SIGHUP stop the VM cleanly: block them in every thread
  // (threads inherit the mask) and read them from a signalfd on the loop.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) return make_error("signalfd: {}", std::strerror(errno));
  VESSEL_TRY(loop_->add_fd(signal_fd_, EPOLLIN, [this](uint32_t) {
    signalfd_siginfo info;
    if (::read(signal_fd_, &info, sizeof(info)) != sizeof(info)) return;
    int sig = static_cast<int>(info.ssi_signo);
    VmOutcome outcome{VmOutcome::Kind::kSignal, 128 + sig,
                      fmt::format("stopped by signal {}", strsignal(sig))};
    {
      // Kept even when another stop (a guest reset) won the race: a signal
      // must end vessel, not be lost in a --reboot loop.
      std::lock_guard lock(mu_);
      if (!signal_outcome_) signal_outcome_ = outcome;
    }
    stop_with(std::move(outcome));
  }));
  if (console_) VESSEL_TRY(console_->start());
  loop_thread_ = std::thread([this] {
    set_thread_name("vessel-loop");
    loop_->run();
  });

  for (int i = 0; i < config_.cpus; i++) {
    auto t = std::make_unique<VcpuThread>(
        i, *accel_, bus_,
        [this](Vcpu& v, const Expected<VcpuExit>& e) { return on_vcpu_exit(v, e); });
    std::optional<BootImage> boot;
    if (i == 0) boot = boot_image_;
    VESSEL_TRY(t->start(boot));
    vcpus_.push_back(std::move(t));
  }
  for (auto& t : vcpus_) t->resume();
  if (!config_.api_socket.empty()) {
    VESSEL_ASSIGN(api_, ApiServer::start(config_.api_socket, [this](const http::Request& r) {
                    return handle_api_request(r, *this);
                  }));
    log_info("management API on {}", config_.api_socket);
  }
  return ok_status();
}

void Vm::stop_threads() {
  api_.reset();  // first: its requests reach into the vCPUs and devices
  for (auto& t : vcpus_) t->stop();
  vcpus_.clear();
  if (loop_thread_.joinable()) {
    loop_->stop();
    loop_thread_.join();
  }
  console_.reset();  // restores the terminal
}

VmOutcome Vm::run() {
  auto started = start_threads();
  if (!started.ok()) stop_with({VmOutcome::Kind::kError, 1, started.error().message});
  VmOutcome outcome;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return outcome_.has_value(); });
    outcome = *outcome_;
  }
  if (outcome.kind == VmOutcome::Kind::kSignal && log_level() <= LogLevel::kInfo) {
    // Verbose: show where each vCPU was when the VM was stopped from outside.
    for (auto& t : vcpus_) {
      t->pause();
      auto state = t->read_state();
      if (state.ok()) {
        log_info("vCPU {} when stopped:\n{}", t->id(), format_register_dump(*state));
      } else {
        log_info("vCPU {}: {}", t->id(), state.error().message);
      }
    }
  }
  stop_threads();
  std::lock_guard lock(mu_);
  if (signal_outcome_ && outcome.kind != VmOutcome::Kind::kSignal) outcome = *signal_outcome_;
  return outcome;
}

}  // namespace vessel

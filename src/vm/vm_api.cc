// The VM's side of the management API (api/vm_api.h): actions go through the
// vCPU threads' messages and the platform devices, never into a running vCPU.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <string>

#include "pci/pci_device.h"
#include "virtio/virtio_balloon.h"
#include "virtio/virtio_pci.h"
#include "vm/platform.h"
#include "vm/vm.h"

namespace vessel {
namespace {

// Bytes of [host, host + size) resident in RAM (mincore), or 0 if unknown.
uint64_t resident_bytes(const uint8_t* host, uint64_t size) {
  long page = ::sysconf(_SC_PAGESIZE);
  if (page <= 0 || size == 0) return 0;
  uint64_t pages = (size + uint64_t(page) - 1) / uint64_t(page);
  std::vector<unsigned char> vec(pages);
  if (::mincore(const_cast<uint8_t*>(host), size, vec.data()) != 0) return 0;
  uint64_t n = 0;
  for (unsigned char v : vec) n += v & 1;
  return n * uint64_t(page);
}

// VmRSS of this process in bytes, or 0 if unknown.
uint64_t process_resident_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace

std::string Vm::state() {
  {
    std::lock_guard lock(mu_);
    if (outcome_) return "Shutdown";
  }
  std::lock_guard lock(api_mu_);
  return paused_ ? "Paused" : "Running";
}

nlohmann::json Vm::info() {
  nlohmann::json disks = nlohmann::json::array();
  for (const DiskOptions& d : config_.disks) {
    std::string_view format = d.image.format == BlockFormat::kQcow2 ? "qcow2"
                              : d.image.format == BlockFormat::kRaw ? "raw"
                                                                    : "auto";
    disks.push_back({{"path", d.image.path},
                     {"format", format},
                     {"readonly", d.image.read_only},
                     {"cache", cache_mode_name(d.image.cache)},
                     {"aio", aio_mode_name(d.aio)}});
  }
  nlohmann::json nets = nlohmann::json::array();
  for (const NetOptions& n : config_.nets) {
    nets.push_back(
        {{"kind", n.kind == NetOptions::Kind::kTap ? "tap" : "user"}, {"mac", format_mac(n.mac)}});
  }
  nlohmann::json config = {
      {"cpus", {{"boot_vcpus", config_.cpus}}},
      {"memory", {{"size", config_.memory_bytes}}},
      {"payload",
       {{"kernel", config_.boot.kernel_path},
        {"initramfs", config_.boot.initrd_path},
        {"cmdline", config_.boot.cmdline}}},
      {"accelerator", std::string(accel_->name())},
      {"disks", disks},
      {"net", nets},
  };
  uint64_t ballooned =
      balloon_ ? uint64_t(balloon_->balloon_counters().actual_pages) * VirtioBalloon::kPageSize : 0;
  return {{"config", config},
          {"state", state()},
          {"memory_actual_size", config_.memory_bytes - std::min(ballooned, config_.memory_bytes)}};
}

ApiStatus Vm::pause() {
  std::lock_guard lock(api_mu_);
  if (paused_) return ApiStatus::failure(409, "the VM is already paused");
  for (auto& t : vcpus_) t->pause();
  paused_ = true;
  return ApiStatus::success();
}

ApiStatus Vm::resume() {
  std::lock_guard lock(api_mu_);
  if (!paused_) return ApiStatus::failure(409, "the VM is not paused");
  for (auto& t : vcpus_) t->resume();
  paused_ = false;
  return ApiStatus::success();
}

ApiStatus Vm::power_button() {
  std::lock_guard lock(api_mu_);
  if (paused_) return ApiStatus::failure(409, "the VM is paused: resume it first");
  platform_->press_power_button();
  return ApiStatus::success();
}

ApiStatus Vm::shutdown() {
  stop_with({VmOutcome::Kind::kQuit, 0, "stopped through the management API"});
  return ApiStatus::success();
}

nlohmann::json Vm::counters() {
  nlohmann::json out = nlohmann::json::object();
  for (auto& t : vcpus_) {
    VcpuThread::Stats s = t->stats();
    out["vcpu" + std::to_string(t->id())] = {{"cpu_time_ns", s.cpu_time_ns},
                                             {"instructions", s.counters.instructions},
                                             {"exits", s.counters.exits},
                                             {"interrupts", s.counters.interrupts}};
  }
  std::map<std::string, int> seen;
  for (auto& pci : virtio_) {
    VirtioDevice& dev = pci->device();
    std::string name(dev.name());
    nlohmann::json c = nlohmann::json::object();
    for (const auto& [key, value] : dev.counters()) c[key] = value;
    out[name + std::to_string(seen[name]++)] = c;
  }
  uint64_t resident = 0;
  for (const GuestMemory::Region& r : memory_->regions())
    resident += resident_bytes(r.host, r.size);
  uint64_t ballooned =
      balloon_ ? uint64_t(balloon_->balloon_counters().actual_pages) * VirtioBalloon::kPageSize : 0;
  out["memory"] = {{"guest_bytes", memory_->size()},
                   {"balloon_bytes", ballooned},
                   {"guest_resident_bytes", resident},
                   {"process_resident_bytes", process_resident_bytes()}};
  return out;
}

ApiStatus Vm::set_balloon(uint64_t bytes) {
  if (!balloon_)
    return ApiStatus::failure(400, "this VM has no balloon device (start vessel with --balloon)");
  if (bytes > config_.memory_bytes) {
    return ApiStatus::failure(
        400, fmt::format("a balloon of {} bytes is larger than the guest's memory ({} bytes)",
                         bytes, config_.memory_bytes));
  }
  balloon_->set_target_bytes(bytes);
  balloon_->request_stats();
  return ApiStatus::success();
}

nlohmann::json Vm::balloon() {
  if (!balloon_) return {{"present", false}};
  VirtioBalloon::Counters c = balloon_->balloon_counters();
  VirtioBalloon::Stats s = balloon_->stats();
  nlohmann::json stats = nlohmann::json::object();
  for (size_t tag = 0; tag < s.values.size(); tag++) {
    std::string_view name = VirtioBalloon::stat_name(static_cast<uint16_t>(tag));
    if (s.values[tag] && !name.empty()) stats[std::string(name)] = *s.values[tag];
  }
  nlohmann::json out = {{"present", true},
                        {"target_bytes", uint64_t(c.target_pages) * VirtioBalloon::kPageSize},
                        {"actual_bytes", uint64_t(c.actual_pages) * VirtioBalloon::kPageSize},
                        {"inflated_pages", c.inflated_pages},
                        {"deflated_pages", c.deflated_pages},
                        {"reported_pages", c.reported_pages},
                        {"rejected", c.rejected},
                        {"stats", stats}};
  if (s.valid)
    out["stats_age_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(s.age).count();
  return out;
}

}  // namespace vessel

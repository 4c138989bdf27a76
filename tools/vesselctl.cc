// vesselctl: the command-line client of Vessel's management API (docs/api.md).
//
//   vesselctl --socket PATH [--json] status|ping|pause|resume|shutdown|stop|stats
//   vesselctl --socket PATH [--json] balloon [SIZE]
//   vesselctl --socket PATH top [--interval SECONDS] [--count N]
//
// Human-readable output by default; --json prints the API's answers as they
// are. Exit status: 0 done, 1 the VMM refused or failed, 2 bad usage or no
// VMM to talk to.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "api/api_client.h"
#include "base/size.h"

namespace {

using nlohmann::json;
using vessel::ApiReply;

struct Ctl {
  std::string socket;
  bool as_json = false;
};

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    u++;
  }
  return u == 0 ? fmt::format("{:.0f} {}", b, units[u]) : fmt::format("{:.1f} {}", b, units[u]);
}

// Calls the API; prints the error and returns nullopt when it fails.
std::optional<ApiReply> call(const Ctl& ctl, const std::string& method, const std::string& endpoint,
                             const std::string& body = {}) {
  auto reply = vessel::api_call(ctl.socket, method, "/api/v1/" + endpoint, body);
  if (!reply.ok()) {
    fmt::print(stderr, "vesselctl: {}\n", reply.error().message);
    return std::nullopt;
  }
  if (reply->status >= 300) {
    std::string why = reply->body.is_object() && reply->body.contains("error")
                          ? reply->body["error"].get<std::string>()
                          : reply->body.dump();
    if (ctl.as_json) {
      fmt::print("{}\n", reply->body.dump());
    } else {
      fmt::print(stderr, "vesselctl: {} failed ({}): {}\n", endpoint, reply->status, why);
    }
  }
  return *reply;
}

int exit_code(const std::optional<ApiReply>& r) {
  if (!r) return 2;
  return r->status >= 300 ? 1 : 0;
}

int action(const Ctl& ctl, const std::string& endpoint, const std::string& done) {
  auto r = call(ctl, "PUT", endpoint);
  if (r && r->status < 300) {
    if (ctl.as_json) {
      fmt::print("{}\n", json{{"ok", true}}.dump());
    } else {
      fmt::print("{}\n", done);
    }
  }
  return exit_code(r);
}

int status(const Ctl& ctl) {
  auto r = call(ctl, "GET", "vm.info");
  if (!r || r->status >= 300) return exit_code(r);
  const json& b = r->body;
  if (ctl.as_json) {
    fmt::print("{}\n", b.dump());
    return 0;
  }
  const json& c = b.value("config", json::object());
  fmt::print("state:       {}\n", b.value("state", "?"));
  fmt::print("accelerator: {}\n", c.value("accelerator", "?"));
  fmt::print("vcpus:       {}\n", c.value("/cpus/boot_vcpus"_json_pointer, 0));
  fmt::print("memory:      {}\n", human_bytes(c.value("/memory/size"_json_pointer, 0.0)));
  fmt::print("kernel:      {}\n", c.value("/payload/kernel"_json_pointer, std::string()));
  for (const json& d : c.value("disks", json::array())) {
    fmt::print("disk:        {} ({}{})\n", d.value("path", ""), d.value("format", ""),
               d.value("readonly", false) ? ", read-only" : "");
  }
  for (const json& n : c.value("net", json::array())) {
    fmt::print("net:         {} {}\n", n.value("kind", ""), n.value("mac", ""));
  }
  return 0;
}

int stats(const Ctl& ctl) {
  auto r = call(ctl, "GET", "vm.counters");
  if (!r || r->status >= 300) return exit_code(r);
  if (ctl.as_json) {
    fmt::print("{}\n", r->body.dump());
    return 0;
  }
  for (const auto& [group, values] : r->body.items()) {
    fmt::print("{}:\n", group);
    for (const auto& [name, value] : values.items()) fmt::print("  {:24} {}\n", name, value.dump());
  }
  return 0;
}

int balloon(const Ctl& ctl, const std::string& size) {
  if (!size.empty()) {
    auto bytes = vessel::parse_size(size, 1ull << 20);
    if (!bytes.ok()) {
      fmt::print(stderr, "vesselctl: balloon size: {}\n", bytes.error().message);
      return 2;
    }
    auto r = call(ctl, "PUT", "vm.resize", json{{"desired_balloon", *bytes}}.dump());
    if (r && r->status < 300) {
      if (ctl.as_json) {
        fmt::print("{}\n", json{{"ok", true}}.dump());
      } else {
        fmt::print("balloon target set to {}\n", human_bytes(double(*bytes)));
      }
    }
    return exit_code(r);
  }
  auto r = call(ctl, "GET", "vm.balloon");
  if (!r || r->status >= 300) return exit_code(r);
  if (ctl.as_json) {
    fmt::print("{}\n", r->body.dump());
  } else {
    for (const auto& [name, value] : r->body.items()) fmt::print("{:24} {}\n", name, value.dump());
  }
  return 0;
}

double num(const json& j, const char* group, const char* key) {
  if (!j.contains(group) || !j[group].contains(key)) return 0;
  return j[group][key].get<double>();
}

// `top`: the counters twice, `interval` apart, as rates.
int top(const Ctl& ctl, double interval, int count) {
  auto prev = call(ctl, "GET", "vm.counters");
  if (!prev || prev->status >= 300) return exit_code(prev);
  auto prev_at = std::chrono::steady_clock::now();
  bool tty = ::isatty(STDOUT_FILENO) == 1 && !ctl.as_json;
  for (int i = 0; count <= 0 || i < count; i++) {
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    auto now = call(ctl, "GET", "vm.counters");
    if (!now || now->status >= 300) return exit_code(now);
    auto at = std::chrono::steady_clock::now();
    double dt = std::chrono::duration<double>(at - prev_at).count();
    const json &a = prev->body, &b = now->body;
    auto rate = [&](const std::string& g, const char* k) {
      return (num(b, g.c_str(), k) - num(a, g.c_str(), k)) / dt;
    };
    json view = json::object();
    std::string text;
    for (const auto& [group, values] : b.items()) {
      if (group.rfind("vcpu", 0) == 0) {
        double cpu = rate(group, "cpu_time_ns") / 1e7;  // percent
        double ips = rate(group, "instructions"), eps = rate(group, "exits");
        view[group] = {{"cpu_percent", cpu}, {"instructions_per_s", ips}, {"exits_per_s", eps}};
        text += fmt::format("{:8} cpu {:5.1f}%   {:>10.1f} M instr/s   {:>8.0f} exits/s\n", group,
                            cpu, ips / 1e6, eps);
      } else if (group.rfind("blk", 0) == 0) {
        double rb = rate(group, "read_bytes"), wb = rate(group, "write_bytes");
        double ops = rate(group, "read_ops") + rate(group, "write_ops") + rate(group, "flush_ops");
        view[group] = {{"read_bytes_per_s", rb}, {"write_bytes_per_s", wb}, {"ops_per_s", ops}};
        text += fmt::format("{:8} read {:>10}/s  write {:>10}/s  {:>7.0f} ops/s\n", group,
                            human_bytes(rb), human_bytes(wb), ops);
      } else if (group.rfind("net", 0) == 0) {
        double rx = rate(group, "rx_bytes"), tx = rate(group, "tx_bytes");
        double pk = rate(group, "rx_frames") + rate(group, "tx_frames");
        view[group] = {{"rx_bytes_per_s", rx}, {"tx_bytes_per_s", tx}, {"frames_per_s", pk}};
        text += fmt::format("{:8} rx   {:>10}/s  tx    {:>10}/s  {:>7.0f} frames/s\n", group,
                            human_bytes(rx), human_bytes(tx), pk);
      } else if (group == "memory") {
        view[group] = values;
        text += fmt::format("{:8} guest {}, resident {} (vessel process {})\n", group,
                            human_bytes(num(b, "memory", "guest_bytes")),
                            human_bytes(num(b, "memory", "guest_resident_bytes")),
                            human_bytes(num(b, "memory", "process_resident_bytes")));
      }
    }
    if (ctl.as_json) {
      fmt::print("{}\n", view.dump());
    } else {
      if (tty) fmt::print("\x1b[H\x1b[2J");
      fmt::print("vessel {} ({:.1f} s)\n{}", ctl.socket, dt, text);
    }
    std::fflush(stdout);
    prev = std::move(now);
    prev_at = at;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vesselctl: control a running vessel VM through its management API"};
  Ctl ctl;
  app.add_option("-s,--socket", ctl.socket, "the VM's API socket (vessel --api-socket PATH)")
      ->required();
  app.add_flag("--json", ctl.as_json, "print JSON (the API's answers) instead of text");
  app.require_subcommand(1);
  std::string size;
  double interval = 1.0;
  int count = 0;
  app.add_subcommand("ping", "check that the VMM answers (version, pid)");
  app.add_subcommand("status", "the VM's state and configuration");
  app.add_subcommand("pause", "pause the vCPUs");
  app.add_subcommand("resume", "resume the vCPUs");
  app.add_subcommand("shutdown", "press the ACPI power button: the guest shuts down cleanly");
  app.add_subcommand("stop", "stop the VM at once (vessel exits)");
  app.add_subcommand("stats", "the VMM's counters (vCPUs, devices, memory)");
  auto* bal = app.add_subcommand("balloon", "show the balloon, or set its target size");
  bal->add_option("size", size, "target balloon size, e.g. 256M (a bare number is MiB)");
  auto* tp = app.add_subcommand("top", "a live view of the VM's activity, refreshed");
  tp->add_option("-i,--interval", interval, "seconds between refreshes")
      ->check(CLI::PositiveNumber);
  tp->add_option("-n,--count", count, "refresh this many times, then exit (0: until interrupted)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::string cmd = app.get_subcommands().front()->get_name();
  if (cmd == "ping") {
    auto r = call(ctl, "GET", "vmm.ping");
    if (r && r->status < 300) {
      if (ctl.as_json) {
        fmt::print("{}\n", r->body.dump());
      } else {
        fmt::print("vessel {} (pid {})\n", r->body.value("version", "?"), r->body.value("pid", 0));
      }
    }
    return exit_code(r);
  }
  if (cmd == "status") return status(ctl);
  if (cmd == "pause") return action(ctl, "vm.pause", "paused");
  if (cmd == "resume") return action(ctl, "vm.resume", "resumed");
  if (cmd == "shutdown") return action(ctl, "vm.power-button", "power button pressed");
  if (cmd == "stop") return action(ctl, "vm.shutdown", "stopped");
  if (cmd == "stats") return stats(ctl);
  if (cmd == "balloon") return balloon(ctl, size);
  if (cmd == "top") return top(ctl, interval, count);
  return 2;
}

#include "accel/select.h"

#include <chrono>

#include "accel/kvm/kvm_accelerator.h"
#include "accel/kvm/kvm_probe.h"
#include "accel/soft/soft_accelerator.h"

namespace vessel {
namespace {

constexpr auto kProbeBudget = std::chrono::milliseconds(20);

}  // namespace

Expected<AccelChoice> parse_accel_choice(const std::string& text) {
  if (text == "auto") return AccelChoice::kAuto;
  if (text == "kvm") return AccelChoice::kKvm;
  if (text == "soft" || text == "tcg") return AccelChoice::kSoft;
  return make_error("unknown accelerator '{}' (use auto, kvm or soft)", text);
}

Expected<bool> parse_jit_switch(const std::string& text) {
  if (text == "on") return true;
  if (text == "off") return false;
  return make_error("--jit takes on or off (not '{}')", text);
}

Expected<AccelSelection> select_accelerator(AccelChoice choice, const cpu::JitOptions& jit) {
  switch (choice) {
    case AccelChoice::kKvm: {
      auto kvm = create_kvm_accelerator();
      if (!kvm.ok()) return with_context(kvm.error(), "--accel kvm");
      return AccelSelection{std::move(*kvm), ""};
    }
    case AccelChoice::kSoft:
      return AccelSelection{create_soft_accelerator(jit), ""};
    case AccelChoice::kAuto:
      break;
  }
  auto probe = probe_kvm(kProbeBudget);
  if (!probe.ok())
    return AccelSelection{create_soft_accelerator(jit),
                          fmt::format("using the software CPU: kvm: {}", probe.error().message)};
  if (!probe->usable)
    return AccelSelection{create_soft_accelerator(jit),
                          fmt::format("using the software CPU: kvm: {}", probe->reason)};
  if (!kvm_is_fast(*probe))
    return AccelSelection{
        create_soft_accelerator(jit),
        fmt::format("using the software CPU: KVM is slow here ({:.1f} M instructions/s)",
                    probe->instructions_per_second / 1e6)};
  auto kvm = create_kvm_accelerator();
  if (!kvm.ok()) return with_context(kvm.error(), "kvm");
  return AccelSelection{std::move(*kvm), ""};
}

std::vector<std::string> describe_accelerators() {
  std::vector<std::string> lines;
  auto probe = probe_kvm(kProbeBudget);
  if (!probe.ok()) {
    lines.push_back(fmt::format("kvm: unavailable ({})", probe.error().message));
  } else {
    lines.push_back(describe_kvm_probe(*probe));
  }
  lines.push_back("soft: available (software x86-64 CPU)");
  return lines;
}

}  // namespace vessel

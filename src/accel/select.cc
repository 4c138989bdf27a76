#include "accel/select.h"

#include <chrono>

#include "accel/kvm/kvm_accelerator.h"
#include "accel/kvm/kvm_probe.h"

namespace vessel {
namespace {

constexpr auto kProbeBudget = std::chrono::milliseconds(20);
constexpr const char* kSoftMissing = "the software CPU is not built yet";

}  // namespace

Expected<AccelChoice> parse_accel_choice(const std::string& text) {
  if (text == "auto") return AccelChoice::kAuto;
  if (text == "kvm") return AccelChoice::kKvm;
  if (text == "soft" || text == "tcg") return AccelChoice::kSoft;
  return make_error("unknown accelerator '{}' (use auto, kvm or soft)", text);
}

Expected<AccelSelection> select_accelerator(AccelChoice choice) {
  switch (choice) {
    case AccelChoice::kKvm: {
      auto kvm = create_kvm_accelerator();
      if (!kvm.ok()) return with_context(kvm.error(), "--accel kvm");
      return AccelSelection{std::move(*kvm), ""};
    }
    case AccelChoice::kSoft:
      return make_error("--accel soft: {}", kSoftMissing);
    case AccelChoice::kAuto:
      break;
  }
  auto probe = probe_kvm(kProbeBudget);
  if (!probe.ok())
    return make_error("no usable accelerator: kvm: {}; soft: {}", probe.error().message,
                      kSoftMissing);
  if (!probe->usable)
    return make_error("no usable accelerator: kvm: {}; soft: {}", probe->reason, kSoftMissing);
  auto kvm = create_kvm_accelerator();
  if (!kvm.ok()) return with_context(kvm.error(), "kvm");
  std::string why;
  if (!kvm_is_fast(*probe)) {
    why = fmt::format("KVM is slow here ({:.1f} M instructions/s) and {}: using KVM anyway",
                      probe->instructions_per_second / 1e6, kSoftMissing);
  }
  return AccelSelection{std::move(*kvm), why};
}

std::vector<std::string> describe_accelerators() {
  std::vector<std::string> lines;
  auto probe = probe_kvm(kProbeBudget);
  if (!probe.ok()) {
    lines.push_back(fmt::format("kvm: unavailable ({})", probe.error().message));
  } else {
    lines.push_back(describe_kvm_probe(*probe));
  }
  lines.push_back(fmt::format("soft: unavailable ({})", kSoftMissing));
  return lines;
}

}  // namespace vessel

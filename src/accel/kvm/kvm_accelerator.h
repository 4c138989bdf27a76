// The KVM accelerator: a VM on /dev/kvm with the in-kernel irqchip
// (PIC + IOAPIC + LAPICs) and PIT, guest RAM as memory slots, and KvmVcpus.
#pragma once

#include <memory>

#include "accel/accelerator.h"
#include "base/error.h"

namespace vessel {

// Opens /dev/kvm, checks the API version and capabilities, creates the VM
// and its in-kernel interrupt controllers and PIT. Fails with a message
// naming the path and errno, or the missing capability.
Expected<std::unique_ptr<Accelerator>> create_kvm_accelerator();

}  // namespace vessel

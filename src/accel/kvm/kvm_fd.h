// The KVM backend's file descriptors and ioctl errors (base/owned_fd.h).
#pragma once

#include "base/owned_fd.h"

namespace vessel::kvm {

using vessel::errno_error;
using vessel::OwnedFd;

}  // namespace vessel::kvm

// Names the calling thread (what `top -H`, `ps -L` and debuggers show);
// Linux keeps the first 15 bytes.
#pragma once

#include <string_view>

namespace vessel {

void set_thread_name(std::string_view name);

}  // namespace vessel

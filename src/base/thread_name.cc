#include "base/thread_name.h"

#include <pthread.h>

#include <string>

namespace vessel {

void set_thread_name(std::string_view name) {
  std::string s(name.substr(0, 15));
  pthread_setname_np(pthread_self(), s.c_str());
}

}  // namespace vessel

// set_thread_name: what the kernel reports for the thread afterwards.
#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

#include "base/thread_name.h"

namespace vessel {
namespace {

std::string name_of_this_thread() {
  char buf[32] = {};
  pthread_getname_np(pthread_self(), buf, sizeof(buf));
  return buf;
}

TEST(ThreadName, NamesTheCallingThreadOnly) {
  std::string main_before = name_of_this_thread();
  std::string seen;
  std::thread t([&] {
    set_thread_name("vessel-test");
    seen = name_of_this_thread();
  });
  t.join();
  EXPECT_EQ(seen, "vessel-test");
  EXPECT_EQ(name_of_this_thread(), main_before);
}

TEST(ThreadName, KeepsTheFirstFifteenBytesOfALongName) {
  std::string seen;
  std::thread t([&] {
    set_thread_name("vessel-a-name-longer-than-linux-keeps");
    seen = name_of_this_thread();
  });
  t.join();
  EXPECT_EQ(seen, "vessel-a-name-l");
}

}  // namespace
}  // namespace vessel

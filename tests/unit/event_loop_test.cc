#include <gtest/gtest.h>

#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "base/event_loop.h"

namespace vessel {
namespace {

using namespace std::chrono_literals;

TEST(EventLoop, PostRunsOnLoopThreadAndStopEndsRun) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  std::promise<std::thread::id> ran_on;
  std::thread t([&] { (*loop)->run(); });
  (*loop)->post([&] { ran_on.set_value(std::this_thread::get_id()); });
  auto f = ran_on.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), t.get_id());
  (*loop)->stop();
  t.join();
}

TEST(EventLoop, FdCallbackSeesData) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::promise<char> got;
  ASSERT_TRUE((*loop)
                  ->add_fd(fds[0], EPOLLIN,
                           [&](uint32_t) {
                             char c;
                             if (::read(fds[0], &c, 1) == 1) got.set_value(c);
                             (*loop)->remove_fd(fds[0]);
                           })
                  .ok());
  std::thread t([&] { (*loop)->run(); });
  ASSERT_EQ(::write(fds[1], "z", 1), 1);
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), 'z');
  (*loop)->stop();
  t.join();
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(EventLoop, PeriodicTimerFiresRepeatedlyUntilRemoved) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  std::atomic<int> count{0};
  std::promise<void> three;
  auto id = (*loop)->add_timer(1ms, true, [&] {
    if (++count == 3) three.set_value();
  });
  ASSERT_TRUE(id.ok());
  std::thread t([&] { (*loop)->run(); });
  ASSERT_EQ(three.get_future().wait_for(5s), std::future_status::ready);
  std::promise<void> removed;
  (*loop)->post([&] {
    (*loop)->remove_timer(*id);
    removed.set_value();
  });
  removed.get_future().wait();
  int after = count.load();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(count.load(), after);
  (*loop)->stop();
  t.join();
}

TEST(EventLoop, WatchingAFileFailsCleanly) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  char path[] = "/tmp/vessel-evloop-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  auto st = (*loop)->add_fd(fd, EPOLLIN, [](uint32_t) {});
  EXPECT_FALSE(st.ok());  // epoll refuses regular files
  ::close(fd);
}

}  // namespace
}  // namespace vessel

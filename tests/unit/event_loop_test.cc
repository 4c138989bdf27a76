#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
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

// Timers from another thread: they fire in deadline order whatever order they
// were added in, a removed one never fires, and a thousand of them cost no
// file descriptor (they share the loop's one timerfd).
TEST(EventLoop, TimersFromAnotherThreadFireInDeadlineOrder) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  std::thread t([&] { (*loop)->run(); });
  auto open_fds = [] {
    int n = 0;
    for (int fd = 0; fd < 4096; fd++) n += ::fcntl(fd, F_GETFD) != -1;
    return n;
  };
  int fds_before = open_fds();
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> done;
  auto record = [&](int what) {
    std::lock_guard lock(mu);
    order.push_back(what);
    if (what == 1) done.set_value();
  };
  std::vector<EventLoop::TimerId> idle;
  for (int i = 0; i < 1000; i++) {
    auto id = (*loop)->add_timer(1h, false, [] {});
    ASSERT_TRUE(id.ok());
    idle.push_back(*id);
  }
  EXPECT_EQ(open_fds(), fds_before);
  ASSERT_TRUE((*loop)->add_timer(40ms, false, [&] { record(1); }).ok());
  auto removed = (*loop)->add_timer(20ms, false, [&] { record(99); });
  ASSERT_TRUE(removed.ok());
  ASSERT_TRUE((*loop)->add_timer(10ms, false, [&] { record(0); }).ok());
  (*loop)->remove_timer(*removed);
  ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  for (auto id : idle) (*loop)->remove_timer(id);
  (*loop)->stop();
  t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1}));
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

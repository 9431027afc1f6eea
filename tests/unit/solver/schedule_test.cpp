// The scheduler of a build's stages: dependencies first, up to N at once,
// the first error stops what has not started, cycles are refused.
#include "solver/schedule.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace strata::solver {
namespace {

TEST(Schedule, DependenciesFinishFirst) {
  // 0 <- 1 <- 3, 0 <- 2 <- 3, 4 alone
  std::mutex mu;
  std::vector<size_t> order;
  std::vector<Task> tasks(5);
  tasks[1].deps = {0};
  tasks[2].deps = {0};
  tasks[3].deps = {1, 2};
  for (size_t i = 0; i < tasks.size(); ++i)
    tasks[i].run = [&, i]() -> Result<void> {
      std::lock_guard g(mu);
      order.push_back(i);
      return {};
    };
  ASSERT_TRUE(run_graph(tasks, 2));
  ASSERT_EQ(order.size(), 5u);
  auto at = [&](size_t t) { return std::find(order.begin(), order.end(), t) - order.begin(); };
  EXPECT_LT(at(0), at(1));
  EXPECT_LT(at(0), at(2));
  EXPECT_LT(at(1), at(3));
  EXPECT_LT(at(2), at(3));
}

TEST(Schedule, RunsUpToTheWorkersAtOnce) {
  std::atomic<int> now{0}, most{0};
  std::vector<Task> tasks(6);
  for (auto& t : tasks)
    t.run = [&]() -> Result<void> {
      int n = ++now;
      for (int m = most; n > m && !most.compare_exchange_weak(m, n);) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      --now;
      return {};
    };
  ASSERT_TRUE(run_graph(tasks, 3));
  EXPECT_EQ(most, 3);
  most = 0;
  ASSERT_TRUE(run_graph(tasks, 1));
  EXPECT_EQ(most, 1);
}

TEST(Schedule, TheFirstErrorStopsWhatHasNotStarted) {
  std::atomic<int> ran{0};
  std::vector<Task> tasks(4);
  tasks[0].run = [&]() -> Result<void> {
    ++ran;
    return fail(Errc::invalid_argument, "step 1 failed");
  };
  for (size_t i = 1; i < tasks.size(); ++i) {
    tasks[i].deps = {i - 1};
    tasks[i].run = [&]() -> Result<void> {
      ++ran;
      return {};
    };
  }
  auto r = run_graph(tasks, 2);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "step 1 failed");
  EXPECT_EQ(ran, 1);
}

TEST(Schedule, CyclesAndBadDependenciesAreRefused) {
  std::vector<Task> tasks(2);
  tasks[0].deps = {1};
  tasks[1].deps = {0};
  for (auto& t : tasks) t.run = []() -> Result<void> { return {}; };
  auto cycle = run_graph(tasks, 2);
  ASSERT_FALSE(cycle);
  EXPECT_NE(cycle.error().message.find("cycle"), std::string::npos);
  tasks[0].deps = {7};
  EXPECT_FALSE(run_graph(tasks, 1));
  EXPECT_TRUE(run_graph({}, 4));
}

}  // namespace
}  // namespace strata::solver

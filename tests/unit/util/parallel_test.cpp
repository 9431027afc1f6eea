#include "util/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

using namespace strata;

TEST(Parallel, RunsEveryTaskOnce) {
  std::vector<std::atomic<int>> runs(100);
  auto r = parallel_for(runs.size(), 3, [&](size_t i) -> Result<void> {
    ++runs[i];
    return {};
  });
  ASSERT_TRUE(r);
  for (const auto& n : runs) EXPECT_EQ(n.load(), 1);
  EXPECT_TRUE(parallel_for(0, 3, [](size_t) -> Result<void> { return fail(Errc::io, "never"); }));
}

TEST(Parallel, StopsAfterTheFirstError) {
  std::atomic<int> started{0};
  auto r = parallel_for(1000, 1, [&](size_t i) -> Result<void> {
    ++started;
    if (i == 5) return fail(Errc::io, "task 5 failed");
    return {};
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "task 5 failed");
  EXPECT_EQ(started.load(), 6);  // one worker: nothing after the failure
}

TEST(SerialQueue, RunsTasksInOrderAndReportsTheFirstError) {
  SerialQueue q;
  std::vector<int> order;  // only the queue's thread writes it before wait()
  for (int i = 0; i < 50; ++i)
    q.push([&, i]() -> Result<void> {
      order.push_back(i);
      if (i == 7) return fail(Errc::io, "task 7 failed");
      if (i == 9) return fail(Errc::io, "task 9 failed");
      return {};
    });
  auto r = q.wait();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "task 7 failed");
  ASSERT_EQ(order.size(), 50u);  // an error does not stop later tasks
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
  q.push([&]() -> Result<void> {
    order.push_back(50);
    return {};
  });
  r = q.wait();
  ASSERT_FALSE(r);  // the first error stays
  EXPECT_EQ(r.error().message, "task 7 failed");
  EXPECT_EQ(order.back(), 50);
}

TEST(SerialQueue, DestructorRunsWhatIsQueued) {
  std::atomic<int> runs{0};
  {
    SerialQueue q;
    for (int i = 0; i < 20; ++i)
      q.push([&]() -> Result<void> {
        ++runs;
        return {};
      });
  }
  EXPECT_EQ(runs.load(), 20);
}

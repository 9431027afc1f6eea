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

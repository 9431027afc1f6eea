// Running independent tasks on a few threads, stopping at the first error,
// and counting the bytes they move; running tasks in order on a thread of
// their own.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "util/error.hpp"

namespace strata {

// Bytes done by tasks on several threads, reported as (done, total) one
// report at a time (the report may print); no report without a callback.
class SharedProgress {
 public:
  SharedProgress(uint64_t total, std::function<void(uint64_t done, uint64_t total)> report)
      : total_(total), report_(std::move(report)) {}
  void add(uint64_t n) {
    if (!report_) return;
    std::lock_guard g(mu_);
    done_ += n;
    report_(std::min(done_, total_), total_);
  }

 private:
  uint64_t total_, done_ = 0;
  std::function<void(uint64_t, uint64_t)> report_;
  std::mutex mu_;
};

// Runs task(i) for every i in [0, n) on up to `workers` threads (the
// caller's included). After a task fails no new one starts; the first
// error is returned once the running ones have finished.
Result<void> parallel_for(size_t n, size_t workers,
                          const std::function<Result<void>(size_t)>& task);

// Runs tasks one after another, in the order given, on a thread of its own
// (started with the first task), so that the caller need not wait for work
// it does not depend on. wait() returns once every task given so far has
// run, with the first error any task returned; the destructor waits too.
class SerialQueue {
 public:
  SerialQueue() = default;
  ~SerialQueue();
  SerialQueue(const SerialQueue&) = delete;
  SerialQueue& operator=(const SerialQueue&) = delete;
  void push(std::function<Result<void>()> task);
  Result<void> wait();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<Result<void>()>> tasks_;
  bool busy_ = false, stopping_ = false;
  std::optional<Error> error_;
  std::thread worker_;
};

}  // namespace strata

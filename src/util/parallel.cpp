#include "util/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <vector>

namespace strata {

Result<void> parallel_for(size_t n, size_t workers,
                          const std::function<Result<void>(size_t)>& task) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::optional<Error> error;
  auto worker = [&] {
    for (size_t i = next++; i < n && !failed; i = next++) {
      if (auto r = task(i); !r) {
        std::lock_guard g(mu);
        if (!error) error = r.error();
        failed = true;
      }
    }
  };
  std::vector<std::future<void>> others;
  for (size_t w = 1; w < std::min(workers, n); ++w)
    others.push_back(std::async(std::launch::async, worker));
  worker();
  for (auto& f : others) f.get();
  if (error) return std::unexpected(*error);
  return {};
}

SerialQueue::~SerialQueue() {
  {
    std::lock_guard g(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void SerialQueue::push(std::function<Result<void>()> task) {
  std::lock_guard g(mu_);
  tasks_.push_back(std::move(task));
  cv_.notify_all();
  if (worker_.joinable()) return;
  worker_ = std::thread([this] {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return !tasks_.empty() || stopping_; });
      if (tasks_.empty()) return;
      auto next = std::move(tasks_.front());
      tasks_.pop_front();
      busy_ = true;
      lock.unlock();
      auto r = next();
      lock.lock();
      busy_ = false;
      if (!r && !error_) error_ = r.error();
      cv_.notify_all();
    }
  });
}

Result<void> SerialQueue::wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return tasks_.empty() && !busy_; });
  if (error_) return std::unexpected(*error_);
  return {};
}

}  // namespace strata

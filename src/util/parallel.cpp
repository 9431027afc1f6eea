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

}  // namespace strata

// Running independent tasks on a few threads, stopping at the first error.
#pragma once

#include <cstddef>
#include <functional>

#include "util/error.hpp"

namespace strata {

// Runs task(i) for every i in [0, n) on up to `workers` threads (the
// caller's included). After a task fails no new one starts; the first
// error is returned once the running ones have finished.
Result<void> parallel_for(size_t n, size_t workers,
                          const std::function<Result<void>(size_t)>& task);

}  // namespace strata

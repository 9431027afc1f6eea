// Running a dependency graph of tasks on a few workers: a task starts once
// every task it depends on has finished; after one fails no new one starts,
// and the first error is returned when the running ones have ended. The
// builder runs a build's stages with it; it knows nothing of what they do.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "util/error.hpp"

namespace strata::solver {

struct Task {
  std::vector<size_t> deps;  // positions in the task list of what must finish first
  std::function<Result<void>()> run;
};

// Runs every task, up to `workers` at once (at least one; the caller's
// thread is one of them). A dependency cycle is an internal error.
Result<void> run_graph(const std::vector<Task>& tasks, size_t workers);

}  // namespace strata::solver

#include "solver/schedule.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace strata::solver {

Result<void> run_graph(const std::vector<Task>& tasks, size_t workers) {
  enum class State { waiting, running, done };
  const size_t n = tasks.size();
  for (const auto& t : tasks)
    for (size_t d : t.deps)
      if (d >= n) return fail(Errc::internal, "run_graph: a dependency outside the task list");
  std::vector<State> state(n, State::waiting);
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0, running = 0;
  std::optional<Error> error;
  auto ready = [&](size_t i) {
    return std::all_of(tasks[i].deps.begin(), tasks[i].deps.end(),
                       [&](size_t d) { return state[d] == State::done; });
  };
  auto worker = [&] {
    std::unique_lock lock(mu);
    while (!error && done < n) {
      size_t pick = n;
      for (size_t i = 0; i < n && pick == n; ++i)
        if (state[i] == State::waiting && ready(i)) pick = i;
      if (pick == n) {
        if (running == 0) {  // nothing runs and nothing can start: a cycle
          error = Error{Errc::internal, "run_graph: the tasks' dependencies form a cycle"};
          cv.notify_all();
          break;
        }
        cv.wait(lock);
        continue;
      }
      state[pick] = State::running;
      ++running;
      lock.unlock();
      Result<void> r = tasks[pick].run();
      lock.lock();
      --running;
      state[pick] = State::done;
      ++done;
      if (!r && !error) error = r.error();
      cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < std::min(std::max<size_t>(workers, 1), std::max<size_t>(n, 1)); ++w)
    threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (error) return std::unexpected(*error);
  return {};
}

}  // namespace strata::solver

// Containers must not outlive the strata process that started them: a
// watcher process, started with the first container, waits for its strata
// to end and, when it ended without saying so (kill -9, OOM), kills and
// deletes that process's containers and removes what it left in the
// store's tmp/. A later command reaps what even the watcher could not (both
// killed at once). Container ids are "strata-<pid>-<n>" for this. Called by
// exec/runtime (the watcher), cli/ (the reaping and the watcher's main).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>

namespace strata::exec {

// Kills and deletes, in crun's and runc's state, the containers of strata
// processes that are gone (or, with `only`, of that process).
void reap_containers(std::optional<pid_t> only = {});

// Starts this process's watcher once (later calls do nothing); `tmp_dir`
// is the store's tmp/. Best effort: without it the next command reaps.
void start_watcher(const std::filesystem::path& tmp_dir);

// The watcher's own main (`strata __watch <pid> <tmp dir>`, fd 3 the pipe
// whose end tells that <pid> is gone).
int watcher_main(int argc, char** argv);

}  // namespace strata::exec

// What a killed strata process leaves behind, and its removal by another:
// every temporary name under a store's tmp/ carries the id of the process
// that made it ("rootfs-<pid>-…", "load-<pid>-…"), so a later command (or
// the process's own watcher, exec/) can tell the entries of a process that
// is gone, unmount what is mounted there and remove them. Entries of live
// processes are never touched. Called by store::Store::open and exec/.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string_view>

namespace strata::os {

// The id of the process that made a temporary name: the first "-<digits>-"
// (or a final "-<digits>") in it.
std::optional<pid_t> owner_of(std::string_view name);

// Does a process with this id exist (ours or another user's)?
bool process_alive(pid_t pid);

// Under `dir`, every entry whose owner is gone (or, with `only`, whose
// owner is `only`): mounts at or below it are detached, deepest first, then
// it is removed. Returns how many entries went.
size_t remove_leftovers(const std::filesystem::path& dir, std::optional<pid_t> only = {});

// Files beside `path` named "<its name>.tmp-<pid>" whose process is gone
// (what an atomic write that was killed leaves): removed.
void remove_stale_siblings(const std::filesystem::path& path);

}  // namespace strata::os

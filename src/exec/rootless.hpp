// strata for a user without root: main() calls run_rootless first, which
// re-executes strata in a user namespace of its own where the user is root
// and the user's /etc/subuid and /etc/subgid ranges are ids 1 and up
// (through the setuid newuidmap/newgidmap of Debian's uidmap), with a
// private mount namespace for its overlays. Inside, strata works as it does
// for root: files keep the image's own owners (on disk they belong to the
// subordinate ids), the runtime runs rootless (exec/runtime). Each missing
// piece of the host is an error that says what to change.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "os/user_namespace.hpp"
#include "util/error.hpp"

namespace strata::exec {

// What the host gives a user, as read from it (read_rootless_host) or made
// up by a test.
struct RootlessHost {
  std::string user;  // the user's name ("" when the passwd database has none)
  uid_t uid = 0;
  gid_t gid = 0;
  std::optional<std::string> subuid, subgid;  // the files' text; nullopt: no such file
  std::string newuidmap, newgidmap;           // "" when not installed
  bool newuidmap_setuid = false, newgidmap_setuid = false;  // setuid root or with file caps
  std::optional<long> max_user_namespaces;                  // user.max_user_namespaces
  std::optional<long> unprivileged_userns_clone;            // Debian's older kernels' switch
};
RootlessHost read_rootless_host();

// The ranges the namespace maps: the user to 0, the subordinate ids from 1.
struct RootlessMaps {
  os::SubidRange uids, gids;
};
// Whether `host` lets its user run strata rootless; else what is missing
// and how to change it.
Result<RootlessMaps> check_rootless(const RootlessHost& host);

// Not root: runs strata again (argv) in a user namespace of its own and
// returns its exit code, or the error why it cannot (then strata exits 1
// saying so, unless it was only asked for its help or version). nullopt:
// nothing to do (root, on the host or in a user namespace: inside already).
std::optional<int> run_rootless(int argc, char** argv);

}  // namespace strata::exec

// Runs a process in a container through an OCI runtime (crun by default,
// runc supported) from a generated runtime-spec config.json.
//
// On hosts whose cgroups are in hybrid mode, Debian's crun 1.8 refuses to
// start ("cgroups in hybrid mode not supported"); it does start inside a
// private mount namespace in which /sys/fs/cgroup/unified is unmounted, which
// is what strata does. Without crun, runc is used.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace strata::exec {

struct Runtime {
  std::string name;               // "crun" or "runc"
  std::string path;               // the binary
  bool private_mount_ns = false;  // crun on a hybrid-cgroup host
  // The store's tmp/: the first container starts a watcher that cleans up
  // there, and kills the containers, if this process is killed
  // (exec/leftover_containers). Empty: no watcher.
  std::filesystem::path tmp_dir;
};

// In a child before it execs the runtime: the private mount namespace crun
// needs on a hybrid-cgroup host. Returns 0 or an errno.
int enter_private_mount_ns();

// `requested` is "", "crun" or "runc"; "" picks crun when present, else runc.
Result<Runtime> choose_runtime(std::string_view requested);

struct BindMount {
  std::filesystem::path source;
  std::string target;
  bool readonly = true;
};

struct TmpfsMount {
  std::string target;
  uint64_t size = 0;  // 0: the kernel's default
};

struct ContainerSpec {
  std::filesystem::path rootfs;
  std::vector<std::string> args;
  std::vector<std::string> env;  // "K=V"
  std::string cwd = "/";
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  bool network_none = false;
  std::string hostname = "strata";
  std::vector<BindMount> binds;
  std::vector<TmpfsMount> tmpfs;
  bool interactive = false;  // pass our stdin/stdout/stderr (strata run)
};

struct ContainerResult {
  int exit_code = 0;
  std::vector<std::string> tail;  // last output lines (not in interactive mode)
};

// Writes config.json into `bundle` (a fresh directory) and runs the container.
Result<ContainerResult> run_container(const Runtime& rt, const ContainerSpec& spec,
                                      const std::filesystem::path& bundle,
                                      const std::function<void(const std::string&)>& on_line);

}  // namespace strata::exec

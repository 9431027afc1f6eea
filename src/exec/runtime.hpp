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
#include <initializer_list>
#include <nlohmann/json.hpp>
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
  // Without root (in a user namespace, exec/rootless): the runtime keeps
  // its containers' state in a directory of the user's (--root) instead of
  // /run/<name>, and a container gets what an unprivileged one may mount.
  bool rootless = false;
  std::filesystem::path state_root;  // where its state is: /run/<name> unless rootless

  // The runtime's command line for `args` (its global flags first).
  std::vector<std::string> command(std::initializer_list<std::string> args) const;
};

// In a child before it execs the runtime: the private mount namespace crun
// needs on a hybrid-cgroup host. Returns 0 or an errno.
int enter_private_mount_ns();

// `requested` is "", "crun" or "runc"; "" picks crun when present, else runc.
// In a user namespace its state directory is $XDG_RUNTIME_DIR/strata-<name>,
// else /tmp/strata-<uid>-<name> (the user's uid outside), made if missing
// and refused unless it is the user's own with mode 0700.
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

// A resource limit of the container's process (`--ulimit nofile=1024:2048`).
struct Ulimit {
  std::string name;  // as docker spells it: "nofile", "nproc", "memlock", ...
  uint64_t soft = 0, hard = 0;
};

// `NAME=SOFT[:HARD]` as `docker buildx build --ulimit` takes it; -1 is
// unlimited. An unknown name or a soft limit above the hard one is an error.
Result<Ulimit> parse_ulimit(std::string_view spec);

// `--add-host NAME:IP` (or NAME=IP): a line of the RUN containers'
// /etc/hosts. The IP must be an IPv4 or IPv6 address.
struct ExtraHost {
  std::string name, ip;
};
Result<ExtraHost> parse_extra_host(std::string_view spec);

struct ContainerSpec {
  std::filesystem::path rootfs;
  std::vector<std::string> args;
  std::vector<std::string> env;  // "K=V"
  std::string cwd = "/";
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  bool network_none = false;
  std::string hostname = "strata";
  std::vector<ExtraHost> extra_hosts;  // --add-host, after the host's /etc/hosts
  std::vector<BindMount> binds;
  std::vector<TmpfsMount> tmpfs;
  bool interactive = false;  // pass our stdin/stdout/stderr (strata run)
  // RUN --security=insecure, granted by --allow security.insecure: every
  // capability, the host's devices, writable /sys, no seccomp filter and no
  // masked paths, as BuildKit runs such a step.
  bool insecure = false;
  uint64_t shm_size = 0;        // bytes of /dev/shm; 0: 64 MiB
  std::vector<Ulimit> ulimits;  // replace our own open-files limit when one is nofile
};

// The runtime-spec config.json for `spec`; `hosts` is the file bind-mounted
// as its /etc/hosts. `rootless`: for a runtime in a user namespace, where a
// container on the host's network cannot mount a sysfs (the host's /sys is
// bound instead) and the device cgroup is not strata's to set.
nlohmann::json runtime_config(const ContainerSpec& spec, const std::filesystem::path& hosts,
                              bool rootless = false);

struct ContainerResult {
  int exit_code = 0;
  std::vector<std::string> tail;  // last output lines (not in interactive mode)
};

// Writes config.json into `bundle` (a fresh directory) and runs the container.
Result<ContainerResult> run_container(const Runtime& rt, const ContainerSpec& spec,
                                      const std::filesystem::path& bundle,
                                      const std::function<void(const std::string&)>& on_line);

}  // namespace strata::exec

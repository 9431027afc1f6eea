#include "builder/run_step.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <chrono>

#include "builder/copy.hpp"
#include "builder/file_steps.hpp"
#include "builder/users.hpp"
#include "mounts/cache_mount.hpp"
#include "mounts/ssh_agent.hpp"
#include "os/fs.hpp"
#include "os/mount.hpp"
#include "os/process.hpp"
#include "os/root_path.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace strata::builder {

namespace {

// Paths the runtime creates as mount points; removed again from a step's
// layer when the image did not have them.
std::vector<std::string> runtime_mountpoints() {
  return {"/proc", "/dev", "/sys", "/etc/resolv.conf", "/etc/hosts"};
}

// Records which of `paths` (and their parents) the root lacks.
void note_missing(const fs::path& root, const std::string& path, std::vector<std::string>& out) {
  std::string prefix;
  for (const auto& part : split(path, '/')) {
    if (part.empty()) continue;
    prefix += "/" + part;
    struct stat st {};
    if (::lstat((root / prefix.substr(1)).c_str(), &st) != 0) out.push_back(prefix);
  }
}

// What a RUN's mounts hold while it runs, released when the step ends:
// the secret tmpfs and rw overlays unmounted, cache mounts unlocked, SSH
// agents stopped, then the roots of stages and images unmounted. (The
// step's temporary directory, which holds them, outlives this.)
struct StepMounts {
  explicit StepMounts(fs::path dir) : tmp(std::move(dir)) {}
  StepMounts(const StepMounts&) = delete;
  StepMounts& operator=(const StepMounts&) = delete;
  ~StepMounts() {
    for (const auto& p : unmount) (void)os::unmount(p);
  }
  fs::path tmp;                            // the step's temporary directory
  std::vector<Rootfs> sources;             // stage/image roots that bind mounts show
  std::vector<mounts::AgentProxy> agents;  // SSH agents served to the step (sockets in tmp)
  std::vector<mounts::CacheMount> caches;  // held (locked) until the step ends
  std::optional<fs::path> secret_dir;      // a tmpfs: secrets never touch the disk
  std::vector<fs::path> unmount;           // rw bind overlays and the secret tmpfs
};

using dockerfile::Mount;

Result<void> cache_mount(BuildState& st, const frontend::RunStep& run, const std::string& name,
                         size_t mi, StepMounts& held, exec::ContainerSpec& spec) {
  const Mount& m = run.mounts[mi];
  mounts::CacheMountOptions co;
  co.id = m.id;
  co.sharing = m.sharing == dockerfile::Sharing::locked     ? mounts::Sharing::locked
               : m.sharing == dockerfile::Sharing::private_ ? mounts::Sharing::private_
                                                            : mounts::Sharing::shared;
  co.mode = m.mode.value_or(0755);
  co.uid = m.uid.value_or(0);
  co.gid = m.gid.value_or(0);
  co.fresh = st.opts.no_cache;
  co.on_wait = [&st, &m, &name] {
    st.note(name, fmt::format("waiting for cache mount {}: a sharing=locked step holds it", m.id));
  };
  if (!m.from.empty()) {
    // from= (and source=): a new cache mount starts as a copy of that.
    co.seed = [&st, &run, &m, mi](const fs::path& dir) -> Result<void> {
      auto src = TRY_VALUE(st.mount_ref(run.mount_sources[mi]));
      auto from = TRY_VALUE(os::resolve_in_root(src.path(), m.source, true));
      return copy_tree(from, dir);
    };
  }
  auto cache = TRY_VALUE(mounts::CacheMount::acquire(st.store, co));
  spec.binds.push_back({cache.path(), m.target, m.readonly});
  held.caches.push_back(std::move(cache));
  return {};
}

Result<void> bind_mount(BuildState& st, const frontend::RunStep& run, size_t mi, StepMounts& held,
                        exec::ContainerSpec& spec) {
  const Mount& m = run.mounts[mi];
  fs::path src_root;
  if (run.mount_sources[mi].kind == frontend::SourceRef::context) {
    src_root = TRY_VALUE(st.local_context(run.mount_sources[mi])).root;
  } else {
    held.sources.push_back(TRY_VALUE(st.mount_ref(run.mount_sources[mi])));
    src_root = held.sources.back().path();
  }
  auto src = TRY_VALUE(os::resolve_in_root(src_root, m.source, true));
  struct stat src_st {};
  if (m.readonly) {
    spec.binds.push_back({src, m.target, true});
  } else if (::stat(src.c_str(), &src_st) == 0 && !S_ISDIR(src_st.st_mode)) {
    // rw on a file: a throwaway copy.
    fs::path copy = held.tmp / fmt::format("bind{}", spec.binds.size());
    TRY(os::write_file_atomic(copy, TRY_VALUE(os::read_file(src))));
    ::chmod(copy.c_str(), src_st.st_mode & 07777);
    spec.binds.push_back({copy, m.target, false});
  } else {
    // rw on a directory: writes go to a throwaway overlay upper.
    fs::path base = held.tmp / fmt::format("bind{}", spec.binds.size());
    for (const auto& d : {base / "upper", base / "work", base / "merged"}) TRY(os::make_dirs(d));
    TRY(os::mount_overlay({src}, base / "upper", base / "work", base / "merged"));
    held.unmount.push_back(base / "merged");
    spec.binds.push_back({base / "merged", m.target, false});
  }
  return {};
}

Result<void> secret_mount(BuildState& st, const frontend::RunStep& run, size_t mi, StepMounts& held,
                          exec::ContainerSpec& spec) {
  const Mount& m = run.mounts[mi];
  auto it = st.opts.secrets.find(m.id);
  if (it == st.opts.secrets.end()) {
    if (!m.required) return {};  // as in BuildKit: an optional secret is just absent
    return fail(Errc::invalid_argument,
                fmt::format("secret {}: not found (it is required); pass --secret "
                            "id={},src=FILE or --secret id={},env=VARIABLE",
                            m.id, m.id, m.id));
  }
  if (m.env) spec.env.push_back(*m.env + "=" + it->second);
  if (m.target.empty()) return {};
  if (!held.secret_dir) {
    held.secret_dir = held.tmp / "secrets";
    TRY(os::make_dirs(*held.secret_dir));
    TRY(os::mount_tmpfs(*held.secret_dir, "mode=0700,size=16m"));
    held.unmount.push_back(*held.secret_dir);
  }
  fs::path file = *held.secret_dir / fmt::format("{}", mi);
  TRY(os::write_file_atomic(file, it->second));
  ::chmod(file.c_str(), m.mode.value_or(0400));
  (void)::chown(file.c_str(), m.uid.value_or(0), m.gid.value_or(0));
  spec.binds.push_back({file, m.target, true});
  return {};
}

Result<void> ssh_mount(BuildState& st, const frontend::RunStep& run, size_t mi, StepMounts& held,
                       exec::ContainerSpec& spec) {
  const Mount& m = run.mounts[mi];
  std::string id = m.id.empty() ? "default" : m.id;
  auto it = st.opts.ssh.find(id);
  if (it == st.opts.ssh.end())
    return fail(Errc::invalid_argument,
                fmt::format("RUN --mount=type=ssh needs an SSH agent: pass --ssh {} (the "
                            "agent at $SSH_AUTH_SOCK) or --ssh {}=SOCKET",
                            id, id));
  // The step's own socket, with the mount's mode and owner, relayed to the
  // agent (BuildKit's default mode is 0600, root's).
  fs::path sock = held.tmp / fmt::format("ssh{}.sock", mi);
  held.agents.push_back(TRY_VALUE(mounts::AgentProxy::start(it->second, sock, m.mode.value_or(0600),
                                                            m.uid.value_or(0), m.gid.value_or(0))));
  spec.binds.push_back({sock, m.target, false});
  spec.env.push_back("SSH_AUTH_SOCK=" + m.target);
  return {};
}

}  // namespace

Result<double> run_step(BuildState& st, Rootfs& root, const frontend::RunStep& run,
                        const std::string& name, std::vector<std::string>& created) {
  const fs::path& rootfs = root.path();
  TRY(make_workdir(rootfs, run.workdir));
  auto id = TRY_VALUE(resolve_user(rootfs, run.user));

  exec::ContainerSpec spec;
  spec.rootfs = rootfs;
  spec.args = run.argv;
  for (const auto& [k, v] : run.env) spec.env.push_back(k + "=" + v);
  for (const auto& [k, v] : run.proxy_env) spec.env.push_back(k + "=" + v);
  spec.cwd = run.workdir;
  spec.uid = id.uid;
  spec.gid = id.gid;
  spec.additional_gids = id.groups;
  if (!run.hostname.empty()) spec.hostname = run.hostname;
  spec.network_none =
      run.network == "none" || (run.network == "default" && st.opts.network == "none");
  spec.insecure = run.security == "insecure";  // the plan refused it unless --allow granted it
  spec.shm_size = st.opts.shm_size;
  spec.ulimits = st.opts.ulimits;
  spec.extra_hosts = st.opts.extra_hosts;

  auto tmp_dir = TRY_VALUE(os::TempDir::create(st.store.tmp_dir(), "run-"));
  StepMounts held(tmp_dir.path());
  for (size_t mi = 0; mi < run.mounts.size(); ++mi) {
    switch (run.mounts[mi].type) {
      case dockerfile::MountType::cache:
        TRY(cache_mount(st, run, name, mi, held, spec));
        break;
      case dockerfile::MountType::tmpfs:
        spec.tmpfs.push_back({run.mounts[mi].target, run.mounts[mi].size.value_or(0)});
        break;
      case dockerfile::MountType::bind:
        TRY(bind_mount(st, run, mi, held, spec));
        break;
      case dockerfile::MountType::secret:
        TRY(secret_mount(st, run, mi, held, spec));
        break;
      case dockerfile::MountType::ssh:
        TRY(ssh_mount(st, run, mi, held, spec));
        break;
    }
  }
  for (const auto& f : run.files) {
    fs::path file = held.tmp / f.name;
    TRY(os::write_file_atomic(file, f.content));
    ::chmod(file.c_str(), 0755);
    spec.binds.push_back({file, "/dev/pipes/" + f.name, true});
  }
  for (const auto& p : runtime_mountpoints()) note_missing(rootfs, p, created);
  for (const auto& b : spec.binds) note_missing(rootfs, b.target, created);
  for (const auto& t : spec.tmpfs) note_missing(rootfs, t.target, created);

  auto bundle = TRY_VALUE(os::make_temp_dir(held.tmp, "bundle-"));
  auto started = std::chrono::steady_clock::now();
  auto result = exec::run_container(st.opts.runtime, spec, bundle, [&](const std::string& line) {
    st.output(name, st.mask_secrets(line));
  });
  auto in_container = std::chrono::steady_clock::now() - started;
  st.container_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(in_container).count();
  if (!result) return std::unexpected(result.error());
  if (int sig = os::interrupted())
    return fail(Errc::io, fmt::format("interrupted by signal {}", sig));
  if (result->exit_code != 0) {
    std::string tail;
    for (const auto& l : result->tail) tail += "\n  | " + st.mask_secrets(l);
    std::string cmd;
    for (const auto& a : run.argv) cmd += (cmd.empty() ? "" : " ") + a;
    return fail(Errc::invalid_argument,
                fmt::format("process \"{}\" did not complete successfully: exit code: {}{}{}",
                            st.mask_secrets(cmd), result->exit_code,
                            tail.empty() ? "" : "\nlast output:", tail));
  }
  return std::chrono::duration<double>(in_container).count();
}

}  // namespace strata::builder

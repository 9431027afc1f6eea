#include "exec/runtime.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "exec/leftover_containers.hpp"
#include "os/fs.hpp"
#include "os/mount.hpp"
#include "os/process.hpp"
#include "os/user_namespace.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace strata::exec {

namespace {

json mount(const std::string& dest, const std::string& type, const std::string& source,
           std::vector<std::string> options) {
  return {{"destination", dest}, {"type", type}, {"source", source}, {"options", options}};
}

// docker's ulimit names and the runtime spec's.
constexpr std::pair<std::string_view, std::string_view> kRlimits[] = {
    {"core", "RLIMIT_CORE"},         {"cpu", "RLIMIT_CPU"},
    {"data", "RLIMIT_DATA"},         {"fsize", "RLIMIT_FSIZE"},
    {"locks", "RLIMIT_LOCKS"},       {"memlock", "RLIMIT_MEMLOCK"},
    {"msgqueue", "RLIMIT_MSGQUEUE"}, {"nice", "RLIMIT_NICE"},
    {"nofile", "RLIMIT_NOFILE"},     {"nproc", "RLIMIT_NPROC"},
    {"rss", "RLIMIT_RSS"},           {"rtprio", "RLIMIT_RTPRIO"},
    {"rttime", "RLIMIT_RTTIME"},     {"sigpending", "RLIMIT_SIGPENDING"},
    {"stack", "RLIMIT_STACK"},
};

// Without a nofile ulimit, our own open-files limit: raising it may not be
// permitted (it is not on some CI hosts), and some runtimes set one when the
// config has none.
json rlimits(const std::vector<Ulimit>& ulimits) {
  json out = json::array();
  bool nofile = false;
  for (const auto& u : ulimits) {
    for (auto [name, type] : kRlimits)
      if (name == u.name) out.push_back({{"type", type}, {"hard", u.hard}, {"soft", u.soft}});
    nofile = nofile || u.name == "nofile";
  }
  if (!nofile) {
    struct rlimit rl {};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    out.push_back({{"type", "RLIMIT_NOFILE"}, {"hard", rl.rlim_max}, {"soft", rl.rlim_cur}});
  }
  return out;
}

// Docker's default capabilities (a bounding set of 0xa80425fb).
const std::vector<std::string> kDefaultCaps = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

// Every capability this process has (its bounding set), as containerd's
// WithPrivileged gives a privileged container: a cap strata lacks (a CI
// runner may drop some) cannot be given, and asking for it fails the start.
std::vector<std::string> all_caps() {
  static constexpr const char* kNames[] = {"CHOWN",
                                           "DAC_OVERRIDE",
                                           "DAC_READ_SEARCH",
                                           "FOWNER",
                                           "FSETID",
                                           "KILL",
                                           "SETGID",
                                           "SETUID",
                                           "SETPCAP",
                                           "LINUX_IMMUTABLE",
                                           "NET_BIND_SERVICE",
                                           "NET_BROADCAST",
                                           "NET_ADMIN",
                                           "NET_RAW",
                                           "IPC_LOCK",
                                           "IPC_OWNER",
                                           "SYS_MODULE",
                                           "SYS_RAWIO",
                                           "SYS_CHROOT",
                                           "SYS_PTRACE",
                                           "SYS_PACCT",
                                           "SYS_ADMIN",
                                           "SYS_BOOT",
                                           "SYS_NICE",
                                           "SYS_RESOURCE",
                                           "SYS_TIME",
                                           "SYS_TTY_CONFIG",
                                           "MKNOD",
                                           "LEASE",
                                           "AUDIT_WRITE",
                                           "AUDIT_CONTROL",
                                           "SETFCAP",
                                           "MAC_OVERRIDE",
                                           "MAC_ADMIN",
                                           "SYSLOG",
                                           "WAKE_ALARM",
                                           "BLOCK_SUSPEND",
                                           "AUDIT_READ",
                                           "PERFMON",
                                           "BPF",
                                           "CHECKPOINT_RESTORE"};
  uint64_t bounding = 0;
  if (auto status = os::read_file("/proc/self/status")) {
    size_t at = status->find("\nCapBnd:");
    if (at != std::string::npos) {
      size_t begin = status->find_first_not_of(" \t", at + 8);
      if (begin != std::string::npos)
        std::from_chars(status->data() + begin, status->data() + status->size(), bounding, 16);
    }
  }
  std::vector<std::string> caps;
  for (size_t i = 0; i < std::size(kNames); ++i)
    if (bounding & (uint64_t{1} << i)) caps.push_back(std::string("CAP_") + kNames[i]);
  return caps;
}

// The host's device nodes, for an insecure step (as containerd's
// WithHostDevices: not the pseudo-terminals, /dev/shm or the console).
json host_devices() {
  json out = json::array();
  std::error_code ec;
  auto it =
      fs::recursive_directory_iterator("/dev", fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      if (name == "pts" || name == "shm" || name == "fd" || name == "mqueue" ||
          name.starts_with("."))
        it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || p == "/dev/console" || p == "/dev/ptmx") continue;
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) continue;
    out.push_back({{"path", p.string()},
                   {"type", S_ISCHR(st.st_mode) ? "c" : "b"},
                   {"major", major(st.st_rdev)},
                   {"minor", minor(st.st_rdev)},
                   {"fileMode", st.st_mode & 07777},
                   {"uid", st.st_uid},
                   {"gid", st.st_gid}});
  }
  return out;
}

// A step may make fifos, sockets and overlay whiteouts (character device
// 0:0), but no other device node: a block device with the host disk's
// numbers would read and write the host's disk. Refused with EPERM, for
// every ABI the CPU runs (the device cgroup below also refuses to open one,
// whoever made it: a layer may hold device nodes).
json device_filter() {
  constexpr uint64_t kTypeMask = S_IFMT, kBlock = S_IFBLK, kChar = S_IFCHR;
  json syscalls = json::array();
  for (auto [name, mode_arg] : {std::pair{"mknod", 1}, std::pair{"mknodat", 2}}) {
    json block = {{"index", mode_arg},
                  {"value", kTypeMask},
                  {"valueTwo", kBlock},
                  {"op", "SCMP_CMP_MASKED_EQ"}};
    json chr = {{"index", mode_arg},
                {"value", kTypeMask},
                {"valueTwo", kChar},
                {"op", "SCMP_CMP_MASKED_EQ"}};
    json not_whiteout = {{"index", mode_arg + 1}, {"value", 0}, {"op", "SCMP_CMP_NE"}};
    for (const json& args : {json::array({block}), json::array({chr, not_whiteout})})
      syscalls.push_back(
          {{"names", {name}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", EPERM}, {"args", args}});
  }
#if defined(__x86_64__)
  json arches = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  json arches = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
  json arches = json::array();
#endif
  return {{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", arches}, {"syscalls", syscalls}};
}

// The devices a container may open (the device cgroup, in crun and runc
// alike): what the runtime puts in its /dev, nothing of the host's.
json allowed_devices() {
  json rules = json::array({{{"allow", false}, {"access", "rwm"}}});
  auto chr = [&](int64_t major, int64_t minor) {
    json r = {{"allow", true}, {"type", "c"}, {"major", major}, {"access", "rwm"}};
    if (minor >= 0) r["minor"] = minor;  // absent: every minor
    rules.push_back(r);
  };
  for (int minor : {3, 5, 7, 8, 9}) chr(1, minor);  // null zero full random urandom
  for (int minor : {0, 1, 2}) chr(5, minor);        // tty console ptmx
  chr(136, -1);                                     // the container's own ptys
  return rules;
}

}  // namespace

Result<ExtraHost> parse_extra_host(std::string_view spec) {
  size_t sep = spec.find_first_of(":=");
  ExtraHost h;
  if (sep != std::string_view::npos) {
    h.name = std::string(spec.substr(0, sep));
    h.ip = std::string(spec.substr(sep + 1));
  }
  if (h.ip.size() > 2 && h.ip.front() == '[' && h.ip.back() == ']')
    h.ip = h.ip.substr(1, h.ip.size() - 2);  // [::1], as docker takes it
  in_addr v4{};
  in6_addr v6{};
  bool ip =
      ::inet_pton(AF_INET, h.ip.c_str(), &v4) == 1 || ::inet_pton(AF_INET6, h.ip.c_str(), &v6) == 1;
  bool name = !h.name.empty() && h.name.find_first_of(" \t\n#") == std::string::npos;
  if (h.ip == "host-gateway")
    return fail(Errc::invalid_argument,
                fmt::format("--add-host {}: RUN steps use the host's network, where the host "
                            "is 127.0.0.1: write {}:127.0.0.1",
                            spec, h.name));
  if (!ip || !name)
    return fail(Errc::invalid_argument,
                fmt::format("--add-host {}: expected NAME:IP (an IPv4 or IPv6 address)", spec));
  return h;
}

Result<Ulimit> parse_ulimit(std::string_view spec) {
  auto bad = [&](std::string_view why) {
    return fail(
        Errc::invalid_argument,
        fmt::format("--ulimit {}: {} (NAME=SOFT[:HARD], e.g. nofile=1024:2048)", spec, why));
  };
  size_t eq = spec.find('=');
  if (eq == std::string_view::npos) return bad("no =");
  Ulimit u;
  u.name = std::string(spec.substr(0, eq));
  bool known = false;
  for (auto [name, type] : kRlimits) known = known || name == u.name;
  if (!known) return bad(fmt::format("unknown resource \"{}\"", u.name));
  auto number = [](std::string_view v) -> std::optional<uint64_t> {
    if (v == "-1") return std::optional<uint64_t>(RLIM_INFINITY);
    return parse_number<uint64_t>(v);
  };
  std::string_view values = spec.substr(eq + 1);
  size_t colon = values.find(':');
  auto soft = number(values.substr(0, colon));
  auto hard = colon == std::string_view::npos ? soft : number(values.substr(colon + 1));
  if (!soft || !hard) return bad("the limits are numbers or -1");
  if (*soft > *hard) return bad("the soft limit is above the hard one");
  u.soft = *soft;
  u.hard = *hard;
  return u;
}

json runtime_config(const ContainerSpec& s, const fs::path& hosts, bool rootless) {
  std::vector<std::string> caps = s.insecure ? all_caps() : kDefaultCaps;
  std::string shm = fmt::format("size={}k", s.shm_size ? (s.shm_size + 1023) / 1024 : 65536);
  json mounts = json::array({
      mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", shm}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
  });
  // A sysfs belongs to a network namespace: without root, only one of the
  // container's own can be mounted; on the host's network the host's /sys
  // is bound.
  if (rootless && !s.network_none)
    mounts.push_back(mount("/sys", "bind", "/sys",
                           {"rbind", "nosuid", "noexec", "nodev", s.insecure ? "rw" : "ro"}));
  else
    mounts.push_back(
        mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", s.insecure ? "rw" : "ro"}));
  if (::access("/etc/resolv.conf", R_OK) == 0)
    mounts.push_back(mount("/etc/resolv.conf", "bind", "/etc/resolv.conf", {"rbind", "ro"}));
  mounts.push_back(mount("/etc/hosts", "bind", hosts.string(), {"rbind", "ro"}));
  for (const auto& b : s.binds)
    mounts.push_back(
        mount(b.target, "bind", b.source.string(), {"rbind", b.readonly ? "ro" : "rw"}));
  for (const auto& t : s.tmpfs) {
    std::vector<std::string> opts = {"nosuid", "nodev"};
    if (t.size) opts.push_back(fmt::format("size={}", t.size));
    mounts.push_back(mount(t.target, "tmpfs", "tmpfs", opts));
  }
  json ns =
      json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  if (s.network_none) ns.push_back({{"type", "network"}});
  json linux = {{"namespaces", ns}};
  if (s.insecure) {
    linux["devices"] = host_devices();
    linux["resources"] = {{"devices", json::array({{{"allow", true}, {"access", "rwm"}}})}};
  } else {
    linux["maskedPaths"] = {"/proc/acpi",          "/proc/kcore",      "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug",   "/sys/firmware",    "/proc/scsi"};
    linux["readonlyPaths"] = {"/proc/asound", "/proc/bus", "/proc/fs",
                              "/proc/irq",    "/proc/sys", "/proc/sysrq-trigger"};
    linux["seccomp"] = device_filter();
    linux["resources"] = {{"devices", allowed_devices()}};
  }
  return {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", s.uid}, {"gid", s.gid}, {"additionalGids", s.additional_gids}}},
        {"args", s.args},
        {"env", s.env},
        {"cwd", s.cwd},
        {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
        {"rlimits", rlimits(s.ulimits)},
        {"noNewPrivileges", false}}},
      {"root", {{"path", s.rootfs.string()}, {"readonly", false}}},
      {"hostname", s.hostname},
      {"mounts", mounts},
      {"linux", linux},
  };
}

// Without the cgroup v2 hierarchy that makes crun 1.8 refuse hybrid mode.
int enter_private_mount_ns() {
  if (::unshare(CLONE_NEWNS) != 0) return errno;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
  // In a user namespace the host's mounts are locked together: hidden
  // under an empty tmpfs instead.
  if (::umount2("/sys/fs/cgroup/unified", MNT_DETACH) != 0)
    ::mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
            "size=4k");
  return 0;
}

std::vector<std::string> Runtime::command(std::initializer_list<std::string> args) const {
  std::vector<std::string> argv{path};
  if (rootless) argv.insert(argv.end(), {"--root", state_root.string()});
  argv.insert(argv.end(), args);
  return argv;
}

namespace {

// Where a runtime without root keeps its state: a directory only the user
// may use.
Result<fs::path> rootless_state_root(const std::string& name) {
  fs::path dir;
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x && ::access(x, W_OK) == 0)
    dir = fs::path(x) / ("strata-" + name);
  else
    dir = fs::temp_directory_path() / fmt::format("strata-{}-{}", os::outer_uid(), name);
  TRY(os::make_private_dir(dir, "remove it (the runtime keeps its state there without root)"));
  return dir;
}

Result<Runtime> with_state_root(Runtime rt) {
  rt.rootless = os::in_user_namespace();
  if (rt.rootless)
    rt.state_root = TRY_VALUE(rootless_state_root(rt.name));
  else
    rt.state_root = fs::path("/run") / rt.name;
  return rt;
}

}  // namespace

Result<Runtime> choose_runtime(std::string_view requested) {
  Runtime rt;
  if (requested.empty() || requested == "crun") {
    rt.path = os::find_system_binary("crun");
    if (!rt.path.empty()) {
      rt.name = "crun";
      rt.private_mount_ns = os::is_mount_point("/sys/fs/cgroup/unified");
      return with_state_root(std::move(rt));
    }
    if (requested == "crun")
      return fail(Errc::not_found, "crun is not installed (apt-get install crun)");
  }
  if (requested.empty() || requested == "runc") {
    rt.path = os::find_system_binary("runc");
    if (!rt.path.empty()) {
      rt.name = "runc";
      return with_state_root(std::move(rt));
    }
    return fail(Errc::not_found,
                "no OCI runtime found: install crun or runc (apt-get install crun)");
  }
  return fail(Errc::invalid_argument,
              fmt::format("unknown runtime \"{}\" (use crun or runc)", requested));
}

Result<ContainerResult> run_container(const Runtime& rt, const ContainerSpec& spec,
                                      const fs::path& bundle,
                                      const std::function<void(const std::string&)>& on_line) {
  // The process spec holds the step's environment, secrets given as
  // variables included: it lives on a tmpfs, never on a disk, and goes with
  // the step (or, if this process is killed, with its watcher's unmount).
  if (auto r = os::mount_tmpfs(bundle, "mode=0700,size=64m"); !r) return std::unexpected(r.error());
  struct Unmount {
    const fs::path& dir;
    ~Unmount() { (void)os::unmount(dir); }
  } unmount_bundle{bundle};
  // The bundle is throwaway: no need for an atomic, fsynced write.
  {
    // The host's /etc/hosts (the host network's names) and the container's
    // hostname, which a build may look up as BuildKit's sandbox lets it.
    std::string hosts = os::read_file("/etc/hosts").value_or("127.0.0.1\tlocalhost\n");
    if (!hosts.empty() && hosts.back() != '\n') hosts += '\n';
    hosts += "127.0.0.1\t" + spec.hostname + "\n";
    for (const auto& h : spec.extra_hosts) hosts += h.ip + "\t" + h.name + "\n";
    os::UniqueFd hosts_fd(
        ::open((bundle / "hosts").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!hosts_fd) return std::unexpected(os::errno_error("creating", bundle / "hosts"));
    if (auto w = os::write_all(hosts_fd.get(), hosts.data(), hosts.size()); !w)
      return std::unexpected(w.error());
    std::string config = runtime_config(spec, bundle / "hosts", rt.rootless).dump();
    os::UniqueFd fd(
        ::open((bundle / "config.json").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return std::unexpected(os::errno_error("creating", bundle / "config.json"));
    if (auto w = os::write_all(fd.get(), config.data(), config.size()); !w)
      return std::unexpected(w.error());
  }
  if (!rt.tmp_dir.empty()) start_watcher(rt.tmp_dir);
  static std::atomic<int> counter{0};
  // The pid in the id tells whose container it is (exec/leftover_containers).
  std::string id = fmt::format("strata-{}-{}", ::getpid(), counter++);
  os::ProcessSpec p;
  // A cgroup of its own for the device rules (cgroupfs: no systemd needed).
  if (rt.name == "crun")
    p.argv = rt.command({"--cgroup-manager=cgroupfs", "run", "--bundle", bundle.string(), id});
  else
    p.argv = rt.command({"run", "--bundle", bundle.string(), id});
  p.pass_stdin = spec.interactive;
  p.pass_output = spec.interactive;
  p.on_line = on_line;
  if (rt.private_mount_ns) p.before_exec = enter_private_mount_ns;
  // On SIGINT/SIGTERM the container is killed: its init (a shell, say) may
  // ignore the signal the runtime forwards, as PID 1 does by default.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread watcher([&] {
    std::unique_lock lock(mu);
    while (!cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) {
      if (os::interrupted()) {
        os::ProcessSpec kill;
        kill.argv = rt.command({"kill", id, "KILL"});
        kill.on_line = [](const std::string&) {};
        if (rt.private_mount_ns) kill.before_exec = enter_private_mount_ns;
        (void)os::run_process(kill, 1);
        return;
      }
    }
  });
  auto r = os::run_process(p, 30);
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_one();
  watcher.join();
  // `run` removes its container when it ends; one left behind (the runtime
  // was killed, say) still has its state directory and is removed here.
  if (::access((rt.state_root / id).c_str(), F_OK) == 0) {
    os::ProcessSpec del;
    del.argv = rt.command({"delete", "--force", id});
    del.on_line = [](const std::string&) {};
    if (rt.private_mount_ns) del.before_exec = enter_private_mount_ns;
    (void)os::run_process(del, 1);
  }
  if (!r) return std::unexpected(r.error());
  return ContainerResult{r->exit_code, std::move(r->tail)};
}

}  // namespace strata::exec

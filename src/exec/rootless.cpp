#include "exec/rootless.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <tuple>

#include "os/fs.hpp"
#include "os/process.hpp"

namespace strata::exec {

namespace {

// Setuid root, or given capabilities of its own (security.capability).
bool privileged_helper(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return false;
  if ((st.st_mode & S_ISUID) && st.st_uid == 0) return true;
  return ::getxattr(path.c_str(), "security.capability", nullptr, 0) > 0;
}

std::optional<long> sysctl(const char* path) {
  auto text = os::read_file(path);
  if (!text) return std::nullopt;
  return std::strtol(text->c_str(), nullptr, 10);
}

std::string adduser_hint(const RootlessHost& h) {
  return fmt::format("usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {}",
                     h.user.empty() ? std::to_string(h.uid) : h.user);
}

// Commands that need no store: these run as they are when the host lacks a
// piece.
bool asks_only_help(int argc, char** argv) {
  if (argc <= 1) return true;
  std::string_view command = argv[1];
  if (command == "version" || command == "docker-cli-plugin-metadata") return true;
  if (command == "buildx" && argc > 2 && std::string_view(argv[2]) == "version") return true;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h" || a == "--version") return true;
  }
  return false;
}

Result<void> run_map_helper(const std::string& helper, pid_t pid, uint64_t own,
                            const os::SubidRange& range) {
  os::ProcessSpec p;
  p.argv = {helper,
            std::to_string(pid),
            "0",
            std::to_string(own),
            "1",
            "1",
            std::to_string(range.start),
            std::to_string(range.count)};
  std::string said;
  p.on_line = [&](const std::string& line) { said += (said.empty() ? "" : "; ") + line; };
  auto r = TRY_VALUE(os::run_process(p));
  if (r.exit_code != 0)
    return fail(Errc::invalid_argument,
                fmt::format("{} failed (exit code {}): {}", helper, r.exit_code, said));
  return {};
}

pid_t child_pid = -1;
void forward_signal(int sig) {
  if (child_pid > 0) ::kill(child_pid, sig);
}

}  // namespace

RootlessHost read_rootless_host() {
  RootlessHost h;
  h.uid = ::getuid();
  h.gid = ::getgid();
  if (const passwd* pw = ::getpwuid(h.uid)) h.user = pw->pw_name;
  if (auto t = os::read_file("/etc/subuid")) h.subuid = *t;
  if (auto t = os::read_file("/etc/subgid")) h.subgid = *t;
  h.newuidmap = os::find_system_binary("newuidmap");
  h.newgidmap = os::find_system_binary("newgidmap");
  h.newuidmap_setuid = privileged_helper(h.newuidmap);
  h.newgidmap_setuid = privileged_helper(h.newgidmap);
  h.max_user_namespaces = sysctl("/proc/sys/user/max_user_namespaces");
  h.unprivileged_userns_clone = sysctl("/proc/sys/kernel/unprivileged_userns_clone");
  return h;
}

Result<RootlessMaps> check_rootless(const RootlessHost& h) {
  std::string who = h.user.empty() ? fmt::format("uid {}", h.uid) : h.user;
  if (h.max_user_namespaces && *h.max_user_namespaces == 0)
    return fail(Errc::invalid_argument,
                "user namespaces are disabled (user.max_user_namespaces is 0): as root, "
                "sysctl -w user.max_user_namespaces=15000 (and in /etc/sysctl.d/ to keep it)");
  if (h.unprivileged_userns_clone && *h.unprivileged_userns_clone == 0)
    return fail(Errc::invalid_argument,
                "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone is "
                "0): as root, sysctl -w kernel.unprivileged_userns_clone=1");
  for (auto [helper, setuid, name] : {std::tuple{&h.newuidmap, h.newuidmap_setuid, "newuidmap"},
                                      std::tuple{&h.newgidmap, h.newgidmap_setuid, "newgidmap"}}) {
    if (helper->empty())
      return fail(Errc::not_found,
                  fmt::format("{} is not installed: it maps {}'s subordinate ids (as root: "
                              "apt-get install uidmap)",
                              name, who));
    if (!setuid)
      return fail(Errc::invalid_argument,
                  fmt::format("{} is neither setuid root nor given capabilities, so it cannot "
                              "map ids (as root: chmod u+s {}, or reinstall uidmap)",
                              *helper, *helper));
  }
  RootlessMaps maps;
  for (auto [text, file, range] : {std::tuple{&h.subuid, "/etc/subuid", &maps.uids},
                                   std::tuple{&h.subgid, "/etc/subgid", &maps.gids}}) {
    auto found = *text ? os::find_subid_range(**text, h.user, h.uid) : std::nullopt;
    if (!found)
      return fail(Errc::invalid_argument,
                  fmt::format("{} gives {} no range of subordinate ids, which strata needs to "
                              "keep an image's owners without root (as root: {})",
                              file, who, adduser_hint(h)));
    *range = *found;
  }
  return maps;
}

std::optional<int> run_rootless(int argc, char** argv) {
  if (::geteuid() == 0) return std::nullopt;  // root, on the host or in a namespace (ours)
  auto report = [&](const Error& e) -> std::optional<int> {
    if (asks_only_help(argc, argv)) return std::nullopt;
    std::fprintf(stderr, "error: strata without root: %s\n", e.message.c_str());
    return 1;
  };
  RootlessHost host = read_rootless_host();
  auto maps = check_rootless(host);
  if (!maps) return report(maps.error());

  int ready[2], mapped[2];
  if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(mapped, O_CLOEXEC) != 0)
    return report(Error{Errc::io, std::string("pipe: ") + std::strerror(errno)});
  pid_t pid = ::fork();
  if (pid < 0) return report(Error{Errc::io, std::string("fork: ") + std::strerror(errno)});
  if (pid == 0) {
    ::close(ready[0]);
    ::close(mapped[1]);
    int err = ::unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : errno;
    (void)!::write(ready[1], &err, sizeof err);
    char go = 0;
    if (err != 0 || ::read(mapped[0], &go, 1) != 1 || go != 'm') ::_exit(1);
    if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) {
      std::fprintf(stderr, "error: strata without root: becoming root in the user namespace: %s\n",
                   std::strerror(errno));
      ::_exit(1);
    }
    ::setgroups(0, nullptr);
    // Overlays and bind mounts stay in this namespace.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      std::fprintf(stderr, "error: strata without root: a private mount namespace: %s\n",
                   std::strerror(errno));
      ::_exit(1);
    }
    ::execv("/proc/self/exe", argv);
    std::fprintf(stderr, "error: strata without root: running itself again: %s\n",
                 std::strerror(errno));
    ::_exit(127);
  }
  ::close(ready[1]);
  ::close(mapped[0]);
  int err = -1;
  if (::read(ready[0], &err, sizeof err) != sizeof err || err != 0) {
    ::waitpid(pid, nullptr, 0);
    return report(
        Error{Errc::invalid_argument,
              fmt::format("creating a user namespace: {} (are user namespaces allowed for users "
                          "here? in a container, it needs a seccomp profile that allows unshare)",
                          std::strerror(err > 0 ? err : EIO))});
  }
  auto r = run_map_helper(host.newuidmap, pid, host.uid, maps->uids);
  if (r) r = run_map_helper(host.newgidmap, pid, host.gid, maps->gids);
  char go = r ? 'm' : 'x';
  (void)!::write(mapped[1], &go, 1);
  ::close(mapped[1]);
  ::close(ready[0]);
  if (!r) {
    ::waitpid(pid, nullptr, 0);
    return report(r.error());
  }
  // A terminal's ^C reaches strata inside too (one process group); a
  // signal sent to this process alone is passed on.
  child_pid = pid;
  struct sigaction sa {};
  sa.sa_handler = forward_signal;
  for (int sig : {SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &sa, nullptr);
  ::signal(SIGINT, SIG_IGN);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace strata::exec

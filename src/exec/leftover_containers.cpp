#include "exec/leftover_containers.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <string>

#include "exec/runtime.hpp"
#include "os/fs.hpp"
#include "os/leftovers.hpp"
#include "os/process.hpp"

namespace fs = std::filesystem;

namespace strata::exec {

namespace {

constexpr int kWatchFd = 3;  // the watcher's end of the pipe
int g_watch_write = -1;      // ours: closed (with a byte first) when we end well

void say_we_ended_well() {
  if (g_watch_write >= 0) (void)!::write(g_watch_write, "d", 1);
}

void run_quietly(const Runtime& rt, std::vector<std::string> argv) {
  os::ProcessSpec p;
  p.argv = std::move(argv);
  p.on_line = [](const std::string&) {};
  if (rt.private_mount_ns) p.before_exec = enter_private_mount_ns;
  (void)os::run_process(p, 1);
}

// The owner a runtime argument names ("strata-<pid>-N"), if it names one.
std::optional<pid_t> container_owner(std::string_view arg) {
  if (!arg.starts_with("strata-")) return std::nullopt;
  return os::owner_of(std::string(arg));
}

// Kills the runtime processes (crun, runc) still working for the containers of `only`
// (else of any strata process that is gone): a `crun run strata-<pid>-N`
// started just before strata died would otherwise create its container
// after the reaping. Waits, a few seconds at most, until they are gone.
void stop_runtime_processes(std::optional<pid_t> only) {
  for (int round = 0; round < 250; ++round) {
    bool found = false;
    auto procs = os::list_dir("/proc");
    if (!procs) return;
    for (const auto& name : *procs) {
      pid_t pid = 0;
      if (std::from_chars(name.data(), name.data() + name.size(), pid).ec != std::errc() ||
          pid == ::getpid())
        continue;
      // Only the runtimes themselves: another program's argument that looks
      // like a container name is none of ours.
      auto comm = os::read_file(fs::path("/proc") / name / "comm", 64);
      if (!comm || (*comm != "crun\n" && *comm != "runc\n")) continue;
      auto cmdline = os::read_file(fs::path("/proc") / name / "cmdline", 1 << 16);
      if (!cmdline) continue;
      for (size_t at = 0; at < cmdline->size();) {
        size_t end = cmdline->find('\0', at);
        if (end == std::string::npos) end = cmdline->size();
        auto owner = container_owner(std::string_view(*cmdline).substr(at, end - at));
        at = end + 1;
        if (!owner || *owner == ::getpid() || *owner == pid) continue;
        if (only ? *owner != *only : os::process_alive(*owner)) continue;
        ::kill(pid, SIGKILL);
        found = true;
        break;
      }
    }
    if (!found) return;
    ::usleep(20000);
  }
}

}  // namespace

void reap_containers(std::optional<pid_t> only) {
  stop_runtime_processes(only);
  for (const char* name : {"crun", "runc"}) {
    auto rt = choose_runtime(name);
    if (!rt) continue;
    auto ids = os::list_dir(rt->state_root);
    if (!ids) continue;
    for (const auto& id : *ids) {
      if (!id.starts_with("strata-")) continue;
      auto pid = os::owner_of(id);
      if (!pid || *pid == ::getpid()) continue;
      if (only ? *pid != *only : os::process_alive(*pid)) continue;
      run_quietly(*rt, rt->command({"kill", id, "KILL"}));
      run_quietly(*rt, rt->command({"delete", "--force", id}));
    }
  }
}

void start_watcher(const fs::path& tmp_dir) {
  static std::once_flag once;
  std::call_once(once, [&] {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    os::ProcessSpec spec;
    spec.argv = {"/proc/self/exe", "__watch", std::to_string(::getpid()), tmp_dir.string()};
    spec.pass_fd = p[0];
    spec.on_line = [](const std::string&) {};
    auto r = os::run_process(spec, 1);  // returns once the watcher has detached
    ::close(p[0]);
    if (!r || r->exit_code != 0) {
      ::close(p[1]);
      return;
    }
    g_watch_write = p[1];
    std::atexit(say_we_ended_well);
  });
}

int watcher_main(int argc, char** argv) {
  if (argc != 4) return 2;
  pid_t owner = 0;
  std::string_view arg = argv[2];
  if (std::from_chars(arg.data(), arg.data() + arg.size(), owner).ec != std::errc()) return 2;
  fs::path tmp_dir = argv[3];
  // Detach: the parent returns at once (strata waits for it), the child
  // lives on in a session of its own, without strata's output.
  pid_t pid = ::fork();
  if (pid < 0) return 1;
  if (pid > 0) return 0;
  ::setsid();
  int null = ::open("/dev/null", O_RDWR);
  for (int fd : {0, 1, 2}) ::dup2(null, fd);
  char byte = 0;
  ssize_t n;
  while ((n = ::read(kWatchFd, &byte, 1)) < 0 && errno == EINTR) {
  }
  if (n == 1 && byte == 'd') return 0;  // strata ended well and cleaned up itself
  reap_containers(owner);
  os::remove_leftovers(tmp_dir, owner);
  return 0;
}

}  // namespace strata::exec

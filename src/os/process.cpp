#include "os/process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>

#include "os/fs.hpp"

namespace strata::os {

namespace {
std::atomic<pid_t> g_child{0};
std::atomic<int> g_signal{0};

void on_signal(int sig) {
  g_signal = sig;
  if (pid_t c = g_child.load(); c > 0) ::kill(c, SIGTERM);
}
}  // namespace

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

int interrupted() {
  return g_signal.load();
}

Result<ProcessResult> run_process(const ProcessSpec& spec, size_t tail_lines) {
  if (spec.argv.empty()) return fail(Errc::internal, "run_process: empty argv");
  int out[2] = {-1, -1};
  if (!spec.pass_output && ::pipe2(out, O_CLOEXEC) != 0)
    return fail(Errc::io, fmt::format("pipe: {}", std::strerror(errno)));
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return fail(Errc::io, fmt::format("pipe: {}", std::strerror(errno)));

  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  // vfork, not fork: a fork would share our (large, huge-page backed) heap
  // copy-on-write, and every page this process then writes while the
  // container runs (the layer being compressed, say) would be copied. The
  // child only makes system calls on memory prepared above, then execs.
  pid_t pid = ::vfork();
  if (pid < 0) return fail(Errc::io, fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    auto die = [&](int e) {
      (void)!::write(err_pipe[1], &e, sizeof e);
      ::_exit(127);
    };
    if (!spec.pass_stdin) {
      int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, 0);
    }
    if (!spec.pass_output) {
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
    }
    if (spec.pass_fd >= 0 && ::dup2(spec.pass_fd, 3) < 0) die(errno);  // dup2 clears CLOEXEC
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) die(errno);
    if (spec.before_exec) {
      if (int e = spec.before_exec(); e != 0) die(e);
    }
    if (spec.env.empty())
      ::execvp(argv[0], argv.data());
    else
      ::execvpe(argv[0], argv.data(), envp.data());
    die(errno);
  }
  ::close(err_pipe[1]);
  g_child = pid;
  ProcessResult result;
  std::deque<std::string> tail;
  if (!spec.pass_output) {
    ::close(out[1]);
    std::string pending;
    char buf[8192];
    auto emit = [&](std::string line) {
      if (spec.on_line) spec.on_line(line);
      tail.push_back(std::move(line));
      if (tail.size() > tail_lines) tail.pop_front();
    };
    for (;;) {
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        emit(pending.substr(0, nl));
        pending.erase(0, nl + 1);
      }
    }
    if (!pending.empty()) emit(pending);
    ::close(out[0]);
  }
  int child_errno = 0;
  ssize_t got = ::read(err_pipe[0], &child_errno, sizeof child_errno);
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child = 0;
  if (got == static_cast<ssize_t>(sizeof child_errno)) {
    return fail(Errc::io, fmt::format("starting {}: {}", spec.argv[0], std::strerror(child_errno)));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.tail.assign(tail.begin(), tail.end());
  return result;
}

std::string find_system_binary(std::string_view name) {
  for (const char* dir :
       {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string p = std::string(dir) + "/" + std::string(name);
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

}  // namespace strata::os

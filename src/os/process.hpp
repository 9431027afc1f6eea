// Running a child process: argv, environment, an optional hook that runs in
// the child before exec (to enter a namespace), its output streamed line by
// line to a callback, and its exit status.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::os {

struct ProcessSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // empty: inherit ours
  std::string cwd;               // empty: ours
  bool pass_stdin = false;       // else /dev/null
  bool pass_output = false;      // stdout/stderr go straight to ours; on_line is not called
  // Runs in the child between vfork and exec, sharing our memory: system
  // calls only, no allocation. A non-zero return aborts with that errno.
  std::function<int()> before_exec;
  int pass_fd = -1;                                      // given to the child as its fd 3
  std::function<void(const std::string& line)> on_line;  // each output line (stdout+stderr)
};

struct ProcessResult {
  int exit_code = 0;              // 128+N when killed by signal N
  std::vector<std::string> tail;  // the last output lines
};

Result<ProcessResult> run_process(const ProcessSpec& spec, size_t tail_lines = 20);

// A program in the system's directories (/usr/local/sbin ... /bin, not
// $PATH: the runtimes and the setuid id mappers strata trusts), "" when
// none has it.
std::string find_system_binary(std::string_view name);

// SIGINT and SIGTERM handling for a command that runs children: the signal
// is passed on to the running child, and interrupted() reports it so that
// the command can stop and clean up (unmount, remove temporary files).
void install_interrupt_handler();
int interrupted();  // the signal received, or 0

}  // namespace strata::os

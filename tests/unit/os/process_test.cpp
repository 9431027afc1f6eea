// Child processes: exit codes (128+N for a signal), output line by line and
// its tail, environment, directory, the descriptor handed over as fd 3, and
// a child that cannot start.
#include "os/process.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

using namespace strata;

namespace {

Result<os::ProcessResult> sh(const std::string& script, size_t tail = 20) {
  os::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  return os::run_process(spec, tail);
}

}  // namespace

TEST(Process, ExitCodesAndSignals) {
  EXPECT_EQ(sh("exit 0")->exit_code, 0);
  EXPECT_EQ(sh("exit 3")->exit_code, 3);
  EXPECT_EQ(sh("kill -TERM $$")->exit_code, 128 + 15);
  EXPECT_EQ(sh("kill -KILL $$")->exit_code, 128 + 9);
}

TEST(Process, OutputLinesInOrderAndTheTail) {
  os::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c",
               "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; "
               "printf last"};
  std::vector<std::string> lines;
  spec.on_line = [&](const std::string& l) { lines.push_back(l); };
  auto r = os::run_process(spec, 3);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(lines.size(), 11u);
  EXPECT_EQ(lines.front(), "out1");
  EXPECT_EQ(lines[1], "err1");
  EXPECT_EQ(lines.back(), "last");  // no newline at the end
  EXPECT_EQ(r->tail, (std::vector<std::string>{"out5", "err5", "last"}));
}

TEST(Process, EnvironmentDirectoryAndStdin) {
  os::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo \"$ONLY\" \"${HOME:-unset}\"; pwd; cat"};
  spec.env = {"ONLY=1", "PATH=/usr/bin:/bin"};
  spec.cwd = "/tmp";
  auto r = os::run_process(spec);
  ASSERT_TRUE(r) << r.error().message;
  // Only the given environment; stdin is /dev/null, so cat ends at once.
  EXPECT_EQ(r->tail, (std::vector<std::string>{"1 unset", "/tmp"}));
}

TEST(Process, PassedDescriptorIsFd3) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  os::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo through >&3"};
  spec.pass_fd = p[1];
  auto r = os::run_process(spec);
  ::close(p[1]);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_code, 0);
  char buf[32] = {};
  EXPECT_EQ(::read(p[0], buf, sizeof buf - 1), 8);
  EXPECT_STREQ(buf, "through\n");
  ::close(p[0]);
}

TEST(Process, ChildThatCannotStartIsAnError) {
  os::ProcessSpec missing;
  missing.argv = {"/nonexistent/strata-no-such-program"};
  auto r = os::run_process(missing);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("starting /nonexistent/strata-no-such-program"),
            std::string::npos)
      << r.error().message;
  os::ProcessSpec refused;
  refused.argv = {"/bin/true"};
  refused.before_exec = [] { return EPERM; };
  auto h = os::run_process(refused);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find(std::strerror(EPERM)), std::string::npos) << h.error().message;
  EXPECT_FALSE(os::run_process(os::ProcessSpec{}));  // no argv
}

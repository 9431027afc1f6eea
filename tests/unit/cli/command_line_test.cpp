// The command line as main() parses it: global flags before and after the
// command, repeatable flags around positional arguments, what `run` leaves
// to the container, and the values that are refused.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "cli/app.hpp"

namespace strata::cli {
namespace {

struct Parsed {
  CLI::App app{"strata"};
  GlobalFlags g;
  std::function<int()> run;
  std::string error;  // the parse error, "" when it parsed

  explicit Parsed(std::vector<std::string> args) {
    add_commands(app, g, run);
    // CLI11 takes the arguments in reverse order, without the program name.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
      app.parse(reversed);
    } catch (const CLI::ParseError& e) {
      error = e.what();
    }
  }
  std::vector<std::string> container_args() { return app.get_subcommand("run")->remaining(); }
};

TEST(CommandLine, GlobalFlagsBeforeOrAfterTheCommand) {
  Parsed before({"--root", "/r1", "--runtime", "runc", "images"});
  ASSERT_EQ(before.error, "");
  EXPECT_EQ(before.g.root, "/r1");
  EXPECT_EQ(before.g.runtime, "runc");
  EXPECT_TRUE(before.run);

  Parsed after({"build", "--root", "/r2", "--insecure-registry", "h:5000", "ctx"});
  ASSERT_EQ(after.error, "");
  EXPECT_EQ(after.g.root, "/r2");
  EXPECT_EQ(after.g.insecure_registries, std::vector<std::string>{"h:5000"});
  EXPECT_TRUE(after.run);

  Parsed nested({"cache", "prune", "--root", "/r3"});
  ASSERT_EQ(nested.error, "");
  EXPECT_EQ(nested.g.root, "/r3");
}

TEST(CommandLine, RepeatableFlagsAroundPositionals) {
  // Each -t takes one value, so the context may come between them.
  Parsed p({"build", "-t", "a", "ctx", "--no-cache", "-t", "b", "--build-arg", "X=1"});
  EXPECT_EQ(p.error, "");
  EXPECT_TRUE(p.run);
  Parsed insecure({"--insecure-registry", "a:1", "pull", "--insecure-registry", "b:2", "img"});
  ASSERT_EQ(insecure.error, "");
  EXPECT_EQ(insecure.g.insecure_registries, (std::vector<std::string>{"a:1", "b:2"}));
}

TEST(CommandLine, RunLeavesTheContainersCommandLineAlone) {
  Parsed p({"--runtime", "crun", "run", "--root", "/r", "--network", "none", "img", "sh", "-c",
            "echo", "--root", "/elsewhere", "--runtime", "runc"});
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.g.root, "/r");
  EXPECT_EQ(p.g.runtime, "crun");
  EXPECT_EQ(p.container_args(), (std::vector<std::string>{"img", "sh", "-c", "echo", "--root",
                                                          "/elsewhere", "--runtime", "runc"}));
}

TEST(CommandLine, RefusedValues) {
  EXPECT_NE(Parsed({"--runtime", "kata", "images"}).error, "");
  EXPECT_NE(Parsed({"run", "--network", "bridge", "img"}).error, "");
  EXPECT_NE(Parsed({"build", "--frobnicate", "ctx"}).error, "");
  EXPECT_NE(Parsed(std::vector<std::string>{}).error, "");  // a command is required
  EXPECT_NE(Parsed({"images", "extra"}).error, "");
}

}  // namespace
}  // namespace strata::cli

// The docker CLI plugin protocol: the metadata, buildx's commands in
// strata's words, an ordinary command line left alone, and the plugin link.
#include "cli/docker_plugin.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace strata::cli {
namespace {

namespace fs = std::filesystem;

TEST(DockerPlugin, MetadataAndVersion) {
  auto meta = plugin_call({"docker-buildx", "docker-cli-plugin-metadata"});
  ASSERT_TRUE(meta && *meta);
  auto j = nlohmann::json::parse((*meta)->print);
  EXPECT_EQ(j["SchemaVersion"], "0.1.0");
  EXPECT_EQ(j["Vendor"], "strata");
  EXPECT_TRUE((*meta)->args.empty());
  auto version = plugin_call({"docker-buildx", "buildx", "version"});
  ASSERT_TRUE(version && *version);
  EXPECT_TRUE((*version)->print.starts_with("github.com/docker/buildx v0."));
}

TEST(DockerPlugin, BuildxBuildIsStratasBuild) {
  auto call = plugin_call({"/x/docker-buildx", "buildx", "build", "-t", "a", ".", "--no-cache"});
  ASSERT_TRUE(call && *call);
  EXPECT_EQ((*call)->args, (std::vector<std::string>{"build", "-t", "a", ".", "--no-cache"}));
  auto alias = plugin_call({"docker-buildx", "buildx", "b", "."});
  ASSERT_TRUE(alias && *alias);
  EXPECT_EQ((*alias)->args, (std::vector<std::string>{"build", "."}));
  auto help = plugin_call({"docker-buildx", "buildx"});
  ASSERT_TRUE(help && *help);
  EXPECT_EQ((*help)->args, std::vector<std::string>{"--help"});
}

std::vector<std::string> args_of(const std::vector<std::string>& argv) {
  auto call = plugin_call(argv);
  if (!call) return {"<not a plugin call>"};
  if (!*call) return {"<error: " + call->error().message + ">"};
  return (*call)->args;
}

TEST(DockerPlugin, BuilderCommandsAreStratasBuilderCommands) {
  using V = std::vector<std::string>;
  EXPECT_EQ(args_of({"docker-buildx", "buildx", "create", "--name", "ci", "--use"}),
            (V{"builder", "create", "--name", "ci", "--use"}));
  EXPECT_EQ(args_of({"docker-buildx", "buildx", "inspect", "ci"}), (V{"builder", "inspect", "ci"}));
  EXPECT_EQ(args_of({"docker-buildx", "buildx", "ls"}), (V{"builder", "ls"}));
  EXPECT_EQ(args_of({"docker-buildx", "buildx", "use", "ci"}), (V{"builder", "use", "ci"}));
  EXPECT_EQ(args_of({"docker-buildx", "buildx", "rm", "ci"}), (V{"builder", "rm", "ci"}));
  // buildx's --builder before the command goes to it.
  EXPECT_EQ(args_of({"docker-buildx", "buildx", "--builder", "ci", "inspect"}),
            (V{"builder", "inspect", "--builder", "ci"}));
  EXPECT_EQ(args_of({"docker-buildx", "buildx", "--builder=ci", "build", "."}),
            (V{"build", ".", "--builder", "ci"}));
  EXPECT_EQ(args_of({"docker-buildx", "buildx", "imagetools", "inspect", "--raw", "r/a"}),
            (V{"imagetools", "inspect", "--raw", "r/a"}));
  EXPECT_EQ(
      args_of({"docker-buildx", "buildx", "imagetools", "create", "-t", "r/a:m", "r/a:1", "r/b:1"}),
      (V{"imagetools", "create", "-t", "r/a:m", "r/a:1", "r/b:1"}));
}

TEST(DockerPlugin, DuAndPruneAreTheCacheCommands) {
  using V = std::vector<std::string>;
  auto du = plugin_call({"docker-buildx", "buildx", "du", "--verbose"});
  ASSERT_TRUE(du && *du);
  EXPECT_EQ((*du)->args, (V{"cache", "du"}));
  ASSERT_EQ((*du)->notes.size(), 1u);
  EXPECT_NE((*du)->notes[0].find("--verbose is ignored"), std::string::npos);
  EXPECT_EQ(args_of({"docker-buildx", "buildx", "prune", "-af"}), (V{"cache", "prune", "--all"}));
  EXPECT_NE(args_of({"docker-buildx", "buildx", "prune", "--colour"}).front().find("not an option"),
            std::string::npos);
  EXPECT_EQ(args_of({"docker-buildx", "buildx", "prune", "-a", "-f", "--keep-storage=10GB",
                     "--filter", "until=24h", "--builder", "ci"}),
            (V{"cache", "prune", "--all", "--keep-storage", "10GB", "--keep-duration", "24h"}));
  EXPECT_NE(args_of({"docker-buildx", "buildx", "prune", "--filter", "type=regular"})
                .front()
                .find("by age (until=DURATION)"),
            std::string::npos);
}

TEST(DockerPlugin, OtherCommandsAreClearErrorsAndStrataLinesAreLeftAlone) {
  auto bake = plugin_call({"docker-buildx", "buildx", "bake"});
  ASSERT_TRUE(bake);
  ASSERT_FALSE(*bake);
  EXPECT_NE(bake->error().message.find("docker buildx bake"), std::string::npos);
  EXPECT_FALSE(plugin_call({"strata", "build", "."}));
  EXPECT_FALSE(plugin_call({"strata"}));
}

TEST(DockerPlugin, InstallLinksAndKeepsAnotherBuildx) {
  fs::path dir = fs::temp_directory_path() / ("strata-plugin-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::path binary = dir / "bin" / "strata";
  fs::create_directories(binary.parent_path());
  std::ofstream(binary) << "binary";
  auto link = install_plugin(binary, dir / "plugins", false);
  ASSERT_TRUE(link) << link.error().message;
  EXPECT_EQ(*link, dir / "plugins" / "docker-buildx");
  EXPECT_TRUE(fs::equivalent(*link, binary));
  EXPECT_TRUE(install_plugin(binary, dir / "plugins", false));  // ours: linked again
  fs::remove(*link);
  std::ofstream(*link) << "another buildx";
  auto kept = install_plugin(binary, dir / "plugins", false);
  ASSERT_FALSE(kept);
  EXPECT_NE(kept.error().message.find("--replace"), std::string::npos);
  ASSERT_TRUE(install_plugin(binary, dir / "plugins", true));
  EXPECT_TRUE(fs::equivalent(*link, binary));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace strata::cli

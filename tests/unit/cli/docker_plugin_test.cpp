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

TEST(DockerPlugin, OtherCommandsAreClearErrorsAndStrataLinesAreLeftAlone) {
  auto ls = plugin_call({"docker-buildx", "buildx", "ls"});
  ASSERT_TRUE(ls);
  ASSERT_FALSE(*ls);
  EXPECT_NE(ls->error().message.find("docker buildx ls"), std::string::npos);
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

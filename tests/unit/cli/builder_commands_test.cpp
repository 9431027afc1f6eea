// Builder names as docker buildx scripts create them: the names buildx
// accepts, and builders.json read back as written.
#include "cli/builder_commands.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace strata::cli {
namespace {

namespace fs = std::filesystem;

TEST(Builders, NamesAsBuildxAcceptsThem) {
  EXPECT_TRUE(check_builder_name("airflow_cache"));
  EXPECT_TRUE(check_builder_name("ci-1.2"));
  EXPECT_FALSE(check_builder_name(""));
  EXPECT_FALSE(check_builder_name("-x"));
  EXPECT_FALSE(check_builder_name("a/b"));
  EXPECT_FALSE(check_builder_name("a b"));
}

TEST(Builders, ReadBackAsWrittenAndACurrentThatIsGoneIsTheDefault) {
  fs::path root = fs::temp_directory_path() / ("strata-builders-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  auto none = read_builders(root);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->names.empty());
  EXPECT_EQ(none->current, "");
  ASSERT_TRUE(write_builders(root, Builders{{"a", "b"}, "b"}));
  auto back = read_builders(root);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(back->current, "b");
  std::ofstream(root / "builders.json") << R"({"builders":["a"],"current":"gone"})";
  auto stale = read_builders(root);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->current, "");
  std::ofstream(root / "builders.json") << "[1,";
  auto broken = read_builders(root);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("remove it to start again"), std::string::npos);
  fs::remove_all(root);
}

}  // namespace
}  // namespace strata::cli

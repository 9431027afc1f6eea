#include "dockerfile/dockerignore.hpp"

#include <gtest/gtest.h>

using namespace strata::dockerfile;

namespace {
IgnoreMatcher m(std::string_view text) {
  auto r = IgnoreMatcher::parse(text, ".dockerignore");
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : IgnoreMatcher{};
}
}  // namespace

TEST(Dockerignore, StarStopsAtSeparatorDoubleStarDoesNot) {
  auto i = m("*.log\n**/*.tmp\n");
  EXPECT_TRUE(i.excluded("a.log"));
  EXPECT_FALSE(i.excluded("dir/a.log"));
  EXPECT_TRUE(i.excluded("a.tmp"));
  EXPECT_TRUE(i.excluded("x/y/z.tmp"));
}

TEST(Dockerignore, DirectoryPatternCoversContents) {
  auto i = m("build\n");
  EXPECT_TRUE(i.excluded("build"));
  EXPECT_TRUE(i.excluded("build/a/b.o"));
  EXPECT_FALSE(i.excluded("src/build.c"));
}

TEST(Dockerignore, LaterLinesWinAndExceptionsReinclude) {
  auto i = m("docs\n!docs/keep.md\ndocs/keep.md\n");
  EXPECT_TRUE(i.excluded("docs/keep.md"));  // the last matching line excludes again
  auto j = m("*.md\n!README.md\n");
  EXPECT_FALSE(j.excluded("README.md"));
  EXPECT_TRUE(j.excluded("CHANGES.md"));
  EXPECT_TRUE(j.has_exceptions());
}

TEST(Dockerignore, CleansPatternsAndSkipsComments) {
  auto i = m("# a comment\n/abs/./path/\n  spaced  \n\n./rel/../other\n");
  EXPECT_TRUE(i.excluded("abs/path/file"));
  EXPECT_TRUE(i.excluded("spaced"));
  EXPECT_TRUE(i.excluded("other"));
  EXPECT_FALSE(i.excluded("# a comment"));
}

TEST(Dockerignore, ClassesAndQuestionMark) {
  auto i = m("file[0-9].txt\nlog?\n[!a]b\n");
  EXPECT_TRUE(i.excluded("file7.txt"));
  EXPECT_FALSE(i.excluded("fileX.txt"));
  EXPECT_TRUE(i.excluded("log1"));
  EXPECT_FALSE(i.excluded("log12"));
  EXPECT_TRUE(i.excluded("cb"));
  EXPECT_FALSE(i.excluded("ab"));
}

TEST(Dockerignore, BadPatternsAreErrors) {
  EXPECT_FALSE(IgnoreMatcher::parse("!\n", ".dockerignore"));
  auto r = IgnoreMatcher::parse("ok\n[unclosed\n", ".dockerignore");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(".dockerignore:2"), std::string::npos);
}

TEST(Glob, WithoutDoubleStarIsFilepathMatch) {
  auto g = Glob::compile("src/**/x", false);
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->matches("src/a/x"));
  EXPECT_FALSE(g->matches("src/a/b/x"));
}

TEST(CleanPath, LikeGoFilepathClean) {
  EXPECT_EQ(clean_path("a//b/./c/.."), "a/b");
  EXPECT_EQ(clean_path("/../a"), "/a");
  EXPECT_EQ(clean_path("../a"), "../a");
  EXPECT_EQ(clean_path(""), ".");
}

#include "os/root_path.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace strata;
namespace fs = std::filesystem;

namespace {

struct Root {
  fs::path dir = fs::temp_directory_path() / ("strata-root-path-" + std::to_string(::getpid()));
  Root() {
    fs::remove_all(dir);
    fs::create_directories(dir / "usr/bin");
    fs::create_directories(dir / "data");
    std::ofstream(dir / "data/file") << "x";
  }
  ~Root() { fs::remove_all(dir); }
};

}  // namespace

TEST(RootPath, LinksAndDotDotStayInsideTheRoot) {
  Root r;
  fs::create_directory_symlink("/usr/bin", r.dir / "bin");  // absolute, as in merged-/usr images
  fs::create_directory_symlink("/etc", r.dir / "etc-link");
  fs::create_directory_symlink("../../../../..", r.dir / "data/up");
  fs::create_symlink("bin", r.dir / "usr/rel");
  EXPECT_EQ(*os::resolve_in_root(r.dir, "/../../etc/passwd", true), r.dir / "etc/passwd");
  EXPECT_EQ(*os::resolve_in_root(r.dir, "bin/tool", true), r.dir / "usr/bin/tool");
  EXPECT_EQ(*os::resolve_in_root(r.dir, "etc-link/shadow", true), r.dir / "etc/shadow");
  EXPECT_EQ(*os::resolve_in_root(r.dir, "data/up/etc/shadow", true), r.dir / "etc/shadow");
  EXPECT_EQ(*os::resolve_in_root(r.dir, "usr/rel/x", true), r.dir / "usr/bin/x");
  EXPECT_EQ(*os::resolve_in_root(r.dir, "data/up", false), r.dir / "data/up");
  EXPECT_EQ(*os::resolve_in_root(r.dir, "data/up", true), r.dir);
  EXPECT_EQ(*os::resolve_in_root(r.dir, "", true), r.dir);
}

TEST(RootPath, ALinkLoopIsAnError) {
  Root r;
  fs::create_symlink("b", r.dir / "a");
  fs::create_symlink("a", r.dir / "b");
  auto p = os::resolve_in_root(r.dir, "a/x", true);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("symbolic links"), std::string::npos);
}

TEST(RootPath, EntriesFollowNoLink) {
  Root r;
  fs::create_directory_symlink("/etc", r.dir / "etc-link");
  fs::create_directory_symlink("data", r.dir / "inner");
  EXPECT_EQ(*os::entry_in_root(r.dir, "data/new/file"), r.dir / "data/new/file");
  EXPECT_EQ(*os::entry_in_root(r.dir, "./data//file"), r.dir / "data/file");
  EXPECT_EQ(*os::entry_in_root(r.dir, "etc-link"), r.dir / "etc-link");  // the link itself
  for (const char* bad : {"etc-link/shadow", "inner/file", "../x", "data/../../x", "/etc/passwd",
                          "", ".", "data/file/under-a-file"}) {
    auto p = os::entry_in_root(r.dir, bad);
    EXPECT_FALSE(p) << bad;
    if (!p) {
      EXPECT_NE(p.error().message.find(std::string("\"") + bad + "\""), std::string::npos);
    }
  }
}

TEST(RootPath, PlainNames) {
  EXPECT_TRUE(os::is_plain_name("a"));
  EXPECT_TRUE(os::is_plain_name("..."));
  for (const char* bad : {"", ".", "..", "a/b", "/"}) EXPECT_FALSE(os::is_plain_name(bad)) << bad;
}

#include "builder/copy.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "builder/users.hpp"

using namespace strata;
using namespace strata::builder;
namespace fs = std::filesystem;

namespace {

struct Dirs {
  fs::path base = fs::temp_directory_path() / ("strata-copy-test-" + std::to_string(::getpid()));
  fs::path src = base / "src", dst = base / "dst";
  Dirs() {
    fs::remove_all(base);
    fs::create_directories(src / "dir/sub");
    fs::create_directories(dst);
    for (auto f : {"a.txt", "b.txt", "c.md", "dir/x", "dir/sub/y", "dir/skip.log"})
      std::ofstream(src / f) << f;
  }
  ~Dirs() { fs::remove_all(base); }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (auto& e : fs::recursive_directory_iterator(dst))
      out.push_back(e.path().lexically_relative(dst).string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

}  // namespace

TEST(Copy, DirectoryContentsAndTrailingSlash) {
  Dirs d;
  ASSERT_TRUE(copy_sources(d.src, {"dir"}, d.dst, "/out/", {}));
  EXPECT_EQ(d.files(),
            (std::vector<std::string>{"out", "out/skip.log", "out/sub", "out/sub/y", "out/x"}));
}

TEST(Copy, FileToNameOrIntoDirectory) {
  Dirs d;
  ASSERT_TRUE(copy_sources(d.src, {"a.txt"}, d.dst, "/renamed", {}));
  ASSERT_TRUE(copy_sources(d.src, {"b.txt"}, d.dst, "/into/", {}));
  EXPECT_EQ(d.files(), (std::vector<std::string>{"into", "into/b.txt", "renamed"}));
}

TEST(Copy, WildcardsExcludesAndIgnore) {
  Dirs d;
  CopyOptions o;
  o.excludes = {"*.log"};
  auto ignore = dockerfile::IgnoreMatcher::parse("b.txt\n", ".dockerignore");
  o.ignore = &*ignore;
  ASSERT_TRUE(copy_sources(d.src, {"*.txt", "dir"}, d.dst, "/w", o));
  EXPECT_EQ(d.files(), (std::vector<std::string>{"w", "w/a.txt", "w/sub", "w/sub/y", "w/x"}));
  auto missing = copy_sources(d.src, {"b.txt"}, d.dst, "/w/", o);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("excluded by .dockerignore"), std::string::npos);
}

TEST(Copy, ParentsKeepsTheSourcePath) {
  Dirs d;
  CopyOptions o;
  o.parents = true;
  ASSERT_TRUE(copy_sources(d.src, {"dir/sub/y", "a.txt"}, d.dst, "/p/", o));
  EXPECT_EQ(d.files(),
            (std::vector<std::string>{"p", "p/a.txt", "p/dir", "p/dir/sub", "p/dir/sub/y"}));
}

TEST(Copy, DestinationSymlinksResolveInsideTheRoot) {
  Dirs d;
  fs::create_directories(d.dst / "usr/bin");
  fs::create_directory_symlink("/usr/bin", d.dst / "bin");  // absolute, as in merged-/usr images
  ASSERT_TRUE(copy_sources(d.src, {"a.txt"}, d.dst, "/bin/tool", {}));
  EXPECT_TRUE(fs::exists(d.dst / "usr/bin/tool"));
}

TEST(Copy, ChmodAndInlineFiles) {
  Dirs d;
  CopyOptions o;
  o.mode = 0700;
  ASSERT_TRUE(write_inline_file(d.dst, "/etc/", "script.sh", "echo hi\n", o));
  auto st = fs::status(d.dst / "etc/script.sh");
  EXPECT_EQ(st.permissions() & fs::perms::mask, fs::perms::owner_all);
}

TEST(Copy, SymbolicModesAsChmodDoes) {
  EXPECT_EQ(apply_symbolic_mode("u+x", 0644, false), 0744u);
  EXPECT_EQ(apply_symbolic_mode("go-r", 0644, false), 0600u);
  EXPECT_EQ(apply_symbolic_mode("a=rX", 0600, true), 0555u);
  EXPECT_EQ(apply_symbolic_mode("a=rX", 0600, false), 0444u);
  EXPECT_EQ(apply_symbolic_mode("u=rwx,g=rx,o=", 0, false), 0750u);
  EXPECT_EQ(apply_symbolic_mode("+x", 0644, false), 0755u);
  EXPECT_EQ(apply_symbolic_mode("u+s", 0755, false), 04755u);
  EXPECT_FALSE(apply_symbolic_mode("u*x", 0644, false));
  EXPECT_FALSE(apply_symbolic_mode("u", 0644, false));
}

TEST(Users, ResolvesNamesGroupsAndNumbers) {
  Dirs d;
  fs::create_directories(d.dst / "etc");
  std::ofstream(d.dst / "etc/passwd")
      << "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n";
  std::ofstream(d.dst / "etc/group") << "root:x:0:\napp:x:1001:\nextra:x:2000:app,other\n";
  auto a = resolve_user(d.dst, "app");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->uid, 1000u);
  EXPECT_EQ(a->gid, 1001u);
  EXPECT_EQ(a->groups, std::vector<uint32_t>{2000});
  auto b = resolve_user(d.dst, "1000:extra");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->gid, 2000u);
  auto c = resolve_user(d.dst, "4242");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->uid, 4242u);
  EXPECT_EQ(c->gid, 0u);
  EXPECT_FALSE(resolve_user(d.dst, "nobody"));
  EXPECT_FALSE(resolve_user(d.dst, "app:nogroup"));
}

#include "builder/copy.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

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
  // The primary group first, then the others /etc/group names the user in.
  EXPECT_EQ(a->groups, (std::vector<uint32_t>{1001, 2000}));
  auto b = resolve_user(d.dst, "1000:extra");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->gid, 2000u);
  EXPECT_EQ(b->groups, std::vector<uint32_t>{2000});  // a group given: that one only
  auto c = resolve_user(d.dst, "4242");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->uid, 4242u);
  EXPECT_EQ(c->gid, 0u);
  EXPECT_EQ(c->groups, std::vector<uint32_t>{0});
  auto root = resolve_user(d.dst, "");  // no USER: root, with root's groups
  ASSERT_TRUE(root);
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->groups, std::vector<uint32_t>{0});
  EXPECT_FALSE(resolve_user(d.dst, "nobody"));
  EXPECT_FALSE(resolve_user(d.dst, "app:nogroup"));
}

namespace {
struct stat stat_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}
}  // namespace

TEST(Copy, CreatedDirectoriesTakeChmodAndChownNotTheSources) {
  Dirs d;
  fs::permissions(d.src / "dir", fs::perms(0700));
  ASSERT_EQ(::chown((d.src / "dir").c_str(), 100, 200), 0);
  ASSERT_EQ(::chown((d.src / "dir/sub").c_str(), 101, 201), 0);
  // From a stage: the new destination of a directory is root's and 0755;
  // what lies inside keeps its owner.
  CopyOptions from_stage;
  from_stage.keep_owner = true;
  ASSERT_TRUE(copy_sources(d.src, {"dir"}, d.dst, "/d", from_stage));
  EXPECT_EQ(stat_of(d.dst / "d").st_uid, 0u);
  EXPECT_EQ(stat_of(d.dst / "d").st_mode & 07777, 0755u);
  EXPECT_EQ(stat_of(d.dst / "d/sub").st_uid, 101u);
  // --chmod and --chown reach the parents a copy makes; an existing
  // directory keeps its own.
  CopyOptions o;
  o.mode = 0777;
  o.owner = Identity{};
  o.owner->uid = 300;
  o.owner->gid = 400;
  ASSERT_TRUE(copy_sources(d.src, {"a.txt"}, d.dst, "/parent/sub/a", o));
  EXPECT_EQ(stat_of(d.dst / "parent").st_mode & 07777, 0777u);
  EXPECT_EQ(stat_of(d.dst / "parent/sub").st_gid, 400u);
  o.mode = 0770;
  ASSERT_TRUE(copy_sources(d.src, {"a.txt"}, d.dst, "/parent/other/a", o));
  EXPECT_EQ(stat_of(d.dst / "parent").st_mode & 07777, 0777u);
  EXPECT_EQ(stat_of(d.dst / "parent/other").st_mode & 07777, 0770u);
  // The listing says the same: 'p' entries for the directories made only
  // where none exists.
  auto listed = list_sources(d.src, {"a.txt"}, "/x/y/a", o);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].dest, "/x");
  EXPECT_EQ((*listed)[0].type, 'p');
  EXPECT_EQ((*listed)[0].mode, 0770u);
  EXPECT_EQ((*listed)[1].dest, "/x/y");
  EXPECT_EQ((*listed)[2].type, 'f');
}

TEST(Copy, PatternsFollowLinksAndMayMatchNothing) {
  Dirs d;
  fs::create_symlink("a.txt", d.src / "link.txt");
  fs::create_directory_symlink("dir", d.src / "linkdir");
  // One match and no trailing slash: the destination is the file itself.
  ASSERT_TRUE(copy_sources(d.src, {"a*.txt"}, d.dst, "/one", {}));
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(d.dst / "one")));
  // A match that is a link is what it leads to; a pattern below a linked
  // directory is matched where it leads; a pattern that matches nothing
  // beside a source that exists is no error.
  ASSERT_TRUE(copy_sources(d.src, {"lin*.txt", "linkdir/s*", "nomatch*"}, d.dst, "/m/", {}));
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(d.dst / "m/link.txt")));
  EXPECT_TRUE(fs::is_regular_file(d.dst / "m/y"));  // a directory: its contents
  EXPECT_TRUE(fs::is_regular_file(d.dst / "m/skip.log"));
  ASSERT_TRUE(copy_sources(d.src, {"nomatch*"}, d.dst, "/none/", {}));
  EXPECT_FALSE(fs::exists(d.dst / "none"));
}

TEST(Copy, ContextSocketsBecomeEmptyFiles) {
  Dirs d;
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::string path = (d.src / "sock").string();
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(::bind(s, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0);
  ::close(s);
  ASSERT_TRUE(copy_sources(d.src, {"sock"}, d.dst, "/ctx", {}));
  EXPECT_TRUE(S_ISREG(stat_of(d.dst / "ctx").st_mode));
  EXPECT_EQ(stat_of(d.dst / "ctx").st_size, 0);
  CopyOptions from_stage;
  from_stage.keep_owner = true;
  ASSERT_TRUE(copy_sources(d.src, {"sock"}, d.dst, "/stage", from_stage));
  EXPECT_TRUE(S_ISSOCK(stat_of(d.dst / "stage").st_mode));
}

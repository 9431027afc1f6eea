#include "snapshot/rebase.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "os/fs.hpp"

namespace fs = std::filesystem;
using strata::snapshot::ChangedPath;
using strata::snapshot::LowerView;

namespace {

// Snapshot directories in overlay's form: whiteouts and opaque markers need
// root (mknod, trusted.* xattrs), as the builder has.
class RebaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "whiteouts and opaque directories need root";
    auto d = strata::os::make_temp_dir(fs::temp_directory_path(), "rebase-");
    ASSERT_TRUE(d);
    root_ = *d;
    for (const char* l : {"base", "copy-old", "copy-new", "earlier", "out", "upper"})
      fs::create_directories(root_ / l);
  }
  void TearDown() override {
    if (!root_.empty()) (void)strata::os::remove_tree(root_);
  }

  fs::path at(const std::string& layer, const std::string& rel = "") const {
    return rel.empty() ? root_ / layer : root_ / layer / rel;
  }
  // Files and directories get one fixed time, so that equal entries of two
  // layers are equal in every way.
  void file(const std::string& layer, const std::string& rel, const std::string& text) {
    fs::create_directories(at(layer, rel).parent_path());
    std::ofstream(at(layer, rel)) << text;
    fixed_time(at(layer, rel));
  }
  void dir(const std::string& layer, const std::string& rel) {
    fs::create_directories(at(layer, rel));
    fixed_time(at(layer, rel));
  }
  void whiteout(const std::string& layer, const std::string& rel) {
    fs::create_directories(at(layer, rel).parent_path());
    ASSERT_EQ(::mknod(at(layer, rel).c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  }
  void opaque(const std::string& layer, const std::string& rel) {
    dir(layer, rel);
    ASSERT_EQ(::setxattr(at(layer, rel).c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  }
  static void fixed_time(const fs::path& p) {
    struct timespec ts[2] = {{1700000000, 0}, {1700000000, 0}};
    ::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  }
  // Every directory's time fixed again (adding entries changed them).
  void settle() {
    for (const auto& e : fs::recursive_directory_iterator(root_))
      if (e.is_directory() && !e.is_symlink()) fixed_time(e.path());
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static bool is_whiteout(const fs::path& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0 && strata::snapshot::is_whiteout(st);
  }
  static bool exists(const fs::path& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
  }
  static ino_t inode(const fs::path& p) {
    struct stat st {};
    ::lstat(p.c_str(), &st);
    return st.st_ino;
  }
  static std::vector<std::string> paths(const std::vector<ChangedPath>& changed) {
    std::vector<std::string> out;
    for (const auto& c : changed) out.push_back(c.path + (c.subtree ? "/*" : ""));
    return out;
  }
  LowerView old_root() const { return LowerView({at("copy-old"), at("base")}); }
  LowerView new_root() const { return LowerView({at("copy-new"), at("base")}); }

  fs::path root_;
};

TEST_F(RebaseTest, ChangedPathsAreThoseTheRootsShowOtherwise) {
  file("base", "etc/passwd", "root");
  file("base", "etc/gone", "was here");
  file("copy-old", "app/packages.txt", "a b");
  file("copy-old", "app/same.txt", "same");
  file("copy-old", "app/old-only.txt", "old");
  file("copy-new", "app/packages.txt", "a c");  // same size, other bytes
  file("copy-new", "app/same.txt", "same");
  file("copy-new", "app/new.txt", "new");
  whiteout("copy-new", "etc/gone");
  opaque("copy-new", "srv");
  settle();
  auto changed =
      strata::snapshot::changed_paths(old_root(), new_root(), {at("copy-old"), at("copy-new")});
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_EQ(paths(*changed), (std::vector<std::string>{"app/new.txt", "app/old-only.txt",
                                                       "app/packages.txt", "etc/gone", "srv/*"}));
}

TEST_F(RebaseTest, TheEarlierChangesStayButNotOverWhatTheNewRootChanged) {
  file("base", "etc/passwd", "root");
  file("base", "etc/back", "in the base");
  file("copy-old", "app/packages.txt", "a b");
  whiteout("copy-old", "etc/back");  // the old root had removed it
  file("copy-new", "app/packages.txt", "a b c");
  file("copy-new", "etc/back", "brought back");
  file("copy-new", "var/cache/new-in-root", "new");
  // What the step changed the first time: installed a package, rewrote
  // the manifest it was given, removed a file, emptied a directory.
  file("earlier", "usr/lib/site/a", "package a");
  file("earlier", "usr/lib/site/b", "package b");
  file("earlier", "app/packages.txt", "rewritten by the step");
  whiteout("earlier", "etc/passwd");
  file("earlier", "etc/back", "the step's copy");
  opaque("earlier", "var/cache");
  file("earlier", "var/cache/left-by-step", "x");
  settle();
  auto view = new_root();
  auto changed =
      strata::snapshot::changed_paths(old_root(), view, {at("copy-old"), at("copy-new")});
  ASSERT_TRUE(changed) << changed.error().message;
  ASSERT_TRUE(strata::snapshot::rebase_changes(at("earlier"), *changed, view, at("out")));
  // Kept, as hard links of the earlier snapshot's files.
  EXPECT_EQ(read(at("out", "usr/lib/site/a")), "package a");
  EXPECT_EQ(inode(at("out", "usr/lib/site/a")), inode(at("earlier", "usr/lib/site/a")));
  EXPECT_TRUE(is_whiteout(at("out", "etc/passwd")));  // a removed path stays removed
  EXPECT_TRUE(strata::snapshot::is_opaque(at("out", "var/cache")));
  EXPECT_TRUE(exists(at("out", "var/cache/left-by-step")));
  // The new root's: the copied manifest, the path it brought back, and one
  // under the directory the step emptied.
  EXPECT_FALSE(exists(at("out", "app/packages.txt")));
  EXPECT_FALSE(exists(at("out", "etc/back")));
  EXPECT_EQ(read(at("out", "var/cache/new-in-root")), "new");
  // Stacked over the new root, that is what shows.
  LowerView stacked({at("out"), at("copy-new"), at("base")});
  EXPECT_EQ(read(stacked.lookup({"app", "packages.txt"}).path), "a b c");
  EXPECT_EQ(read(stacked.lookup({"etc", "back"}).path), "brought back");
  EXPECT_EQ(stacked.lookup({"etc", "passwd"}).state, LowerView::Entry::absent);
  EXPECT_EQ(stacked.list({"var", "cache"}),
            (std::vector<std::string>{"left-by-step", "new-in-root"}));
  // The earlier snapshot is as it was.
  EXPECT_EQ(read(at("earlier", "app/packages.txt")), "rewritten by the step");
}

TEST_F(RebaseTest, TheStepsUpperMergesIntoTheEarlierChanges) {
  file("base", "etc/passwd", "root");
  file("base", "etc/group", "root");
  file("out", "usr/lib/site/a", "package a");
  file("out", "usr/lib/site/b", "package b");
  file("out", "opt/tool/old", "old tool");
  // The step: a new package, package b removed (only the earlier changes
  // had it), etc/group removed (the root has it), opt/tool replaced whole,
  // and a file of the root rewritten.
  file("upper", "usr/lib/site/c", "package c");
  whiteout("upper", "usr/lib/site/b");
  whiteout("upper", "etc/group");
  opaque("upper", "opt/tool");
  file("upper", "opt/tool/new", "new tool");
  file("upper", "etc/passwd", "root\nuser");
  ASSERT_EQ(::chmod(at("upper", "usr/lib/site").c_str(), 0750), 0);
  settle();
  LowerView root({at("base")});
  ASSERT_TRUE(strata::snapshot::merge_upper(at("upper"), at("out"), root));
  EXPECT_EQ(read(at("out", "usr/lib/site/a")), "package a");
  EXPECT_EQ(read(at("out", "usr/lib/site/c")), "package c");
  EXPECT_FALSE(exists(at("out", "usr/lib/site/b")));  // nothing below to hide
  EXPECT_TRUE(is_whiteout(at("out", "etc/group")));
  EXPECT_EQ(read(at("out", "etc/passwd")), "root\nuser");
  EXPECT_TRUE(strata::snapshot::is_opaque(at("out", "opt/tool")));
  EXPECT_FALSE(exists(at("out", "opt/tool/old")));
  EXPECT_EQ(read(at("out", "opt/tool/new")), "new tool");
  struct stat st {};
  ASSERT_EQ(::lstat(at("out", "usr/lib/site").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
}

TEST_F(RebaseTest, ADirectoryListsWhatTheStackShows) {
  file("base", "etc/passwd", "root");
  file("base", "etc/hosts", "localhost");
  whiteout("copy-new", "etc/hosts");
  file("copy-new", "etc/new", "x");
  EXPECT_EQ(new_root().list({"etc"}), (std::vector<std::string>{"new", "passwd"}));
  EXPECT_EQ(new_root().list({}), (std::vector<std::string>{"etc"}));
  EXPECT_TRUE(new_root().list({"etc", "passwd"}).empty());
}

}  // namespace

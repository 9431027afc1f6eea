#include "snapshot/lower_view.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>

#include "os/fs.hpp"

namespace fs = std::filesystem;
using strata::snapshot::LowerView;

namespace {

class LowerViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = strata::os::make_temp_dir(fs::temp_directory_path(), "lower-view-");
    ASSERT_TRUE(d);
    root_ = *d;
    for (const char* l : {"top", "mid", "bottom"}) fs::create_directories(root_ / l);
  }
  void TearDown() override { (void)strata::os::remove_tree(root_); }

  void file(const std::string& layer, const std::string& rel) {
    fs::create_directories((root_ / layer / rel).parent_path());
    std::ofstream(root_ / layer / rel) << layer;
  }
  void dir(const std::string& layer, const std::string& rel) {
    fs::create_directories(root_ / layer / rel);
  }
  // Whiteouts and opaque markers need root (mknod, trusted.* xattrs).
  bool whiteout(const std::string& layer, const std::string& rel) {
    fs::create_directories((root_ / layer / rel).parent_path());
    return ::mknod((root_ / layer / rel).c_str(), S_IFCHR | 0, makedev(0, 0)) == 0;
  }
  bool opaque(const std::string& layer, const std::string& rel) {
    dir(layer, rel);
    return ::setxattr((root_ / layer / rel).c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0;
  }
  LowerView view() const { return LowerView({root_ / "top", root_ / "mid", root_ / "bottom"}); }

  fs::path root_;
};

TEST_F(LowerViewTest, TopmostEntryWinsAndDirectoriesMerge) {
  file("bottom", "etc/passwd");
  file("mid", "etc/passwd");
  file("bottom", "etc/group");
  dir("top", "etc");
  auto v = view();
  auto passwd = v.lookup({"etc", "passwd"});
  ASSERT_EQ(passwd.state, LowerView::Entry::present);
  EXPECT_EQ(passwd.path, root_ / "mid/etc/passwd");
  EXPECT_EQ(v.lookup({"etc", "group"}).path, root_ / "bottom/etc/group");
  auto etc = v.lookup({"etc"});
  EXPECT_TRUE(S_ISDIR(etc.st.st_mode));
  EXPECT_EQ(etc.path, root_ / "top/etc");
  EXPECT_EQ(v.lookup({"etc", "shadow"}).state, LowerView::Entry::absent);
  EXPECT_EQ(v.lookup({"nothing", "here"}).state, LowerView::Entry::absent);
}

TEST_F(LowerViewTest, AFileOnTheWayBlocks) {
  file("mid", "app");
  file("bottom", "app/inside");
  EXPECT_EQ(view().lookup({"app", "inside"}).state, LowerView::Entry::blocked);
  EXPECT_EQ(view().lookup({"app"}).state, LowerView::Entry::present);
}

TEST_F(LowerViewTest, ADirectoryAboveHidesAFileBelow) {
  dir("top", "app");
  file("mid", "app");
  file("bottom", "app/old");
  EXPECT_EQ(view().lookup({"app", "old"}).state, LowerView::Entry::absent);
}

TEST_F(LowerViewTest, WhiteoutsAndOpaqueDirectoriesHide) {
  if (::geteuid() != 0) GTEST_SKIP() << "whiteouts need root";
  file("bottom", "a/gone");
  file("bottom", "b/old");
  file("bottom", "c/kept");
  ASSERT_TRUE(whiteout("mid", "a/gone"));
  ASSERT_TRUE(opaque("mid", "b"));
  file("top", "b/new");
  dir("top", "c");
  auto v = view();
  EXPECT_EQ(v.lookup({"a", "gone"}).state, LowerView::Entry::absent);
  EXPECT_EQ(v.lookup({"b", "old"}).state, LowerView::Entry::absent);
  EXPECT_EQ(v.lookup({"b", "new"}).state, LowerView::Entry::present);
  EXPECT_EQ(v.lookup({"c", "kept"}).path, root_ / "bottom/c/kept");
}

}  // namespace

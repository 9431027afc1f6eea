// The store's file helpers: atomic writes leave the old file or the new one
// and nothing beside it, limits on reads, files published only when whole,
// sorted walks that do not follow symlinks, removals that stay inside.
#include "os/fs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

using namespace strata;
namespace fs = std::filesystem;

namespace {

struct Dir {
  fs::path path = fs::temp_directory_path() / ("strata-fs-" + std::to_string(::getpid()));
  Dir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  std::vector<std::string> names() const {
    auto n = os::list_dir(path);
    EXPECT_TRUE(n);
    std::sort(n->begin(), n->end());
    return *n;
  }
};

std::string contents(const fs::path& p) {
  auto r = os::read_file(p);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : "";
}

}  // namespace

TEST(Fs, AtomicWriteReplacesAndLeavesNothingBeside) {
  Dir d;
  ASSERT_TRUE(os::write_file_atomic(d.path / "f", "old"));
  ASSERT_TRUE(os::write_file_atomic(d.path / "f", "new contents"));
  EXPECT_EQ(contents(d.path / "f"), "new contents");
  EXPECT_EQ(d.names(), std::vector<std::string>{"f"});
  auto into_missing = os::write_file_atomic(d.path / "no" / "f", "x");
  ASSERT_FALSE(into_missing);
  EXPECT_NE(into_missing.error().message.find((d.path / "no").string()), std::string::npos)
      << into_missing.error().message;
}

TEST(Fs, ReadLimitIsAnErrorThatSaysSo) {
  Dir d;
  ASSERT_TRUE(os::write_file_atomic(d.path / "f", std::string(100, 'x')));
  EXPECT_TRUE(os::read_file(d.path / "f", 100));
  auto over = os::read_file(d.path / "f", 99);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("99"), std::string::npos) << over.error().message;
  auto endless = os::read_file("/dev/zero", 1 << 16);  // never ends without the limit
  EXPECT_FALSE(endless);
  auto missing = os::read_file(d.path / "absent");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("absent"), std::string::npos) << missing.error().message;
}

TEST(Fs, NewFileHasTheNameOnlyWhenPublished) {
  Dir d;
  ASSERT_TRUE(os::write_file_atomic(d.path / "dest", "old"));
  {
    auto f = os::NewFile::create(d.path / "dest");
    ASSERT_TRUE(f) << f.error().message;
    ASSERT_TRUE(os::write_all(f->fd(), "dropped", 7));
  }  // destroyed unpublished
  EXPECT_EQ(contents(d.path / "dest"), "old");
  EXPECT_EQ(d.names(), std::vector<std::string>{"dest"});
  auto f = os::NewFile::create(d.path / "dest");
  ASSERT_TRUE(f);
  ASSERT_TRUE(os::write_all(f->fd(), "whole", 5));
  EXPECT_EQ(contents(d.path / "dest"), "old");  // not yet
  ASSERT_TRUE(f->publish());
  EXPECT_EQ(contents(d.path / "dest"), "whole");
  EXPECT_EQ(d.names(), std::vector<std::string>{"dest"});
}

TEST(Fs, CopyThatFailsItsCheckLeavesTheTargetAlone) {
  Dir d;
  ASSERT_TRUE(os::write_file_atomic(d.path / "from", "payload"));
  ASSERT_TRUE(os::write_file_atomic(d.path / "to", "before"));
  std::string seen;
  auto refused = os::copy_file_atomic(
      d.path / "from", d.path / "to", [&](std::string_view s) { seen += s; },
      []() -> Result<void> { return fail(Errc::invalid_argument, "digest mismatch"); });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "digest mismatch");
  EXPECT_EQ(seen, "payload");
  EXPECT_EQ(contents(d.path / "to"), "before");
  EXPECT_EQ(d.names(), (std::vector<std::string>{"from", "to"}));
  auto copied = os::copy_file_atomic(d.path / "from", d.path / "to");
  ASSERT_TRUE(copied);
  EXPECT_EQ(*copied, 7u);
  EXPECT_EQ(contents(d.path / "to"), "payload");
}

TEST(Fs, WalkIsSortedParentsFirstAndDoesNotFollowLinks) {
  Dir d;
  Dir outside;
  outside.path += "-outside";
  fs::create_directories(outside.path / "inner");
  fs::create_directories(d.path / "b/c");
  fs::create_directories(d.path / "a");
  std::ofstream(d.path / "b/c/f") << "x";
  std::ofstream(d.path / "b/a") << "x";
  fs::create_directory_symlink(outside.path, d.path / "link");
  std::vector<std::string> seen;
  ASSERT_TRUE(os::walk_sorted(
      d.path, [&](const std::string& rel, const fs::path&, const struct stat& st) -> Result<void> {
        seen.push_back(rel + (S_ISLNK(st.st_mode) ? "@" : ""));
        return {};
      }));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "b/a", "b/c", "b/c/f", "link@"}));
  auto stopped = os::walk_sorted(
      d.path, [](const std::string& rel, const fs::path&, const struct stat&) -> Result<void> {
        if (rel == "b/a") return fail(Errc::invalid_argument, "stop at " + rel);
        return {};
      });
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().message, "stop at b/a");

  ASSERT_TRUE(os::remove_tree(d.path / "link"));
  EXPECT_TRUE(fs::exists(outside.path / "inner"));  // the link went, not what it points to
  ASSERT_TRUE(os::remove_tree(d.path / "b"));
  EXPECT_TRUE(os::remove_tree(d.path / "absent"));
  EXPECT_EQ(d.names(), std::vector<std::string>{"a"});
  fs::remove_all(outside.path);
}

TEST(Fs, TempDirsAreUniqueNamedByOwnerAndRemoved) {
  Dir d;
  fs::path kept;
  {
    auto a = os::TempDir::create(d.path, "work-");
    auto b = os::TempDir::create(d.path, "work-");
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->path(), b->path());
    EXPECT_TRUE(
        a->path().filename().string().starts_with("work-" + std::to_string(::getpid()) + "-"));
    std::ofstream(a->path() / "x") << "x";
    fs::create_directories(b->path() / "deep/er");
    kept = b->path();
    b->release();
  }
  EXPECT_EQ(d.names(), std::vector<std::string>{kept.filename().string()});
}

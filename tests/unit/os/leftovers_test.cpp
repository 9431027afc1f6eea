#include "os/leftovers.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "os/fs.hpp"

using namespace strata;
namespace fs = std::filesystem;

namespace {

// The id of a process that has ended (and been waited for).
pid_t gone_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

struct Dir {
  fs::path path = fs::temp_directory_path() / ("strata-leftovers-" + std::to_string(::getpid()));
  Dir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
};

}  // namespace

TEST(Leftovers, OwnersAreReadFromNames) {
  EXPECT_EQ(os::owner_of("rootfs-123-abcdef"), 123);
  EXPECT_EQ(os::owner_of("cache-private-77-0a1b"), 77);
  EXPECT_EQ(os::owner_of("fetch-42-3"), 42);
  EXPECT_EQ(os::owner_of("strata-9-0"), 9);
  EXPECT_EQ(os::owner_of("x-12"), 12);
  EXPECT_FALSE(os::owner_of("other-command"));
  EXPECT_FALSE(os::owner_of("rootfs-12a-x"));
  EXPECT_FALSE(os::owner_of("plain"));
}

TEST(Leftovers, OnlyTheEntriesOfProcessesThatAreGoneAreRemoved) {
  Dir d;
  pid_t gone = gone_pid();
  EXPECT_FALSE(os::process_alive(gone));
  EXPECT_TRUE(os::process_alive(::getpid()));
  EXPECT_TRUE(os::process_alive(1));
  fs::create_directories(d.path / fmt::format("rootfs-{}-aa/upper/x", gone));
  std::ofstream(d.path / fmt::format("load-{}-bb", gone)) << "x";
  fs::create_directories(d.path / "rootfs-1-cc");                         // alive: pid 1
  fs::create_directories(d.path / fmt::format("run-{}-dd", ::getpid()));  // ours
  fs::create_directories(d.path / "other-command");                       // no owner
  EXPECT_EQ(os::remove_leftovers(d.path), 2u);
  EXPECT_FALSE(fs::exists(d.path / fmt::format("rootfs-{}-aa", gone)));
  EXPECT_FALSE(fs::exists(d.path / fmt::format("load-{}-bb", gone)));
  EXPECT_TRUE(fs::exists(d.path / "rootfs-1-cc"));
  EXPECT_TRUE(fs::exists(d.path / fmt::format("run-{}-dd", ::getpid())));
  EXPECT_TRUE(fs::exists(d.path / "other-command"));
  // With an owner named, its entries go whether it lives or not.
  EXPECT_EQ(os::remove_leftovers(d.path, 1), 1u);
  EXPECT_FALSE(fs::exists(d.path / "rootfs-1-cc"));
}

TEST(Leftovers, ANewFileHasItsNameOnlyWhenWhole) {
  Dir d;
  fs::path dest = d.path / "out.tar";
  pid_t gone = gone_pid();
  std::ofstream(d.path / fmt::format("out.tar.tmp-{}", gone)) << "torn";  // a killed writer's
  std::ofstream(dest) << "old";
  {
    auto f = os::NewFile::create(dest);
    ASSERT_TRUE(f);
    EXPECT_FALSE(fs::exists(d.path / fmt::format("out.tar.tmp-{}", gone)));
    ASSERT_TRUE(os::write_all(f->fd(), "new", 3));
    size_t names = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(d.path)) ++names;
    EXPECT_EQ(names, 1u);  // only the old dest: the new file has no name yet
    ASSERT_TRUE(f->publish());
  }
  EXPECT_EQ(*os::read_file(dest), "new");
  {
    auto f = os::NewFile::create(dest);
    ASSERT_TRUE(f);
    ASSERT_TRUE(os::write_all(f->fd(), "dropped", 7));
  }  // not published: dropped
  EXPECT_EQ(*os::read_file(dest), "new");
  size_t names = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d.path)) ++names;
  EXPECT_EQ(names, 1u);
}

#include "mounts/cache_mount.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

using namespace strata;
namespace fs = std::filesystem;

namespace {
struct TempStore {
  fs::path path = fs::temp_directory_path() / ("strata-mount-test-" + std::to_string(::getpid()));
  std::optional<store::Store> store;
  TempStore() {
    fs::remove_all(path);
    auto s = store::Store::open(path);
    EXPECT_TRUE(s) << s.error().message;
    store.emplace(std::move(*s));
  }
  ~TempStore() {
    store.reset();
    fs::remove_all(path);
  }
};

mounts::CacheMountOptions opts(mounts::Sharing sharing, std::function<void()> on_wait = {}) {
  mounts::CacheMountOptions o;
  o.id = "deps";
  o.sharing = sharing;
  o.on_wait = std::move(on_wait);
  return o;
}
}  // namespace

// flock locks of two open files conflict within one process too, so a second
// user here behaves as a second strata process would. on_wait runs before
// the second user blocks; releasing the first user there lets it through.
TEST(CacheMount, ALockedUserWaitsAndSaysSo) {
  TempStore t;
  auto taken = mounts::CacheMount::acquire(*t.store, opts(mounts::Sharing::locked));
  ASSERT_TRUE(taken) << taken.error().message;
  std::optional<mounts::CacheMount> first(std::move(*taken));
  int waits = 0;
  auto second = mounts::CacheMount::acquire(*t.store, opts(mounts::Sharing::locked, [&] {
    ++waits;
    first.reset();
  }));
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(waits, 1);
  EXPECT_FALSE(first);
}

TEST(CacheMount, SharedUsersDoNotWait) {
  TempStore t;
  auto first = mounts::CacheMount::acquire(*t.store, opts(mounts::Sharing::shared));
  ASSERT_TRUE(first);
  int waits = 0;
  auto second =
      mounts::CacheMount::acquire(*t.store, opts(mounts::Sharing::shared, [&] { ++waits; }));
  ASSERT_TRUE(second);
  EXPECT_EQ(waits, 0);
  EXPECT_EQ(first->path(), second->path());
}

TEST(CacheMount, APrivateUserGetsItsOwnDirectoryWhenTheMountIsTaken) {
  TempStore t;
  auto first = mounts::CacheMount::acquire(*t.store, opts(mounts::Sharing::shared));
  ASSERT_TRUE(first);
  std::ofstream(first->path() / "kept") << "x";
  fs::path own;
  {
    auto second = mounts::CacheMount::acquire(*t.store, opts(mounts::Sharing::private_));
    ASSERT_TRUE(second);
    own = second->path();
    EXPECT_NE(own, first->path());
    EXPECT_FALSE(fs::exists(own / "kept"));  // empty, not a copy
  }
  EXPECT_FALSE(fs::exists(own));  // thrown away afterwards
  EXPECT_TRUE(fs::exists(first->path() / "kept"));
}

TEST(CacheMount, FreshUsesLeaveTheKeptDirectoryAlone) {
  TempStore t;
  {
    auto m = mounts::CacheMount::acquire(*t.store, opts(mounts::Sharing::shared));
    ASSERT_TRUE(m);
    std::ofstream(m->path() / "kept") << "x";
  }
  auto o = opts(mounts::Sharing::shared);
  o.fresh = true;
  fs::path fresh;
  {
    auto m = mounts::CacheMount::acquire(*t.store, o);
    ASSERT_TRUE(m);
    fresh = m->path();
    EXPECT_FALSE(fs::exists(fresh / "kept"));
    std::ofstream(fresh / "new") << "y";
  }
  EXPECT_FALSE(fs::exists(fresh));
  auto again = mounts::CacheMount::acquire(*t.store, opts(mounts::Sharing::shared));
  ASSERT_TRUE(again);
  EXPECT_TRUE(fs::exists(again->path() / "kept"));
  EXPECT_FALSE(fs::exists(again->path() / "new"));
}

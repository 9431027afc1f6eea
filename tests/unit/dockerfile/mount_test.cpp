#include "dockerfile/mount.hpp"

#include <gtest/gtest.h>

using namespace strata::dockerfile;

namespace {
Mount mount(std::string_view spec) {
  auto f = parse_mount_fields(spec);
  EXPECT_TRUE(f) << spec << ": " << (f ? "" : f.error().message);
  auto m = resolve_mount(*f, [](std::string_view w) -> strata::Result<std::string> {
    std::string s(w);
    if (s == "$T") return std::string("/expanded");
    return s;
  });
  EXPECT_TRUE(m) << spec << ": " << (m ? "" : m.error().message);
  return m ? *m : Mount{};
}

std::string error_of(std::string_view spec) {
  auto f = parse_mount_fields(spec);
  if (!f) return f.error().message;
  auto m = resolve_mount(
      *f, [](std::string_view w) -> strata::Result<std::string> { return std::string(w); });
  return m ? "" : m.error().message;
}
}  // namespace

TEST(Mount, CacheDefaults) {
  auto m = mount("type=cache,target=/root/.cache");
  EXPECT_EQ(m.type, MountType::cache);
  EXPECT_EQ(m.id, "/root/.cache");
  EXPECT_EQ(m.sharing, Sharing::shared);
  EXPECT_FALSE(m.readonly);
  EXPECT_EQ(m.mode, 0755u);
}

TEST(Mount, BindDefaultsToReadOnlyAndRwFlips) {
  EXPECT_TRUE(mount("target=/src").readonly);
  EXPECT_FALSE(mount("type=bind,target=/src,rw").readonly);
  EXPECT_FALSE(mount("type=bind,target=/src,readonly=false").readonly);
}

TEST(Mount, SecretDefaultsAndEnv) {
  auto m = mount("type=secret,id=tok");
  EXPECT_EQ(m.target, "/run/secrets/tok");
  EXPECT_EQ(m.mode, 0400u);
  auto e = mount("type=secret,id=tok,env=TOKEN");
  EXPECT_EQ(e.target, "");
  EXPECT_EQ(e.env, "TOKEN");
  auto t = mount("type=secret,target=/root/.netrc");
  EXPECT_EQ(t.id, ".netrc");
}

TEST(Mount, TypedValuesAndExpansion) {
  auto m = mount("type=tmpfs,target=$T,size=1g");
  EXPECT_EQ(m.target, "/expanded");
  EXPECT_EQ(m.size, 1ull << 30);
  auto c = mount("type=cache,target=/c,uid=1000,gid=1001,mode=0700,sharing=LOCKED");
  EXPECT_EQ(c.uid, 1000u);
  EXPECT_EQ(c.gid, 1001u);
  EXPECT_EQ(c.mode, 0700u);
  EXPECT_EQ(c.sharing, Sharing::locked);
  auto q = mount("type=bind,\"target=/a,b\"");
  EXPECT_EQ(q.target, "/a,b");
}

TEST(Mount, Errors) {
  EXPECT_NE(error_of("type=cache,traget=/x").find("did you mean target?"), std::string::npos);
  EXPECT_NE(error_of("type=volume,target=/x").find("unsupported mount type"), std::string::npos);
  EXPECT_NE(error_of("type=bind,target=/x,sharing=locked").find("invalid cache sharing"),
            std::string::npos);
  EXPECT_NE(error_of("type=cache,target=/x,size=1m").find("unexpected key 'size'"),
            std::string::npos);
  EXPECT_NE(error_of("type=cache,target=/x,mode=999").find("invalid value 999 for mode"),
            std::string::npos);
  EXPECT_NE(error_of("type=cache").find("requires a target"), std::string::npos);
  EXPECT_NE(error_of("type=secret,from=x,id=a").find("should not have a from"), std::string::npos);
  EXPECT_NE(error_of("type=bind,from=$STAGE,target=/x").find("variable expansion"),
            std::string::npos);
}

TEST(Mount, RamSizes) {
  EXPECT_EQ(parse_ram_size("64m"), 64ull << 20);
  EXPECT_EQ(parse_ram_size("512KiB"), 512ull << 10);
  EXPECT_EQ(parse_ram_size("100"), 100u);
  EXPECT_FALSE(parse_ram_size("lots"));
}

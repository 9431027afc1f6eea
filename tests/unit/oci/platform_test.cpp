// Which entry of an index serves a platform, and platforms read from an
// index entry or a config.
#include "oci/platform.hpp"

#include <gtest/gtest.h>

namespace strata::oci {
namespace {

Descriptor entry(char fill, const char* os, const char* arch, const char* variant = nullptr) {
  Descriptor d{kManifest, "sha256:" + std::string(64, fill), 100, {}, {}};
  nlohmann::json p = {{"os", os}, {"architecture", arch}};
  if (variant) p["variant"] = variant;
  d.platform = p;
  return d;
}

TEST(Platform, AnIndexEntryServesItsPlatform) {
  Index index;
  index.manifests = {entry('a', "linux", "arm64", "v8"), entry('b', "linux", "amd64"),
                     entry('c', "unknown", "unknown"), entry('d', "linux", "arm", "v6"),
                     entry('e', "linux", "arm", "v7")};
  EXPECT_EQ(pick_platform(index, {"linux", "amd64", ""})->digest[7], 'b');
  EXPECT_EQ(pick_platform(index, {"linux", "arm64", ""})->digest[7], 'a');  // v8 is arm64's
  EXPECT_EQ(pick_platform(index, {"linux", "arm", "v7"})->digest[7], 'e');  // the exact variant
  auto none = pick_platform(index, {"linux", "s390x", ""});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_NE(none.error().message.find("no linux/s390x variant (it has: linux/arm64/v8, "
                                      "linux/amd64, unknown/unknown, linux/arm/v6, linux/arm/v7)"),
            std::string::npos)
      << none.error().message;
  EXPECT_FALSE(pick_platform(Index{}, {"linux", "amd64", ""}));
}

TEST(Platform, VariantsAndConfigs) {
  EXPECT_TRUE(serves({"linux", "arm64", ""}, {"linux", "arm64", "v8"}));
  EXPECT_FALSE(serves({"linux", "arm", "v6"}, {"linux", "arm", "v7"}));
  EXPECT_TRUE(serves({"linux", "arm", ""}, {"linux", "arm", "v7"}));
  EXPECT_FALSE(serves({"linux", "amd64", ""}, {"windows", "amd64", ""}));
  auto p = platform_of({{"os", "Linux"}, {"architecture", "ARM64"}, {"rootfs", {}}});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->str(), "linux/arm64");
  EXPECT_FALSE(platform_of({{"architecture", "amd64"}}));
  EXPECT_FALSE(platform_of(nlohmann::json::array()));
}

}  // namespace
}  // namespace strata::oci

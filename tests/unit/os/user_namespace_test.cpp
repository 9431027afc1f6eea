// The id maps a user namespace has and the subordinate ranges of
// /etc/subuid: parsed as the kernel and shadow's tools write them.
#include "os/user_namespace.hpp"

#include <gtest/gtest.h>

namespace strata::os {
namespace {

TEST(IdMap, LinesAsTheKernelWritesThem) {
  auto host = parse_id_map("         0          0 4294967295\n");
  ASSERT_TRUE(host);
  ASSERT_EQ(host->size(), 1u);
  EXPECT_EQ((*host)[0].count, 4294967295u);
  auto mine = parse_id_map("         0       1001          1\n         1     100000      65536\n");
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[1].inside, 1u);
  EXPECT_EQ((*mine)[1].outside, 100000u);
  EXPECT_EQ((*mine)[1].count, 65536u);
  EXPECT_FALSE(parse_id_map("0 x 1\n"));
}

TEST(SubidRange, ByNameOrUidFirstRangeWins) {
  std::string file = "# ranges\nalice:100000:65536\nbob:165536:65536\n1003:231072:1000\nbob:9:9\n";
  auto bob = find_subid_range(file, "bob", 1002);
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->start, 165536u);
  EXPECT_EQ(bob->count, 65536u);
  auto by_uid = find_subid_range(file, "carol", 1003);
  ASSERT_TRUE(by_uid);
  EXPECT_EQ(by_uid->start, 231072u);
  EXPECT_FALSE(find_subid_range(file, "dave", 1004));
  EXPECT_FALSE(find_subid_range("eve:1:0\neve:x:5\neve\n", "eve", 1005));  // empty or broken
}

}  // namespace
}  // namespace strata::os

// What a host must give a user for strata without root, each missing piece
// an error that says what to change.
#include "exec/rootless.hpp"

#include <gtest/gtest.h>

namespace strata::exec {
namespace {

RootlessHost good_host() {
  RootlessHost h;
  h.user = "ci";
  h.uid = 1001;
  h.gid = 1001;
  h.subuid = "ci:100000:65536\n";
  h.subgid = "ci:200000:65536\n";
  h.newuidmap = "/usr/bin/newuidmap";
  h.newgidmap = "/usr/bin/newgidmap";
  h.newuidmap_setuid = h.newgidmap_setuid = true;
  h.max_user_namespaces = 15000;
  return h;
}

std::string error_of(const RootlessHost& h) {
  auto r = check_rootless(h);
  return r ? "" : r.error().message;
}

TEST(Rootless, AHostWithEveryPieceGivesTheRanges) {
  auto maps = check_rootless(good_host());
  ASSERT_TRUE(maps) << maps.error().message;
  EXPECT_EQ(maps->uids.start, 100000u);
  EXPECT_EQ(maps->gids.start, 200000u);
  EXPECT_EQ(maps->gids.count, 65536u);
}

TEST(Rootless, EachMissingPieceSaysWhatToChange) {
  auto h = good_host();
  h.subuid = "other:100000:65536\n";
  EXPECT_NE(error_of(h).find("/etc/subuid gives ci no range"), std::string::npos) << error_of(h);
  EXPECT_NE(error_of(h).find("usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ci"),
            std::string::npos);
  h = good_host();
  h.subgid.reset();
  EXPECT_NE(error_of(h).find("/etc/subgid gives ci no range"), std::string::npos) << error_of(h);
  h = good_host();
  h.newuidmap.clear();
  EXPECT_NE(error_of(h).find("newuidmap is not installed"), std::string::npos) << error_of(h);
  EXPECT_NE(error_of(h).find("apt-get install uidmap"), std::string::npos);
  h = good_host();
  h.newgidmap_setuid = false;
  EXPECT_NE(error_of(h).find("chmod u+s /usr/bin/newgidmap"), std::string::npos) << error_of(h);
  h = good_host();
  h.max_user_namespaces = 0;
  EXPECT_NE(error_of(h).find("sysctl -w user.max_user_namespaces="), std::string::npos)
      << error_of(h);
  h = good_host();
  h.unprivileged_userns_clone = 0;
  EXPECT_NE(error_of(h).find("sysctl -w kernel.unprivileged_userns_clone=1"), std::string::npos)
      << error_of(h);
}

}  // namespace
}  // namespace strata::exec

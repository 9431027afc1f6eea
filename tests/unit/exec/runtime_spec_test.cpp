// The runtime-spec config.json strata generates for a container: default
// confinement, an insecure step's privileges, /dev/shm and ulimits.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>

#include "exec/runtime.hpp"

namespace strata::exec {
namespace {

using nlohmann::json;

json config(const ContainerSpec& s) {
  return runtime_config(s, "/tmp/hosts");
}

const json& find_mount(const json& cfg, const std::string& dest) {
  for (const auto& m : cfg["mounts"])
    if (m["destination"] == dest) return m;
  static const json none;
  return none;
}

bool has(const json& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

TEST(RuntimeSpec, DefaultIsConfined) {
  ContainerSpec s;
  s.rootfs = "/r";
  s.args = {"true"};
  json cfg = config(s);
  const json& caps = cfg["process"]["capabilities"]["bounding"];
  EXPECT_EQ(caps.size(), 14u);  // docker's default set
  EXPECT_TRUE(has(caps, "CAP_CHOWN"));
  EXPECT_FALSE(has(caps, "CAP_SYS_ADMIN"));
  EXPECT_TRUE(cfg["linux"].contains("seccomp"));
  EXPECT_FALSE(cfg["linux"]["maskedPaths"].empty());
  EXPECT_FALSE(cfg["linux"].contains("devices"));
  EXPECT_TRUE(has(find_mount(cfg, "/sys")["options"], "ro"));
  EXPECT_TRUE(has(find_mount(cfg, "/dev/shm")["options"], "size=65536k"));
  // The device cgroup denies everything first.
  EXPECT_EQ(cfg["linux"]["resources"]["devices"][0]["allow"], false);
}

TEST(RuntimeSpec, InsecureGetsOurCapabilitiesAndTheHostsDevices) {
  ContainerSpec s;
  s.insecure = true;
  json cfg = config(s);
  const json& caps = cfg["process"]["capabilities"]["bounding"];
  EXPECT_GT(caps.size(), 14u);
  EXPECT_TRUE(has(caps, "CAP_SYS_ADMIN"));  // the test runs as root
  EXPECT_FALSE(cfg["linux"].contains("seccomp"));
  EXPECT_FALSE(cfg["linux"].contains("maskedPaths"));
  EXPECT_TRUE(has(find_mount(cfg, "/sys")["options"], "rw"));
  const json& rules = cfg["linux"]["resources"]["devices"];
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0]["allow"], true);
  bool null_dev = false;
  for (const auto& d : cfg["linux"]["devices"]) {
    EXPECT_NE(d["path"], "/dev/console");
    null_dev = null_dev || d["path"] == "/dev/null";
  }
  EXPECT_TRUE(null_dev);
}

TEST(RuntimeSpec, ExtraHostsAsBuildxTakesThem) {
  auto v4 = parse_extra_host("db:127.0.0.2");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->name, "db");
  EXPECT_EQ(v4->ip, "127.0.0.2");
  auto eq = parse_extra_host("cache=::1");
  ASSERT_TRUE(eq);
  EXPECT_EQ(eq->name, "cache");
  EXPECT_EQ(eq->ip, "::1");
  auto v6 = parse_extra_host("six:[::1]");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->ip, "::1");
  EXPECT_FALSE(parse_extra_host("db"));
  EXPECT_FALSE(parse_extra_host("db:not-an-ip"));
  EXPECT_FALSE(parse_extra_host(":127.0.0.1"));
  auto gateway = parse_extra_host("host.docker.internal:host-gateway");
  ASSERT_FALSE(gateway);
  EXPECT_NE(gateway.error().message.find("host.docker.internal:127.0.0.1"), std::string::npos);
}

TEST(RuntimeSpec, ShmSizeAndUlimits) {
  ContainerSpec s;
  s.shm_size = 128ull << 20;
  s.ulimits = {{"nofile", 1062, 1062}, {"nproc", 10, 20}};
  json cfg = config(s);
  EXPECT_TRUE(has(find_mount(cfg, "/dev/shm")["options"], "size=131072k"));
  const json& limits = cfg["process"]["rlimits"];
  ASSERT_EQ(limits.size(), 2u);  // nofile given: not our own as well
  EXPECT_EQ(limits[0]["type"], "RLIMIT_NOFILE");
  EXPECT_EQ(limits[0]["soft"], 1062);
  EXPECT_EQ(limits[1]["type"], "RLIMIT_NPROC");
  EXPECT_EQ(limits[1]["hard"], 20);
}

TEST(RuntimeSpec, OwnOpenFilesLimitWithoutANofileUlimit) {
  struct rlimit rl {};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  json limits = config(ContainerSpec{})["process"]["rlimits"];
  ASSERT_EQ(limits.size(), 1u);
  EXPECT_EQ(limits[0]["soft"], rl.rlim_cur);
}

TEST(ParseUlimit, DockerSyntax) {
  auto u = parse_ulimit("nofile=1024:2048");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->name, "nofile");
  EXPECT_EQ(u->soft, 1024u);
  EXPECT_EQ(u->hard, 2048u);
  auto one = parse_ulimit("nproc=50");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->soft, 50u);
  EXPECT_EQ(one->hard, 50u);
  auto unlimited = parse_ulimit("memlock=-1:-1");
  ASSERT_TRUE(unlimited);
  EXPECT_EQ(unlimited->hard, RLIM_INFINITY);
}

TEST(ParseUlimit, Errors) {
  EXPECT_FALSE(parse_ulimit("nofile"));
  EXPECT_NE(parse_ulimit("files=1").error().message.find("unknown resource \"files\""),
            std::string::npos);
  EXPECT_NE(parse_ulimit("nofile=20:10").error().message.find("soft limit is above"),
            std::string::npos);
  EXPECT_FALSE(parse_ulimit("nofile=x"));
  EXPECT_FALSE(parse_ulimit("nofile=1:"));
}

}  // namespace
}  // namespace strata::exec

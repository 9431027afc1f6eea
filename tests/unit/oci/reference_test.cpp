// Image references as docker reads them: Docker Hub short names, hosts,
// ports, tags and digests, and what docker rejects.
#include "oci/reference.hpp"

#include <gtest/gtest.h>

namespace strata::oci {
namespace {

TEST(Reference, DockerHubShortNames) {
  auto r = parse_reference("busybox");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->registry, "docker.io");
  EXPECT_EQ(r->repository, "library/busybox");
  EXPECT_EQ(r->tag, "latest");
  EXPECT_EQ(r->api_host(), "registry-1.docker.io");
  EXPECT_EQ(parse_reference("team/app:1.2")->repository, "team/app");
  EXPECT_EQ(parse_reference("docker.io/busybox")->repository, "library/busybox");
  EXPECT_EQ(parse_reference("index.docker.io/library/busybox")->registry, "docker.io");
}

TEST(Reference, HostsPortsTagsAndDigests) {
  std::string digest = "sha256:" + std::string(64, 'a');
  auto r = parse_reference("127.0.0.1:5000/ci/app:pr-7@" + digest);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->registry, "127.0.0.1:5000");
  EXPECT_EQ(r->repository, "ci/app");
  EXPECT_EQ(r->tag, "pr-7");
  EXPECT_EQ(r->digest, digest);
  EXPECT_EQ(r->manifest_ref(), digest);
  EXPECT_EQ(r->str(), "127.0.0.1:5000/ci/app:pr-7@" + digest);
  auto local = parse_reference("localhost/app");
  EXPECT_EQ(local->registry, "localhost");
  EXPECT_EQ(local->repository, "app");  // no library/ outside Docker Hub
  EXPECT_EQ(parse_reference("ghcr.io/o/r")->registry, "ghcr.io");
  EXPECT_EQ(parse_reference("[::1]:5000/app:1")->registry, "[::1]:5000");
  EXPECT_EQ(parse_reference("registry:5000/app")->tag, "latest");
}

TEST(Reference, RejectsWhatDockerRejects) {
  for (const char* bad :
       {"", "App", "app:", "app:-x", "app@sha256:abc", "a//b", "/app", "app/", "host:5000/",
        "app@md5:"
        "0123456789abcdef0123456789abcdef"}) {
    auto r = parse_reference(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().message.find("expected [HOST[:PORT]/]NAME"), std::string::npos);
    }
  }
}

TEST(Reference, NamesRegistry) {
  EXPECT_TRUE(names_registry("127.0.0.1:5000/app"));
  EXPECT_TRUE(names_registry("localhost/app"));
  EXPECT_TRUE(names_registry("ghcr.io/a/b:1"));
  EXPECT_FALSE(names_registry("app:1"));
  EXPECT_FALSE(names_registry("team/app"));
}

}  // namespace
}  // namespace strata::oci

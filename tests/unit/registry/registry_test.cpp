// Registry client pieces that need no server: which registries get plain
// http, WWW-Authenticate challenges and the docker config's credentials.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "os/fs.hpp"
#include "registry/client.hpp"
#include "registry/credentials.hpp"

namespace strata::registry {
namespace {

TEST(PlainHttp, ForLoopbackAndListedHosts) {
  EXPECT_TRUE(plain_http("127.0.0.1:5000", ""));
  EXPECT_TRUE(plain_http("localhost:5000", ""));
  EXPECT_TRUE(plain_http("[::1]:5000", ""));
  EXPECT_FALSE(plain_http("registry.example.com", ""));
  EXPECT_TRUE(plain_http("registry.example.com:5000", "other, registry.example.com:5000"));
  EXPECT_TRUE(plain_http("registry.example.com:5000", "registry.example.com"));
  EXPECT_TRUE(plain_http("127.0.0.2:5000", ""));
  EXPECT_FALSE(plain_http("127.example.com:5000", ""));  // a name, not a loopback address
  EXPECT_FALSE(plain_http("evil127.0.0.1.example.com", ""));
}

TEST(Challenge, ParsesBearerAndBasic) {
  auto c = parse_challenge(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push")");
  EXPECT_EQ(c.scheme, "bearer");
  EXPECT_EQ(c.params["realm"], "https://auth.example.com/token");
  EXPECT_EQ(c.params["service"], "registry.example.com");
  EXPECT_EQ(c.params["scope"], "repository:a/b:pull,push");
  auto b = parse_challenge(R"(Basic realm="a \"quoted\" realm")");
  EXPECT_EQ(b.scheme, "basic");
  EXPECT_EQ(b.params["realm"], "a \"quoted\" realm");
  auto unquoted = parse_challenge("Bearer realm=http://127.0.0.1:1/token, service=x");
  EXPECT_EQ(unquoted.params["realm"], "http://127.0.0.1:1/token");
  EXPECT_EQ(unquoted.params["service"], "x");
}

class Credentials : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = os::make_temp_dir("/tmp", "strata-cred-");
    ASSERT_TRUE(d);
    dir_ = *d;
    ::setenv("DOCKER_CONFIG", dir_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("DOCKER_CONFIG");
    (void)os::remove_tree(dir_);
  }
  std::filesystem::path dir_;
};

TEST_F(Credentials, StoredReadAndRemovedKeepingOtherFields) {
  ASSERT_TRUE(os::write_file_atomic(
      dir_ / "config.json",
      R"({"auths":{"https://index.docker.io/v1/":{"auth":"aHViOnB3"}},"psFormat":"x"})"));
  auto hub = find_credentials("docker.io");
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->username, "hub");
  EXPECT_EQ(hub->password, "pw");
  ASSERT_TRUE(store_credentials("127.0.0.1:5000", registry::Credentials{"ci", "p:a:ss"}));
  auto ci = find_credentials("127.0.0.1:5000");
  ASSERT_TRUE(ci);
  EXPECT_EQ(ci->username, "ci");
  EXPECT_EQ(ci->password, "p:a:ss");  // only the first colon separates
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "config.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(store_credentials("127.0.0.1:5000", std::nullopt));
  EXPECT_FALSE(find_credentials("127.0.0.1:5000"));
  auto text = os::read_file(dir_ / "config.json");
  ASSERT_TRUE(text);
  auto j = nlohmann::json::parse(*text);
  EXPECT_EQ(j["psFormat"], "x");
  EXPECT_TRUE(find_credentials("docker.io"));
  EXPECT_FALSE(find_credentials("ghcr.io"));
}

TEST_F(Credentials, FromCredentialHelpers) {
  // A helper as docker runs it: the server on stdin, JSON on stdout.
  ASSERT_TRUE(
      os::write_file_atomic(dir_ / "docker-credential-fake",
                            "#!/bin/sh\n"
                            "read -r server\n"
                            "[ \"$1\" = get ] || exit 1\n"
                            "case \"$server\" in\n"
                            "  127.0.0.1:5000) echo '{\"Username\":\"u1\",\"Secret\":\"s1\"}' ;;\n"
                            "  ghcr.io) echo '{\"Username\":\"u2\",\"Secret\":\"s2\"}' ;;\n"
                            "  *) echo 'credentials not found'; exit 1 ;;\n"
                            "esac\n"));
  ASSERT_EQ(::chmod((dir_ / "docker-credential-fake").c_str(), 0755), 0);
  std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", (dir_.string() + ":" + old_path).c_str(), 1);
  ASSERT_TRUE(os::write_file_atomic(
      dir_ / "config.json",
      R"({"credHelpers":{"127.0.0.1:5000":"fake"},"auths":{"quay.io":{"auth":"cTpx"}},"credsStore":"fake"})"));
  auto helped = find_credentials("127.0.0.1:5000");
  ASSERT_TRUE(helped);
  EXPECT_EQ(helped->username, "u1");
  EXPECT_EQ(helped->password, "s1");
  auto stored = find_credentials("ghcr.io");  // the default helper
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->password, "s2");
  EXPECT_EQ(find_credentials("quay.io")->username, "q");  // auths before the default helper
  EXPECT_FALSE(find_credentials("other.example.com"));    // the helper has none
  ASSERT_TRUE(os::write_file_atomic(dir_ / "config.json", R"({"credsStore":"no such; rm -rf /"})"));
  EXPECT_FALSE(find_credentials("ghcr.io"));  // a helper name that is no name is not run
  ::setenv("PATH", old_path.c_str(), 1);
}

}  // namespace
}  // namespace strata::registry

#include "mounts/ssh_agent.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

using namespace strata;
namespace fs = std::filesystem;

namespace {

int unix_socket(const fs::path& p, bool listen_on) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, p.c_str());
  auto* a = reinterpret_cast<sockaddr*>(&addr);
  if (listen_on ? ::bind(fd, a, sizeof addr) != 0 || ::listen(fd, 4) != 0
                : ::connect(fd, a, sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

TEST(AgentProxy, RelaysToTheAgentThroughASocketWithTheMountsModeAndOwner) {
  fs::path dir = fs::temp_directory_path() / ("strata-agent-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  // The agent: answers each request with "re:" and what it got.
  int agent = unix_socket(dir / "agent", true);
  ASSERT_GE(agent, 0);
  std::thread server([agent] {
    for (int i = 0; i < 2; ++i) {
      int c = ::accept(agent, nullptr, nullptr);
      if (c < 0) return;
      char buf[64];
      ssize_t n = ::read(c, buf, sizeof buf);
      std::string reply = "re:" + std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
      (void)!::write(c, reply.data(), reply.size());
      ::close(c);
    }
  });
  {
    auto proxy = mounts::AgentProxy::start(dir / "agent", dir / "step.sock", 0741, 100, 102);
    ASSERT_TRUE(proxy) << proxy.error().message;
    struct stat st {};
    ASSERT_EQ(::stat((dir / "step.sock").c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0741u);
    EXPECT_EQ(st.st_uid, 100u);
    EXPECT_EQ(st.st_gid, 102u);
    for (const char* msg : {"one", "two"}) {  // each connection is relayed
      int c = unix_socket(dir / "step.sock", false);
      ASSERT_GE(c, 0);
      ASSERT_EQ(::write(c, msg, std::strlen(msg)), static_cast<ssize_t>(std::strlen(msg)));
      char buf[64];
      ssize_t n = ::read(c, buf, sizeof buf);
      EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), std::string("re:") + msg);
      ::close(c);
    }
  }  // the proxy stops here
  server.join();
  ::close(agent);
  fs::remove_all(dir);
}

#include "mounts/ssh_agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "os/fs.hpp"

namespace fs = std::filesystem;

namespace strata::mounts {

namespace {

Result<sockaddr_un> address_of(const fs::path& p) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (p.native().size() >= sizeof addr.sun_path)
    return fail(Errc::invalid_argument, "socket path too long: " + p.string());
  std::memcpy(addr.sun_path, p.c_str(), p.native().size() + 1);
  return addr;
}

// One relayed connection: the step's end and the agent's end.
struct Pair {
  os::UniqueFd client, agent;
};

// Moves what `from` has to `to`; false when either side is done.
bool relay(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    off += w;
  }
  return true;
}

}  // namespace

struct AgentProxy::State {
  fs::path agent;
  os::UniqueFd listener;
  os::UniqueFd stop_read, stop_write;
  std::thread thread;

  void serve() {
    std::vector<Pair> pairs;
    for (;;) {
      std::vector<pollfd> fds{{stop_read.get(), POLLIN, 0}, {listener.get(), POLLIN, 0}};
      for (const auto& p : pairs) {
        fds.push_back({p.client.get(), POLLIN, 0});
        fds.push_back({p.agent.get(), POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents) return;
      size_t polled = pairs.size();
      if (fds[1].revents & POLLIN) {
        os::UniqueFd client(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
        os::UniqueFd upstream(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        auto addr = address_of(agent);
        if (client && upstream && addr &&
            ::connect(upstream.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0)
          pairs.push_back({std::move(client), std::move(upstream)});
      }
      std::vector<Pair> open;
      for (size_t i = 0; i < pairs.size(); ++i) {
        bool alive = true;
        if (i < polled) {  // a pair accepted just now waits for the next poll
          if (fds[2 + 2 * i].revents) alive = relay(pairs[i].client.get(), pairs[i].agent.get());
          if (alive && fds[3 + 2 * i].revents)
            alive = relay(pairs[i].agent.get(), pairs[i].client.get());
        }
        if (alive) open.push_back(std::move(pairs[i]));
      }
      pairs = std::move(open);
    }
  }
};

Result<AgentProxy> AgentProxy::start(const fs::path& agent, const fs::path& socket_path,
                                     uint32_t mode, uint32_t uid, uint32_t gid) {
  auto addr = address_of(socket_path);
  if (!addr) return std::unexpected(addr.error());
  auto state = std::make_unique<State>();
  state->agent = agent;
  state->listener = os::UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!state->listener) return std::unexpected(os::errno_error("creating a socket", socket_path));
  if (::bind(state->listener.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0)
    return std::unexpected(os::errno_error("binding", socket_path));
  (void)::chown(socket_path.c_str(), uid, gid);
  if (::chmod(socket_path.c_str(), mode) != 0)
    return std::unexpected(os::errno_error("chmod", socket_path));
  if (::listen(state->listener.get(), 16) != 0)
    return std::unexpected(os::errno_error("listening on", socket_path));
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return std::unexpected(os::errno_error("creating a pipe for", socket_path));
  state->stop_read = os::UniqueFd(pipe_fds[0]);
  state->stop_write = os::UniqueFd(pipe_fds[1]);
  State* s = state.get();
  state->thread = std::thread([s] { s->serve(); });
  AgentProxy p;
  p.state_ = std::move(state);
  return p;
}

AgentProxy::AgentProxy(AgentProxy&&) noexcept = default;

AgentProxy::~AgentProxy() {
  if (!state_) return;
  char x = 0;
  (void)!::write(state_->stop_write.get(), &x, 1);
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace strata::mounts

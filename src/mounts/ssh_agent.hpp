// RUN --mount=type=ssh: the SSH agent of `--ssh` served to the step through
// a socket of the step's own, so that the socket has the mount's mode, uid
// and gid (as BuildKit's forwarded socket has) whatever the agent's socket
// has on the host. Each connection to it is relayed to the agent. Used by
// builder/ for the length of one RUN.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <thread>

#include "util/error.hpp"

namespace strata::mounts {

class AgentProxy {
 public:
  // Listens on `socket_path` (made with `mode`, owned by uid:gid) and
  // relays every connection to the agent at `agent`.
  static Result<AgentProxy> start(const std::filesystem::path& agent,
                                  const std::filesystem::path& socket_path, uint32_t mode,
                                  uint32_t uid, uint32_t gid);
  ~AgentProxy();  // stops relaying and closes every connection
  AgentProxy(AgentProxy&&) noexcept;
  AgentProxy& operator=(AgentProxy&&) = delete;

 private:
  struct State;
  AgentProxy() = default;
  std::unique_ptr<State> state_;
};

}  // namespace strata::mounts

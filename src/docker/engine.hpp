// The docker Engine API, spoken over the daemon's unix socket: the few
// requests strata needs to put an image into a docker daemon (inspect,
// list, tag, load). One connection per request (HTTP/1.1, Connection:
// close). Called by docker/load; nothing else talks to the daemon.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "archive/sink.hpp"
#include "util/error.hpp"

namespace strata::docker {

struct EngineResponse {
  int status = 0;
  std::string body;
  bool ok() const { return status >= 200 && status < 300; }
  // The daemon's error message ({"message": ...}), else the body.
  std::string message() const;
};

class Engine {
 public:
  explicit Engine(std::filesystem::path socket) : socket_(std::move(socket)) {}
  // $DOCKER_HOST (unix://PATH), else /var/run/docker.sock. Another scheme
  // (tcp://, ssh://) is refused with what to do instead.
  static Result<Engine> from_environment();
  // "unix:///var/run/docker.sock", for messages.
  std::string address() const { return "unix://" + socket_.string(); }

  Result<EngineResponse> get(const std::string& path);
  Result<EngineResponse> post(const std::string& path);
  // A POST whose body `write_body` writes, sent in chunks as it is written
  // (Transfer-Encoding: chunked): a docker archive is not held in memory or
  // on disk. `sent` receives the body's size.
  Result<EngineResponse> post_stream(const std::string& path, const std::string& content_type,
                                     const std::function<Result<void>(archive::Sink&)>& write_body,
                                     uint64_t* sent = nullptr);

 private:
  std::filesystem::path socket_;
};

// Splits an HTTP/1.1 response (status line, headers, a body that is sized,
// chunked or read to the end). Exposed for the unit tests.
Result<EngineResponse> parse_response(std::string_view raw);

}  // namespace strata::docker

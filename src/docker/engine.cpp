#include "docker/engine.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "os/fs.hpp"
#include "util/strings.hpp"

namespace strata::docker {

namespace {

// What the daemon may answer: image lists and inspections, not layers.
constexpr size_t kMaxResponse = 64 << 20;

Result<void> send_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return fail(Errc::io, fmt::format("sending to the docker daemon: {}", std::strerror(errno)));
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

// The body of a request, sent as HTTP chunks of up to 1 MiB.
class ChunkedSink : public archive::Sink {
 public:
  explicit ChunkedSink(int fd) : fd_(fd) { buf_.reserve(kChunk); }
  Result<void> write(const void* data, size_t size) override {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      size_t n = std::min(size, kChunk - buf_.size());
      buf_.append(p, n);
      p += n;
      size -= n;
      if (buf_.size() == kChunk) TRY(flush());
    }
    return {};
  }
  // The last chunk, once: a TarWriter finishes its sink, and exchange()
  // finishes a body whose writer did not.
  Result<void> finish() override {
    if (finished_) return {};
    finished_ = true;
    TRY(flush());
    return send_all(fd_, "0\r\n\r\n", 5);
  }
  uint64_t sent() const { return sent_; }

 private:
  static constexpr size_t kChunk = 1 << 20;
  Result<void> flush() {
    if (buf_.empty()) return {};
    std::string head = fmt::format("{:x}\r\n", buf_.size());
    TRY(send_all(fd_, head.data(), head.size()));
    buf_.append("\r\n");
    TRY(send_all(fd_, buf_.data(), buf_.size()));
    sent_ += buf_.size() - 2;
    buf_.clear();
    return {};
  }
  int fd_;
  std::string buf_;
  uint64_t sent_ = 0;
  bool finished_ = false;
};

Result<os::UniqueFd> connect_to(const std::filesystem::path& socket) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.native().size() >= sizeof addr.sun_path)
    return fail(Errc::invalid_argument,
                fmt::format("docker socket path {} is too long", socket.string()));
  std::memcpy(addr.sun_path, socket.c_str(), socket.native().size() + 1);
  os::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::unexpected(os::errno_error("creating a socket for", socket));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail(Errc::io, fmt::format("cannot connect to the docker daemon at unix://{}: {} (is "
                                      "dockerd running? DOCKER_HOST names another socket)",
                                      socket.string(), std::strerror(errno)));
  return fd;
}

Result<std::string> read_to_end(int fd) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return fail(Errc::io,
                  fmt::format("reading from the docker daemon: {}", std::strerror(errno)));
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxResponse)
      return fail(Errc::invalid_argument,
                  fmt::format("the docker daemon's answer is over {} MiB", kMaxResponse >> 20));
  }
}

Result<EngineResponse> exchange(const std::filesystem::path& socket, const std::string& head,
                                const std::function<Result<void>(archive::Sink&)>* write_body,
                                uint64_t* sent) {
  auto fd = TRY_VALUE(connect_to(socket));
  TRY(send_all(fd.get(), head.data(), head.size()));
  if (write_body) {
    ChunkedSink body(fd.get());
    auto written = (*write_body)(body);
    if (written) written = body.finish();
    if (sent) *sent = body.sent();
    if (!written) {
      // The daemon may have stopped reading because it refused the body:
      // its answer says why better than a broken pipe does.
      ::shutdown(fd.get(), SHUT_WR);
      auto raw = read_to_end(fd.get());
      if (raw) {
        auto r = parse_response(*raw);
        if (r && !r->ok())
          return fail(Errc::io, fmt::format("the docker daemon refused the upload ({}): {}",
                                            r->status, r->message()));
      }
      return std::unexpected(written.error());
    }
  }
  auto raw = TRY_VALUE(read_to_end(fd.get()));
  return parse_response(raw);
}

std::string request_head(const std::string& method, const std::string& path,
                         const std::string& extra) {
  return fmt::format(
      "{} {} HTTP/1.1\r\nHost: docker\r\nUser-Agent: strata\r\nConnection: "
      "close\r\n{}\r\n",
      method, path, extra);
}

}  // namespace

std::string EngineResponse::message() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string())
    return j["message"].get<std::string>();
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? fmt::format("HTTP status {}", status) : text;
}

Result<Engine> Engine::from_environment() {
  const char* host = std::getenv("DOCKER_HOST");
  if (!host || !*host) return Engine("/var/run/docker.sock");
  std::string_view h = host;
  if (h.starts_with("unix://")) return Engine(std::string(h.substr(7)));
  return fail(Errc::invalid_argument,
              fmt::format("DOCKER_HOST={}: strata talks to a docker daemon over its unix socket "
                          "only (unix:///PATH); for a remote daemon, write an archive with "
                          "--output type=docker,dest=FILE and docker load it there",
                          h));
}

Result<EngineResponse> Engine::get(const std::string& path) {
  return exchange(socket_, request_head("GET", path, ""), nullptr, nullptr);
}

Result<EngineResponse> Engine::post(const std::string& path) {
  return exchange(socket_, request_head("POST", path, "Content-Length: 0\r\n"), nullptr, nullptr);
}

Result<EngineResponse> Engine::post_stream(
    const std::string& path, const std::string& content_type,
    const std::function<Result<void>(archive::Sink&)>& write_body, uint64_t* sent) {
  std::string extra =
      fmt::format("Content-Type: {}\r\nTransfer-Encoding: chunked\r\n", content_type);
  return exchange(socket_, request_head("POST", path, extra), &write_body, sent);
}

Result<EngineResponse> parse_response(std::string_view raw) {
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string_view::npos || !raw.starts_with("HTTP/1."))
    return fail(Errc::io, "the docker daemon's answer is not an HTTP response");
  std::string_view head = raw.substr(0, end), rest = raw.substr(end + 4);
  EngineResponse r;
  size_t sp = head.find(' ');
  if (sp == std::string_view::npos || head.size() < sp + 4)
    return fail(Errc::io, "the docker daemon's answer has no status");
  r.status = std::atoi(std::string(head.substr(sp + 1, 3)).c_str());
  bool chunked = false;
  std::optional<size_t> length;
  for (const auto& line : split(std::string(head), '\n')) {
    std::string l = to_lower(line);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l.starts_with("transfer-encoding:") && l.find("chunked") != std::string::npos)
      chunked = true;
    if (l.starts_with("content-length:")) length = std::strtoull(l.c_str() + 15, nullptr, 10);
  }
  if (!chunked) {
    if (length && *length > rest.size())
      return fail(Errc::io, "the docker daemon's answer ended early");
    r.body = std::string(length ? rest.substr(0, *length) : rest);
    return r;
  }
  for (;;) {
    size_t eol = rest.find("\r\n");
    if (eol == std::string_view::npos)
      return fail(Errc::io, "the docker daemon's answer ended inside a chunk");
    char* after = nullptr;
    std::string size_text(rest.substr(0, eol));
    unsigned long long n = std::strtoull(size_text.c_str(), &after, 16);
    if (after == size_text.c_str()) return fail(Errc::io, "the docker daemon sent a bad chunk");
    rest.remove_prefix(eol + 2);
    if (n == 0) return r;
    if (rest.size() < n + 2)
      return fail(Errc::io, "the docker daemon's answer ended inside a chunk");
    r.body.append(rest.substr(0, n));
    rest.remove_prefix(n + 2);
  }
}

}  // namespace strata::docker

// Loading into a docker daemon, against a fake daemon on a unix socket:
// the HTTP strata speaks (chunked upload, sized and chunked answers), which
// layers it sends (only those past the chain the daemon has), the archive
// docker receives, tagging an image the daemon has, and an error the
// daemon reports inside a 200 answer.
#include "docker/load.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "archive/tar.hpp"
#include "digest/sha256.hpp"
#include "oci/image.hpp"
#include "os/fs.hpp"

using namespace strata;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("strata-docker-test-" + std::to_string(::getpid()));
  TempDir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// The request a fake daemon saw: method, path and the body, de-chunked.
struct SeenRequest {
  std::string method, path, body;
};

// Answers `answers.size()` requests, one connection each, with the answer
// its route (method and path) names; an unknown route gets a 404.
class FakeDaemon {
 public:
  FakeDaemon(const fs::path& socket, std::map<std::string, std::string> answers, int requests)
      : answers_(std::move(answers)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    thread_ = std::thread([this, requests] {
      for (int i = 0; i < requests; ++i) serve_one();
    });
  }
  ~FakeDaemon() {
    thread_.join();
    ::close(fd_);
  }
  std::vector<SeenRequest> seen;

 private:
  static std::string read_some(int c, std::string& buf) {
    char tmp[65536];
    ssize_t n = ::read(c, tmp, sizeof tmp);
    if (n > 0) buf.append(tmp, static_cast<size_t>(n));
    return n > 0 ? "more" : "";
  }
  void serve_one() {
    int c = ::accept(fd_, nullptr, nullptr);
    std::string buf;
    while (buf.find("\r\n\r\n") == std::string::npos && !read_some(c, buf).empty()) {
    }
    size_t end = buf.find("\r\n\r\n");
    std::string head = buf.substr(0, end), rest = buf.substr(end + 4);
    SeenRequest req;
    req.method = head.substr(0, head.find(' '));
    req.path = head.substr(req.method.size() + 1,
                           head.find(' ', req.method.size() + 1) - req.method.size() - 1);
    if (head.find("Transfer-Encoding: chunked") != std::string::npos) {
      for (;;) {
        size_t eol;
        while ((eol = rest.find("\r\n")) == std::string::npos) read_some(c, rest);
        size_t n = std::stoul(rest.substr(0, eol), nullptr, 16);
        while (rest.size() < eol + 2 + n + 2) read_some(c, rest);
        req.body += rest.substr(eol + 2, n);
        rest.erase(0, eol + 2 + n + 2);
        if (n == 0) break;
      }
    }
    std::string key = req.method + " " + req.path;
    seen.push_back(req);
    auto it = answers_.find(key);
    std::string answer = it != answers_.end() ? it->second
                                              : "HTTP/1.1 404 Not Found\r\nContent-Length: "
                                                "29\r\n\r\n{\"message\":\"No such image\"}\n\n";
    (void)::write(c, answer.data(), answer.size());
    ::close(c);
  }
  int fd_ = -1;
  std::map<std::string, std::string> answers_;
  std::thread thread_;
};

std::string sized(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}
std::string chunked(const std::string& body) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx", body.size());
  return std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + size + "\r\n" +
         body + "\r\n0\r\n\r\n";
}

// A layer: the uncompressed tar of one file, stored gzip-compressed.
struct TestLayer {
  std::string raw;
  oci::LayerRef ref;
};
TestLayer make_layer(store::Store& s, const std::string& name, const std::string& content) {
  archive::StringSink raw;
  archive::TarWriter tar(raw);
  archive::TarEntry e;
  e.path = name;
  EXPECT_TRUE(tar.add_data(e, content));
  EXPECT_TRUE(tar.finish());
  archive::StringSink gz;
  auto comp = archive::make_compressor(archive::Compression::gzip, gz);
  EXPECT_TRUE(comp->write(raw.bytes.data(), raw.bytes.size()));
  EXPECT_TRUE(comp->finish());
  auto blob = s.put_blob(gz.bytes, std::string(oci::kLayerGzip));
  EXPECT_TRUE(blob);
  return {raw.bytes, {*blob, sha256_digest(raw.bytes)}};
}

images::StoredImage make_image(store::Store& s, const std::vector<TestLayer>& layers) {
  images::StoredImage img;
  json diff_ids = json::array();
  for (const auto& l : layers) {
    img.layers.push_back(l.ref);
    img.manifest.layers.push_back(l.ref.blob);
    diff_ids.push_back(l.ref.diff_id);
  }
  img.config = {{"architecture", "amd64"},
                {"os", "linux"},
                {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  img.manifest.config = *s.put_blob(oci::canonical(img.config), std::string(oci::kConfig));
  return img;
}

std::map<std::string, std::string> tar_files(const std::string& bytes) {
  std::map<std::string, std::string> out;
  auto r = archive::TarReader::open_memory(bytes);
  EXPECT_TRUE(r);
  for (;;) {
    auto e = r->next();
    EXPECT_TRUE(e);
    if (!e || !*e) break;
    out[(*e)->path] = (*e)->type == archive::TarEntry::file ? r->read_data().value_or("?") : "";
  }
  return out;
}

std::string hex(const std::string& digest) {
  return digest.substr(7);
}

}  // namespace

TEST(DockerLoad, LayersPresentIsTheLongestCommonStart) {
  EXPECT_EQ(docker::layers_present({"a", "b", "c"}, {}), 0u);
  EXPECT_EQ(docker::layers_present({"a", "b", "c"}, {{"a", "x"}, {"a", "b"}, {"b"}}), 2u);
  EXPECT_EQ(docker::layers_present({"a", "b"}, {{"a", "b", "c"}}), 2u);
  EXPECT_EQ(docker::layers_present({"a", "b"}, {{"b", "a"}}), 0u);  // a chain, not a set
}

TEST(DockerLoad, ParsesSizedChunkedAndShortAnswers) {
  auto s = docker::parse_response(sized("{\"a\":1}"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, 200);
  EXPECT_EQ(s->body, "{\"a\":1}");
  auto c = docker::parse_response(chunked("hello"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->body, "hello");
  auto err = docker::parse_response(
      "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 19\r\n\r\n{\"message\":\"full\"}\n");
  ASSERT_TRUE(err);
  EXPECT_FALSE(err->ok());
  EXPECT_EQ(err->message(), "full");
  EXPECT_FALSE(docker::parse_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"));
  EXPECT_FALSE(
      docker::parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"));
  EXPECT_FALSE(docker::parse_response("garbage"));
}

TEST(DockerLoad, SendsOnlyTheLayersPastTheChainTheDaemonHas) {
  TempDir t;
  auto s = store::Store::open(t.path / "store");
  ASSERT_TRUE(s);
  auto base = make_layer(*s, "base", "the base layer");
  auto top = make_layer(*s, "top", "what the build changed");
  auto img = make_image(*s, {base, top});
  std::string id = img.manifest.config.digest;
  json other = {{"RootFS", {{"Type", "layers"}, {"Layers", {base.ref.diff_id, "sha256:else"}}}}};
  docker::Engine engine(t.path / "docker.sock");
  docker::DockerLoadResult result;
  {
    FakeDaemon daemon(
        t.path / "docker.sock",
        {{"GET /images/json?all=1", sized(R"([{"Id":"sha256:other"}])")},
         {"GET /images/sha256:other/json", sized(other.dump())},
         {"POST /images/load?quiet=1", chunked("{\"stream\":\"Loaded image: app:1\\n\"}\r\n")}},
        4);
    auto r = docker::load_into_docker(*s, engine, img, {"app:1"});
    ASSERT_TRUE(r) << r.error().message;
    result = *r;
    ASSERT_EQ(daemon.seen.size(), 4u);
    EXPECT_EQ(daemon.seen[0].path, "/images/" + id + "/json");  // has it the image?
    const std::string& upload = daemon.seen[3].body;
    EXPECT_EQ(result.bytes_sent, upload.size());
    auto files = tar_files(upload);
    EXPECT_EQ(files.count(hex(base.ref.diff_id) + "/layer.tar"), 0u) << "the daemon has it";
    EXPECT_EQ(files[hex(top.ref.diff_id) + "/layer.tar"], top.raw) << "sent uncompressed";
    EXPECT_EQ(files[hex(id) + ".json"], *os::read_file(s->blob_path(id)));
    auto manifest = json::parse(files["manifest.json"]);
    EXPECT_EQ(manifest[0]["RepoTags"], json({"app:1"}));
    EXPECT_EQ(manifest[0]["Layers"],
              json({hex(base.ref.diff_id) + "/layer.tar", hex(top.ref.diff_id) + "/layer.tar"}));
  }
  EXPECT_EQ(result.image_id, id);
  EXPECT_EQ(result.layers, 2u);
  EXPECT_EQ(result.layers_sent, 1u);
  EXPECT_FALSE(result.was_there);
  auto size = s->layer_size(top.ref.diff_id);  // counted once, remembered
  ASSERT_TRUE(size && *size);
  EXPECT_EQ(**size, top.raw.size());
}

TEST(DockerLoad, AnImageTheDaemonHasIsOnlyTagged) {
  TempDir t;
  auto s = store::Store::open(t.path / "store");
  ASSERT_TRUE(s);
  auto img = make_image(*s, {make_layer(*s, "f", "x")});
  std::string id = img.manifest.config.digest;
  docker::Engine engine(t.path / "docker.sock");
  FakeDaemon daemon(t.path / "docker.sock",
                    {{"GET /images/" + id + "/json", sized("{}")},
                     {"POST /images/" + id + "/tag?repo=ghcr.io%2Fo%2Fapp&tag=ci",
                      "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"}},
                    2);
  auto r = docker::load_into_docker(*s, engine, img, {"ghcr.io/o/app:ci"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->was_there);
  EXPECT_EQ(r->bytes_sent, 0u);
}

TEST(DockerLoad, AnErrorInsideTheLoadAnswerIsAnError) {
  TempDir t;
  auto s = store::Store::open(t.path / "store");
  ASSERT_TRUE(s);
  auto img = make_image(*s, {make_layer(*s, "f", "x")});
  docker::Engine engine(t.path / "docker.sock");
  FakeDaemon daemon(
      t.path / "docker.sock",
      {{"GET /images/json?all=1", sized("[]")},
       {"POST /images/load?quiet=1",
        chunked(R"({"errorDetail":{"message":"no space left"},"error":"no space left"})")}},
      3);
  auto r = docker::load_into_docker(*s, engine, img, {"app"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no space left"), std::string::npos) << r.error().message;
}

TEST(DockerLoad, NoDaemonIsAClearError) {
  TempDir t;
  docker::Engine engine(t.path / "none.sock");
  auto r = engine.get("/_ping");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot connect to the docker daemon at unix://"),
            std::string::npos);
}

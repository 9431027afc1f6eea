#include "builder/fetch.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include "digest/sha256.hpp"
#include "os/fs.hpp"
#include "registry/http.hpp"

namespace strata::builder {

std::string url_file_name(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  size_t scheme = path.find("://");
  if (scheme != std::string::npos) path = path.substr(scheme + 3);
  size_t slash = path.find('/');
  path = slash == std::string::npos ? "" : path.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  std::string name = path.substr(path.rfind('/') + 1);
  return name.empty() ? "__unnamed__" : name;
}

Result<Download> download(const std::string& url, const std::filesystem::path& dest,
                          const std::string& checksum) {
  if (!checksum.empty() && !valid_digest(checksum)) {
    return fail(Errc::invalid_argument,
                fmt::format("--checksum={}: expected sha256:<64 hex digits>", checksum));
  }
  os::UniqueFd fd(::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return std::unexpected(os::errno_error("creating", dest));
  Sha256 hash;
  registry::HttpRequest req;
  req.url = url;
  req.on_data = [&](std::string_view chunk) {
    hash.update(chunk.data(), chunk.size());
    return os::write_all(fd.get(), chunk.data(), chunk.size()).has_value();
  };
  auto resp = registry::http_perform(req);
  if (!resp) return std::unexpected(resp.error().with_context("downloading " + url));
  if (resp->status < 200 || resp->status >= 300)
    return fail(Errc::io, fmt::format("downloading {}: the server answered {}", url, resp->status));
  Download d;
  d.digest = hash.finish();
  if (resp->file_time >= 0) d.last_modified = resp->file_time;
  d.etag = resp->header("etag");
  if (!checksum.empty() && d.digest != checksum) {
    return fail(
        Errc::invalid_argument,
        fmt::format("checksum of {} does not match: expected {}, got {}", url, checksum, d.digest));
  }
  return d;
}

Result<bool> still_current(const std::string& url, const std::string& etag) {
  registry::HttpRequest req;
  req.method = "HEAD";
  req.url = url;
  req.headers.push_back("If-None-Match: " + etag);
  auto resp = registry::http_perform(req);
  if (!resp) return std::unexpected(resp.error().with_context("asking " + url + " for changes"));
  return resp->status == 304 ||
         (resp->status >= 200 && resp->status < 300 && resp->header("etag") == etag);
}

}  // namespace strata::builder

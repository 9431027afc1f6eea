#include "builder/fetch.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <mutex>

#include "digest/sha256.hpp"
#include "os/fs.hpp"

namespace strata::builder {

namespace {

struct Target {
  int fd;
  Sha256 hash;
  bool failed = false;
};

size_t on_data(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Target*>(user);
  size_t len = size * n;
  t->hash.update(data, len);
  if (!os::write_all(t->fd, data, len)) {
    t->failed = true;
    return 0;
  }
  return len;
}

}  // namespace

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
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (!checksum.empty() && !valid_digest(checksum)) {
    return fail(Errc::invalid_argument,
                fmt::format("--checksum={}: expected sha256:<64 hex digits>", checksum));
  }
  os::UniqueFd fd(::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return std::unexpected(os::errno_error("creating", dest));
  Target t{fd.get(), Sha256{}};
  CURL* c = curl_easy_init();
  if (!c) return fail(Errc::internal, "curl_easy_init failed");
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "strata/0.1");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  CURLcode rc = curl_easy_perform(c);
  long filetime = -1;
  curl_easy_getinfo(c, CURLINFO_FILETIME, &filetime);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK || t.failed) {
    return fail(Errc::io, fmt::format("downloading {}: {}", url,
                                      errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  }
  Download d;
  d.digest = t.hash.finish();
  if (filetime >= 0) d.last_modified = filetime;
  if (!checksum.empty() && d.digest != checksum) {
    return fail(
        Errc::invalid_argument,
        fmt::format("checksum of {} does not match: expected {}, got {}", url, checksum, d.digest));
  }
  return d;
}

}  // namespace strata::builder

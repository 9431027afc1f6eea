#include "builder/fetch.hpp"

#include <curl/curl.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <type_traits>

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

namespace {

// libcurl is loaded when a URL is first fetched, not when strata starts:
// most builds fetch nothing, and loading it with the ~30 libraries it needs
// costs every command about 11 ms here.
struct Curl {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  void (*easy_cleanup)(CURL*);
  const char* (*easy_strerror)(CURLcode);
};

Result<const Curl*> curl() {
  static Curl api;
  static std::optional<Error> error;
  static std::once_flag once;
  std::call_once(once, [] {
    void* h = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      error = Error{Errc::not_found,
                    fmt::format("cannot load libcurl (install libcurl4): {}", ::dlerror())};
      return;
    }
    bool ok = true;
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(h, name));
      ok = ok && fn;
    };
    sym(api.global_init, "curl_global_init");
    sym(api.easy_init, "curl_easy_init");
    sym(api.easy_setopt, "curl_easy_setopt");
    sym(api.easy_perform, "curl_easy_perform");
    sym(api.easy_getinfo, "curl_easy_getinfo");
    sym(api.easy_cleanup, "curl_easy_cleanup");
    sym(api.easy_strerror, "curl_easy_strerror");
    if (!ok) {
      error = Error{Errc::internal, "libcurl.so.4 lacks the functions strata uses"};
      return;
    }
    api.global_init(CURL_GLOBAL_DEFAULT);
  });
  if (error) return std::unexpected(*error);
  return &api;
}

}  // namespace

Result<Download> download(const std::string& url, const std::filesystem::path& dest,
                          const std::string& checksum) {
  auto lib = curl();
  if (!lib) return std::unexpected(lib.error());
  const Curl& cu = **lib;
  if (!checksum.empty() && !valid_digest(checksum)) {
    return fail(Errc::invalid_argument,
                fmt::format("--checksum={}: expected sha256:<64 hex digits>", checksum));
  }
  os::UniqueFd fd(::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return std::unexpected(os::errno_error("creating", dest));
  Target t{fd.get(), Sha256{}};
  CURL* c = cu.easy_init();
  if (!c) return fail(Errc::internal, "curl_easy_init failed");
  char errbuf[CURL_ERROR_SIZE] = {};
  cu.easy_setopt(c, CURLOPT_URL, url.c_str());
  cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  cu.easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  cu.easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  cu.easy_setopt(c, CURLOPT_FILETIME, 1L);
  cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  cu.easy_setopt(c, CURLOPT_USERAGENT, "strata/0.1");
  cu.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  cu.easy_setopt(c, CURLOPT_WRITEDATA, &t);
  CURLcode rc = cu.easy_perform(c);
  long filetime = -1;
  cu.easy_getinfo(c, CURLINFO_FILETIME, &filetime);
  cu.easy_cleanup(c);
  if (rc != CURLE_OK || t.failed) {
    return fail(Errc::io,
                fmt::format("downloading {}: {}", url, errbuf[0] ? errbuf : cu.easy_strerror(rc)));
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

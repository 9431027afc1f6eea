#include "registry/http.hpp"

#include <curl/curl.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <type_traits>

#include "util/strings.hpp"

namespace strata::registry {

namespace {

struct Curl {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  void (*easy_reset)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  void (*easy_cleanup)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
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
    sym(api.easy_reset, "curl_easy_reset");
    sym(api.easy_setopt, "curl_easy_setopt");
    sym(api.easy_perform, "curl_easy_perform");
    sym(api.easy_getinfo, "curl_easy_getinfo");
    sym(api.easy_cleanup, "curl_easy_cleanup");
    sym(api.easy_strerror, "curl_easy_strerror");
    sym(api.slist_append, "curl_slist_append");
    sym(api.slist_free_all, "curl_slist_free_all");
    if (!ok) {
      error = Error{Errc::internal, "libcurl.so.4 lacks the functions strata uses"};
      return;
    }
    api.global_init(CURL_GLOBAL_DEFAULT);
  });
  if (error) return std::unexpected(*error);
  return &api;
}

std::atomic<uint64_t> g_received{0}, g_sent{0};

// One handle per thread, reset between requests: curl keeps its connection
// cache across resets.
struct Handle {
  const Curl* api = nullptr;
  CURL* easy = nullptr;
  ~Handle() {
    if (easy) api->easy_cleanup(easy);
  }
};

struct Transfer {
  const Curl* api;
  CURL* easy;
  const HttpRequest* req;
  HttpResponse* resp;
  uint64_t sent = 0;
  bool aborted = false, too_large = false;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    t->resp->headers.clear();  // a new response (after a redirect or 100)
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    t->resp->headers[to_lower(trim(line.substr(0, colon)))] =
        std::string(trim(line.substr(colon + 1)));
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  g_received += len;
  long status = 0;
  t->api->easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  if (t->req->on_data && status >= 200 && status < 300) {
    if (!t->req->on_data(std::string_view(data, len))) {
      t->aborted = true;
      return 0;
    }
    return len;
  }
  if (t->resp->body.size() + len > t->req->max_body) {
    t->too_large = true;
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const HttpRequest& r = *t->req;
  size_t want = size * n;
  size_t len;
  if (r.body_fd >= 0) {
    want = static_cast<size_t>(std::min<uint64_t>(want, r.body_size - t->sent));
    if (want == 0) return 0;
    ssize_t got = ::pread(r.body_fd, buf, want, static_cast<off_t>(r.body_offset + t->sent));
    if (got < 0) return CURL_READFUNC_ABORT;
    len = static_cast<size_t>(got);
  } else {
    len = std::min(want, r.body.size() - t->sent);
    std::memcpy(buf, r.body.data() + t->sent, len);
  }
  t->sent += len;
  g_sent += len;
  if (r.on_sent && len > 0) r.on_sent(len);
  return len;
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

HttpCounters http_counters() {
  return {g_received.load(), g_sent.load()};
}

Result<HttpResponse> http_perform(const HttpRequest& req) {
  auto lib = curl();
  if (!lib) return std::unexpected(lib.error());
  const Curl& cu = **lib;
  thread_local Handle handle;
  if (!handle.easy) {
    handle.api = &cu;
    handle.easy = cu.easy_init();
    if (!handle.easy) return fail(Errc::internal, "curl_easy_init failed");
  } else {
    cu.easy_reset(handle.easy);
  }
  CURL* c = handle.easy;
  HttpResponse resp;
  Transfer t{&cu, c, &req, &resp};
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  bool has_body = req.body_fd >= 0 || !req.body.empty() || req.method == "POST" ||
                  req.method == "PUT" || req.method == "PATCH";
  bool has_content_type = false;
  for (const auto& h : req.headers) {
    headers = cu.slist_append(headers, h.c_str());
    has_content_type = has_content_type || iequals(h.substr(0, 13), "content-type:");
  }
  if (has_body) {
    // No "Expect: 100-continue" round trip, and no form content type.
    headers = cu.slist_append(headers, "Expect:");
    if (!has_content_type)
      headers = cu.slist_append(headers, "Content-Type: application/octet-stream");
  }
  cu.easy_setopt(c, CURLOPT_URL, req.url.c_str());
  cu.easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  cu.easy_setopt(c, CURLOPT_USERAGENT, "strata/0.1");
  cu.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  cu.easy_setopt(c, CURLOPT_FILETIME, 1L);
  // A stalled transfer (under 1 KB/s for 60 s) counts as dropped.
  cu.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  cu.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  if (req.timeout_seconds > 0) cu.easy_setopt(c, CURLOPT_TIMEOUT, req.timeout_seconds);
  cu.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  cu.easy_setopt(c, CURLOPT_HEADERDATA, &t);
  cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  cu.easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (req.follow_redirects) {
    cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    cu.easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  }
  if (req.method == "HEAD") {
    cu.easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    auto size = static_cast<curl_off_t>(req.body_fd >= 0 ? req.body_size : req.body.size());
    cu.easy_setopt(c, CURLOPT_POST, 1L);
    cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, size);
    cu.easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    cu.easy_setopt(c, CURLOPT_READDATA, &t);
    if (req.method != "POST") cu.easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method != "GET") {
    cu.easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  CURLcode rc = cu.easy_perform(c);
  cu.slist_free_all(headers);
  cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  long file_time = -1;
  cu.easy_getinfo(c, CURLINFO_FILETIME, &file_time);
  resp.file_time = file_time;
  if (t.aborted) return fail(Errc::io, fmt::format("{} {}: transfer stopped", req.method, req.url));
  if (t.too_large)
    return fail(Errc::invalid_argument,
                fmt::format("{} {}: the response is more than the {} bytes strata reads",
                            req.method, req.url, req.max_body));
  if (rc != CURLE_OK) {
    return fail(Errc::io, fmt::format("{} {}: {}", req.method, req.url,
                                      errbuf[0] ? errbuf : cu.easy_strerror(rc)));
  }
  return resp;
}

}  // namespace strata::registry

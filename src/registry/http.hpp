// HTTP over libcurl, loaded with dlopen on first use (most commands never
// touch the network, and loading libcurl with the libraries it needs costs
// every command ~11 ms). One easy handle per thread is reused, so requests
// to one host share a kept-alive connection. TLS uses the system's CAs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::registry {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // The request body: `body`, or `body_size` bytes of `body_fd` from
  // `body_offset` (for blob uploads, read as they are sent).
  std::string body;
  int body_fd = -1;
  uint64_t body_offset = 0, body_size = 0;
  // Where a 2xx response body goes; without it the body is kept in
  // HttpResponse::body. Returning false aborts the transfer.
  std::function<bool(std::string_view)> on_data;
  std::function<void(size_t)> on_sent;  // bytes of the body sent, as they go
  // The most of a body kept in HttpResponse::body (what a registry sends
  // is not trusted to be small): more aborts the transfer with an error.
  uint64_t max_body = 16 << 20;
  bool follow_redirects = true;
  long timeout_seconds = 0;  // whole transfer; 0 = none (blobs can be large)
};

struct HttpResponse {
  long status = 0;
  std::string body;                            // error bodies always land here
  std::map<std::string, std::string> headers;  // lower-case names; last value wins
  int64_t file_time = -1;                      // Last-Modified, seconds, if sent
  std::string header(const std::string& lower_name) const;
};

// Performs the request. A transport failure (refused or dropped connection,
// timeout, TLS) is an Errc::io error whose message names the URL; a body
// over max_body is an Errc::invalid_argument one; any HTTP status is a
// response.
Result<HttpResponse> http_perform(const HttpRequest& req);

// Bytes received and sent by http_perform in this process, for reports.
struct HttpCounters {
  uint64_t received = 0, sent = 0;
};
HttpCounters http_counters();

}  // namespace strata::registry

// ADD <url>: downloads over http(s) with libcurl (the system's CAs), checks
// the content against --checksum when one is given, and asks a server
// whether what it sent before is still current.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "util/error.hpp"

namespace strata::builder {

struct Download {
  std::string digest;                    // sha256 of the content
  std::optional<int64_t> last_modified;  // from the server, seconds
  std::string etag;                      // from the server, if it sent one
};

// Writes the body of `url` to `dest`; a non-2xx status is an error.
Result<Download> download(const std::string& url, const std::filesystem::path& dest,
                          const std::string& checksum);

// Whether the server still has the content `etag` names: a HEAD with
// If-None-Match answered 304, or 2xx with that ETag.
Result<bool> still_current(const std::string& url, const std::string& etag);

// The file name ADD gives a URL's content in a directory: the last path
// component, without query or fragment.
std::string url_file_name(const std::string& url);

}  // namespace strata::builder

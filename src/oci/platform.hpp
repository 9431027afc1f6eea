// Platforms as OCI and docker name them ("linux/arm64/v8"): the host's, and
// parsing what a user or an image gives. Used by the frontend (TARGETPLATFORM),
// pulls (which image of an index) and the builder (an image's config).
#pragma once

#include <string>
#include <string_view>

#include "util/error.hpp"

namespace strata::oci {

struct Platform {
  std::string os = "linux";
  std::string arch;     // amd64, arm64, ...
  std::string variant;  // v7, v8, "" ...
  std::string str() const { return os + "/" + arch + (variant.empty() ? "" : "/" + variant); }
};

Platform host_platform();
// os/arch[/variant], lower-cased; anything else is an error that says so.
Result<Platform> parse_platform(std::string_view spec);

}  // namespace strata::oci

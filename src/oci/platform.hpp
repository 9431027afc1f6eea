// Platforms as OCI and docker name them ("linux/arm64/v8"): the host's,
// parsing what a user or an image gives, and which entry of an index serves
// a platform. Used by the frontend (TARGETPLATFORM), pulls and the store's
// images (which image of an index) and the builder (an image's config).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "oci/image.hpp"
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

// The platform an index entry (or a config) names: its "os",
// "architecture" and "variant" fields; nullopt when it names none.
std::optional<Platform> platform_of(const nlohmann::json& fields);
// Whether an image of platform `have` serves a build for `want`: the same
// os and architecture, and the same variant when both name one (arm64's
// is v8 when unnamed).
bool serves(const Platform& have, const Platform& want);
// Of an index's entries, the one for `want` (an exact variant first);
// not_found, naming the platforms it has, when none is.
Result<Descriptor> pick_platform(const Index& index, const Platform& want);

}  // namespace strata::oci

#include "oci/platform.hpp"

#include <fmt/format.h>
#include <sys/utsname.h>

#include "util/strings.hpp"

namespace strata::oci {

Platform host_platform() {
  Platform p;
  struct utsname u {};
  std::string m = uname(&u) == 0 ? u.machine : "x86_64";
  if (m == "x86_64")
    p.arch = "amd64";
  else if (m == "aarch64" || m == "arm64") {
    p.arch = "arm64";
  } else if (m.starts_with("armv7")) {
    p.arch = "arm";
    p.variant = "v7";
  } else if (m == "i686" || m == "i386") {
    p.arch = "386";
  } else {
    p.arch = m;
  }
  return p;
}

Result<Platform> parse_platform(std::string_view spec) {
  auto parts = split(spec, '/');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
    return fail(
        Errc::invalid_argument,
        fmt::format("invalid platform \"{}\": expected os/arch[/variant], e.g. linux/amd64", spec));
  }
  Platform p;
  p.os = to_lower(parts[0]);
  p.arch = to_lower(parts[1]);
  if (parts.size() == 3) p.variant = to_lower(parts[2]);
  return p;
}

}  // namespace strata::oci

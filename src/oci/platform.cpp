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

std::optional<Platform> platform_of(const nlohmann::json& fields) {
  if (!fields.is_object()) return std::nullopt;
  auto text = [&](const char* k) {
    auto it = fields.find(k);
    return it != fields.end() && it->is_string() ? to_lower(it->get<std::string>()) : std::string();
  };
  Platform p;
  p.os = text("os");
  p.arch = text("architecture");
  p.variant = text("variant");
  if (p.os.empty() || p.arch.empty()) return std::nullopt;
  return p;
}

bool serves(const Platform& have, const Platform& want) {
  if (have.os != want.os || have.arch != want.arch) return false;
  auto variant = [](const Platform& p) {
    return p.variant.empty() && p.arch == "arm64" ? std::string("v8") : p.variant;
  };
  return variant(have).empty() || variant(want).empty() || variant(have) == variant(want);
}

Result<Descriptor> pick_platform(const Index& index, const Platform& want) {
  const Descriptor* found = nullptr;
  std::vector<std::string> offered;
  for (const auto& m : index.manifests) {
    auto p = m.platform ? platform_of(*m.platform) : std::nullopt;
    if (!p) continue;
    offered.push_back(p->str());
    if (!serves(*p, want)) continue;
    if (!found || p->variant == want.variant) found = &m;
  }
  if (found) return *found;
  return fail(Errc::not_found, fmt::format("the image has no {} variant (it has: {})", want.str(),
                                           offered.empty() ? "none" : join(offered, ", ")));
}

}  // namespace strata::oci

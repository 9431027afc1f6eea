#include <fmt/format.h>

#include <algorithm>

#include "frontend/planner.hpp"
#include "oci/reference.hpp"
#include "util/strings.hpp"

namespace strata::frontend::planning {

std::string join_path(const std::string& dir, const std::string& p) {
  if (p.starts_with("/")) return p;
  return (dir.empty() || dir == "/" ? "/" : dir + "/") + p;
}

bool valid_chmod(std::string_view v) {
  if (v.empty()) return false;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '7'; }))
    return v.size() <= 4;
  // Symbolic modes: [ugoa]*[+-=][rwxXst]*, comma-separated.
  for (const auto& clause : split(v, ',')) {
    size_t i = 0;
    while (i < clause.size() && std::string_view("ugoa").find(clause[i]) != std::string_view::npos)
      ++i;
    if (i >= clause.size() || std::string_view("+-=").find(clause[i]) == std::string_view::npos)
      return false;
    for (++i; i < clause.size(); ++i)
      if (std::string_view("rwxXst").find(clause[i]) == std::string_view::npos) return false;
  }
  return true;
}

std::optional<std::string> checksum_error(std::string_view v) {
  size_t colon = v.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == v.size())
    return "invalid checksum digest format";
  std::string_view algo = v.substr(0, colon), hex = v.substr(colon + 1);
  if (algo != "sha256") {
    bool known = algo == "sha384" || algo == "sha512";
    return known ? fmt::format("unsupported digest algorithm: {} (strata checks sha256)", algo)
                 : std::string("unsupported digest algorithm");
  }
  if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), [](char ch) {
        return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
      }))
    return "invalid checksum digest format";
  return std::nullopt;
}

Result<PortSpec> expand_port(const std::string& spec) {
  PortSpec out;
  std::string container = spec;
  if (size_t colon = spec.rfind(':'); colon != std::string::npos) {
    out.host_part = true;
    container = spec.substr(colon + 1);
  }
  std::string port = container, proto = "tcp";
  size_t slash = container.find('/');
  if (slash != std::string::npos) {
    port = container.substr(0, slash);
    proto = container.substr(slash + 1);
    out.proto_not_lower = proto != to_lower(proto);
    proto = to_lower(proto);
    if (proto.empty()) proto = "tcp";
  }
  if (proto != "tcp" && proto != "udp" && proto != "sctp") {
    return fail(Errc::invalid_argument,
                fmt::format("invalid proto \"{}\" in \"{}\" (use tcp, udp or sctp)", proto, spec));
  }
  auto num = [](const std::string& s) -> std::optional<int> {
    if (s.empty() || s.size() > 5 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    int n = std::stoi(s);
    if (n > 65535) return std::nullopt;
    return n;
  };
  size_t dash = port.find('-');
  auto lo = num(port.substr(0, dash));
  auto hi = dash == std::string::npos ? lo : num(port.substr(dash + 1));
  if (!lo || !hi || *hi < *lo) {
    return fail(Errc::invalid_argument,
                fmt::format("invalid port \"{}\": expected PORT[/PROTO] or FROM-TO[/PROTO]", spec));
  }
  for (int p = *lo; p <= *hi; ++p) out.ports.push_back(fmt::format("{}/{}", p, proto));
  return out;
}

void add_sorted_unique(std::vector<std::string>& v, const std::string& s) {
  auto it = std::lower_bound(v.begin(), v.end(), s);
  if (it == v.end() || *it != s) v.insert(it, s);
}

bool valid_reference(const std::string& name) {
  return oci::parse_reference(name).has_value();
}

}  // namespace strata::frontend::planning

#include "builder/users.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>

#include "util/strings.hpp"

namespace strata::builder {
namespace {

std::optional<uint32_t> number(std::string_view s) {
  return parse_number<uint32_t>(s);
}

// Lines of a colon-separated database, split into fields.
std::vector<std::vector<std::string>> read_db(const std::filesystem::path& p) {
  std::vector<std::vector<std::string>> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    out.push_back(split(line, ':'));
  }
  return out;
}

}  // namespace

Result<Identity> resolve_user(const std::filesystem::path& rootfs, std::string_view spec) {
  return resolve_user(rootfs / "etc/passwd", rootfs / "etc/group", spec);
}

Result<Identity> resolve_user(const std::filesystem::path& passwd_file,
                              const std::filesystem::path& group_file, std::string_view spec) {
  Identity id;
  if (spec.empty()) spec = "0";  // root, with root's groups
  std::string_view user = spec, group;
  if (size_t c = spec.find(':'); c != std::string_view::npos) {
    user = spec.substr(0, c);
    group = spec.substr(c + 1);
  }
  auto passwd = read_db(passwd_file);
  std::string user_name;
  bool found_user = false;
  if (auto n = number(user)) {
    id.uid = *n;
    for (const auto& f : passwd) {
      if (f.size() >= 4 && number(f[2]) == id.uid) {
        id.gid = number(f[3]).value_or(0);
        user_name = f[0];
        found_user = true;
        break;
      }
    }
  } else {
    for (const auto& f : passwd) {
      if (f.size() >= 4 && f[0] == user) {
        id.uid = number(f[2]).value_or(0);
        id.gid = number(f[3]).value_or(0);
        user_name = f[0];
        found_user = true;
        break;
      }
    }
    if (!found_user) {
      return fail(Errc::not_found,
                  fmt::format("unable to find user {}: no matching entries in /etc/passwd", user));
    }
  }
  auto groups = read_db(group_file);
  if (!group.empty()) {
    if (auto n = number(group)) {
      id.gid = *n;
    } else {
      bool found = false;
      for (const auto& f : groups) {
        if (f.size() >= 3 && f[0] == group) {
          id.gid = number(f[2]).value_or(0);
          found = true;
          break;
        }
      }
      if (!found)
        return fail(
            Errc::not_found,
            fmt::format("unable to find group {}: no matching entries in /etc/group", group));
    }
  }
  // The primary group is always one of the process's groups (as BuildKit
  // and containerd give it since CVE-2023-25173); a user named without a
  // group also gets the groups /etc/group lists it in.
  id.groups.push_back(id.gid);
  if (group.empty() && found_user) {
    for (const auto& f : groups) {
      if (f.size() < 4) continue;
      for (const auto& member : split(f[3], ','))
        if (member == user_name)
          if (auto g = number(f[2]);
              g && std::find(id.groups.begin(), id.groups.end(), *g) == id.groups.end())
            id.groups.push_back(*g);
    }
  }
  return id;
}

}  // namespace strata::builder

// USER and --chown resolution through an image's /etc/passwd and /etc/group:
// "name", "uid", "name:group", "uid:gid".
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace strata::builder {

struct Identity {
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> groups;  // the process's groups: gid first, then a named user's others
};

// `rootfs` is the container's root; names that are not in its files are an
// error, numbers are taken as they are; "" is root.
Result<Identity> resolve_user(const std::filesystem::path& rootfs, std::string_view user);

// The same with the two databases given (a missing file is an empty one).
Result<Identity> resolve_user(const std::filesystem::path& passwd_file,
                              const std::filesystem::path& group_file, std::string_view user);

}  // namespace strata::builder

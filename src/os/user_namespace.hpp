// The user namespace strata runs in: whether it is one of its own (strata
// started by a user without root re-executes itself in one, exec/rootless),
// who the user is outside, and the subordinate id ranges /etc/subuid and
// /etc/subgid give a user. Read by the store (its default place), mounts
// (overlay attributes in the user.* namespace), the runtime (its state
// directory and what a container may mount) and exec/rootless.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::os {

// One line of /proc/self/uid_map (or gid_map).
struct IdMapping {
  uint64_t inside = 0, outside = 0, count = 0;
};

// Whether this process is in a user namespace other than the host's (a map
// other than the whole range onto itself). Read once.
bool in_user_namespace();
// The host's uid of this process's uid 0 (the user who ran strata); getuid()
// outside a user namespace.
uid_t outer_uid();

// A map's lines, as /proc/<pid>/uid_map writes them.
std::optional<std::vector<IdMapping>> parse_id_map(std::string_view text);

// A user's subordinate ids: the first range of `user` (by name or uid) in
// an /etc/subuid-format file; nullopt when it has none.
struct SubidRange {
  uint64_t start = 0, count = 0;
};
std::optional<SubidRange> find_subid_range(std::string_view file_text, std::string_view user,
                                           uid_t uid);

}  // namespace strata::os

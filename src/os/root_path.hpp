// Paths that a Dockerfile, an image or an archive names inside a root
// directory (a build context, a stage's root filesystem, a snapshot being
// unpacked): the one place where such a path becomes a host path. Whatever
// the path or the symlinks on the way say, the result lies inside the root.
// Used by COPY/ADD (sources and destinations), RUN bind mounts and layer
// unpacking (entries, whiteouts, hard links).
#pragma once

#include <filesystem>
#include <string_view>

#include "util/error.hpp"

namespace strata::os {

// `rel` resolved inside `root` as a process chrooted there would resolve it:
// a symlink's target is read relative to the root (an absolute one starts
// again at the root), ".." stops at the root. With follow_last == false the
// last component is not followed (lstat semantics). Every component of the
// result below the root, but the last one when not followed, is a real
// directory or does not exist. More than 40 links is an error (ELOOP).
Result<std::filesystem::path> resolve_in_root(const std::filesystem::path& root,
                                              std::string_view rel, bool follow_last);

// `rel`, a relative path an archive entry names, inside `root` without
// following any symlink: refused (invalid_argument, naming `rel`) when it is
// empty, absolute, holds "..", or when a directory on the way is a symlink
// or not a directory. The last component itself may be anything.
Result<std::filesystem::path> entry_in_root(const std::filesystem::path& root,
                                            std::string_view rel);

// Is `name` usable as one path component: not empty, ".", ".." and no "/"?
bool is_plain_name(std::string_view name);

}  // namespace strata::os

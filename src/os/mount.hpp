// Mounts: overlayfs for build steps, bind mounts for RUN --mount, and the
// private mount namespace crun needs on hosts with hybrid cgroups.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::os {

// Mounts an overlay at `target`: the kernel's overlayfs; in a user
// namespace whose kernel cannot mount it there (before Linux 5.11), or with
// STRATA_OVERLAY=fuse-overlayfs, Debian's fuse-overlayfs (which needs
// /dev/fuse) instead. `lowers` are listed top-most first; a
// directory may repeat (identical layers), only its top-most place counts. With no
// upper dir the mount is read-only. The option string must stay under the
// kernel's page-size limit, which is why snapshots have short paths. A
// writable overlay is volatile where the kernel allows (5.10 and later): its
// unmount does not sync the upper file system, which a build does once at
// its end instead (store::Store::sync). Every root is mounted nodev: a
// device node in a layer or made by a step opens nothing (a container's
// /dev is the runtime's own).
Result<void> mount_overlay(const std::vector<std::filesystem::path>& lowers,
                           const std::filesystem::path& upper, const std::filesystem::path& work,
                           const std::filesystem::path& target);
Result<void> unmount(const std::filesystem::path& target);

// The extended attributes overlayfs keeps its marks in (an opaque
// directory's "opaque"): trusted.overlay.* on the host, user.overlay.* in a
// user namespace (strata without root, exec/rootless: overlays there are
// mounted with userxattr, trusted.* being the host root's alone).
const char* overlay_opaque_xattr();
// Where fuse-overlayfs marks an opaque directory instead, besides the
// names below.
inline constexpr const char* kFuseOpaqueXattr = "user.fuseoverlayfs.opaque";
// The names fuse-overlayfs puts in an opaque directory of its upper dir
// (.wh..wh..opq, .wh..opq): never entries of a layer or of a listing.
bool is_overlay_marker(std::string_view name);
// Whether this process mounts its overlays with fuse-overlayfs.
bool fuse_overlays_in_use();
// Whether `name` is such a mark, in either namespace (never part of a
// layer, never copied from one directory to another).
bool is_overlay_xattr(std::string_view name);

// Mounts a tmpfs (nosuid, nodev, noexec) at `target` with the given options
// ("mode=0700,size=16m"): files that must never reach a disk.
Result<void> mount_tmpfs(const std::filesystem::path& target, const std::string& options);

// Is `path` a mount point (per /proc/self/mountinfo)?
bool is_mount_point(const std::filesystem::path& path);

}  // namespace strata::os

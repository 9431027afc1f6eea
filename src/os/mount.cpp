#include "os/mount.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "os/fs.hpp"
#include "os/process.hpp"
#include "os/user_namespace.hpp"

namespace fs = std::filesystem;

namespace strata::os {

// The same directory twice in `lowerdir` is refused by the kernel (ELOOP,
// "overlapping layers"), yet identical layers are legal and common: a
// no-op RUN twice, the same COPY twice. A lower that appears again further
// down changes nothing: every path it decides (an entry, a whiteout, an
// opaque directory) was already decided by its first, higher occurrence,
// and a merged directory lists the same names either way. So only the
// top-most occurrence of each directory is kept.
static std::vector<fs::path> without_repeats(const std::vector<fs::path>& lowers) {
  std::vector<fs::path> kept;
  kept.reserve(lowers.size());
  for (const auto& l : lowers)
    if (std::find(kept.begin(), kept.end(), l) == kept.end()) kept.push_back(l);
  return kept;
}

namespace {

// Whether overlays go through fuse-overlayfs: asked for, or the kernel
// refused one in this user namespace.
std::atomic<bool> fuse_overlays{[] {
  const char* e = std::getenv("STRATA_OVERLAY");
  return e && std::string_view(e) == "fuse-overlayfs";
}()};

Result<void> mount_fuse_overlay(const std::string& opts, const fs::path& target) {
  ProcessSpec p;
  p.argv = {"fuse-overlayfs", "-o", opts, target.string()};
  std::string said;
  p.on_line = [&](const std::string& line) {
    if (line.find("unknown argument ignored") == std::string::npos)
      said += (said.empty() ? "" : "; ") + line;
  };
  auto r = run_process(p);
  if (!r)
    return std::unexpected(r.error().with_context(
        "fuse-overlayfs (the kernel cannot mount overlayfs in this user namespace: Linux 5.11 "
        "or later can; else apt-get install fuse-overlayfs)"));
  if (r->exit_code != 0)
    return fail(Errc::io, fmt::format("fuse-overlayfs on {} failed: {} (it needs /dev/fuse, "
                                      "mode 0666)",
                                      target.string(), said));
  return {};
}

}  // namespace

Result<void> mount_overlay(const std::vector<fs::path>& all_lowers, const fs::path& upper,
                           const fs::path& work, const fs::path& target) {
  const std::vector<fs::path> lowers = without_repeats(all_lowers);
  if (lowers.empty() && upper.empty())
    return fail(Errc::internal, "an overlay needs at least one layer");
  std::string lower;
  for (const auto& l : lowers) {
    if (!lower.empty()) lower += ':';
    lower += l.string();
  }
  std::string opts;
  if (upper.empty()) {
    // A read-only overlay needs two lowers; a single one is bind-mounted.
    if (lowers.size() == 1) {
      if (::mount(lowers[0].c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        return std::unexpected(errno_error("bind-mounting onto", target));
      ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NODEV,
              nullptr);
      return {};
    }
    opts = "lowerdir=" + lower;
  } else if (lowers.empty()) {
    if (::mount(upper.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return std::unexpected(errno_error("bind-mounting onto", target));
    ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_NODEV, nullptr);
    return {};
  } else {
    opts = fmt::format("lowerdir={},upperdir={},workdir={}", lower, upper.string(), work.string());
  }
  if (opts.size() >= static_cast<size_t>(::getpagesize()) - 16) {
    return fail(Errc::internal,
                fmt::format("overlay options for {} are {} bytes, over the kernel's limit",
                            target.string(), opts.size()));
  }
  if (fuse_overlays) return mount_fuse_overlay(opts, target);
  // In a user namespace, overlay's marks are user.* attributes.
  std::string kernel_opts = in_user_namespace() ? opts + ",userxattr" : opts;
  std::string volatile_opts = kernel_opts + ",volatile";
  int err = 0;
  if (!upper.empty() && !lowers.empty() &&
      volatile_opts.size() < static_cast<size_t>(::getpagesize())) {
    if (::mount("overlay", target.c_str(), "overlay", MS_NODEV, volatile_opts.c_str()) == 0)
      return {};
    err = errno;  // EINVAL: a kernel without volatile (before 5.10); the plain mount says more
  }
  if (err == 0 || err == EINVAL) {
    if (::mount("overlay", target.c_str(), "overlay", MS_NODEV, kernel_opts.c_str()) == 0)
      return {};
    err = errno;
  }
  // A kernel that cannot mount overlayfs in a user namespace: fuse's.
  if (in_user_namespace() && (err == EPERM || err == EINVAL || err == ENODEV)) {
    fuse_overlays = true;
    return mount_fuse_overlay(opts, target);
  }
  errno = err;
  return std::unexpected(errno_error("mounting an overlay on", target));
}

const char* overlay_opaque_xattr() {
  return in_user_namespace() ? "user.overlay.opaque" : "trusted.overlay.opaque";
}

bool is_overlay_xattr(std::string_view name) {
  return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") ||
         name.starts_with("user.fuseoverlayfs.");
}

bool fuse_overlays_in_use() {
  return fuse_overlays;
}

bool is_overlay_marker(std::string_view name) {
  return name == ".wh..wh..opq" || name == ".wh..opq";
}

Result<void> mount_tmpfs(const fs::path& target, const std::string& options) {
  if (::mount("tmpfs", target.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              options.c_str()) != 0)
    return std::unexpected(errno_error("mounting a tmpfs on", target));
  return {};
}

Result<void> unmount(const fs::path& target) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (::umount2(target.c_str(), 0) == 0) return {};
    if (errno == EINVAL || errno == ENOENT) return {};  // not mounted
    if (errno != EBUSY) break;
    ::usleep(20000);
  }
  if (::umount2(target.c_str(), MNT_DETACH) == 0) return {};
  return std::unexpected(errno_error("unmounting", target));
}

bool is_mount_point(const fs::path& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::string want = fs::weakly_canonical(path).string();
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string id, parent, dev, root, mp;
    ss >> id >> parent >> dev >> root >> mp;
    if (mp == want) return true;
  }
  return false;
}

}  // namespace strata::os

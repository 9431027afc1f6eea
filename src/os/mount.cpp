#include "os/mount.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "os/fs.hpp"

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
  if (opts.size() >= static_cast<size_t>(::getpagesize()) - 1) {
    return fail(Errc::internal,
                fmt::format("overlay options for {} are {} bytes, over the kernel's limit",
                            target.string(), opts.size()));
  }
  std::string volatile_opts = opts + ",volatile";
  if (!upper.empty() && !lowers.empty() &&
      volatile_opts.size() < static_cast<size_t>(::getpagesize())) {
    if (::mount("overlay", target.c_str(), "overlay", MS_NODEV, volatile_opts.c_str()) == 0)
      return {};
    // EINVAL: a kernel without volatile (before 5.10); the plain mount says more.
    if (errno != EINVAL) return std::unexpected(errno_error("mounting an overlay on", target));
  }
  if (::mount("overlay", target.c_str(), "overlay", MS_NODEV, opts.c_str()) != 0)
    return std::unexpected(errno_error("mounting an overlay on", target));
  return {};
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

#include "snapshot/fuse_upper.hpp"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "os/fs.hpp"
#include "os/mount.hpp"

namespace fs = std::filesystem;

namespace strata::snapshot {

namespace {

Result<void> normalize(const fs::path& dir, std::vector<std::string>& components,
                       const LowerView& lowers) {
  char v[4] = {};
  bool opaque = ::lgetxattr(dir.c_str(), os::kFuseOpaqueXattr, v, sizeof v) == 1 && v[0] == 'y';
  if (opaque && !components.empty() &&
      lowers.lookup(components).state != LowerView::Entry::present) {
    if (::lremovexattr(dir.c_str(), os::kFuseOpaqueXattr) != 0)
      return std::unexpected(os::errno_error("unmarking", dir));
    for (const char* marker : {".wh..wh..opq", ".wh..opq"}) {
      fs::path m = dir / marker;
      if (::unlink(m.c_str()) != 0 && errno != ENOENT)
        return std::unexpected(os::errno_error("removing", m));
    }
  }
  for (const auto& name : TRY_VALUE(os::list_dir(dir))) {
    if (os::is_overlay_marker(name)) continue;
    fs::path p = dir / name;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    components.push_back(name);
    TRY(normalize(p, components, lowers));
    components.pop_back();
  }
  return {};
}

}  // namespace

Result<void> normalize_fuse_upper(const fs::path& upper, const LowerView& lowers) {
  std::vector<std::string> components;
  return normalize(upper, components, lowers);
}

}  // namespace strata::snapshot

#include "snapshot/lower_view.hpp"

#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <set>

#include "os/fs.hpp"
#include "os/mount.hpp"

namespace fs = std::filesystem;

namespace strata::snapshot {

bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool is_opaque(const fs::path& dir) {
  char v[4] = {};
  if (::lgetxattr(dir.c_str(), os::overlay_opaque_xattr(), v, sizeof v) == 1 && v[0] == 'y')
    return true;
  return os::fuse_overlays_in_use() &&
         ::lgetxattr(dir.c_str(), os::kFuseOpaqueXattr, v, sizeof v) == 1 && v[0] == 'y';
}

LowerView::Entry LowerView::find(const std::vector<std::string>& components,
                                 std::vector<size_t>& merged) const {
  // The layers that may hold the next component: those where every
  // component so far is a directory, down to the first opaque one.
  std::vector<size_t> candidates(layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i) candidates[i] = i;
  std::string rel;
  Entry found;  // absent for the root: it is no entry
  for (size_t c = 0; c < components.size(); ++c) {
    rel += (rel.empty() ? "" : "/") + components[c];
    bool last = c + 1 == components.size();
    found = Entry{};
    std::vector<size_t> next;
    for (size_t i : candidates) {
      fs::path p = layers_[i] / rel;
      struct stat st {};
      if (::lstat(p.c_str(), &st) != 0) continue;
      if (found.state == Entry::absent) {
        if (is_whiteout(st)) break;  // deleted here: nothing below counts
        found = Entry{Entry::present, st, p, i};
        if (!S_ISDIR(st.st_mode)) {
          if (!last) return Entry{Entry::blocked, st, p, i};
          break;
        }
      } else if (!S_ISDIR(st.st_mode)) {
        break;  // a directory above hides what is not one below
      }
      next.push_back(i);
      if (is_opaque(p)) break;
    }
    if (found.state == Entry::absent) return found;
    candidates = std::move(next);
  }
  merged = std::move(candidates);
  return found;
}

LowerView::Entry LowerView::lookup(const std::vector<std::string>& components) const {
  std::vector<size_t> merged;
  return find(components, merged);
}

std::vector<std::string> LowerView::list(const std::vector<std::string>& components) const {
  std::vector<size_t> merged;
  Entry dir = find(components, merged);
  if (!components.empty() && (dir.state != Entry::present || !S_ISDIR(dir.st.st_mode))) return {};
  std::string rel;
  for (const auto& c : components) rel += (rel.empty() ? "" : "/") + c;
  // The topmost layer that has a name decides: a whiteout there hides it.
  std::set<std::string> seen, shown;
  for (size_t i : merged) {
    fs::path d = rel.empty() ? layers_[i] : layers_[i] / rel;
    auto names = os::list_dir(d);
    if (!names) continue;
    for (const auto& n : *names) {
      if (os::is_overlay_marker(n) || !seen.insert(n).second) continue;
      struct stat st {};
      if (::lstat((d / n).c_str(), &st) == 0 && !is_whiteout(st)) shown.insert(n);
    }
  }
  return {shown.begin(), shown.end()};
}

}  // namespace strata::snapshot

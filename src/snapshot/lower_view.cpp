#include "snapshot/lower_view.hpp"

#include <sys/sysmacros.h>
#include <sys/xattr.h>

namespace fs = std::filesystem;

namespace strata::snapshot {

namespace {

bool is_whiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool is_opaque(const fs::path& dir) {
  char v[4] = {};
  return ::lgetxattr(dir.c_str(), "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
}

}  // namespace

LowerView::Entry LowerView::lookup(const std::vector<std::string>& components) const {
  // The layers that may hold the next component: those where every
  // component so far is a directory, down to the first opaque one.
  std::vector<size_t> candidates(layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i) candidates[i] = i;
  std::string rel;
  Entry found;
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
  return found;
}

}  // namespace strata::snapshot

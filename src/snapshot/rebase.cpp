#include "snapshot/rebase.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>

#include "os/fs.hpp"
#include "os/mount.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace strata::snapshot {

namespace {

std::vector<std::string> components(const std::string& rel) {
  std::vector<std::string> out;
  for (auto& c : split(rel, '/'))
    if (!c.empty()) out.push_back(std::move(c));
  return out;
}

std::string join(const std::string& rel, const std::string& name) {
  return rel.empty() ? name : rel + "/" + name;
}

Result<std::vector<std::string>> sorted_names(const fs::path& dir) {
  auto names = TRY_VALUE(os::list_dir(dir));
  std::erase_if(names, [](const std::string& n) { return os::is_overlay_marker(n); });
  std::sort(names.begin(), names.end());
  return names;
}

bool same_bytes(const fs::path& a, const fs::path& b) {
  os::UniqueFd fa(::open(a.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  os::UniqueFd fb(::open(b.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fa || !fb) return false;
  char ba[1 << 16], bb[1 << 16];
  for (;;) {
    ssize_t na = ::read(fa.get(), ba, sizeof ba);
    if (na < 0) return false;
    size_t got = 0;
    while (got < static_cast<size_t>(na)) {
      ssize_t nb = ::read(fb.get(), bb + got, static_cast<size_t>(na) - got);
      if (nb <= 0) return false;
      got += static_cast<size_t>(nb);
    }
    if (std::memcmp(ba, bb, got) != 0) return false;
    if (na == 0) {
      char extra;
      return ::read(fb.get(), &extra, 1) == 0;
    }
  }
}

std::string link_target(const fs::path& p) {
  std::error_code ec;
  return fs::read_symlink(p, ec).string();
}

// Whether two roots show the same entry at a path: what a step that ran
// on either would see there.
bool same_entry(const LowerView::Entry& a, const LowerView::Entry& b) {
  if (a.state != b.state) return false;
  if (a.state != LowerView::Entry::present) return true;
  const struct stat &x = a.st, &y = b.st;
  if (x.st_mode != y.st_mode || x.st_uid != y.st_uid || x.st_gid != y.st_gid ||
      x.st_mtim.tv_sec != y.st_mtim.tv_sec || x.st_mtim.tv_nsec != y.st_mtim.tv_nsec)
    return false;
  if (S_ISDIR(x.st_mode)) return true;  // their entries are paths of their own
  if (S_ISLNK(x.st_mode)) return link_target(a.path) == link_target(b.path);
  if (S_ISCHR(x.st_mode) || S_ISBLK(x.st_mode)) return x.st_rdev == y.st_rdev;
  if (!S_ISREG(x.st_mode)) return true;
  return x.st_size == y.st_size && (a.path == b.path || same_bytes(a.path, b.path));
}

// Every path a snapshot directory holds; `subtree` for its opaque ones.
Result<void> collect(const fs::path& root, const std::string& rel,
                     std::map<std::string, bool>& out) {
  for (const auto& name : TRY_VALUE(sorted_names(rel.empty() ? root : root / rel))) {
    std::string p = join(rel, name);
    fs::path full = root / p;
    struct stat st {};
    if (::lstat(full.c_str(), &st) != 0) return std::unexpected(os::errno_error("stat", full));
    bool& subtree = out[p];
    if (S_ISDIR(st.st_mode)) {
      subtree = subtree || is_opaque(full);
      TRY(collect(root, p, out));
    }
  }
  return {};
}

// A directory's metadata, set once everything in it is in place (adding
// entries changes its times).
struct DirTimes {
  fs::path path;
  struct timespec times[2];
};

// Copies the extended attributes of `from` to `to` (a directory strata
// made), but not overlay's own (opaque is set where it belongs).
void copy_xattrs(const fs::path& from, const fs::path& to) {
  char names[8192];
  ssize_t len = ::llistxattr(from.c_str(), names, sizeof names);
  for (ssize_t i = 0; i < len; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
    std::string name(names + i);
    if (os::is_overlay_xattr(name)) continue;
    char value[8192];
    ssize_t vl = ::lgetxattr(from.c_str(), name.c_str(), value, sizeof value);
    if (vl >= 0) ::lsetxattr(to.c_str(), name.c_str(), value, static_cast<size_t>(vl), 0);
  }
}

Result<void> make_dir_like(const fs::path& dir, const struct stat& st, const fs::path& xattrs_of,
                           bool opaque, std::vector<DirTimes>& times) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return std::unexpected(os::errno_error("creating", dir));
  if (::lchown(dir.c_str(), st.st_uid, st.st_gid) != 0)
    return std::unexpected(os::errno_error("setting the owner of", dir));
  if (::chmod(dir.c_str(), st.st_mode & 07777) != 0)
    return std::unexpected(os::errno_error("setting the mode of", dir));
  copy_xattrs(xattrs_of, dir);
  if (opaque && ::lsetxattr(dir.c_str(), os::overlay_opaque_xattr(), "y", 1, 0) != 0)
    return std::unexpected(os::errno_error("marking opaque", dir));
  times.push_back({dir, {st.st_atim, st.st_mtim}});
  return {};
}

Result<void> link_entry(const fs::path& from, const fs::path& to) {
  if (::link(from.c_str(), to.c_str()) != 0)
    return std::unexpected(os::errno_error(fmt::format("linking {} to", from.string()), to));
  return {};
}

Result<void> set_times(const std::vector<DirTimes>& times) {
  for (auto it = times.rbegin(); it != times.rend(); ++it)
    if (::utimensat(AT_FDCWD, it->path.c_str(), it->times, AT_SYMLINK_NOFOLLOW) != 0)
      return std::unexpected(os::errno_error("setting the times of", it->path));
  return {};
}

// What the directory `dir` (a lower right above the root) lets through at
// a path: open (its ancestors there are directories that do not hide the
// root), hidden by an opaque ancestor, or blocked by a non-directory one.
enum class Through { open, opaque, blocked };
Through through(const fs::path& dir, const std::vector<std::string>& parts) {
  fs::path p = dir;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    p /= parts[i];
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return Through::open;  // nothing of it below here
    if (!S_ISDIR(st.st_mode)) return Through::blocked;
    if (is_opaque(p)) return Through::opaque;
  }
  return Through::open;
}

// Puts what `root` shows at `rel` into `out` (under an opaque directory of
// `out`, which hides it): a directory with its metadata, and with
// `subtree` everything the root shows in it; any other entry linked.
Result<void> bring_in(const LowerView& root, const std::string& rel, bool subtree,
                      const fs::path& out, std::vector<DirTimes>& times) {
  auto parts = components(rel);
  auto e = root.lookup(parts);
  if (e.state != LowerView::Entry::present) return {};
  fs::path to = out / rel;
  struct stat have {};
  if (::lstat(to.c_str(), &have) == 0 && !S_ISDIR(have.st_mode)) return {};  // in already
  // Its ancestors that `out` lacks, as the root has them.
  std::vector<std::string> prefix;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    prefix.push_back(parts[i]);
    fs::path d = out;
    for (const auto& c : prefix) d /= c;
    struct stat st {};
    if (::lstat(d.c_str(), &st) == 0) continue;
    auto a = root.lookup(prefix);
    if (a.state != LowerView::Entry::present) return {};
    TRY(make_dir_like(d, a.st, a.path, false, times));
  }
  if (!S_ISDIR(e.st.st_mode)) return link_entry(e.path, to);
  TRY(make_dir_like(to, e.st, e.path, false, times));
  if (subtree)
    for (const auto& name : root.list(parts))
      TRY(bring_in(root, join(rel, name), true, out, times));
  return {};
}

}  // namespace

Result<std::vector<ChangedPath>> changed_paths(const LowerView& old_root, const LowerView& new_root,
                                               const std::vector<fs::path>& differing) {
  std::map<std::string, bool> candidates;
  for (const auto& dir : differing) TRY(collect(dir, "", candidates));
  std::vector<ChangedPath> out;
  for (const auto& [path, subtree] : candidates) {
    auto parts = components(path);
    if (subtree || !same_entry(old_root.lookup(parts), new_root.lookup(parts)))
      out.push_back({path, subtree});
  }
  return out;
}

Result<void> rebase_changes(const fs::path& changes, const std::vector<ChangedPath>& changed,
                            const LowerView& new_root, const fs::path& out) {
  std::map<std::string, bool> at;  // changed path -> subtree
  for (const auto& c : changed) at[c.path] = c.subtree;
  std::vector<DirTimes> times;
  // The earlier changes, but where the new root changed a path, its entry:
  // a directory in both keeps what the step put in it (unless the new root
  // replaced all under it), with the new root's metadata.
  std::function<Result<void>(const std::string&)> copy =
      [&](const std::string& rel) -> Result<void> {
    for (const auto& name : TRY_VALUE(sorted_names(rel.empty() ? changes : changes / rel))) {
      std::string p = join(rel, name);
      fs::path from = changes / p, to = out / p;
      struct stat st {};
      if (::lstat(from.c_str(), &st) != 0) return std::unexpected(os::errno_error("stat", from));
      auto c = at.find(p);
      if (c == at.end()) {
        if (!S_ISDIR(st.st_mode)) {
          TRY(link_entry(from, to));
          continue;
        }
        TRY(make_dir_like(to, st, from, is_opaque(from), times));
        TRY(copy(p));
        continue;
      }
      auto now = new_root.lookup(components(p));
      if (!S_ISDIR(st.st_mode) || now.state != LowerView::Entry::present ||
          !S_ISDIR(now.st.st_mode))
        continue;  // the new root's entry shows
      bool subtree = c->second;
      TRY(make_dir_like(to, now.st, now.path, !subtree && is_opaque(from), times));
      if (!subtree) TRY(copy(p));
    }
    return {};
  };
  TRY(copy(""));
  // A changed path that an opaque directory of the earlier changes hides
  // is brought in from the new root.
  for (const auto& c : changed) {
    if (through(out, components(c.path)) != Through::opaque) continue;
    struct stat st {};
    bool exists = ::lstat((out / c.path).c_str(), &st) == 0;
    if (!exists || (c.subtree && S_ISDIR(st.st_mode)))
      TRY(bring_in(new_root, c.path, c.subtree, out, times));
  }
  return set_times(times);
}

Result<void> merge_upper(const fs::path& upper, const fs::path& into, const LowerView& new_root) {
  std::vector<DirTimes> times;
  std::function<Result<void>(const std::string&)> merge =
      [&](const std::string& rel) -> Result<void> {
    for (const auto& name : TRY_VALUE(sorted_names(rel.empty() ? upper : upper / rel))) {
      std::string p = join(rel, name);
      fs::path from = upper / p, to = into / p;
      struct stat st {
      }, below{};
      if (::lstat(from.c_str(), &st) != 0) return std::unexpected(os::errno_error("stat", from));
      bool has_below = ::lstat(to.c_str(), &below) == 0;
      if (S_ISDIR(st.st_mode) && !is_opaque(from) && has_below && S_ISDIR(below.st_mode)) {
        // Both: the step's metadata, the entries of both.
        if (::lchown(to.c_str(), st.st_uid, st.st_gid) != 0 ||
            ::chmod(to.c_str(), st.st_mode & 07777) != 0)
          return std::unexpected(os::errno_error("setting the metadata of", to));
        copy_xattrs(from, to);
        times.push_back({to, {st.st_atim, st.st_mtim}});
        TRY(merge(p));
        continue;
      }
      if (has_below) TRY(os::remove_tree(to));
      if (is_whiteout(st)) {
        // A deletion matters only where the new root has the path.
        auto parts = components(p);
        bool shown = new_root.lookup(parts).state == LowerView::Entry::present &&
                     through(into, parts) == Through::open;
        if (!shown) {
          if (::unlink(from.c_str()) != 0)
            return std::unexpected(os::errno_error("removing", from));
          continue;
        }
      }
      if (::rename(from.c_str(), to.c_str()) != 0)
        return std::unexpected(os::errno_error(fmt::format("moving {} to", from.string()), to));
    }
    return {};
  };
  TRY(merge(""));
  return set_times(times);
}

}  // namespace strata::snapshot

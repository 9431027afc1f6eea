#include "builder/copy.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <unordered_set>

#include "archive/tar.hpp"
#include "os/fs.hpp"
#include "os/root_path.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace strata::builder {

using dockerfile::clean_path;
using dockerfile::Glob;

namespace {

int64_t ns(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

struct Source {
  std::string rel;  // relative to the source root, as the instruction names it
  bool is_dir = false;
  // Where it is read: `rel` resolved inside the source root (its symlinks
  // followed there, never on the host), and that path relative to the root.
  fs::path from;
  std::string from_rel;
};

bool excluded_by(const std::vector<Glob>& globs, const std::string& rel) {
  for (const auto& g : globs)
    if (g.matches_or_parent(rel)) return true;
  return false;
}

class Copier {
 public:
  Copier(const fs::path& src_root, const fs::path& dst_root, const CopyOptions& opts,
         std::vector<SourceFile>* collect = nullptr)
      : src_root_(src_root), dst_root_(dst_root), opts_(opts), collect_(collect) {}

  Result<void> init() {
    for (const auto& e : opts_.excludes) {
      auto g = TRY_VALUE(Glob::compile(clean_path(e), true));
      excludes_.push_back(std::move(g));
    }
    return {};
  }

  bool parents() const { return opts_.parents; }

  bool ignored(const std::string& rel) const { return opts_.ignore && opts_.ignore->excluded(rel); }

  // The matches of one source path or pattern. As in BuildKit, every source
  // is what its symlinks lead to, inside the source root (a named source
  // that is a link is the file or directory it leads to; so is each match
  // of a pattern, and the directories before the first wildcard), and a
  // pattern that matches nothing is no error.
  Result<std::vector<Source>> resolve(const std::string& source) {
    std::string p = clean_path("/" + source);
    p = p == "/" ? "" : p.substr(1);
    auto glob = TRY_VALUE(Glob::compile(p, false));
    if (!glob.has_wildcards()) {
      auto s = TRY_VALUE(followed(p));
      if (!s) return not_found(clean_path("/" + p));
      return std::vector<Source>{std::move(*s)};
    }
    // The directories before the first component with a wildcard, then
    // the pattern's components matched below them.
    auto parts = split(p, '/');
    std::vector<Glob> globs;
    for (const auto& part : parts) {
      auto g = TRY_VALUE(Glob::compile(part, false));
      globs.push_back(std::move(g));
    }
    size_t first_wild = 0;
    while (first_wild < globs.size() && !globs[first_wild].has_wildcards()) ++first_wild;
    std::string prefix;
    for (size_t i = 0; i < first_wild; ++i) prefix += (i ? "/" : "") + parts[i];
    std::vector<std::string> names{prefix};
    for (size_t i = first_wild; i < parts.size(); ++i) {
      const Glob* g = &globs[i];
      bool last = i + 1 == parts.size();
      std::vector<std::string> next;
      for (const auto& dir : names) {
        for (const auto& name : children_of(dir)) {
          if (!g->matches(name)) continue;
          std::string path = dir.empty() ? name : dir + "/" + name;
          // A directory on the way that .dockerignore excludes is walked
          // only when an exception may bring back something inside it.
          if (!last && ignored(path) && !opts_.ignore->has_exceptions()) continue;
          next.push_back(std::move(path));
        }
      }
      names = std::move(next);
    }
    std::vector<Source> out;
    for (const auto& name : names) {
      if (ignored(name)) continue;
      auto s = TRY_VALUE(followed(name));
      if (s) out.push_back(std::move(*s));
    }
    return out;
  }

  // COPY --parents SOURCE DEST: SOURCE is split at its first "/./" (else
  // at the root) into the directory copied from (a pattern too) and a
  // pattern (`**` too) of what is copied below it, with the path from that
  // directory kept; the directories on the way are made from the source's
  // as something inside them is copied. As in BuildKit, a source without
  // wildcards must exist; one with wildcards may match nothing.
  Result<void> copy_parents(const std::string& source, const std::string& dest) {
    std::string parent = "/", pattern = source;
    if (size_t pivot = source.find("/./"); pivot != std::string::npos) {
      parent = source.substr(0, pivot);
      pattern = source.substr(pivot + 3);
    }
    pattern = clean_path("/" + pattern);
    pattern = pattern == "/" ? "" : pattern.substr(1);
    auto include = TRY_VALUE(Glob::compile(pattern, true));
    auto parent_glob = TRY_VALUE(Glob::compile(parent, false));
    if (!parent_glob.has_wildcards() && !include.has_wildcards()) {
      std::string required = clean_path("/" + parent + "/" + pattern);
      auto found = TRY_VALUE(followed(required.substr(1)));
      if (!found) return not_found(required);
    }
    auto roots = TRY_VALUE(resolve(parent));
    for (const auto& root : roots) {
      if (!root.is_dir) continue;
      if (auto r = ensure_parent(dest); !r) return r;
      if (auto r = make_created_dir(dest); !r) return r;
      std::vector<Pending> pending;
      if (auto r = copy_included(root.from, root.from_rel, "", dest, include, pending); !r)
        return r;
    }
    return {};
  }

  Result<void> copy(const Source& s, const std::string& dest, bool dest_is_dir) {
    const fs::path& from = s.from;
    std::string base = s.rel.empty() ? "" : fs::path(s.rel).filename().string();
    if (s.is_dir) {
      if (auto r = ensure_parent(dest); !r) return r;
      if (auto r = make_created_dir(dest); !r) return r;
      return copy_dir_contents(from, s.from_rel, "", dest);
    }
    std::string target = dest_is_dir ? join_dest(dest, base) : dest;
    if (opts_.unpack_archives && looks_like_archive(from)) return unpack(from, dest);
    if (auto r = ensure_parent(target); !r) return r;
    return copy_entry(from, target, nullptr, base);
  }

 private:
  std::unexpected<Error> not_found(const std::string& path) const {
    // BuildKit's words, which users search for, and where strata looked.
    return fail(Errc::not_found,
                fmt::format("failed to calculate checksum of ref: \"{}\": not found{}", path,
                            opts_.ignore ? " in the build context (or excluded by .dockerignore)"
                                         : " in the source"));
  }

  // A directory of a --parents copy not made yet: made (from its source's
  // metadata) before the first entry copied inside it.
  struct Pending {
    std::string target;
    fs::path from;
    struct stat st;
    bool made = false;
  };

  Result<void> copy_included(const fs::path& dir, const std::string& from_rel,
                             const std::string& rel, const std::string& dest, const Glob& include,
                             std::vector<Pending>& pending) {
    auto names = TRY_VALUE(os::list_dir(dir));
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string child_from_rel = from_rel.empty() ? name : from_rel + "/" + name;
      std::string child_rel = rel.empty() ? name : rel + "/" + name;
      if (ignored(child_from_rel) && !opts_.ignore->has_exceptions()) continue;
      if (excluded_by(excludes_, child_rel)) continue;
      fs::path child = dir / name;
      std::string target = join_dest(dest, child_rel);
      struct stat st {};
      if (::lstat(child.c_str(), &st) != 0) return std::unexpected(os::errno_error("stat", child));
      if (!include.matches(child_rel)) {
        if (!S_ISDIR(st.st_mode)) continue;
        pending.push_back({target, child, st});
        auto r = copy_included(child, child_from_rel, child_rel, dest, include, pending);
        pending.pop_back();
        if (!r) return r;
        continue;
      }
      if (ignored(child_from_rel) && !S_ISDIR(st.st_mode)) continue;
      for (auto& p : pending) {
        if (p.made) continue;
        if (auto r = make_dest_dir(p.target, p.from, p.st); !r) return r;
        p.made = true;
      }
      if (S_ISDIR(st.st_mode)) {
        if (auto r = make_dest_dir(target, child, st); !r) return r;
        if (auto r = copy_dir_contents(child, child_from_rel, child_rel, target); !r) return r;
      } else if (auto r = copy_entry(child, target, &st); !r) {
        return r;
      }
    }
    return {};
  }

  // `rel` resolved inside the source root, or nullopt when it does not
  // exist or .dockerignore excludes it (by its name or where it leads).
  Result<std::optional<Source>> followed(const std::string& rel) {
    if (rel.empty()) return std::optional<Source>{Source{"", true, src_root_, ""}};
    auto full = TRY_VALUE(os::resolve_in_root(src_root_, rel, true));
    std::string from_rel = full.lexically_relative(src_root_).generic_string();
    if (from_rel == ".") from_rel.clear();  // a link to the root
    struct stat st {};
    if (::lstat(full.c_str(), &st) != 0 || ignored(rel) || (!from_rel.empty() && ignored(from_rel)))
      return std::optional<Source>{};
    return std::optional<Source>{Source{rel, S_ISDIR(st.st_mode), std::move(full), from_rel}};
  }

  // The names in a directory of the source (its links followed), sorted;
  // none when it is no directory.
  std::vector<std::string> children_of(const std::string& rel) {
    std::vector<std::string> out;
    auto dir =
        rel.empty() ? Result<fs::path>(src_root_) : os::resolve_in_root(src_root_, rel, true);
    if (!dir) return out;
    auto names = os::list_dir(*dir);
    if (names) out = std::move(*names);
    std::sort(out.begin(), out.end());
    return out;
  }

  static std::string join_dest(const std::string& dest, const std::string& rel) {
    std::string d = dest;
    if (!d.ends_with("/")) d += "/";
    return d + rel;
  }

  static bool looks_like_archive(const fs::path& p) {
    auto r = archive::TarReader::open(p);
    if (!r) return false;
    auto first = r->next();
    return first && *first;
  }

  // --chmod, else the source's mode (without group/other write with
  // --normalize-permissions, so that runners with different umasks agree).
  uint32_t mode_of(mode_t mode) const {
    if (opts_.mode) return *opts_.mode;
    if (!opts_.symbolic_mode.empty())
      return apply_symbolic_mode(opts_.symbolic_mode, mode & 07777, S_ISDIR(mode))
          .value_or(mode & 07777);
    uint32_t m = mode & 07777;
    return opts_.normalize_permissions ? (m & ~022u) : m;
  }

  uint32_t uid_of(const struct stat& st) const {
    return opts_.owner ? opts_.owner->uid : opts_.keep_owner ? st.st_uid : 0;
  }
  uint32_t gid_of(const struct stat& st) const {
    return opts_.owner ? opts_.owner->gid : opts_.keep_owner ? st.st_gid : 0;
  }

  // The directories the copy makes where none exists (the destination's
  // parents, and the destination of a directory) get --chmod's octal mode
  // or 0755 and --chown's owner or root's, as in BuildKit; one that exists
  // keeps its own. A listing has them as 'p' entries.
  Result<void> ensure_parent(const std::string& dest) {
    std::string prefix;
    auto parts = split(clean_path("/" + dest), '/');
    if (!parts.empty()) parts.pop_back();
    for (const auto& part : parts) {
      if (part.empty()) continue;
      prefix += "/" + part;
      if (auto r = make_created_dir(prefix); !r) return r;
    }
    return {};
  }

  Result<void> make_created_dir(const std::string& dest) {
    std::string clean = clean_path("/" + dest);
    if (clean == "/") return {};  // the root exists and keeps its metadata
    uint32_t mode = opts_.mode.value_or(0755);
    uint32_t uid = opts_.owner ? opts_.owner->uid : 0, gid = opts_.owner ? opts_.owner->gid : 0;
    if (collect_) {
      if (listed_dirs_.insert(clean).second)
        collect_->push_back({clean, "", 'p', mode, uid, gid, ""});
      return {};
    }
    auto p = TRY_VALUE(os::resolve_in_root(dst_root_, clean, true));
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return {};
      return fail(Errc::invalid_argument,
                  fmt::format("cannot copy to {}: it exists and is not a directory", clean));
    }
    // A symlink on the way may lead where directories are missing too:
    // they are made the same way, from the top.
    std::vector<fs::path> missing{p};
    for (fs::path up = p.parent_path(); up != dst_root_ && up.has_relative_path();
         up = up.parent_path()) {
      if (::lstat(up.c_str(), &st) == 0) break;
      missing.push_back(up);
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      if (::mkdir(it->c_str(), 0700) != 0) return std::unexpected(os::errno_error("creating", *it));
      (void)::lchown(it->c_str(), uid, gid);
      ::chmod(it->c_str(), mode);  // after chown, which clears setgid bits
    }
    return {};
  }

  // A directory inside a copied one: the source's metadata (with --chown
  // and --chmod), over an existing directory's too, as in BuildKit.
  // `known`: what stat said of `from`.
  Result<void> make_dest_dir(const std::string& dest, const fs::path& from,
                             const struct stat& src) {
    if (collect_) {
      collect_->push_back(
          {dest, from.string(), 'd', mode_of(src.st_mode), uid_of(src), gid_of(src), ""});
      return {};
    }
    auto p = TRY_VALUE(os::resolve_in_root(dst_root_, dest, false));
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      if (auto r = os::remove_tree(p); !r) return r;
    }
    if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST)
      return std::unexpected(os::errno_error("creating", p));
    (void)::lchown(p.c_str(), uid_of(src), gid_of(src));
    ::chmod(p.c_str(), mode_of(src.st_mode));
    return {};
  }

  // `rel`: where `from` is in the source root (for .dockerignore);
  // `in_copy`: where it is in what the instruction copies (for --exclude).
  Result<void> copy_dir_contents(const fs::path& from, const std::string& rel,
                                 const std::string& in_copy, const std::string& dest) {
    // Entries are looked up relative to the directory, not by their full path.
    os::UniqueFd dfd(::open(from.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd) return std::unexpected(os::errno_error("opening", from));
    auto names = TRY_VALUE(os::list_dir(from));
    std::sort(names.begin(), names.end());
    const std::string dir = from.string() + "/";
    for (const auto& name : names) {
      std::string child_rel = rel.empty() ? name : rel + "/" + name;
      std::string child_in_copy = in_copy.empty() ? name : in_copy + "/" + name;
      if (ignored(child_rel) && !opts_.ignore->has_exceptions()) continue;
      if (excluded_by(excludes_, child_in_copy)) continue;
      std::string child = dir + name;
      std::string target = join_dest(dest, name);
      struct stat st {};
      if (::fstatat(dfd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return std::unexpected(os::errno_error("stat", child));
      if (S_ISDIR(st.st_mode)) {
        if (auto r = make_dest_dir(target, child, st); !r) return r;
        if (auto r = copy_dir_contents(child, child_rel, child_in_copy, target); !r) return r;
        continue;
      }
      if (ignored(child_rel)) continue;
      if (auto r = copy_entry(child, target, &st); !r) return r;
    }
    return {};
  }

  // `known`: what lstat said of `from`, when the caller asked already;
  // `name`: what the instruction calls it (`from` may be where a link led).
  Result<void> copy_entry(const fs::path& from, const std::string& dest,
                          const struct stat* known = nullptr, std::string name = {}) {
    if (name.empty()) name = from.filename().string();
    struct stat st {};
    if (known)
      st = *known;
    else if (::lstat(from.c_str(), &st) != 0)
      return std::unexpected(os::errno_error("stat", from));
    if (collect_) {
      SourceFile f{dest,
                   from.string(),
                   'o',
                   st.st_mode & 07777,
                   uid_of(st),
                   gid_of(st),
                   "",
                   st.st_size,
                   ns(st.st_mtim),
                   ns(st.st_ctim),
                   static_cast<int64_t>(st.st_ino)};
      if (!S_ISLNK(st.st_mode)) f.mode = mode_of(st.st_mode);
      if (S_ISREG(st.st_mode)) {
        f.type = 'f';
      } else if (S_ISLNK(st.st_mode)) {
        f.type = 'l';
        char buf[4096];
        ssize_t n = ::readlink(from.c_str(), buf, sizeof buf - 1);
        if (n > 0) f.link.assign(buf, static_cast<size_t>(n));
      }
      collect_->push_back(std::move(f));
      return {};
    }
    auto to = TRY_VALUE(os::resolve_in_root(dst_root_, dest, false));
    struct stat existing {};
    if (::lstat(to.c_str(), &existing) == 0) {
      if (S_ISDIR(existing.st_mode) && !S_ISDIR(st.st_mode)) {
        // Copying a file onto a directory puts it inside.
        auto inside = TRY_VALUE(os::resolve_in_root(dst_root_, join_dest(dest, name), false));
        to = inside;
      }
      (void)os::remove_tree(to);
    }
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = ::readlink(from.c_str(), buf, sizeof buf - 1);
      if (n < 0) return std::unexpected(os::errno_error("readlink", from));
      if (::symlink(std::string(buf, static_cast<size_t>(n)).c_str(), to.c_str()) != 0)
        return std::unexpected(os::errno_error("creating symlink", to));
    } else if (auto first = st.st_nlink > 1 ? hard_link_of(from, to) : std::nullopt; first) {
      if (::link(first->c_str(), to.c_str()) != 0)
        return std::unexpected(os::errno_error("linking", to));
      return {};  // the link shares the first copy's metadata
    } else if (S_ISREG(st.st_mode)) {
      os::UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (!in) return std::unexpected(os::errno_error("opening", from));
      os::UniqueFd out(
          ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (!out) return std::unexpected(os::errno_error("creating", to));
      off_t left = st.st_size;
      while (left > 0) {
        ssize_t n =
            ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<size_t>(left), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          // Fall back to read/write (e.g. across file systems that refuse).
          char buf[65536];
          ssize_t r = ::read(in.get(), buf, sizeof buf);
          if (r <= 0) return std::unexpected(os::errno_error("copying", from));
          if (auto w = os::write_all(out.get(), buf, static_cast<size_t>(r)); !w) return w;
          left -= r;
          continue;
        }
        left -= n;
      }
      ::fchmod(out.get(), mode_of(st.st_mode));
    } else if (S_ISSOCK(st.st_mode) && !opts_.keep_owner) {
      // A socket of the build context becomes an empty file, as BuildKit's
      // context transfer makes it.
      os::UniqueFd out(
          ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (!out) return std::unexpected(os::errno_error("creating", to));
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) ||
               S_ISSOCK(st.st_mode)) {
      if (::mknod(to.c_str(), st.st_mode, st.st_rdev) != 0)
        return std::unexpected(os::errno_error("mknod", to));
    } else {
      return {};
    }
    (void)::lchown(to.c_str(), uid_of(st), gid_of(st));
    if (opts_.mode && S_ISREG(st.st_mode))
      ::chmod(to.c_str(), *opts_.mode);  // chown clears setuid bits
    else if (!S_ISLNK(st.st_mode))
      ::chmod(to.c_str(), mode_of(st.st_mode));
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    ::utimensat(AT_FDCWD, to.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    return {};
  }

  // For a regular file with other links in the source's layers: the copy
  // of an earlier link of it, if one was made (else `to` is noted as its).
  std::optional<fs::path> hard_link_of(const fs::path& from, const fs::path& to) {
    if (!opts_.layers) return std::nullopt;
    std::vector<std::string> comps;
    for (const auto& part : from.lexically_relative(src_root_)) comps.push_back(part.string());
    auto e = opts_.layers->lookup(comps);
    if (e.state != snapshot::LowerView::Entry::present || !S_ISREG(e.st.st_mode))
      return std::nullopt;
    auto [it, added] = links_.try_emplace({e.layer, e.st.st_ino}, to);
    if (added) return std::nullopt;
    return it->second;
  }

  Result<void> unpack(const fs::path& archive_path, const std::string& dest) {
    if (collect_) {  // the archive's bytes stand for what it unpacks to
      struct stat st {};
      ::stat(archive_path.c_str(), &st);
      collect_->push_back({dest, archive_path.string(), 'f', 0, 0, 0, "unpacked", st.st_size,
                           ns(st.st_mtim), ns(st.st_ctim), static_cast<int64_t>(st.st_ino)});
      return {};
    }
    auto reader = TRY_VALUE(archive::TarReader::open(archive_path));
    for (;;) {
      auto e = reader.next();
      if (!e) return std::unexpected(e.error().with_context("unpacking " + archive_path.string()));
      if (!*e) return {};
      const archive::TarEntry& t = **e;
      if (t.path.empty() || t.path == ".") {
        if (t.type == archive::TarEntry::dir) continue;  // the archive's root
        return fail(Errc::invalid_argument,
                    fmt::format("unpacking {}: its entry \".\" is not a directory; an archive "
                                "that ADD unpacks must hold its files below its root",
                                archive_path.string()));
      }
      std::string target = join_dest(dest, t.path);
      if (auto r = ensure_parent(target); !r) return r;
      auto to = TRY_VALUE(os::resolve_in_root(dst_root_, target, false));
      struct stat existing {};
      bool exists = ::lstat(to.c_str(), &existing) == 0;
      if (exists && !(t.type == archive::TarEntry::dir && S_ISDIR(existing.st_mode)))
        (void)os::remove_tree(to);
      switch (t.type) {
        case archive::TarEntry::dir:
          if (auto r = os::make_dirs(to); !r) return r;
          break;
        case archive::TarEntry::file: {
          os::UniqueFd out(
              ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
          if (!out) return std::unexpected(os::errno_error("creating", to));
          if (auto r = reader.copy_data_to(out.get()); !r) return r;
          break;
        }
        case archive::TarEntry::symlink:
          if (::symlink(t.linkname.c_str(), to.c_str()) != 0)
            return std::unexpected(os::errno_error("creating symlink", to));
          break;
        case archive::TarEntry::hardlink: {
          auto src = TRY_VALUE(os::resolve_in_root(dst_root_, join_dest(dest, t.linkname), false));
          if (::link(src.c_str(), to.c_str()) != 0)
            return std::unexpected(os::errno_error("linking", to));
          continue;
        }
        default:
          continue;  // devices are not unpacked by ADD
      }
      (void)::lchown(to.c_str(), opts_.owner ? opts_.owner->uid : t.uid,
                     opts_.owner ? opts_.owner->gid : t.gid);
      if (t.type != archive::TarEntry::symlink) ::chmod(to.c_str(), t.mode & 07777);
      struct timespec ts[2] = {{t.mtime, 0}, {t.mtime, 0}};
      ::utimensat(AT_FDCWD, to.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    }
  }

  fs::path src_root_, dst_root_;
  const CopyOptions& opts_;
  std::vector<SourceFile>* collect_;
  std::vector<Glob> excludes_;
  std::unordered_set<std::string> listed_dirs_;         // 'p' entries listed so far
  std::map<std::pair<size_t, ino_t>, fs::path> links_;  // (layer, inode) -> first copy
};

}  // namespace

namespace {

Result<void> run_copy(Copier& c, const std::vector<std::string>& sources, const std::string& dest) {
  if (auto r = c.init(); !r) return r;
  if (c.parents()) {
    for (const auto& s : sources)
      if (auto r = c.copy_parents(s, dest); !r) return r;
    return {};
  }
  std::vector<Source> all;
  for (const auto& s : sources) {
    auto matches = TRY_VALUE(c.resolve(s));
    all.insert(all.end(), matches.begin(), matches.end());
  }
  // As in BuildKit, one match of a pattern goes to the destination itself
  // unless it ends with "/" (or is a directory already, see copy_entry).
  bool dest_is_dir = dest.ends_with("/") || all.size() > 1;
  for (const auto& s : all)
    if (auto r = c.copy(s, dest, dest_is_dir); !r) return r;
  return {};
}

}  // namespace

Result<void> copy_sources(const fs::path& src_root, const std::vector<std::string>& sources,
                          const fs::path& dst_root, const std::string& dest,
                          const CopyOptions& opts) {
  Copier c(src_root, dst_root, opts);
  return run_copy(c, sources, dest);
}

Result<std::vector<SourceFile>> list_sources(const fs::path& src_root,
                                             const std::vector<std::string>& sources,
                                             const std::string& dest, const CopyOptions& opts) {
  std::vector<SourceFile> out;
  Copier c(src_root, "/nonexistent", opts, &out);
  TRY(run_copy(c, sources, dest));
  return out;
}

std::optional<uint32_t> apply_symbolic_mode(std::string_view spec, uint32_t mode, bool is_dir) {
  for (const auto& clause : split(spec, ',')) {
    size_t i = 0;
    uint32_t who = 0;
    for (; i < clause.size() && std::string_view("ugoa").find(clause[i]) != std::string_view::npos;
         ++i) {
      who |= clause[i] == 'u'   ? 04700u
             : clause[i] == 'g' ? 02070u
             : clause[i] == 'o' ? 01007u
                                : 07777u;
    }
    if (who == 0) who = 07777;
    if (i >= clause.size()) return std::nullopt;
    while (i < clause.size()) {
      char op = clause[i++];
      if (op != '+' && op != '-' && op != '=') return std::nullopt;
      uint32_t bits = 0;
      for (; i < clause.size() && std::string_view("+-=").find(clause[i]) == std::string_view::npos;
           ++i) {
        switch (clause[i]) {
          case 'r':
            bits |= 0444;
            break;
          case 'w':
            bits |= 0222;
            break;
          case 'x':
            bits |= 0111;
            break;
          case 'X':
            if (is_dir || (mode & 0111)) bits |= 0111;
            break;
          case 's':
            bits |= 06000;
            break;
          case 't':
            bits |= 01000;
            break;
          default:
            return std::nullopt;
        }
      }
      bits &= who;
      if (op == '+')
        mode |= bits;
      else if (op == '-')
        mode &= ~bits;
      else
        mode = (mode & ~(who & 07777)) | bits;
    }
  }
  return mode & 07777;
}

Result<void> write_inline_file(const fs::path& dst_root, const std::string& dest,
                               const std::string& name, std::string_view content,
                               const CopyOptions& opts) {
  std::string target = dest.ends_with("/") ? dest + name : dest;
  auto parent =
      TRY_VALUE(os::resolve_in_root(dst_root, fs::path(target).parent_path().string(), true));
  if (auto r = os::make_dirs(parent); !r) return r;
  auto to = TRY_VALUE(os::resolve_in_root(dst_root, target, false));
  (void)os::remove_tree(to);
  os::UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!out) return std::unexpected(os::errno_error("creating", to));
  if (auto r = os::write_all(out.get(), content.data(), content.size()); !r) return r;
  if (opts.owner) ::fchown(out.get(), opts.owner->uid, opts.owner->gid);
  uint32_t mode = opts.mode ? *opts.mode : 0644;
  if (!opts.symbolic_mode.empty())
    mode = apply_symbolic_mode(opts.symbolic_mode, 0644, false).value_or(0644);
  ::fchmod(out.get(), mode);
  struct timespec epoch[2] = {{0, 0}, {0, 0}};  // a heredoc file has no time of its own
  ::futimens(out.get(), epoch);
  return {};
}

Result<void> copy_tree(const fs::path& from, const fs::path& to,
                       const snapshot::LowerView* layers) {
  if (auto r = os::make_dirs(to); !r) return r;
  CopyOptions opts;
  opts.keep_owner = true;
  opts.layers = layers;
  return copy_sources(from, {"."}, to, "/", opts);
}

}  // namespace strata::builder

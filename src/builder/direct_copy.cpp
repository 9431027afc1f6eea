#include "builder/direct_copy.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>

#include "digest/sha256.hpp"
#include "os/fs.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace strata::builder {

namespace {

using snapshot::LowerView;

// A destination split into clean components; nullopt when it climbs ("..").
std::optional<std::vector<std::string>> components(const std::string& dest) {
  std::vector<std::string> out;
  for (auto& part : split(dest, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return std::nullopt;
    out.push_back(std::move(part));
  }
  return out;
}

std::string join_components(const std::vector<std::string>& c, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? "/" : "") + c[i];
  return s;
}

struct Op {
  enum Kind {
    parent_dir,  // a directory the destination needs: 0777 & ~umask, root's
    lower_dir,   // a directory that exists below: copied up with its metadata
    source_dir,  // a directory from the listing: its mode and owner
    place,       // a file or symlink: a link to its object
    replace,     // the same, over an entry this copy made before
  } kind;
  std::string rel;
  size_t index = 0;   // into the listing
  fs::path lower;     // lower_dir: where the directory is
  struct stat st {};  // lower_dir: its metadata
};

// The object a file or symlink is linked to: content or target, mode,
// owner and mtime decide its name.
std::string object_name(const SourceFile& f, const std::string& digest) {
  std::string what = f.type == 'f' ? digest : f.link;
  std::string d = sha256_digest(
      fmt::format("{}\n{}\n{:o}\n{}\n{}\n{}", f.type, what, f.mode, f.uid, f.gid, f.mtime));
  return std::string(digest_hex(d));
}

Result<void> copy_xattrs(const fs::path& from, const fs::path& to) {
  char names[4096];
  ssize_t len = ::llistxattr(from.c_str(), names, sizeof names);
  for (ssize_t i = 0; len > 0 && i < len;) {
    std::string name(names + i);
    i += static_cast<ssize_t>(name.size()) + 1;
    if (name.starts_with("trusted.overlay.")) continue;
    char value[4096];
    ssize_t vl = ::lgetxattr(from.c_str(), name.c_str(), value, sizeof value);
    if (vl >= 0 && ::lsetxattr(to.c_str(), name.c_str(), value, static_cast<size_t>(vl), 0) != 0)
      return std::unexpected(os::errno_error("setting " + name + " on", to));
  }
  return {};
}

// Writes a new object at `obj` (through a temporary name, so a half-written
// object is never seen): the file's content, checked against its digest.
Result<void> make_object(const SourceFile& f, const std::string& digest, const fs::path& obj) {
  static std::atomic<uint64_t> counter{0};
  fs::path tmp = obj.string() + fmt::format(".tmp{}-{}", ::getpid(), counter++);
  if (f.type == 'l') {
    if (::symlink(f.link.c_str(), tmp.c_str()) != 0)
      return std::unexpected(os::errno_error("creating symlink", tmp));
    (void)::lchown(tmp.c_str(), f.uid, f.gid);
    struct timespec ts[2] = {{f.mtime / 1000000000, f.mtime % 1000000000},
                             {f.mtime / 1000000000, f.mtime % 1000000000}};
    ::utimensat(AT_FDCWD, tmp.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  } else {
    os::UniqueFd in(::open(f.from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!in) return std::unexpected(os::errno_error("opening", f.from));
    os::UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) return std::unexpected(os::errno_error("creating", tmp));
    Sha256 hash;
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(in.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return std::unexpected(os::errno_error("reading", f.from));
      if (n == 0) break;
      hash.update(std::string_view(buf, static_cast<size_t>(n)));
      if (auto w = os::write_all(out.get(), buf, static_cast<size_t>(n)); !w) {
        ::unlink(tmp.c_str());
        return w;
      }
    }
    if (hash.finish() != digest) {
      ::unlink(tmp.c_str());
      return fail(Errc::invalid_argument,
                  fmt::format("{} changed while it was being copied; build again", f.from));
    }
    (void)::fchown(out.get(), f.uid, f.gid);
    ::fchmod(out.get(), f.mode);  // after chown, which clears setuid bits
    struct timespec ts[2] = {{f.mtime / 1000000000, f.mtime % 1000000000},
                             {f.mtime / 1000000000, f.mtime % 1000000000}};
    ::futimens(out.get(), ts);
  }
  if (::link(tmp.c_str(), obj.c_str()) != 0 && errno != EEXIST) {
    auto e = os::errno_error("storing object", obj);
    ::unlink(tmp.c_str());
    return std::unexpected(e);
  }
  ::unlink(tmp.c_str());
  return {};
}

}  // namespace

Result<bool> copy_direct(const LowerView& lowers, const std::vector<SourceFile>& files,
                         const std::vector<std::string>& digests, const fs::path& objects_dir,
                         const fs::path& out,
                         std::unordered_map<std::string, snapshot::ObjectFile>& objects) {
  // First the plan, checking everything against the lower layers; nothing is
  // written until the whole copy is known to need no overlay.
  std::vector<Op> ops;
  std::unordered_map<std::string, char> made;      // what this copy creates: 'd' or 'n'
  std::unordered_map<std::string, bool> in_lower;  // a directory made here exists below
  auto below = [&](const std::vector<std::string>& comps, size_t n) {
    std::string parent = join_components(comps, n - 1);
    if (n > 1) {
      auto it = in_lower.find(parent);
      if (it != in_lower.end() && !it->second) return LowerView::Entry{};  // a new directory
    }
    return lowers.lookup(std::vector<std::string>(comps.begin(), comps.begin() + n));
  };
  for (size_t i = 0; i < files.size(); ++i) {
    const SourceFile& f = files[i];
    if (f.type == 'o') return false;  // devices and fifos: the overlay path
    auto comps = components(f.dest);
    if (!comps) return false;
    if (comps->empty()) {
      if (f.type != 'd') return false;
      continue;  // the root exists and keeps its metadata
    }
    for (size_t n = 1; n < comps->size(); ++n) {
      std::string rel = join_components(*comps, n);
      if (auto it = made.find(rel); it != made.end()) {
        if (it->second != 'd') return false;
        continue;
      }
      auto e = below(*comps, n);
      if (e.state == LowerView::Entry::present && S_ISDIR(e.st.st_mode)) {
        ops.push_back({Op::lower_dir, rel, i, e.path, e.st});
      } else if (e.state == LowerView::Entry::absent) {
        ops.push_back({Op::parent_dir, rel, i, {}, {}});
      } else {
        return false;
      }
      made[rel] = 'd';
      in_lower[rel] = e.state == LowerView::Entry::present;
    }
    std::string rel = join_components(*comps, comps->size());
    if (auto it = made.find(rel); it != made.end()) {
      if (f.type == 'd' && it->second == 'd') continue;  // an existing directory stays
      if (f.type != 'd' && it->second != 'd') {
        ops.push_back({Op::replace, rel, i, {}, {}});
        continue;
      }
      return false;
    }
    auto e = below(*comps, comps->size());
    if (e.state == LowerView::Entry::blocked) return false;
    bool dir_below = e.state == LowerView::Entry::present && S_ISDIR(e.st.st_mode);
    if (f.type == 'd') {
      if (e.state == LowerView::Entry::present && !dir_below) return false;
      ops.push_back(dir_below ? Op{Op::lower_dir, rel, i, e.path, e.st}
                              : Op{Op::source_dir, rel, i, {}, {}});
      made[rel] = 'd';
      in_lower[rel] = dir_below;
    } else {
      if (dir_below) return false;  // a file onto a directory goes inside it
      ops.push_back({Op::place, rel, i, {}, {}});
      made[rel] = 'n';
    }
  }

  // Directories first (a parent before its children), then the links, on
  // every core, each directory's entries on one worker in order (so an entry
  // and the entry it replaces stay in order).
  std::vector<const Op*> links;
  for (const auto& op : ops) {
    fs::path p = out / op.rel;
    const SourceFile& f = files[op.index];
    switch (op.kind) {
      case Op::parent_dir:
        if (::mkdir(p.c_str(), 0777) != 0) return std::unexpected(os::errno_error("creating", p));
        break;
      case Op::lower_dir:
        if (::mkdir(p.c_str(), 0700) != 0) return std::unexpected(os::errno_error("creating", p));
        ::chmod(p.c_str(), op.st.st_mode & 07777);
        (void)::lchown(p.c_str(), op.st.st_uid, op.st.st_gid);
        if (auto r = copy_xattrs(op.lower, p); !r) return std::unexpected(r.error());
        break;
      case Op::source_dir:
        if (::mkdir(p.c_str(), 0700) != 0) return std::unexpected(os::errno_error("creating", p));
        ::chmod(p.c_str(), f.mode);
        (void)::lchown(p.c_str(), f.uid, f.gid);
        break;
      case Op::place:
      case Op::replace:
        links.push_back(&op);
        break;
    }
  }
  // An object is linked once per snapshot: a second file with the same
  // content and metadata gets an object of its own (name.1, name.2, ...).
  std::vector<std::string> names(links.size());
  std::unordered_map<std::string, int> uses;
  for (size_t k = 0; k < links.size(); ++k) {
    names[k] = object_name(files[links[k]->index], digests[links[k]->index]);
    if (int n = uses[names[k]]++; n > 0) names[k] += fmt::format(".{}", n);
  }
  // Links are made relative to open directories (the objects directory and
  // the destination's directory): walking the two full paths again for each
  // of thousands of files is most of what a link costs.
  os::UniqueFd objects_fd(::open(objects_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!objects_fd) return std::unexpected(os::errno_error("opening", objects_dir));
  struct Directory {
    std::string rel;  // with its trailing "/"
    os::UniqueFd fd;
  };
  auto link_one = [&](size_t k, Directory& dir) -> Result<void> {
    const Op& op = *links[k];
    const SourceFile& f = files[op.index];
    size_t slash = op.rel.rfind('/') + 1;  // 0 at the top
    if (!dir.fd || std::string_view(op.rel).substr(0, slash) != dir.rel) {
      dir.rel = op.rel.substr(0, slash);
      fs::path d = out / dir.rel;
      dir.fd = os::UniqueFd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
      if (!dir.fd) return std::unexpected(os::errno_error("opening", d));
    }
    const char* name = op.rel.c_str() + slash;
    if (op.kind == Op::replace && ::unlinkat(dir.fd.get(), name, 0) != 0)
      return std::unexpected(os::errno_error("replacing", out / op.rel));
    std::string obj = names[k].substr(0, 2) + "/" + names[k];
    if (::linkat(objects_fd.get(), obj.c_str(), dir.fd.get(), name, 0) == 0) return {};
    if (errno != ENOENT) return std::unexpected(os::errno_error("linking", out / op.rel));
    fs::path full = objects_dir / obj;
    if (auto r = os::make_dirs(full.parent_path()); !r) return r;
    if (auto r = make_object(f, digests[op.index], full); !r) return r;
    if (::linkat(objects_fd.get(), obj.c_str(), dir.fd.get(), name, 0) != 0)
      return std::unexpected(os::errno_error("linking", out / op.rel));
    return {};
  };
  unsigned workers = std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), 8));
  std::vector<std::optional<Error>> errors(workers);
  std::vector<std::thread> pool;
  std::hash<std::string_view> hash;
  for (unsigned w = 0; w < workers; ++w) {
    pool.emplace_back([&, w] {
      Directory dir;
      for (size_t k = 0; k < links.size() && !errors[w]; ++k) {
        // By directory: workers in one directory would wait on its lock.
        std::string_view rel = links[k]->rel;
        if (hash(rel.substr(0, rel.rfind('/') + 1)) % workers != w) continue;
        if (auto r = link_one(k, dir); !r) errors[w] = r.error();
      }
    });
  }
  for (auto& t : pool) t.join();
  for (const auto& e : errors)
    if (e) return std::unexpected(*e);
  objects.reserve(links.size());
  for (size_t k = 0; k < links.size(); ++k) {
    const SourceFile& f = files[links[k]->index];
    objects[links[k]->rel] = {names[k], f.type == 'f' ? static_cast<uint64_t>(f.size) : 0};
  }
  return true;
}

}  // namespace strata::builder

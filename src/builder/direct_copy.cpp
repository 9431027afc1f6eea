#include "builder/direct_copy.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "digest/sha256.hpp"
#include "os/fs.hpp"
#include "os/mount.hpp"
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
    lower_dir,      // a directory that exists below and stays: copied up with its metadata
    restamped_dir,  // a directory that exists below, given the listing's metadata
    source_dir,     // a new directory: the listing's mode and owner
    place,          // a file or symlink: a link to its object
    replace,        // the same, over an entry this copy made before
  } kind;
  std::string rel;
  size_t index = 0;   // into the listing
  fs::path lower;     // lower_dir, restamped_dir: where the directory is
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

// The extended attributes of a directory below that its copy-up carries
// (not overlay's own), name and value.
std::vector<std::pair<std::string, std::string>> copied_xattrs(const fs::path& from) {
  std::vector<std::pair<std::string, std::string>> out;
  char names[4096];
  ssize_t len = ::llistxattr(from.c_str(), names, sizeof names);
  for (ssize_t i = 0; len > 0 && i < len;) {
    std::string name(names + i);
    i += static_cast<ssize_t>(name.size()) + 1;
    if (os::is_overlay_xattr(name)) continue;
    char value[4096];
    ssize_t vl = ::lgetxattr(from.c_str(), name.c_str(), value, sizeof value);
    if (vl >= 0) out.emplace_back(std::move(name), std::string(value, static_cast<size_t>(vl)));
  }
  return out;
}

Result<void> copy_xattrs(const fs::path& from, const fs::path& to) {
  for (const auto& [name, value] : copied_xattrs(from))
    if (::lsetxattr(to.c_str(), name.c_str(), value.data(), value.size(), 0) != 0)
      return std::unexpected(os::errno_error("setting " + name + " on", to));
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

// A directory's extended attributes as copy_xattrs would copy them, as
// one string ("-" when it has none).
std::string xattr_signature(const fs::path& dir) {
  std::string out;
  for (const auto& [name, value] : copied_xattrs(dir))
    out += fmt::format("{}={};", name, digest_hex(sha256_digest(value)));
  return out.empty() ? "-" : out;
}

Result<void> make_dir(const Op& op, const SourceFile& f, const fs::path& out) {
  fs::path p = out / op.rel;
  if (op.kind != Op::lower_dir && op.kind != Op::restamped_dir && op.kind != Op::source_dir)
    return {};
  if (::mkdir(p.c_str(), 0700) != 0) return std::unexpected(os::errno_error("creating", p));
  bool lower = op.kind == Op::lower_dir;
  (void)::lchown(p.c_str(), lower ? op.st.st_uid : f.uid, lower ? op.st.st_gid : f.gid);
  ::chmod(p.c_str(), lower ? op.st.st_mode & 07777 : f.mode);  // after chown
  if (op.kind == Op::source_dir) return {};
  return copy_xattrs(op.lower, p);
}

// A manifest is a run of entries "path\0value\0".
void append_entry(std::string& manifest, std::string_view rel, std::string_view value) {
  manifest.append(rel);
  manifest += '\0';
  manifest.append(value);
  manifest += '\0';
}

// The manifest's entry for the layer options: no path starts with "/".
constexpr std::string_view kLayerOptions = "/layer";

// How a copy differs from a base: the paths it holds otherwise or anew,
// and the paths of the base it lacks (only the top one of a removed tree).
struct Delta {
  std::vector<std::string_view> changed;
  std::vector<std::string> removed;
};

// The delta on `base`, or nullopt when the copy is to be made whole: the
// base's manifest is unreadable or from other layer options, or too much
// changed (a delta is for the small edit; a big one would make every later
// layer walk and lookup pay for two trees).
std::optional<Delta> delta_on(const DeltaBase& base,
                              const std::unordered_map<std::string_view, std::string>& holds,
                              size_t files) {
  std::unordered_map<std::string_view, std::string_view> before;
  std::string_view text = base.manifest;
  while (!text.empty()) {
    size_t a = text.find('\0');
    if (a == std::string_view::npos) return std::nullopt;
    size_t b = text.find('\0', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    before[text.substr(0, a)] = text.substr(a + 1, b - a - 1);
    text.remove_prefix(b + 1);
  }
  if (before.empty()) return std::nullopt;
  size_t limit = std::max<size_t>(64, files / 8);
  Delta d;
  for (const auto& [rel, value] : holds) {
    auto it = before.find(rel);
    if (it != before.end() && it->second == value) continue;
    if (rel == kLayerOptions) return std::nullopt;
    d.changed.push_back(rel);
    if (d.changed.size() > limit) return std::nullopt;
  }
  for (const auto& [rel, value] : before) {
    if (holds.count(rel)) continue;
    // Under a directory that went or became a file, nothing needs hiding.
    size_t slash = rel.rfind('/');
    if (slash != std::string_view::npos) {
      auto parent = holds.find(rel.substr(0, slash));
      if (parent == holds.end() || parent->second.starts_with("f ")) continue;
    }
    d.removed.emplace_back(rel);
    if (d.changed.size() + d.removed.size() > limit) return std::nullopt;
  }
  std::sort(d.changed.begin(), d.changed.end());
  std::sort(d.removed.begin(), d.removed.end());
  return d;
}

}  // namespace

Result<DirectCopy> copy_direct(const LowerView& lowers, const std::vector<SourceFile>& files,
                               const std::vector<std::string>& digests, const fs::path& objects_dir,
                               const fs::path& out,
                               std::unordered_map<std::string, snapshot::ObjectFile>& objects,
                               const std::string& layer_options, const DeltaBase* base) {
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
  std::unordered_map<std::string, size_t> dir_ops;  // a directory made here -> its op
  for (size_t i = 0; i < files.size(); ++i) {
    const SourceFile& f = files[i];
    if (f.type == 'o') return DirectCopy{};  // devices, fifos, sockets: the overlay path
    bool is_dir = f.type == 'd' || f.type == 'p';
    auto comps = components(f.dest);
    if (!comps) return DirectCopy{};
    if (comps->empty()) {
      if (!is_dir) return DirectCopy{};
      continue;  // the root exists and keeps its metadata
    }
    // A listing names every directory on the way before what lies in it.
    for (size_t n = 1; n < comps->size(); ++n) {
      auto it = made.find(join_components(*comps, n));
      if (it == made.end() || it->second != 'd') return DirectCopy{};
    }
    std::string rel = join_components(*comps, comps->size());
    if (auto it = made.find(rel); it != made.end()) {
      if (is_dir && it->second == 'd') {
        // Copied again: a directory of a copied tree takes the later
        // metadata; one made only where missing changes nothing.
        if (f.type == 'd') {
          Op& op = ops[dir_ops.at(rel)];
          op.index = i;
          if (op.kind == Op::lower_dir) op.kind = Op::restamped_dir;
        }
        continue;
      }
      if (!is_dir && it->second != 'd') {
        ops.push_back({Op::replace, rel, i, {}, {}});
        continue;
      }
      return DirectCopy{};
    }
    auto e = below(*comps, comps->size());
    if (e.state == LowerView::Entry::blocked) return DirectCopy{};
    bool dir_below = e.state == LowerView::Entry::present && S_ISDIR(e.st.st_mode);
    if (is_dir) {
      if (e.state == LowerView::Entry::present && !dir_below) return DirectCopy{};
      Op::Kind kind = !dir_below      ? Op::source_dir
                      : f.type == 'p' ? Op::lower_dir
                                      : Op::restamped_dir;
      dir_ops[rel] = ops.size();
      ops.push_back(dir_below ? Op{kind, rel, i, e.path, e.st} : Op{kind, rel, i, {}, {}});
      made[rel] = 'd';
      in_lower[rel] = dir_below;
    } else {
      if (dir_below) return DirectCopy{};  // a file onto a directory goes inside it
      ops.push_back({Op::place, rel, i, {}, {}});
      made[rel] = 'n';
    }
  }

  // An object is linked once per snapshot: a second file with the same
  // content and metadata gets an object of its own (name.1, name.2, ...).
  std::vector<const Op*> links;
  for (const auto& op : ops)
    if (op.kind == Op::place || op.kind == Op::replace) links.push_back(&op);
  std::vector<std::string> names(links.size());
  std::unordered_map<std::string, int> uses;
  for (size_t k = 0; k < links.size(); ++k) {
    names[k] = object_name(files[links[k]->index], digests[links[k]->index]);
    if (int n = uses[names[k]]++; n > 0) names[k] += fmt::format(".{}", n);
  }
  // What the copy holds, path -> what fixes the entry: its object, or a
  // directory's origin and metadata. The last op on a path wins.
  std::unordered_map<std::string_view, std::string> holds;
  holds.reserve(ops.size());
  for (size_t k = 0; k < links.size(); ++k) holds[links[k]->rel] = "f " + names[k];
  for (const auto& op : ops) {
    const SourceFile& f = files[op.index];
    switch (op.kind) {
      case Op::lower_dir:
        holds[op.rel] = fmt::format("l {:o} {} {} {}", op.st.st_mode & 07777, op.st.st_uid,
                                    op.st.st_gid, xattr_signature(op.lower));
        break;
      case Op::restamped_dir:
        holds[op.rel] =
            fmt::format("r {:o} {} {} {}", f.mode, f.uid, f.gid, xattr_signature(op.lower));
        break;
      case Op::source_dir:
        holds[op.rel] = fmt::format("s {:o} {} {}", f.mode, f.uid, f.gid);
        break;
      default:
        break;
    }
  }
  DirectCopy result;
  result.done = true;
  holds[kLayerOptions] = layer_options;
  std::optional<Delta> delta;
  if (base) delta = delta_on(*base, holds, links.size());
  if (delta) {
    // A delta's manifest: its changes, in order ("-" for a removed path).
    for (std::string_view rel : delta->changed) append_entry(result.manifest, rel, holds.at(rel));
    for (const auto& rel : delta->removed) append_entry(result.manifest, rel, "-");
    if (result.manifest.empty()) {
      result.same_as = DirectCopy::Same::base;
      return result;
    }
    if (result.manifest == base->previous_changes) {
      result.same_as = DirectCopy::Same::previous;
      return result;
    }
  }
  if (!delta) {
    for (const auto& op : ops) {
      if (op.kind == Op::place || op.kind == Op::replace) continue;
      TRY(make_dir(op, files[op.index], out));
    }
    for (const auto& [rel, value] : holds) append_entry(result.manifest, rel, value);
  } else {
    // Only what differs from the base, with the directories it lies in,
    // made as the whole copy would make them.
    result.delta = true;
    std::unordered_set<std::string_view> needed;
    auto need_parents = [&](std::string_view rel) {
      for (size_t slash = rel.rfind('/'); slash != std::string_view::npos && slash > 0;
           slash = rel.rfind('/', slash - 1)) {
        if (!needed.insert(rel.substr(0, slash)).second) break;
      }
    };
    for (std::string_view rel : delta->changed) {
      need_parents(rel);
      if (!holds.at(rel).starts_with("f ")) needed.insert(rel);
    }
    for (std::string_view rel : delta->removed) need_parents(rel);
    for (const auto& op : ops) {
      if (op.kind == Op::place || op.kind == Op::replace || !needed.count(op.rel)) continue;
      TRY(make_dir(op, files[op.index], out));
    }
    for (const auto& rel : delta->removed) {
      fs::path p = out / rel;
      if (::mknod(p.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0)
        return std::unexpected(os::errno_error("creating a whiteout", p));
    }
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
  // Which links to make: all of them, or in a delta the last op on each
  // path that changed.
  std::vector<size_t> todo;
  if (!result.delta) {
    todo.resize(links.size());
    for (size_t k = 0; k < links.size(); ++k) todo[k] = k;
  } else {
    std::unordered_set<std::string_view> wanted(delta->changed.begin(), delta->changed.end());
    for (size_t k = links.size(); k-- > 0;)
      if (wanted.erase(links[k]->rel)) todo.push_back(k);
    std::reverse(todo.begin(), todo.end());
  }
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
    if (op.kind == Op::replace && !result.delta && ::unlinkat(dir.fd.get(), name, 0) != 0)
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
  unsigned workers = todo.size() < 256
                         ? 1u
                         : std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), 8));
  std::vector<std::optional<Error>> errors(workers);
  std::vector<std::thread> pool;
  std::hash<std::string_view> hash;
  for (unsigned w = 0; w < workers; ++w) {
    pool.emplace_back([&, w] {
      Directory dir;
      for (size_t k : todo) {
        if (errors[w]) break;
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
  return result;
}

}  // namespace strata::builder

#include "snapshot/layer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "digest/sha256.hpp"
#include "os/fs.hpp"
#include "os/mount.hpp"
#include "os/root_path.hpp"
#include "snapshot/lower_view.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace strata::snapshot {

using archive::TarEntry;

namespace {

Error io_error(std::string_view what, const fs::path& p) {
  return os::errno_error(what, p);
}

void set_metadata(const fs::path& p, const TarEntry& e, bool is_link) {
  (void)::lchown(p.c_str(), e.uid, e.gid);
  if (!is_link) ::chmod(p.c_str(), e.mode & 07777);
  for (const auto& [k, v] : e.xattrs) {
    // trusted.* (and user.overlay.* in a user namespace) holds overlayfs's
    // own attributes (opaque, redirect, origin, metacopy), which would tell
    // the kernel how to look through the stack: a layer says "opaque" only
    // with its .wh..wh..opq entry. The writer never writes them either.
    if (k.starts_with("trusted.") || os::is_overlay_xattr(k)) continue;
    ::lsetxattr(p.c_str(), k.c_str(), v.data(), v.size(), 0);
  }
  struct timespec ts[2] = {{e.mtime, 0}, {e.mtime, 0}};
  ::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

}  // namespace

Result<void> unpack_layer(archive::TarReader& layer, const fs::path& dest, bool whiteouts) {
  std::vector<std::pair<fs::path, TarEntry>> dirs;  // times are set last
  for (;;) {
    auto next = layer.next();
    if (!next) return std::unexpected(next.error());
    if (!*next) break;
    TarEntry e = std::move(**next);
    if (e.path.empty() || e.path == ".") {
      if (e.type == TarEntry::dir) continue;  // the root's own entry
      return fail(Errc::invalid_argument,
                  "layer entry \".\" (the layer's root) is not a directory");
    }
    // Every name stays inside the snapshot: no "..", no symlink on the way.
    auto target_in = os::entry_in_root(dest, e.path);
    if (!target_in) return std::unexpected(target_in.error().with_context("layer entry refused"));
    fs::path target = std::move(*target_in);
    std::string base = target.filename().string();
    if (auto r = os::make_dirs(target.parent_path()); !r) return r;
    if (whiteouts && base == ".wh..wh..opq") {
      if (::lsetxattr(target.parent_path().c_str(), os::overlay_opaque_xattr(), "y", 1, 0) != 0)
        return std::unexpected(io_error("marking opaque", target.parent_path()));
      continue;
    }
    if (whiteouts && base.starts_with(".wh.")) {
      if (!os::is_plain_name(base.substr(4)))
        return fail(Errc::invalid_argument,
                    fmt::format("layer entry refused: whiteout \"{}\" names no entry", e.path));
      fs::path hidden = target.parent_path() / base.substr(4);
      (void)os::remove_tree(hidden);
      if (::mknod(hidden.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0)
        return std::unexpected(io_error("creating a whiteout", hidden));
      continue;
    }
    struct stat st {};
    bool exists = ::lstat(target.c_str(), &st) == 0;
    if (exists && !(e.type == TarEntry::dir && S_ISDIR(st.st_mode))) (void)os::remove_tree(target);
    switch (e.type) {
      case TarEntry::dir:
        if (!(exists && S_ISDIR(st.st_mode)) && ::mkdir(target.c_str(), 0700) != 0)
          return std::unexpected(io_error("creating", target));
        dirs.emplace_back(target, e);
        continue;
      case TarEntry::file: {
        os::UniqueFd fd(
            ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
        if (!fd) return std::unexpected(io_error("creating", target));
        if (auto r = layer.copy_data_to(fd.get()); !r) return r;
        break;
      }
      case TarEntry::symlink:
        if (::symlink(e.linkname.c_str(), target.c_str()) != 0)
          return std::unexpected(io_error("creating symlink", target));
        break;
      case TarEntry::hardlink: {
        // Only to an entry of this layer (linkat does not follow a last
        // symlink; the directories on the way are checked).
        auto src = os::entry_in_root(dest, e.linkname);
        if (!src)
          return std::unexpected(
              src.error().with_context(fmt::format("hard link \"{}\" refused", e.path)));
        if (::linkat(AT_FDCWD, src->c_str(), AT_FDCWD, target.c_str(), 0) != 0)
          return std::unexpected(io_error("creating hardlink", target));
        continue;  // shares the metadata of its source
      }
      case TarEntry::chardev:
      case TarEntry::blockdev:
      case TarEntry::fifo: {
        mode_t kind = e.type == TarEntry::chardev    ? S_IFCHR
                      : e.type == TarEntry::blockdev ? S_IFBLK
                                                     : S_IFIFO;
        if (::mknod(target.c_str(), kind | (e.mode & 07777), makedev(e.devmajor, e.devminor)) != 0)
          return std::unexpected(io_error("creating device", target));
        break;
      }
    }
    set_metadata(target, e, e.type == TarEntry::symlink);
  }
  // Deepest first, so that setting a parent's time is not undone by a child.
  std::sort(dirs.begin(), dirs.end(),
            [](auto& a, auto& b) { return a.first.string() > b.first.string(); });
  for (const auto& [p, e] : dirs) set_metadata(p, e, false);
  return {};
}

namespace {

class LayerWriter {
 public:
  // `roots`: the directory, then what it is stacked on (DiffOptions).
  LayerWriter(archive::TarWriter& tar, const DiffOptions& opts, std::vector<fs::path> roots)
      : tar_(tar), opts_(opts), roots_(std::move(roots)), frame_writer_(captured_) {}

  Result<void> walk(const std::string& rel) {
    // Each name with the topmost root that has it; a root where `rel` is
    // not a directory (a whiteout, say) hides the roots below.
    std::vector<std::pair<std::string, size_t>> listed;
    for (size_t m = 0; m < roots_.size(); ++m) {
      fs::path dir = rel.empty() ? roots_[m] : roots_[m] / rel;
      if (roots_.size() > 1) {
        struct stat st {};
        if (::lstat(dir.c_str(), &st) != 0) {
          if (errno == ENOENT) continue;
          return std::unexpected(io_error("stat", dir));
        }
        if (!S_ISDIR(st.st_mode)) break;
      }
      auto got = os::list_dir(dir);
      if (!got) return std::unexpected(got.error());
      for (auto& n : *got)
        if (!os::is_overlay_marker(n)) listed.emplace_back(std::move(n), m);
    }
    // Sorted by name, the topmost first; then one per name.
    std::sort(listed.begin(), listed.end());
    listed.erase(std::unique(listed.begin(), listed.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 listed.end());
    // Small files and symlinks, written as themselves, in runs of at least
    // kMinFrame, become frames (see frame()). An object's size is known; the
    // rest is looked at once here and the stat handed on.
    std::vector<std::string> names;
    std::vector<size_t> members;
    std::vector<struct stat> stats;
    std::vector<const ObjectFile*> objects;  // null: the stat is known
    std::vector<char> small;
    for (auto& [name, m] : listed) {
      std::string path = join_path(rel, name);
      const ObjectFile* object = nullptr;
      if (opts_.objects) {
        auto it = opts_.objects->find(path);
        if (it != opts_.objects->end()) object = &it->second;
      }
      struct stat st {};
      if (!object) {
        fs::path full = roots_[m] / path;
        if (::lstat(full.c_str(), &st) != 0) return std::unexpected(io_error("stat", full));
        // Removed in a delta: neither it nor what it hides is written.
        if (roots_.size() > 1 && is_whiteout(st)) continue;
      }
      names.push_back(std::move(name));
      members.push_back(m);
      stats.push_back(st);
      objects.push_back(object);
      small.push_back(object ? object->size <= kFrameFile
                             : S_ISLNK(st.st_mode) ||
                                   (S_ISREG(st.st_mode) &&
                                    static_cast<uint64_t>(st.st_size) <= kFrameFile &&
                                    !(opts_.hardlinks && st.st_nlink > 1)));
    }
    for (size_t i = 0; i < names.size(); ++i) {
      size_t j = i;
      while (j < names.size() && small[j] && j - i < kMaxFrame) ++j;
      if (j - i >= kMinFrame) {
        if (auto r = frame(rel, names, members, i, j, stats, objects); !r) return r;
        i = j - 1;
        continue;
      }
      if (auto r = entry(members[i], rel, names[i], tar_, objects[i] ? nullptr : &stats[i]); !r)
        return r;
    }
    return {};
  }

  size_t count() const { return count_; }

 private:
  static constexpr size_t kMinFrame = 8;            // entries
  static constexpr size_t kMaxFrame = 256;          // entries
  static constexpr uint64_t kFrameFile = 64 << 10;  // bytes of a file in a frame

  static std::string join_path(const std::string& rel, const std::string& name) {
    return rel.empty() ? name : rel + "/" + name;
  }

  // One entry (and, for a directory, what is below it) into `tar`; `known`
  // is what lstat said of it, when that was asked already.
  Result<void> entry(size_t member, const std::string& rel, const std::string& name,
                     archive::TarWriter& tar, const struct stat* known) {
    std::string path = join_path(rel, name);
    fs::path full = roots_[member] / path;
    struct stat st {};
    if (known)
      st = *known;
    else if (::lstat(full.c_str(), &st) != 0)
      return std::unexpected(io_error("stat", full));
    ++count_;
    if (is_whiteout(st)) {
      // An overlay whiteout: the file was deleted.
      TarEntry wh;
      wh.path = (rel.empty() ? "" : rel + "/") + ".wh." + name;
      wh.mtime = clamp(st.st_mtime);
      return tar.add(wh);
    }
    TarEntry e = entry_for(full, path, st);
    if (e.type == TarEntry::file && st.st_nlink > 1 && opts_.hardlinks) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      if (auto it = links_.find(key); it != links_.end()) {
        e.type = TarEntry::hardlink;
        e.linkname = it->second;
        e.size = 0;
      } else {
        links_[key] = path;
      }
    }
    if (e.type == TarEntry::file) {
      os::UniqueFd fd(::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (!fd) return std::unexpected(io_error("opening", full));
      if (auto r = tar.add(e, fd.get()); !r) return r;
    } else {
      if (auto r = tar.add(e); !r) return r;
    }
    if (S_ISDIR(st.st_mode)) {
      if (is_opaque(full)) {
        TarEntry opq;
        opq.path = path + "/.wh..wh..opq";
        opq.mtime = clamp(st.st_mtime);
        if (auto r = tar.add(opq); !r) return r;
      }
      if (auto r = walk(path); !r) return r;
    }
    return {};
  }

  // names[i, j) as one frame of the tar stream: compressed on its own, so
  // that the same entries always give the same compressed bytes (a rule of
  // the stream alone: a snapshot of objects and an overlay's upper dir with
  // the same files give the same layer). When they are linked to objects,
  // their tar entries depend only on their paths, their objects and the
  // time clamp, so the frame's bytes, raw and compressed, are kept in the
  // segments directory under that key and reused instead of reading and
  // compressing the files again. A kept frame carries the sha256 of both
  // and is checked before use (it is written without fsync: a torn one is
  // ignored and written again).
  Result<void> frame(const std::string& rel, const std::vector<std::string>& names,
                     const std::vector<size_t>& members, size_t i, size_t j,
                     const std::vector<struct stat>& stats,
                     const std::vector<const ObjectFile*>& objects) {
    bool keep = !opts_.segments_dir.empty() && !opts_.hardlinks;
    for (size_t k = i; keep && k < j; ++k) keep = objects[k] != nullptr;  // every one an object
    std::string format = tar_.frame_format();
    fs::path file;
    if (keep) {
      std::string key =
          fmt::format("strata tar frame 2\n{}\n{}\n",
                      opts_.clamp_mtime ? std::to_string(*opts_.clamp_mtime) : "-", format);
      for (size_t k = i; k < j; ++k)
        key += join_path(rel, names[k]) + '\0' + objects[k]->name + '\n';
      std::string hex(digest_hex(sha256_digest(key)));
      file = opts_.segments_dir / hex.substr(0, 2) / hex;
      if (auto kept = read_kept(file, !format.empty())) {
        count_ += j - i;
        return tar_.add_frame(kept->raw(), kept->compressed());
      }
    }
    captured_.bytes.clear();
    for (size_t k = i; k < j; ++k)
      if (auto r =
              entry(members[k], rel, names[k], frame_writer_, objects[k] ? nullptr : &stats[k]);
          !r)
        return r;
    if (!keep) return tar_.add_frame(captured_.bytes);
    auto raw = std::make_shared<std::string>(std::move(captured_.bytes));
    captured_.bytes = std::string();
    if (format.empty()) {
      write_kept(file, *raw, {});
      return tar_.add_frame(*raw);
    }
    return tar_.add_frame(
        *raw, {}, [raw, file](std::string_view compressed) { write_kept(file, *raw, compressed); });
  }

  // A kept frame: "RAWSIZE RAWSHA COMPRESSEDSIZE COMPRESSEDSHA\n", the raw
  // bytes, the compressed bytes ("0 -" without compression).
  struct KeptFrame {
    std::string body;
    size_t raw_at = 0, raw_size = 0;
    std::string_view raw() const { return std::string_view(body).substr(raw_at, raw_size); }
    std::string_view compressed() const { return std::string_view(body).substr(raw_at + raw_size); }
  };
  static std::optional<KeptFrame> read_kept(const fs::path& file, bool compressed) {
    auto got = os::read_file(file);
    if (!got) return std::nullopt;
    KeptFrame kept{std::move(*got)};
    const std::string& body = kept.body;
    size_t nl = body.find('\n');
    if (nl == std::string::npos) return std::nullopt;
    auto fields = split(body.substr(0, nl), ' ');
    if (fields.size() != 4) return std::nullopt;
    uint64_t raw_size = 0, comp_size = 0;
    try {
      raw_size = std::stoull(fields[0]);
      comp_size = std::stoull(fields[2]);
    } catch (...) {
      return std::nullopt;
    }
    if ((comp_size > 0) != compressed || body.size() != nl + 1 + raw_size + comp_size)
      return std::nullopt;
    kept.raw_at = nl + 1;
    kept.raw_size = raw_size;
    if (digest_hex(sha256_digest(kept.raw())) != fields[1]) return std::nullopt;
    if (compressed && digest_hex(sha256_digest(kept.compressed())) != fields[3])
      return std::nullopt;
    return kept;
  }

  // Keeping a frame is an optimisation: a failure to write it is not an error.
  static void write_kept(const fs::path& file, std::string_view raw, std::string_view comp) {
    std::string body =
        fmt::format("{} {} {} {}\n", raw.size(), digest_hex(sha256_digest(raw)), comp.size(),
                    comp.empty() ? std::string("-") : std::string(digest_hex(sha256_digest(comp))));
    body.append(raw);
    body.append(comp);
    if (!os::make_dirs(file.parent_path())) return;
    fs::path tmp = file.string() + fmt::format(".{}.tmp", ::getpid());
    os::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    bool ok = fd && os::write_all(fd.get(), body.data(), body.size());
    fd.reset();
    if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) ::unlink(tmp.c_str());
  }

  int64_t clamp(int64_t t) const { return opts_.clamp_mtime ? std::min(t, *opts_.clamp_mtime) : t; }

  TarEntry entry_for(const fs::path& full, const std::string& path, const struct stat& st) const {
    TarEntry e;
    e.path = path;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.mtime = clamp(st.st_mtime);
    if (S_ISDIR(st.st_mode)) {
      e.type = TarEntry::dir;
      if (opts_.dir_mtime) e.mtime = *opts_.dir_mtime;
    } else if (S_ISLNK(st.st_mode)) {
      e.type = TarEntry::symlink;
      std::vector<char> buf(static_cast<size_t>(st.st_size) + 1);
      ssize_t n = ::readlink(full.c_str(), buf.data(), buf.size());
      if (n > 0) e.linkname.assign(buf.data(), static_cast<size_t>(n));
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      e.type = S_ISCHR(st.st_mode) ? TarEntry::chardev : TarEntry::blockdev;
      e.devmajor = major(st.st_rdev);
      e.devminor = minor(st.st_rdev);
    } else if (S_ISFIFO(st.st_mode)) {
      e.type = TarEntry::fifo;
    } else {
      e.type = TarEntry::file;
      e.size = static_cast<uint64_t>(st.st_size);
    }
    // Extended attributes other than overlay's own bookkeeping.
    char names[4096];
    ssize_t len = ::llistxattr(full.c_str(), names, sizeof names);
    for (ssize_t i = 0; len > 0 && i < len;) {
      std::string name(names + i);
      i += static_cast<ssize_t>(name.size()) + 1;
      if (name.starts_with("trusted.") || os::is_overlay_xattr(name) ||
          name.starts_with("security.selinux"))
        continue;
      char value[4096];
      ssize_t vl = ::lgetxattr(full.c_str(), name.c_str(), value, sizeof value);
      if (vl >= 0) e.xattrs[name] = std::string(value, static_cast<size_t>(vl));
    }
    return e;
  }

  archive::TarWriter& tar_;
  const DiffOptions& opts_;
  std::vector<fs::path> roots_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  size_t count_ = 0;
  archive::StringSink captured_;     // a frame on its way to tar_ and the segments directory
  archive::TarWriter frame_writer_;  // writes into captured_
};

}  // namespace

std::string layer_media_type(archive::Compression c) {
  switch (c) {
    case archive::Compression::gzip:
      return oci::kLayerGzip;
    case archive::Compression::zstd:
      return oci::kLayerZstd;
    case archive::Compression::none:
      return oci::kLayerTar;
  }
  return oci::kLayerGzip;
}

Result<Layer> write_layer(const fs::path& upper, store::Store& store, const DiffOptions& opts) {
  auto tmp = os::make_temp_dir(store.tmp_dir(), "layer-");
  if (!tmp) return std::unexpected(tmp.error());
  fs::path file = *tmp / "blob";
  Layer layer;
  {
    os::UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) return std::unexpected(io_error("creating", file));
    archive::FdSink out(fd.get(), true);  // fsynced when committed
    archive::HashingSink compressed(out);
    // The compressor works on threads of its own while files are read.
    auto compressor = archive::make_compressor(opts.compression, compressed);
    archive::HashingSink raw(*compressor);
    archive::TarWriter tar(raw);
    std::vector<fs::path> roots{upper};
    roots.insert(roots.end(), opts.stacked_on.begin(), opts.stacked_on.end());
    LayerWriter writer(tar, opts, std::move(roots));
    if (auto r = writer.walk(""); !r) {
      (void)os::remove_tree(*tmp);
      return std::unexpected(r.error());
    }
    if (auto r = tar.finish(); !r) {
      (void)os::remove_tree(*tmp);
      return std::unexpected(r.error());
    }
    layer.empty = writer.count() == 0;
    layer.diff_id = raw.digest();
    layer.size = raw.size();
    layer.blob = {layer_media_type(opts.compression),
                  compressed.digest(),
                  static_cast<int64_t>(compressed.size()),
                  {},
                  {}};
  }
  auto r = store.has_blob(layer.blob.digest) ? Result<void>{}
                                             : store.commit_blob(file, layer.blob.digest);
  (void)os::remove_tree(*tmp);
  if (!r) return std::unexpected(r.error());
  TRY(store.put_layer_size(layer.diff_id, layer.size));
  return layer;
}

Result<void> write_tree_tar(const fs::path& dir, archive::Sink& out) {
  archive::TarWriter tar(out);
  DiffOptions opts;
  LayerWriter writer(tar, opts, {dir});
  if (auto r = writer.walk(""); !r) return r;
  return tar.finish();
}

Result<std::vector<fs::path>> ensure_snapshot(store::Store& store, const oci::Descriptor& blob,
                                              const std::string& diff_id) {
  auto existing = store.snapshot(diff_id);
  if (!existing) return std::unexpected(existing.error());
  if (*existing && (*existing)->base.empty()) return std::vector<fs::path>{(*existing)->dir};
  if (*existing) {
    auto base = store.snapshot((*existing)->base);
    if (!base) return std::unexpected(base.error());
    if (*base && (*base)->base.empty())
      return std::vector<fs::path>{(*existing)->dir, (*base)->dir};
    if (auto r = store.drop_snapshot(diff_id); !r) return std::unexpected(r.error());
  }
  if (auto r = store.ensure_blob(blob); !r) return std::unexpected(r.error());
  auto tmp = os::make_temp_dir(store.tmp_dir(), "unpack-");
  if (!tmp) return std::unexpected(tmp.error());
  // The diff id becomes trusted here, and only here: a snapshot is kept
  // under a diff id only when the layer's uncompressed bytes hash to it, so
  // an image that names another image's diff ids for other bytes cannot
  // change what that image shows.
  auto reader = archive::TarReader::open_hashing(store.blob_path(blob.digest));
  if (!reader) {
    (void)os::remove_tree(*tmp);
    return std::unexpected(reader.error());
  }
  auto unpacked = unpack_layer(*reader, *tmp);
  auto digest = unpacked ? reader->finish_hashing() : Result<std::string>{};
  if (unpacked && digest && *digest != diff_id) {
    unpacked = fail(Errc::invalid_argument,
                    fmt::format("its content has the digest {}, not the diff id {} that the "
                                "image's config gives it; the image is damaged or forged",
                                *digest, diff_id));
  }
  if (!unpacked || !digest) {
    (void)os::remove_tree(*tmp);
    Error e = unpacked ? digest.error() : unpacked.error();
    return std::unexpected(e.with_context("unpacking layer " + blob.digest));
  }
  auto added = store.add_snapshot(diff_id, *tmp);
  if (!added) return std::unexpected(added.error());
  TRY(store.put_layer_size(diff_id, reader->hashed_size()));
  return std::vector<fs::path>{*added};
}

}  // namespace strata::snapshot

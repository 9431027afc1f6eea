#include "mounts/transfer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "archive/tree.hpp"
#include "digest/sha256.hpp"
#include "mounts/cache_mount.hpp"
#include "os/fs.hpp"
#include "store/file_hash.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace strata::mounts {

namespace {

constexpr const char* kIndex = "strata-mounts.json";
constexpr const char* kManifestType = "application/vnd.strata.cache-mount.v1+json";

int64_t ns(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

struct Entry {
  std::string path;  // relative; "" is the mount's root
  char type = 'f';   // f, d, l
  uint32_t mode = 0, uid = 0, gid = 0;
  int64_t mtime = 0;  // ns
  uint64_t size = 0;
  std::string digest, link;
  // Where it is on disk, and what stat said (for the stat cache).
  std::string full;
  int64_t ctime = 0, ino = 0;
};

// Every directory, regular file and symlink under `root`, parents before
// children, names sorted (so manifests are reproducible).
Result<void> walk(const fs::path& root, std::vector<Entry>& out) {
  return os::walk_sorted(
      root,
      [&](const std::string& rel, const fs::path& full, const struct stat& st) -> Result<void> {
        Entry e;
        e.path = rel;
        e.full = full.string();
        e.mode = st.st_mode & 07777;
        e.uid = st.st_uid;
        e.gid = st.st_gid;
        e.mtime = ns(st.st_mtim);
        e.ctime = ns(st.st_ctim);
        e.ino = static_cast<int64_t>(st.st_ino);
        if (S_ISDIR(st.st_mode)) {
          e.type = 'd';
        } else if (S_ISREG(st.st_mode)) {
          e.size = static_cast<uint64_t>(st.st_size);
        } else if (S_ISLNK(st.st_mode)) {
          e.type = 'l';
          std::string buf(static_cast<size_t>(st.st_size) + 1, '\0');
          ssize_t n = ::readlink(full.c_str(), buf.data(), buf.size());
          if (n < 0) return std::unexpected(os::errno_error("readlink", full));
          e.link = buf.substr(0, static_cast<size_t>(n));
        } else {
          return {};  // sockets, fifos, devices: not kept
        }
        out.push_back(std::move(e));
        return {};
      });
}

// The entries of a mount directory with the digests of its files.
Result<std::vector<Entry>> scan(store::Store& store, const fs::path& dir) {
  std::vector<Entry> entries;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return std::unexpected(os::errno_error("stat", dir));
  entries.push_back({"", 'd', st.st_mode & 07777, st.st_uid, st.st_gid, ns(st.st_mtim), 0, "", "",
                     dir.string(), 0, 0});
  if (auto r = walk(dir, entries); !r) return std::unexpected(r.error());
  std::vector<store::FileId> ids;
  for (const auto& e : entries)
    if (e.type == 'f')
      ids.push_back({e.full, static_cast<int64_t>(e.size), e.mtime, e.ctime, e.ino});
  auto digests = store::content_digests(store, dir, ids);
  if (!digests) return std::unexpected(digests.error());
  size_t k = 0;
  for (auto& e : entries)
    if (e.type == 'f') e.digest = (*digests)[k++];
  return entries;
}

json to_json(const std::string& id, const std::vector<Entry>& entries) {
  json list = json::array();
  for (const auto& e : entries) {
    json j = {{"path", e.path}, {"type", std::string(1, e.type)},
              {"mode", e.mode}, {"uid", e.uid},
              {"gid", e.gid},   {"mtime", e.mtime}};
    if (e.type == 'f') {
      j["size"] = e.size;
      j["digest"] = e.digest;
    }
    if (e.type == 'l') j["link"] = e.link;
    list.push_back(std::move(j));
  }
  return {{"mediaType", kManifestType}, {"id", id}, {"entries", list}};
}

Result<std::vector<Entry>> from_json(const json& m) {
  std::vector<Entry> out;
  if (!m.is_object() || m.value("mediaType", "") != kManifestType || !m.contains("entries"))
    return fail(Errc::invalid_argument, "not a strata cache mount manifest");
  for (const auto& j : m["entries"]) {
    Entry e;
    e.path = j.value("path", "");
    std::string t = j.value("type", "f");
    e.type = t.empty() ? 'f' : t[0];
    e.mode = j.value("mode", 0u);
    e.uid = j.value("uid", 0u);
    e.gid = j.value("gid", 0u);
    e.mtime = j.value("mtime", int64_t{0});
    e.size = j.value("size", uint64_t{0});
    e.digest = j.value("digest", "");
    e.link = j.value("link", "");
    // Paths come from a file anyone could have written: stay inside the mount.
    if (!e.path.empty() &&
        (e.path.starts_with("/") || e.path == ".." || e.path.starts_with("../") ||
         e.path.find("/../") != std::string::npos || e.path.ends_with("/..")))
      return fail(Errc::invalid_argument, fmt::format("unsafe path in a manifest: {}", e.path));
    if (e.type == 'f' && !valid_digest(e.digest))
      return fail(Errc::invalid_argument, fmt::format("{}: not a digest: {}", e.path, e.digest));
    if (e.type != 'f' && e.type != 'd' && e.type != 'l')
      return fail(Errc::invalid_argument, fmt::format("{}: unknown type {}", e.path, t));
    out.push_back(std::move(e));
  }
  if (out.empty() || !out[0].path.empty() || out[0].type != 'd')
    return fail(Errc::invalid_argument, "a manifest must start with its root directory");
  // Every entry's parent is a directory listed before it: nothing can be
  // written through a symlink the manifest itself creates.
  std::set<std::string> dirs = {""}, seen = {""};
  for (size_t i = 1; i < out.size(); ++i) {
    const std::string& p = out[i].path;
    if (!seen.insert(p).second)
      return fail(Errc::invalid_argument, fmt::format("{} is listed twice", p));
    size_t slash = p.rfind('/');
    std::string parent = slash == std::string::npos ? "" : p.substr(0, slash);
    if (p.empty() || !dirs.count(parent))
      return fail(Errc::invalid_argument,
                  fmt::format("{}: its parent is not a directory listed before it", p));
    if (out[i].type == 'd') dirs.insert(p);
  }
  return out;
}

fs::path blob_path(const fs::path& dir, std::string_view digest) {
  return dir / "blobs" / "sha256" / std::string(digest_hex(digest));
}

Result<TransferStats> export_to_dir(store::Store& store, const std::vector<std::string>& wanted,
                                    const fs::path& dest) {
  TransferStats stats;
  if (auto r = os::make_dirs(dest / "blobs" / "sha256"); !r) return std::unexpected(r.error());
  json index = {{"version", 1}, {"mounts", json::object()}};
  if (auto text = os::read_file(dest / kIndex)) {
    json old = json::parse(*text, nullptr, false);
    if (old.is_object() && old.contains("mounts") && old["mounts"].is_object())
      index["mounts"] = old["mounts"];
  }
  auto known = list_cache_mounts(store);
  if (!known) return std::unexpected(known.error());
  std::vector<std::string> ids = wanted;
  if (ids.empty())
    for (const auto& m : *known) ids.push_back(m.id);
  for (const auto& id : ids) {
    if (std::none_of(known->begin(), known->end(), [&](const auto& m) { return m.id == id; }))
      return fail(Errc::not_found, fmt::format("no cache mount with id {} in this store", id));
    // Nobody writes to the mount while it is read.
    CacheMountOptions co;
    co.id = id;
    co.sharing = Sharing::locked;
    auto mount = CacheMount::acquire(store, co);
    if (!mount) return std::unexpected(mount.error());
    auto entries = scan(store, mount->path());
    if (!entries) return std::unexpected(entries.error());
    for (const auto& e : *entries) {
      if (e.type != 'f') continue;
      ++stats.files;
      fs::path blob = blob_path(dest, e.digest);
      struct stat st {};
      if (::stat(blob.c_str(), &st) == 0) continue;  // written by an earlier export
      if (auto r = os::copy_file_atomic(e.full, blob); !r) return std::unexpected(r.error());
      ++stats.blobs_copied;
      stats.bytes_copied += e.size;
    }
    std::string manifest = to_json(id, *entries).dump();
    std::string digest = sha256_digest(manifest);
    if (auto r = os::write_file_atomic(blob_path(dest, digest), manifest); !r)
      return std::unexpected(r.error());
    index["mounts"][id] = digest;
    ++stats.mounts;
  }
  if (auto r = os::write_file_atomic(dest / kIndex, index.dump(2) + "\n"); !r)
    return std::unexpected(r.error());
  return stats;
}

// Makes `dir` hold exactly `entries`, reading from `src` only the blobs of
// files it lacks.
Result<void> restore(store::Store& store, const fs::path& src, const std::vector<Entry>& entries,
                     const fs::path& dir, TransferStats& stats) {
  auto local = scan(store, dir);
  if (!local) return std::unexpected(local.error());
  std::map<std::string, const Entry*> have;
  for (const auto& e : *local) have[e.path] = &e;
  std::set<std::string> keep;
  for (const auto& e : entries) {
    keep.insert(e.path);
    fs::path p = e.path.empty() ? dir : dir / e.path;
    auto it = have.find(e.path);
    const Entry* old = it == have.end() ? nullptr : it->second;
    bool same = old && old->type == e.type &&
                (e.type == 'd' || (e.type == 'f' && old->digest == e.digest) ||
                 (e.type == 'l' && old->link == e.link));
    if (old && !same) {
      if (auto r = os::remove_tree(p); !r) return r;
      have.erase(e.path);
    }
    if (!same) {
      if (e.type == 'd') {
        if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST)
          return std::unexpected(os::errno_error("creating", p));
      } else if (e.type == 'l') {
        if (::symlink(e.link.c_str(), p.c_str()) != 0)
          return std::unexpected(os::errno_error("creating symlink", p));
      } else {
        // Hashed as it is copied; a blob that does not match is not kept.
        fs::path blob = blob_path(src, e.digest);
        Sha256 hash;
        auto copied = os::copy_file_atomic(
            blob, p, [&](std::string_view chunk) { hash.update(chunk); },
            [&]() -> Result<void> {
              if (hash.finish() == e.digest) return {};
              return fail(Errc::invalid_argument,
                          fmt::format("{} does not match its digest {}", blob.string(), e.digest));
            });
        if (!copied) return std::unexpected(copied.error());
        ++stats.blobs_copied;
        stats.bytes_copied += e.size;
      }
    }
    if (e.type == 'f') ++stats.files;
    (void)::lchown(p.c_str(), e.uid, e.gid);
    if (e.type != 'l') ::chmod(p.c_str(), e.mode);
    struct timespec ts[2] = {{e.mtime / 1000000000, e.mtime % 1000000000},
                             {e.mtime / 1000000000, e.mtime % 1000000000}};
    if (e.type != 'd') ::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  }
  // What the export did not have goes, deepest first.
  for (auto it = local->rbegin(); it != local->rend(); ++it)
    if (!keep.count(it->path) && have.count(it->path))
      if (auto r = os::remove_tree(dir / it->path); !r) return r;
  // Directory times last: creating their children changed them.
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->type != 'd') continue;
    fs::path p = it->path.empty() ? dir : dir / it->path;
    struct timespec ts[2] = {{it->mtime / 1000000000, it->mtime % 1000000000},
                             {it->mtime / 1000000000, it->mtime % 1000000000}};
    ::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  }
  return {};
}

Result<TransferStats> import_from_dir(store::Store& store, const fs::path& src) {
  TransferStats stats;
  auto text = os::read_file(src / kIndex);
  if (!text)
    return fail(Errc::not_found,
                fmt::format("{} has no {}: not a cache mount export", src.string(), kIndex));
  json index = json::parse(*text, nullptr, false);
  if (!index.is_object() || !index.contains("mounts") || !index["mounts"].is_object())
    return fail(Errc::invalid_argument, fmt::format("{}: not a cache mount index", kIndex));
  for (const auto& [id, digest_json] : index["mounts"].items()) {
    std::string digest = digest_json.is_string() ? digest_json.get<std::string>() : "";
    if (!valid_digest(digest))
      return fail(Errc::invalid_argument, fmt::format("mount {}: not a digest", id));
    auto manifest = os::read_file(blob_path(src, digest));
    if (!manifest) return std::unexpected(manifest.error());
    if (sha256_digest(*manifest) != digest)
      return fail(Errc::invalid_argument, fmt::format("the manifest of mount {} is corrupt", id));
    auto entries = from_json(json::parse(*manifest, nullptr, false));
    if (!entries) return std::unexpected(entries.error().with_context("mount " + id));
    CacheMountOptions co;
    co.id = id;
    co.sharing = Sharing::locked;
    auto mount = CacheMount::acquire(store, co);
    if (!mount) return std::unexpected(mount.error());
    if (auto r = restore(store, src, *entries, mount->path(), stats); !r)
      return std::unexpected(r.error().with_context("importing cache mount " + id));
    ++stats.mounts;
  }
  return stats;
}

}  // namespace

Result<TransferStats> export_mounts(store::Store& store, const std::vector<std::string>& ids,
                                    const fs::path& dest) {
  TransferStats stats;
  auto r = archive::write_directory_or_archive(dest, store.tmp_dir(), [&](const fs::path& dir) {
    auto s = export_to_dir(store, ids, dir);
    if (!s) return Result<void>(std::unexpected(s.error()));
    stats = *s;
    return Result<void>();
  });
  if (!r) return std::unexpected(r.error());
  return stats;
}

Result<TransferStats> import_mounts(store::Store& store, const fs::path& src) {
  TransferStats stats;
  auto r = archive::read_directory_or_archive(src, store.tmp_dir(), [&](const fs::path& dir) {
    auto s = import_from_dir(store, dir);
    if (!s) return Result<void>(std::unexpected(s.error()));
    stats = *s;
    return Result<void>();
  });
  if (!r) return std::unexpected(r.error());
  return stats;
}

}  // namespace strata::mounts

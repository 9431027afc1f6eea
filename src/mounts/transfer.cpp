#include "mounts/transfer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "archive/tar.hpp"
#include "archive/tree.hpp"
#include "digest/sha256.hpp"
#include "mounts/cache_mount.hpp"
#include "oci/checked_json.hpp"
#include "os/fs.hpp"
#include "store/file_hash.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace strata::mounts {

namespace {

constexpr const char* kIndex = "strata-mounts.json";
constexpr const char* kManifestType = kMountManifestType;

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
  auto f = oci::Fields::of(m, "cache mount manifest");
  if (!f) return std::unexpected(f.error());
  auto media_type = f->string("mediaType");
  if (!media_type) return std::unexpected(media_type.error());
  auto list = f->array("entries");
  if (!list) return std::unexpected(list.error());
  if (media_type->value_or("") != kManifestType || !*list)
    return fail(Errc::invalid_argument, "not a strata cache mount manifest");
  for (size_t i = 0; i < (*list)->size(); ++i) {
    auto ef = oci::Fields::of((**list)[i], fmt::format("cache mount manifest entry {}", i + 1));
    if (!ef) return std::unexpected(ef.error());
    Entry e;
    auto path = ef->string("path"), type = ef->string("type"), digest = ef->string("digest"),
         link = ef->string("link");
    auto mode = ef->integer("mode"), uid = ef->integer("uid"), gid = ef->integer("gid"),
         mtime = ef->integer("mtime"), size = ef->integer("size");
    for (const auto* r : {&path, &type, &digest, &link})
      if (!*r) return std::unexpected(r->error());
    for (const auto* r : {&mode, &uid, &gid, &mtime, &size})
      if (!*r) return std::unexpected(r->error());
    auto in_range = [&](const Result<std::optional<int64_t>>& v, int64_t max, const char* key) {
      int64_t x = v->value_or(0);
      return x >= 0 && x <= max ? Result<uint64_t>(static_cast<uint64_t>(x))
                                : Result<uint64_t>(ef->wrong(key, "in range"));
    };
    auto mode_v = in_range(mode, 07777, "mode"), uid_v = in_range(uid, UINT32_MAX, "uid"),
         gid_v = in_range(gid, UINT32_MAX, "gid"), size_v = in_range(size, INT64_MAX, "size");
    for (const auto* r : {&mode_v, &uid_v, &gid_v, &size_v})
      if (!*r) return std::unexpected(r->error());
    e.path = path->value_or("");
    std::string t = type->value_or("f");
    e.type = t.empty() ? 'f' : t[0];
    e.mode = static_cast<uint32_t>(*mode_v);
    e.uid = static_cast<uint32_t>(*uid_v);
    e.gid = static_cast<uint32_t>(*gid_v);
    e.mtime = mtime->value_or(0);
    e.size = *size_v;
    e.digest = digest->value_or("");
    e.link = link->value_or("");
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

// Calls `fn` for each mount `wanted` names (every recorded one when
// empty) with its entries, holding the mount locked meanwhile so that
// nobody writes to it while it is read. One mount at a time: a build that
// holds one mount and waits for another cannot deadlock with an export.
Result<void> each_mount(
    store::Store& store, const std::vector<std::string>& wanted,
    const std::function<Result<void>(const std::string& id, const std::vector<Entry>&)>& fn) {
  auto known = list_cache_mounts(store);
  if (!known) return std::unexpected(known.error());
  std::vector<std::string> ids = wanted;
  if (ids.empty())
    for (const auto& m : *known) ids.push_back(m.id);
  for (const auto& id : ids) {
    if (std::none_of(known->begin(), known->end(), [&](const auto& m) { return m.id == id; }))
      return fail(Errc::not_found, fmt::format("no cache mount with id {} in this store", id));
    CacheMountOptions co;
    co.id = id;
    co.sharing = Sharing::locked;
    auto mount = CacheMount::acquire(store, co);
    if (!mount) return std::unexpected(mount.error());
    auto entries = scan(store, mount->path());
    if (!entries) return std::unexpected(entries.error());
    if (auto r = fn(id, *entries); !r) return r;
  }
  return {};
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
  auto done = each_mount(
      store, wanted, [&](const std::string& id, const std::vector<Entry>& entries) -> Result<void> {
        for (const auto& e : entries) {
          if (e.type != 'f') continue;
          ++stats.files;
          fs::path blob = blob_path(dest, e.digest);
          struct stat st {};
          if (::stat(blob.c_str(), &st) == 0) continue;  // written by an earlier export
          if (auto r = os::copy_file_atomic(e.full, blob); !r) return std::unexpected(r.error());
          ++stats.blobs_copied;
          stats.bytes_copied += e.size;
        }
        std::string manifest = to_json(id, entries).dump();
        std::string digest = sha256_digest(manifest);
        if (auto r = os::write_file_atomic(blob_path(dest, digest), manifest); !r) return r;
        index["mounts"][id] = digest;
        ++stats.mounts;
        return {};
      });
  if (!done) return std::unexpected(done.error());
  if (auto r = os::write_file_atomic(dest / kIndex, index.dump(2) + "\n"); !r)
    return std::unexpected(r.error());
  return stats;
}

// Where an import finds a file's content: a path, given its digest.
using BlobProvider = std::function<Result<fs::path>(const std::string& digest)>;

// Makes `dir` hold exactly `entries`, asking `blobs` only for the files it
// lacks.
Result<void> restore(store::Store& store, const BlobProvider& blobs,
                     const std::vector<Entry>& entries, const fs::path& dir, TransferStats& stats) {
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
        auto found = blobs(e.digest);
        if (!found) return std::unexpected(found.error());
        fs::path blob = *found;
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

// Imports the mounts an index names, reading manifests with `read` and
// file contents through `blobs`.
Result<TransferStats> import_index(
    store::Store& store, const json& index,
    const std::function<Result<std::string>(const std::string&)>& read, const BlobProvider& blobs) {
  TransferStats stats;
  if (!index.is_object() || !index.contains("mounts") || !index["mounts"].is_object())
    return fail(Errc::invalid_argument, fmt::format("{}: not a cache mount index", kIndex));
  for (const auto& [id, digest_json] : index["mounts"].items()) {
    std::string digest = digest_json.is_string() ? digest_json.get<std::string>() : "";
    if (!valid_digest(digest))
      return fail(Errc::invalid_argument, fmt::format("mount {}: not a digest", id));
    auto manifest = read(digest);
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
    if (auto r = restore(store, blobs, *entries, mount->path(), stats); !r)
      return std::unexpected(r.error().with_context("importing cache mount " + id));
    ++stats.mounts;
  }
  return stats;
}

Result<TransferStats> import_from_dir(store::Store& store, const fs::path& src) {
  auto text = os::read_file(src / kIndex);
  if (!text)
    return fail(Errc::not_found,
                fmt::format("{} has no {}: not a cache mount export", src.string(), kIndex));
  return import_index(
      store, json::parse(*text, nullptr, false),
      [&](const std::string& digest) { return os::read_file(blob_path(src, digest)); },
      [&](const std::string& digest) -> Result<fs::path> { return blob_path(src, digest); });
}

}  // namespace

Result<TransferStats> export_mounts(store::Store& store, const std::vector<std::string>& ids,
                                    const fs::path& dest) {
  return archive::write_directory_or_archive(
      dest, store.tmp_dir(), [&](const fs::path& dir) { return export_to_dir(store, ids, dir); });
}

Result<TransferStats> import_mounts(store::Store& store, const fs::path& src) {
  return archive::read_directory_or_archive(
      src, store.tmp_dir(), [&](const fs::path& dir) { return import_from_dir(store, dir); });
}

namespace {

constexpr uint64_t kChunkMin = 1ull << 20, kChunkTarget = 8ull << 20, kChunkMax = 32ull << 20,
                   kChunkAlone = 512ull << 10;

// Whether a chunk ends after this file: with probability size / 8 MiB,
// decided by the digest's last 32 bits, so the same digests always cut the
// same way and chunks average 8 MiB whatever the file sizes.
bool ends_chunk(const std::string& digest, uint64_t size, uint64_t filled) {
  if (filled >= kChunkMax) return true;
  if (filled < kChunkMin) return false;
  uint64_t u = std::stoull(digest.substr(digest.size() - 8), nullptr, 16);
  return u < (size << 32) / kChunkTarget;
}

// Writes a chunk: each member as sha256/<hex>, in order, with fixed
// metadata, so the same members give the same bytes. Chunks of many small
// files are gzipped (tar headers outweigh small files; strata's gzip gives
// the same bytes on any number of cores); a big file's chunk is not.
Result<std::string> write_chunk(const std::vector<std::pair<std::string, std::string>>& members,
                                bool gzip, const fs::path& to, int64_t& size) {
  os::UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out) return std::unexpected(os::errno_error("creating", to));
  archive::FdSink file(out.get());
  archive::HashingSink hashing(file);
  auto compressor = archive::make_compressor(
      gzip ? archive::Compression::gzip : archive::Compression::none, hashing);
  archive::TarWriter tar(*compressor);
  for (const auto& [digest, path] : members) {
    os::UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return std::unexpected(os::errno_error("opening", path));
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) return std::unexpected(os::errno_error("stat", path));
    archive::TarEntry e;
    e.path = "sha256/" + std::string(digest_hex(digest));
    e.size = static_cast<uint64_t>(st.st_size);
    if (auto r = tar.add(e, in.get()); !r) return std::unexpected(r.error());
  }
  if (auto r = tar.finish(); !r) return std::unexpected(r.error());
  size = static_cast<int64_t>(hashing.size());
  return hashing.digest();
}

}  // namespace

json to_json(const MountBundle& b) {
  json chunks = json::array();
  for (const auto& c : b.chunks)
    chunks.push_back({{"mediaType", c.gzip ? kMountChunkGzipType : kMountChunkType},
                      {"digest", c.digest},
                      {"size", c.size},
                      {"files", c.files}});
  return {{"index", b.index}, {"chunks", chunks}};
}

Result<MountBundle> bundle_from_json(const json& j) {
  MountBundle b;
  auto f = oci::Fields::of(j, "the cache mounts entry");
  if (!f) return std::unexpected(f.error());
  auto index = f->object("index");
  auto chunks = f->array("chunks");
  if (!index || !chunks || !*index || !*chunks)
    return fail(Errc::invalid_argument, "the cache mounts entry lacks its index or chunks");
  b.index = **index;
  for (size_t i = 0; i < (*chunks)->size(); ++i) {
    auto cf = oci::Fields::of((**chunks)[i], fmt::format("cache mount chunk {}", i + 1));
    if (!cf) return std::unexpected(cf.error());
    MountChunk chunk;
    auto digest = cf->string("digest");
    auto size = cf->integer("size");
    auto media_type = cf->string("mediaType");
    auto files = cf->strings("files");
    if (!digest) return std::unexpected(digest.error());
    if (!size) return std::unexpected(size.error());
    if (!media_type) return std::unexpected(media_type.error());
    if (!files) return std::unexpected(files.error());
    chunk.digest = digest->value_or("");
    chunk.size = size->value_or(0);
    chunk.gzip = media_type->value_or("") == kMountChunkGzipType;
    if (!valid_digest(chunk.digest) || !*files)
      return fail(Errc::invalid_argument, "a cache mount chunk without a digest or files");
    for (auto& file : **files) {
      if (!valid_digest(file))
        return fail(Errc::invalid_argument, "a cache mount chunk lists a file that is no digest");
      chunk.files.push_back(std::move(file));
    }
    b.chunks.push_back(std::move(chunk));
  }
  return b;
}

namespace {

// Packs one mount's files into chunks and hands the new ones to `target`.
Result<void> pack_chunks(store::Store& store,
                         std::map<std::string, std::pair<std::string, uint64_t>>& files,
                         const ChunkTarget& target, MountBundle& bundle,
                         std::set<std::string>& listed, TransferStats& stats) {
  // Chunk boundaries from the digests alone; a big file is a chunk of its own.
  std::vector<std::vector<std::string>> groups(1), alone;
  uint64_t filled = 0;
  for (const auto& [digest, where] : files) {
    if (where.second >= kChunkAlone) {
      alone.push_back({digest});
      continue;
    }
    groups.back().push_back(digest);
    filled += where.second;
    if (ends_chunk(digest, where.second, filled)) {
      groups.emplace_back();
      filled = 0;
    }
  }
  if (groups.back().empty()) groups.pop_back();
  groups.insert(groups.end(), alone.begin(), alone.end());
  for (auto& members : groups) {
    MountChunk chunk;
    chunk.files = std::move(members);
    std::string key = sha256_digest(join(chunk.files, "\n"));
    auto rows = store.db().query("SELECT digest, size FROM mount_chunks WHERE members = ?", {key});
    if (!rows) return std::unexpected(rows.error());
    fs::path tmp;
    if (!rows->empty() && (*rows)[0][0]) {
      chunk.digest = *(*rows)[0][0];
      chunk.size = std::stoll((*rows)[0][1].value_or("0"));
      chunk.gzip = chunk.files.size() > 1;
    }
    auto has = chunk.digest.empty() ? Result<bool>(false) : target.has(chunk.digest);
    if (!has) return std::unexpected(has.error());
    if (!*has) {
      std::vector<std::pair<std::string, std::string>> paths;
      for (const auto& d : chunk.files) paths.emplace_back(d, files[d].first);
      tmp = store.tmp_dir() / fmt::format("chunk-{}-{}", ::getpid(), digest_hex(key).substr(0, 16));
      chunk.gzip = chunk.files.size() > 1;
      auto digest = write_chunk(paths, chunk.gzip, tmp, chunk.size);
      if (!digest) {
        ::unlink(tmp.c_str());
        return std::unexpected(digest.error());
      }
      chunk.digest = *digest;
      (void)store.db().exec(
          "INSERT OR REPLACE INTO mount_chunks (members, digest, size) VALUES (?, ?, ?)",
          {key, chunk.digest, std::to_string(chunk.size)});
      auto again = target.has(chunk.digest);
      Result<void> put = again ? Result<void>() : Result<void>(std::unexpected(again.error()));
      if (again && !*again) put = target.put(chunk.digest, tmp);
      ::unlink(tmp.c_str());
      if (!put) return std::unexpected(put.error());
      if (again && !*again) {
        ++stats.blobs_copied;
        stats.bytes_copied += static_cast<uint64_t>(chunk.size);
      }
    }
    if (listed.insert(chunk.digest).second) bundle.chunks.push_back(std::move(chunk));
  }
  return {};
}

}  // namespace

Result<MountBundle> export_mount_chunks(store::Store& store, const std::vector<std::string>& ids_in,
                                        const ChunkTarget& target, TransferStats& stats) {
  MountBundle bundle;
  bundle.index = {{"version", 1}, {"mounts", json::object()}};
  std::set<std::string> listed;  // chunks already in the bundle (from another mount)
  auto done = each_mount(
      store, ids_in, [&](const std::string& id, const std::vector<Entry>& entries) -> Result<void> {
        std::map<std::string, std::pair<std::string, uint64_t>> files;  // digest -> path, size
        for (const auto& e : entries) {
          if (e.type != 'f') continue;
          ++stats.files;
          files.emplace(e.digest, std::make_pair(e.full, e.size));
        }
        std::string manifest = to_json(id, entries).dump();
        std::string digest = sha256_digest(manifest);
        bundle.index["mounts"][id] = digest;
        bundle.manifests[digest] = std::move(manifest);
        ++stats.mounts;
        // The mount's files are packed while it is still locked.
        if (auto r = pack_chunks(store, files, target, bundle, listed, stats); !r) return r;
        return {};
      });
  if (!done) return std::unexpected(done.error());
  return bundle;
}

Result<TransferStats> import_mount_chunks(store::Store& store, const MountBundle& bundle,
                                          const ChunkSource& source) {
  std::map<std::string, const MountChunk*> chunk_of;
  for (const auto& c : bundle.chunks)
    for (const auto& f : c.files) chunk_of[f] = &c;
  auto tmp = os::TempDir::create(store.tmp_dir(), "chunks-");
  if (!tmp) return std::unexpected(tmp.error());
  const fs::path dir = tmp->path();
  uint64_t fetched_bytes = 0;
  size_t fetched = 0;
  auto provide = [&](const std::string& digest) -> Result<fs::path> {
    fs::path p = dir / std::string(digest_hex(digest));
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) return p;
    auto it = chunk_of.find(digest);
    if (it == chunk_of.end())
      return fail(Errc::invalid_argument, fmt::format("file {} is in no chunk", digest));
    const MountChunk& c = *it->second;
    fs::path file = dir / "chunk.tar";
    if (auto r = source.fetch(c.digest, file); !r) return std::unexpected(r.error());
    ++fetched;
    fetched_bytes += static_cast<uint64_t>(c.size);
    std::set<std::string> members;
    for (const auto& f : c.files) members.insert(std::string(digest_hex(f)));
    auto reader = archive::TarReader::open(file);
    if (!reader) return std::unexpected(reader.error());
    for (;;) {
      auto e = reader->next();
      if (!e) return std::unexpected(e.error());
      if (!*e) break;
      std::string name = (*e)->path;
      if ((*e)->type != archive::TarEntry::file || !name.starts_with("sha256/") ||
          !members.count(name.substr(7)))
        continue;  // only what the chunk lists, under names strata chose
      fs::path out = dir / name.substr(7);
      os::UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (!fd) return std::unexpected(os::errno_error("creating", out));
      if (auto r = reader->copy_data_to(fd.get()); !r) return std::unexpected(r.error());
    }
    ::unlink(file.c_str());
    if (::stat(p.c_str(), &st) != 0)
      return fail(Errc::invalid_argument,
                  fmt::format("chunk {} does not hold file {}", c.digest, digest));
    return p;
  };
  auto read = [&](const std::string& digest) -> Result<std::string> {
    auto text = source.read(digest);
    if (!text) return text;
    if (sha256_digest(*text) != digest)
      return fail(Errc::invalid_argument,
                  fmt::format("cache mount manifest {} is corrupt", digest));
    return text;
  };
  auto stats = import_index(store, bundle.index, read, provide);
  if (!stats) return stats;
  // What came over the wire: the chunks, not the files copied out of them.
  stats->blobs_copied = fetched;
  stats->bytes_copied = fetched_bytes;
  return stats;
}

}  // namespace strata::mounts

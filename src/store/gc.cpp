#include "store/gc.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include "digest/sha256.hpp"
#include "os/fs.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace strata::store {

uint64_t tree_size(const fs::path& p, std::set<std::pair<dev_t, ino_t>>* seen) {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
    if (st.st_nlink > 1 && (!seen || !seen->insert({st.st_dev, st.st_ino}).second)) continue;
    total += static_cast<uint64_t>(st.st_size);
  }
  return total;
}

namespace {

// Removes the objects no snapshot links to; returns the bytes freed.
uint64_t remove_unused_objects(const fs::path& objects) {
  uint64_t freed = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(objects, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || S_ISDIR(st.st_mode) || st.st_nlink > 1) continue;
    if (::unlink(it->path().c_str()) == 0) freed += static_cast<uint64_t>(st.st_size);
  }
  return freed;
}

uint64_t size_of(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// What images and cache records need: layer blobs, other blobs, diff ids.
struct Live {
  std::set<std::string> layers, other, diff_ids;
};

Result<Live> live_set(Store& store) {
  Live live;
  auto images = store.images();
  if (!images) return std::unexpected(images.error());
  auto manifest = [&](const std::string& digest) {
    live.other.insert(digest);
    auto text = store.read_blob(digest);
    if (!text) return;
    auto m = oci::parse_manifest(*text);
    if (!m) return;
    live.other.insert(m->config.digest);
    for (const auto& l : m->layers) live.layers.insert(l.digest);
    if (auto text = store.read_blob(m->config.digest)) {
      if (auto c = oci::parse_config(*text))
        live.diff_ids.insert(c->diff_ids.begin(), c->diff_ids.end());
    }
  };
  for (const auto& img : *images) {
    if (!oci::is_index_media_type(img.manifest.media_type)) {
      manifest(img.manifest.digest);
      continue;
    }
    // A multi-platform image: the index, and each platform's image the
    // store holds.
    live.other.insert(img.manifest.digest);
    auto text = store.read_blob(img.manifest.digest);
    if (!text) continue;
    if (auto index = oci::parse_index(*text))
      for (const auto& m : index->manifests)
        if (store.has_blob(m.digest)) manifest(m.digest);
  }
  auto rows = store.db().query("SELECT blob, diff_id FROM cache WHERE blob != ''");
  if (!rows) return std::unexpected(rows.error());
  for (const auto& r : *rows) {
    live.layers.insert(*r[0]);
    if (r[1]) live.diff_ids.insert(*r[1]);
  }
  return live;
}

}  // namespace

Result<Usage> disk_usage(Store& store) {
  Usage u;
  auto live = live_set(store);
  if (!live) return std::unexpected(live.error());
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(store.root() / "blobs" / "sha256", ec)) {
    std::string digest = "sha256:" + e.path().filename().string();
    uint64_t size = size_of(e.path());
    if (live->layers.count(digest))
      u.layers += size;
    else if (live->other.count(digest))
      u.metadata += size;
    else
      u.unreferenced += size;
  }
  std::set<std::pair<dev_t, ino_t>> seen;
  u.snapshots = tree_size(store.root() / "snapshots", &seen) +
                tree_size(store.objects_dir(), &seen) + tree_size(store.segments_dir(), &seen);
  std::set<std::pair<dev_t, ino_t>> in_mounts;
  u.cache_mounts = tree_size(store.root() / "cache", &in_mounts);
  for (const char* f : {"meta.db", "meta.db-wal", "meta.db-shm", "index.json"})
    u.metadata += size_of(store.root() / f);
  auto n = store.db().query("SELECT COUNT(*) FROM cache");
  if (n && !n->empty()) u.records = std::stoull(*(*n)[0][0]);
  return u;
}

Result<PruneResult> prune(Store& store, const PruneOptions& opts) {
  PruneResult res;
  auto evict = [&](const std::string& where, const std::vector<std::string>& args) -> Result<void> {
    auto n = store.db().query("SELECT COUNT(*) FROM cache WHERE " + where, args);
    if (!n) return std::unexpected(n.error());
    res.records += std::stoull(*(*n)[0][0]);
    return store.db().exec("DELETE FROM cache WHERE " + where, args);
  };
  if (opts.all) {
    if (auto r = evict("1 = 1", {}); !r) return std::unexpected(r.error());
  }
  if (opts.keep_duration) {
    if (auto r = evict("last_used < datetime('now', ?)",
                       {fmt::format("-{} seconds", *opts.keep_duration)});
        !r)
      return std::unexpected(r.error());
  }
  if (opts.keep_storage) {
    // Least recently used first, until layers and snapshots fit.
    auto usage = disk_usage(store);
    if (!usage) return std::unexpected(usage.error());
    int64_t over = static_cast<int64_t>(usage->layers + usage->snapshots + usage->unreferenced) -
                   static_cast<int64_t>(*opts.keep_storage);
    if (over > 0) {
      auto rows =
          store.db().query("SELECT key, size FROM cache ORDER BY last_used ASC, created ASC");
      if (!rows) return std::unexpected(rows.error());
      for (const auto& r : *rows) {
        if (over <= 0) break;
        if (auto e = evict("key = ?", {*r[0]}); !e) return std::unexpected(e.error());
        // A layer's blob and its snapshot are about twice the blob.
        over -= 2 * std::stoll(r[1].value_or("0"));
      }
    }
  }
  auto live = live_set(store);
  if (!live) return std::unexpected(live.error());
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(store.root() / "blobs" / "sha256", ec)) {
    std::string digest = "sha256:" + e.path().filename().string();
    if (live->layers.count(digest) || live->other.count(digest)) continue;
    res.bytes += size_of(e.path());
    ++res.blobs;
    fs::remove(e.path(), ec);
  }
  // A live delta snapshot keeps its base.
  auto deltas = store.db().query("SELECT diff_id, dir, base FROM snapshot_deltas");
  if (!deltas) return std::unexpected(deltas.error());
  std::set<std::string> keep = live->diff_ids;
  for (const auto& r : *deltas)
    if (live->diff_ids.count(*r[0])) keep.insert(*r[2]);
  auto snaps = store.db().query("SELECT diff_id, id FROM snapshots");
  if (!snaps) return std::unexpected(snaps.error());
  std::map<std::string, std::vector<std::string>> dirs;  // diff id -> its directories
  for (const auto& r : *snaps) dirs[*r[0]].push_back(*r[1]);
  for (const auto& r : *deltas) dirs[*r[0]].push_back(*r[1]);
  for (const auto& [diff_id, names] : dirs) {
    if (keep.count(diff_id)) continue;
    for (const auto& name : names) res.bytes += tree_size(store.root() / "snapshots" / name);
    ++res.snapshots;
    if (auto d = store.drop_snapshot(diff_id); !d) return std::unexpected(d.error());
  }
  // What no row names (a snapshot whose row a crash lost, a half-written
  // manifest) goes too: nothing else adds snapshots while prune holds the
  // store.
  {
    std::set<std::string> named;
    auto rows =
        store.db().query("SELECT id FROM snapshots UNION ALL SELECT dir FROM snapshot_deltas");
    if (!rows) return std::unexpected(rows.error());
    for (const auto& r : *rows) {
      named.insert(*r[0]);
      named.insert(*r[0] + ".manifest");
    }
    for (const auto& e : fs::directory_iterator(store.root() / "snapshots", ec)) {
      if (named.count(e.path().filename().string())) continue;
      res.bytes += e.is_directory(ec) ? tree_size(e.path()) : size_of(e.path());
      (void)os::remove_tree(e.path());
    }
  }
  res.bytes += remove_unused_objects(store.objects_dir());
  // Kept layer frames are only a cache of what objects hold.
  res.bytes += tree_size(store.segments_dir());
  (void)os::remove_tree(store.segments_dir());
  // Where to fetch a layer again is kept only while something names it.
  auto sourced = store.db().query("SELECT DISTINCT digest FROM blob_sources");
  if (!sourced) return std::unexpected(sourced.error());
  for (const auto& r : *sourced)
    if (r[0] && !live->layers.count(*r[0]))
      if (auto d = store.db().exec("DELETE FROM blob_sources WHERE digest = ?", {*r[0]}); !d)
        return std::unexpected(d.error());
  // An image's steps are kept while an image has that manifest.
  if (auto d = store.db().exec(
          "DELETE FROM image_steps WHERE manifest NOT IN (SELECT digest FROM images)");
      !d)
    return std::unexpected(d.error());
  if (opts.all) {
    std::set<std::pair<dev_t, ino_t>> in_mounts;
    res.bytes += tree_size(store.root() / "cache", &in_mounts);
    (void)os::remove_tree(store.root() / "cache");
    (void)store.db().exec("DELETE FROM cache_mounts");
    (void)store.db().exec("DELETE FROM stat_cache");
  }
  (void)store.db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return res;
}

Result<std::optional<Lease>> Lease::take(const Store& store, bool exclusive, bool wait) {
  fs::path p = store.root() / "gc.lock";
  int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(os::errno_error("opening", p));
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return std::nullopt;
    errno = e;
    return std::unexpected(os::errno_error("locking", p));
  }
  return Lease(fd);
}

Lease& Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Lease::~Lease() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<uint64_t> parse_size(std::string_view s) {
  std::string_view rest = s;
  auto num = take_number(rest);
  if (!num) return std::nullopt;
  std::string unit = to_lower(trim(rest));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  double mult = unit.empty()  ? 1
                : unit == "k" ? 1024.0
                : unit == "m" ? 1048576.0
                : unit == "g" ? 1073741824.0
                : unit == "t" ? 1099511627776.0
                              : -1;
  if (mult < 0) return std::nullopt;
  return static_cast<uint64_t>(*num * mult);
}

std::optional<int64_t> parse_age(std::string_view s) {
  std::string_view rest = s;
  auto num = take_number(rest);
  if (!num) return std::nullopt;
  std::string unit = to_lower(trim(rest));
  double mult = unit == "s"                   ? 1
                : unit == "m"                 ? 60
                : unit == "h" || unit.empty() ? 3600
                : unit == "d"                 ? 86400
                                              : -1;
  if (mult < 0) return std::nullopt;
  return static_cast<int64_t>(*num * mult);
}

}  // namespace strata::store

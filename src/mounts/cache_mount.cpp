#include "mounts/cache_mount.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "digest/sha256.hpp"
#include "os/fs.hpp"
#include "store/gc.hpp"

namespace fs = std::filesystem;

namespace strata::mounts {

namespace {

// flock that retries on EINTR; false when `nonblocking` and it is taken.
Result<bool> lock(int fd, int op, const fs::path& p) {
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK && (op & LOCK_NB)) return false;
    return std::unexpected(os::errno_error("locking", p));
  }
  return true;
}

struct FileAge {
  fs::path path;
  int64_t used;  // the later of atime and mtime
  uint64_t size;
};

void collect_files(const fs::path& dir, std::vector<FileAge>& out, uint64_t& total) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
    out.push_back({it->path(), std::max<int64_t>(st.st_atime, st.st_mtime),
                   static_cast<uint64_t>(st.st_size)});
    total += static_cast<uint64_t>(st.st_size);
  }
}

}  // namespace

fs::path cache_mount_dir(const store::Store& store, const std::string& id) {
  std::string d = sha256_digest(id);
  return store.root() / "cache" / std::string(digest_hex(d)).substr(0, 16);
}

Result<CacheMount> CacheMount::acquire(store::Store& store, const CacheMountOptions& opts) {
  if (opts.fresh) {
    CacheMount m;
    auto own = os::make_temp_dir(store.tmp_dir(), "cache-fresh-");
    if (!own) return std::unexpected(own.error());
    m.path_ = *own;
    m.throwaway_ = true;  // from here on the destructor removes it
    if (opts.seed) {
      if (auto r = opts.seed(*own); !r)
        return std::unexpected(r.error().with_context("seeding cache mount " + opts.id));
    }
    ::chmod(own->c_str(), opts.mode);
    (void)::chown(own->c_str(), opts.uid, opts.gid);
    return m;
  }
  fs::path dir = cache_mount_dir(store, opts.id);
  if (auto r = os::make_dirs(dir.parent_path()); !r) return std::unexpected(r.error());
  fs::path lock_path = dir.string() + ".lock";
  CacheMount m;
  m.lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (m.lock_fd_ < 0) return std::unexpected(os::errno_error("opening", lock_path));

  // A new mount is made (and seeded) aside and renamed into place; when two
  // users make it at once, the first rename wins. No lock is held meanwhile:
  // a creator waiting for a lock could wait for a user that waits for it.
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    auto tmp = os::make_temp_dir(dir.parent_path(), "new-");
    if (!tmp) return std::unexpected(tmp.error());
    if (opts.seed) {
      if (auto r = opts.seed(*tmp); !r) {
        (void)os::remove_tree(*tmp);
        return std::unexpected(r.error().with_context("seeding cache mount " + opts.id));
      }
    }
    ::chmod(tmp->c_str(), opts.mode);
    (void)::chown(tmp->c_str(), opts.uid, opts.gid);
    if (::renameat2(AT_FDCWD, tmp->c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) != 0) {
      int e = errno;
      (void)os::remove_tree(*tmp);
      if (e != EEXIST) {
        errno = e;
        return std::unexpected(os::errno_error("creating", dir));
      }
    }
  }
  m.path_ = dir;
  // Taken at once when it is free; else the caller hears of the wait first.
  auto wait_for = [&](int op) -> Result<void> {
    auto got = lock(m.lock_fd_, op | LOCK_NB, lock_path);
    if (!got) return std::unexpected(got.error());
    if (*got) return {};
    if (opts.on_wait) opts.on_wait();
    if (auto r = lock(m.lock_fd_, op, lock_path); !r) return std::unexpected(r.error());
    return {};
  };
  switch (opts.sharing) {
    case Sharing::locked:
      if (auto r = wait_for(LOCK_EX); !r) return std::unexpected(r.error());
      break;
    case Sharing::shared:
      if (auto r = wait_for(LOCK_SH); !r) return std::unexpected(r.error());
      break;
    case Sharing::private_: {
      // The directory itself when nobody else has it, else an empty one.
      auto got = lock(m.lock_fd_, LOCK_EX | LOCK_NB, lock_path);
      if (!got) return std::unexpected(got.error());
      if (!*got) {
        auto own = os::make_temp_dir(store.tmp_dir(), "cache-private-");
        if (!own) return std::unexpected(own.error());
        ::chmod(own->c_str(), opts.mode);
        (void)::chown(own->c_str(), opts.uid, opts.gid);
        m.path_ = *own;
        m.throwaway_ = true;
      }
      break;
    }
  }
  if (auto r =
          store.db().exec("INSERT INTO cache_mounts (id, last_used) VALUES (?, datetime('now')) "
                          "ON CONFLICT(id) DO UPDATE SET last_used = excluded.last_used",
                          {opts.id});
      !r)
    return std::unexpected(r.error());
  return m;
}

CacheMount::CacheMount(CacheMount&& o) noexcept
    : path_(std::move(o.path_)), lock_fd_(o.lock_fd_), throwaway_(o.throwaway_) {
  o.lock_fd_ = -1;
  o.throwaway_ = false;
}

CacheMount::~CacheMount() {
  if (throwaway_) (void)os::remove_tree(path_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::vector<CacheMountInfo>> list_cache_mounts(store::Store& store) {
  std::vector<CacheMountInfo> out;
  auto r = store.db().each("SELECT id, last_used FROM cache_mounts ORDER BY id", {},
                           [&](const store::Db::RowView& row) {
                             CacheMountInfo m;
                             m.id = row.text(0) ? row.text(0) : "";
                             m.last_used = row.text(1) ? row.text(1) : "";
                             out.push_back(std::move(m));
                           });
  if (!r) return std::unexpected(r.error());
  for (auto& m : out) {
    m.dir = cache_mount_dir(store, m.id);
    std::set<std::pair<dev_t, ino_t>> seen;
    m.size = store::tree_size(m.dir, &seen);
  }
  return out;
}

Result<MountPruneResult> prune_cache_mounts(store::Store& store, const MountPruneOptions& opts) {
  MountPruneResult res;
  auto mounts = list_cache_mounts(store);
  if (!mounts) return std::unexpected(mounts.error());
  std::set<std::string> stale;
  if (opts.keep_duration) {
    auto rows = store.db().query("SELECT id FROM cache_mounts WHERE last_used < datetime('now', ?)",
                                 {fmt::format("-{} seconds", *opts.keep_duration)});
    if (!rows) return std::unexpected(rows.error());
    for (const auto& r : *rows) stale.insert(*r[0]);
  }
  bool remove_all = !opts.max_size && !opts.keep_duration;
  for (const auto& m : *mounts) {
    fs::path lock_path = m.dir.string() + ".lock";
    os::UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return std::unexpected(os::errno_error("opening", lock_path));
    auto got = lock(fd.get(), LOCK_EX | LOCK_NB, lock_path);
    if (!got) return std::unexpected(got.error());
    if (!*got) {
      ++res.skipped_in_use;
      continue;
    }
    if (remove_all || stale.count(m.id)) {
      res.bytes += m.size;
      ++res.mounts_removed;
      if (auto r = os::remove_tree(m.dir); !r) return std::unexpected(r.error());
      if (auto r = store.db().exec("DELETE FROM cache_mounts WHERE id = ?", {m.id}); !r)
        return std::unexpected(r.error());
      continue;
    }
    if (opts.max_size && m.size > *opts.max_size) {
      // Least recently used files first, until the mount fits.
      std::vector<FileAge> files;
      uint64_t total = 0;
      collect_files(m.dir, files, total);
      std::sort(files.begin(), files.end(),
                [](const FileAge& a, const FileAge& b) { return a.used < b.used; });
      for (const auto& f : files) {
        if (total <= *opts.max_size) break;
        if (::unlink(f.path.c_str()) != 0) continue;
        total -= f.size;
        res.bytes += f.size;
        ++res.files_removed;
      }
    }
  }
  return res;
}

}  // namespace strata::mounts

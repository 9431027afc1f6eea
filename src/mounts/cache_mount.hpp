// Cache mounts (RUN --mount=type=cache): one directory per id in the store,
// kept across builds, never part of a layer or a cache key. Users of an id
// coordinate through a lock file beside it, so two strata processes on one
// store behave as BuildKit's sharing modes say: `shared` users run together,
// a `locked` user waits until it is the only one, and a `private` user takes
// the directory when nobody else has it and otherwise gets an empty one of
// its own, thrown away afterwards. Each use is recorded (for du and prune).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace strata::mounts {

enum class Sharing { shared, private_, locked };

struct CacheMountOptions {
  std::string id;
  Sharing sharing = Sharing::shared;
  uint32_t mode = 0755, uid = 0, gid = 0;  // of the directory when it is created
  // Fills a new directory (from= and source=); nothing when empty.
  std::function<Result<void>(const std::filesystem::path&)> seed;
  // --no-cache: a new directory of this use's own (seeded), thrown away
  // afterwards, as BuildKit gives a fresh mount; the kept one is untouched.
  bool fresh = false;
  // Called once, before the use blocks, when another user holds the mount
  // in a way this use must wait for (a sharing=locked user holds it).
  std::function<void()> on_wait;
};

class CacheMount {
 public:
  static Result<CacheMount> acquire(store::Store& store, const CacheMountOptions& opts);
  ~CacheMount();
  CacheMount(CacheMount&& o) noexcept;
  CacheMount& operator=(CacheMount&&) = delete;

  // The directory to mount.
  const std::filesystem::path& path() const { return path_; }

 private:
  CacheMount() = default;
  std::filesystem::path path_;
  int lock_fd_ = -1;
  bool throwaway_ = false;  // a private user's own directory
};

// Where an id's contents live: cache/<first 16 hex digits of sha256(id)>.
std::filesystem::path cache_mount_dir(const store::Store& store, const std::string& id);

struct CacheMountInfo {
  std::string id;
  std::filesystem::path dir;
  uint64_t size = 0;      // bytes of the files in it
  std::string last_used;  // UTC, "YYYY-MM-DD HH:MM:SS"
};

// Every cache mount the store has, by id.
Result<std::vector<CacheMountInfo>> list_cache_mounts(store::Store& store);

struct MountPruneOptions {
  std::optional<uint64_t> max_size;      // per id: drop least recently used files until it fits
  std::optional<int64_t> keep_duration;  // seconds: remove ids unused for longer
};

struct MountPruneResult {
  uint64_t mounts_removed = 0, files_removed = 0, bytes = 0, skipped_in_use = 0;
};

// Without options every cache mount goes. Mounts in use are left alone.
Result<MountPruneResult> prune_cache_mounts(store::Store& store, const MountPruneOptions& opts);

}  // namespace strata::mounts

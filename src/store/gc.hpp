// Disk usage and garbage collection of a store. Cache records are evicted
// least recently used first; blobs and snapshots that no image and no
// remaining cache record needs go with them. A build holds a shared lease
// on the store for its whole run and collection takes it exclusively, so
// nothing a running build uses (even in another strata process) is removed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <utility>

#include "store/store.hpp"

namespace strata::store {

struct Usage {
  uint64_t layers = 0;        // layer blobs an image or a cache record uses
  uint64_t snapshots = 0;     // unpacked layers
  uint64_t cache_mounts = 0;  // RUN --mount=type=cache contents
  uint64_t metadata = 0;      // manifests, configs, the database
  uint64_t unreferenced = 0;  // blobs nothing uses any more
  uint64_t records = 0;       // cache records
  uint64_t total() const { return layers + snapshots + cache_mounts + metadata + unreferenced; }
};

Result<Usage> disk_usage(Store& store);

// The size of the files under `p`. A file with several links is counted
// once per `seen` set (snapshots share COPY objects), or not at all without
// one (what removing `p` alone would not free).
uint64_t tree_size(const std::filesystem::path& p,
                   std::set<std::pair<dev_t, ino_t>>* seen = nullptr);

struct PruneOptions {
  bool all = false;                      // every cache record and cache mount
  std::optional<uint64_t> keep_storage;  // evict until layers + snapshots fit
  std::optional<int64_t> keep_duration;  // seconds: evict records unused for longer
};

struct PruneResult {
  uint64_t records = 0, blobs = 0, snapshots = 0, bytes = 0;
};

Result<PruneResult> prune(Store& store, const PruneOptions& opts);

// The lease a build holds; `exclusive` for collection. With wait == false an
// exclusive lease that cannot be had at once is nullopt.
class Lease {
 public:
  static Result<std::optional<Lease>> take(const Store& store, bool exclusive, bool wait = true);
  ~Lease();
  Lease(Lease&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Lease& operator=(Lease&& o) noexcept;

 private:
  explicit Lease(int fd) : fd_(fd) {}
  int fd_;
};

// "10GB", "512MiB", "1.5g" -> bytes; "24h", "7d", "30m" -> seconds.
std::optional<uint64_t> parse_size(std::string_view s);
std::optional<int64_t> parse_age(std::string_view s);

}  // namespace strata::store

// Cache mounts that travel: export the contents of cache mounts to a
// directory (or one .tar/.tar.gz/.tar.zst file) and import them into another
// store. The directory is content-addressed (docs/formats/cache-mounts.md):
// each file's content is a blob named by its digest and each mount a
// manifest listing its entries, so exporting again after a small change
// writes only the changed files and a manifest, and importing into a store
// that has most of it copies only what it lacks. File digests come from the
// store's stat cache, so unchanged files are not even read.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace strata::mounts {

struct TransferStats {
  size_t mounts = 0, files = 0;
  size_t blobs_copied = 0;  // file contents written (export) or read (import)
  uint64_t bytes_copied = 0;
};

// Exports the given ids (every recorded cache mount when empty). `dest` is a
// directory (created or updated in place) or a file ending in .tar, .tar.gz
// or .tar.zst (written whole).
Result<TransferStats> export_mounts(store::Store& store, const std::vector<std::string>& ids,
                                    const std::filesystem::path& dest);

// Imports every mount in `src` (a directory or an archive export_mounts
// wrote), making each cache mount exactly what was exported.
Result<TransferStats> import_mounts(store::Store& store, const std::filesystem::path& src);

// Cache mounts where many small blobs would cost a request each (a
// registry): the same index and manifests, with the file contents packed
// into chunks, tar files of `sha256/<hex>` entries. Each mount's files are
// taken in digest order and a file ends its chunk with probability size / 8 MiB
// (decided by its digest; never under 1 MiB, always at 32 MiB), so
// boundaries depend only on the digests, chunks average 8 MiB, and one
// changed file changes at most two chunks. A file of 512 KiB or more is a
// chunk of its own. A chunk's digest is remembered
// (by its members) so an unchanged chunk is not even rebuilt.
inline constexpr const char* kMountManifestType = "application/vnd.strata.cache-mount.v1+json";
inline constexpr const char* kMountChunkType = "application/vnd.strata.cache-mount.chunk.v1.tar";
inline constexpr const char* kMountChunkGzipType =
    "application/vnd.strata.cache-mount.chunk.v1.tar+gzip";

struct MountChunk {
  std::string digest;
  int64_t size = 0;
  bool gzip = false;               // chunks of more than one file are gzipped
  std::vector<std::string> files;  // digests, sorted
};
struct MountBundle {
  nlohmann::json index;                          // as strata-mounts.json
  std::map<std::string, std::string> manifests;  // digest -> a mount's manifest
  std::vector<MountChunk> chunks;
};
nlohmann::json to_json(const MountBundle& b);  // index and chunks (manifests are blobs)
Result<MountBundle> bundle_from_json(const nlohmann::json& j);

// Builds the chunks of the given mounts (all when `ids` is empty), handing
// to `put` those `has` says the destination lacks.
struct ChunkTarget {
  std::function<Result<bool>(const std::string& digest)> has;
  std::function<Result<void>(const std::string& digest, const std::filesystem::path& file)> put;
};
Result<MountBundle> export_mount_chunks(store::Store& store, const std::vector<std::string>& ids,
                                        const ChunkTarget& target, TransferStats& stats);

// Makes the cache mounts what `bundle` holds, fetching with `read` (small
// blobs: the manifests) and `fetch` (a chunk into a file) only the chunks
// with files the mounts lack.
struct ChunkSource {
  std::function<Result<std::string>(const std::string& digest)> read;
  std::function<Result<void>(const std::string& digest, const std::filesystem::path& to)> fetch;
};
Result<TransferStats> import_mount_chunks(store::Store& store, const MountBundle& bundle,
                                          const ChunkSource& source);

}  // namespace strata::mounts

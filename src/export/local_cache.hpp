// The build cache outside the store, for CI runners that start empty:
// --cache-to type=local,dest=DIR (or type=archive,dest=FILE.tar.zst) writes
// the cache records of a build with their layers, and --cache-from reads
// them back into a store, where later steps hit them as if built there.
// The directory is an OCI image layout whose one manifest is a strata cache
// artifact (docs/formats/local-cache.md); exports are incremental (only
// blobs the directory lacks are written) and, with mounts=true, carry the
// cache mounts (mounts/transfer) in the same blob directory.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "export/convert.hpp"
#include "store/store.hpp"

namespace strata::exporter {

struct CacheExportOptions {
  bool mounts = false;             // carry the cache mounts too
  bool reset = false;              // drop blobs the new export does not reference
  CompressionOptions compression;  // of the exported layers (all of them are this build's)
  // Called after each layer written with the bytes written so far (the
  // total is not known in advance: what the directory has is skipped).
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct CacheTransferStats {
  size_t records = 0, blobs_copied = 0;
  uint64_t bytes_copied = 0;
  size_t mounts = 0;
};

// Writes the records of `keys` (and the layers they name). `dest` is a
// directory, or with `archive` a .tar/.tar.gz/.tar.zst file written whole.
Result<CacheTransferStats> export_cache(store::Store& store, const std::vector<std::string>& keys,
                                        const std::filesystem::path& dest,
                                        const CacheExportOptions& opts);

// Reads a cache export (directory or archive) into the store: records the
// store lacks, with their layers (digests checked), and the cache mounts
// when the export has them.
Result<CacheTransferStats> import_cache(store::Store& store, const std::filesystem::path& src);

}  // namespace strata::exporter

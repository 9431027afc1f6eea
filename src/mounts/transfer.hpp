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

}  // namespace strata::mounts

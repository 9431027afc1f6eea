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
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "export/convert.hpp"
#include "oci/checked_json.hpp"
#include "store/store.hpp"

namespace strata::cache {

struct CacheExportOptions {
  bool mounts = false;  // carry the cache mounts too
  bool reset = false;   // drop blobs the new export does not reference
  exporter::CompressionOptions
      compression;  // of the exported layers (all of them are this build's)
  // Called after each layer written with the bytes written so far (the
  // total is not known in advance: what the directory has is skipped).
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct CacheTransferStats {
  size_t records = 0, blobs_copied = 0;
  uint64_t bytes_copied = 0;
  size_t mounts = 0;
  bool from_image = false;  // the records were an image's inline cache
};

inline constexpr const char* kCacheConfig = "application/vnd.strata.cache.config.v1+json";
// The annotation of an image archive's index.json that names the cache
// artifact it carries (image_cache).
inline constexpr const char* kArchiveCacheAnnotation = "dev.strata.cache.manifest";

// The records of a build's steps as a cache artifact: the config's records
// and a manifest listing their layers (its config descriptor left to the
// writer). Layers are converted to `compression` where asked.
struct CacheArtifact {
  nlohmann::json records;
  nlohmann::json mounts;  // a registry cache's chunked mounts (mounts::MountBundle), or null
  oci::Manifest manifest;
  std::string config_text() const;
};
Result<CacheArtifact> collect_cache_records(store::Store& store,
                                            const std::vector<std::string>& keys,
                                            const exporter::CompressionOptions& compression);

// Reading one back: the manifest must be a strata cache; the records the
// store lacks are returned, each checked (digests, layers the manifest
// lists), for the caller to bring their layers and then cache_put them.
struct ImportedRecord {
  std::string key;
  store::Store::CacheRecord record;
  std::string inputs;
};
Result<oci::Manifest> parse_cache_manifest(std::string_view text);
// `source`: what the records are noted as imported from (a path, a ref).
Result<std::vector<ImportedRecord>> new_cache_records(store::Store& store,
                                                      const oci::Manifest& manifest,
                                                      std::string_view config_text,
                                                      const std::string& source);

// A record's lineage (Store::CacheRecord: step, parent, incremental) as a
// cache record's fields, and read back from them, checked.
void put_lineage(nlohmann::json& record, const store::Store::CacheRecord& rec);
Result<void> read_lineage(const oci::Fields& record, const std::string& key,
                          store::Store::CacheRecord& rec);

// Writes the records of `keys` (and the layers they name). `dest` is a
// directory, or with `archive` a .tar/.tar.gz/.tar.zst file written whole.
Result<CacheTransferStats> export_cache(store::Store& store, const std::vector<std::string>& keys,
                                        const std::filesystem::path& dest,
                                        const CacheExportOptions& opts);

// Reads a cache export (directory or archive) into the store: records the
// store lacks, with their layers (digests checked), and the cache mounts
// when the export has them.
Result<CacheTransferStats> import_cache(store::Store& store, const std::filesystem::path& src);

}  // namespace strata::cache

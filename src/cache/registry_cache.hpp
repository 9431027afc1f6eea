// The build cache in a registry: --cache-to type=registry,ref=R pushes the
// same cache artifact as a local export (docs/formats/registry-cache.md):
// an OCI manifest tagged R whose config lists the step records and whose
// layers are their layers (with mounts=true also the cache mounts'
// manifests and chunks, mounts::export_mount_chunks); only blobs the
// registry lacks are uploaded.
// --cache-from type=registry,ref=R (or a plain R) imports lazily: the records are added
// with their layers noted as fetchable from R's repository, and a layer is
// downloaded only when a step that is hit is actually needed.
#pragma once

#include <string>
#include <vector>

#include "cache/local_cache.hpp"
#include "registry/client.hpp"

namespace strata::cache {

struct RegistryCacheOptions {
  registry::ClientOptions client;
  exporter::CompressionOptions compression;
  bool mounts = false;                                          // carry the cache mounts, as chunks
  std::function<void(uint64_t done, uint64_t total)> progress;  // bytes of the layers
  std::function<void(const std::string&)> log;
};

Result<CacheTransferStats> export_registry_cache(store::Store& store,
                                                 const std::vector<std::string>& keys,
                                                 const oci::Reference& ref,
                                                 const RegistryCacheOptions& opts);

// Adds the records the store lacks; downloads only the manifest and config,
// and when the cache carries mounts, the chunks with files the store's
// cache mounts lack. A ref that is an image (or an index: this platform's
// image) gives the records of its inline cache (image_cache), its layers
// fetched from there when needed; an image without one is an error
// (Errc::not_found).
Result<CacheTransferStats> import_registry_cache(store::Store& store, const oci::Reference& ref,
                                                 const registry::ClientOptions& opts);

}  // namespace strata::cache

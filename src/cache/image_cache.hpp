// The build cache that travels with images, so that what CI already keeps
// is the next build's cache (docs/formats/image-cache.md):
// - inline (--cache-to type=inline, BUILDKIT_INLINE_CACHE=1): the records
//   of the steps behind the image's layers in its config, each naming its
//   layer by diff id, so they survive a push, a pull, docker load and
//   push, skopeo copy (a recompressed layer keeps its diff id);
// - in an archive strata writes: a cache artifact (local-cache.md) among
//   its blobs, named by an annotation of its index.json; `strata load` and
//   --cache-from type=archive read it back.
// Used by cli/ (build, save, load).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cache/local_cache.hpp"
#include "export/image_archive.hpp"
#include "images/stored_image.hpp"

namespace strata::cache {

// The config field of an inline cache.
inline constexpr const char* kInlineCacheField = "strata.cache.v1";

// The image with the records of `keys` in its config (a new config and
// manifest in the store; layers, history and times unchanged).
Result<images::StoredImage> with_inline_cache(store::Store& store, const images::StoredImage& image,
                                              const std::vector<std::string>& keys);

// Whether a config carries an inline cache.
bool has_inline_cache(const nlohmann::json& config);

// The records an image's config carries that the store lacks, each with
// the image's layer of its diff id; checked as an import is. `name`: what
// they are noted as imported from.
Result<std::vector<ImportedRecord>> inline_cache_records(store::Store& store,
                                                         const oci::Manifest& manifest,
                                                         const nlohmann::json& config,
                                                         const std::string& name);

// Adds those records; `blobs_from` (a registry's "host/repo", or "") is
// noted as where their layers can be fetched when the store lacks them.
Result<CacheTransferStats> import_inline_cache(store::Store& store, const oci::Manifest& manifest,
                                               const nlohmann::json& config,
                                               const std::string& blobs_from,
                                               const std::string& name);

// --cache-from type=image,ref=NAME (or a plain NAME of a stored image): the
// records that came with an image in the store: its inline cache. Those of
// its own build, or of the archive it was loaded from, are in the store
// already; an image with neither is an error (Errc::not_found).
Result<CacheTransferStats> import_image_cache(store::Store& store, const images::StoredImage& image,
                                              const std::string& name);

// How much of their build cache an archive of images carries: none, the
// steps behind the images' own layers (min, the default), or every step of
// their builds, other stages too (max).
enum class CacheMode { none, min, max };
// "none", "min", "max"; `what` names the flag in the error.
Result<CacheMode> parse_cache_mode(std::string_view text, std::string_view what);
// The keys of the steps that made these images, as the store noted them
// (Store::image_steps): an image it has no note of adds none.
Result<std::vector<std::string>> steps_of_images(store::Store& store,
                                                 const std::vector<images::StoredImage>& images,
                                                 CacheMode mode);

// What an archive of images carries of their build cache: the records of
// `keys` (and their layers, in `compression` where they need converting) as
// a cache artifact put in the store, and the index annotation naming it.
// No records: nothing.
Result<exporter::ArchiveExtras> archive_cache(store::Store& store,
                                              const std::vector<std::string>& keys,
                                              const exporter::CompressionOptions& compression);

// After a load of the archive `name`: the records of its cache artifact
// (its blobs are in the store now) and those inline in its images'
// configs; each image is noted as made by the archive's steps, so that
// saving it again carries them.
Result<CacheTransferStats> restore_archive_cache(store::Store& store,
                                                 const exporter::LoadedArchive& loaded,
                                                 const std::string& name);

}  // namespace strata::cache

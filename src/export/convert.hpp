// Layers in another compression for --output and --cache-to (compression=,
// compression-level=, force-compression=). A layer already in the wanted
// compression is used as it is; a conversion is done once and remembered in
// the store, so the next export reuses it instead of compressing again.
#pragma once

#include <optional>
#include <string>

#include "archive/sink.hpp"
#include "images/stored_image.hpp"
#include "store/store.hpp"

namespace strata::exporter {

struct CompressionOptions {
  std::optional<archive::Compression> compression;  // unset: keep each layer as it is
  int level = -1;                                   // the compressor's default
  bool force = false;  // also the layers this build did not make (and a new level)
};

// Does `layer` (one this build made) need converting for `opts`? Not when
// it is in the wanted compression already, unless a level is forced.
bool needs_conversion(const oci::Descriptor& layer, const CompressionOptions& opts);

// The layer in `compression` (converting it if it is not), its uncompressed
// content checked against `diff_id`.
Result<oci::Descriptor> layer_in(store::Store& store, const oci::Descriptor& layer,
                                 const std::string& diff_id, archive::Compression compression,
                                 int level);

// The image with its layers converted as `opts` say: layers from index
// `first_new` on were made by this build; earlier ones only with force. A
// new manifest is stored when anything changed.
Result<images::StoredImage> with_compression(store::Store& store, const images::StoredImage& image,
                                             size_t first_new, const CompressionOptions& opts);

// "gzip", "zstd", "uncompressed" (or "none") -> the compression.
std::optional<archive::Compression> parse_compression(std::string_view s);

}  // namespace strata::exporter

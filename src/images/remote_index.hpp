// Image indexes made from images already in registries, as `docker buildx
// imagetools create` makes them: per-runner builds of one image for each
// platform merged into one multi-platform name. Nothing goes through the
// store: manifests are read from the sources, blobs are mounted across
// repositories of one registry (copied only from another registry), and
// the index is pushed last. Used by `strata imagetools create`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "oci/image.hpp"
#include "oci/reference.hpp"
#include "registry/client.hpp"

namespace strata::images {

// One image of the index to be: its descriptor (with its platform), where
// it is and its manifest's bytes.
struct IndexEntry {
  oci::Descriptor desc;
  oci::Reference source;
  std::string manifest;
};

struct RemoteIndex {
  std::vector<IndexEntry> entries;
  std::string bytes, media_type, digest;  // the index itself
};

// The index of the sources: an image is one entry (its platform read from
// its config), an index gives its entries; an image named twice is listed
// once. An OCI index unless every source is a docker schema 2 one (then a
// docker manifest list, as buildx writes).
Result<RemoteIndex> make_remote_index(const std::vector<oci::Reference>& sources,
                                      const registry::ClientOptions& opts);

struct IndexPushStats {
  size_t mounted = 0, copied = 0, present = 0;  // blobs
  size_t manifests = 0;                         // pushed by digest
};

// Pushes `index` as `target`: each entry's blobs (mounted, or copied from
// another registry) and manifest by digest into the target's repository
// unless it has them, then the index under the target's tag.
Result<IndexPushStats> push_remote_index(const RemoteIndex& index, const oci::Reference& target,
                                         const registry::ClientOptions& opts,
                                         const std::function<void(const std::string&)>& log);

}  // namespace strata::images

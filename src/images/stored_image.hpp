// Images in the store as builds, exports and pushes see them: the manifest,
// the config document and the layers with their diff ids. A name may tag
// an image index (a pull of a multi-platform image keeps the index, and
// each platform's image pulled beside it): the image is then the index's
// entry for the platform asked for.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "oci/image.hpp"
#include "oci/platform.hpp"
#include "store/store.hpp"

namespace strata::images {

struct StoredImage {
  oci::Descriptor manifest_desc;
  oci::Manifest manifest;
  nlohmann::json config;
  std::vector<oci::LayerRef> layers;
  // The index the name tags, when it tags one (manifest_desc is then its
  // entry for the platform).
  std::optional<oci::Descriptor> index_desc;
};

// An image by name ("app", "app:1.0") or manifest digest, for `platform`
// when the name tags an index: not_found when the index has no such entry,
// or has one that the store lacks (pull it).
Result<StoredImage> load_image(store::Store& store, const std::string& ref,
                               const oci::Platform& platform = oci::host_platform());

// The descriptor a name tags, or of a digest in the store (an image's
// manifest or an index, as its text says); not_found otherwise.
Result<oci::Descriptor> resolve_descriptor(store::Store& store, const std::string& ref);

// Every platform's image of an index in the store, in the index's order;
// not_found, naming the platforms the store lacks, when it lacks any.
Result<std::vector<StoredImage>> load_index_images(store::Store& store,
                                                   const oci::Descriptor& index);

// The index a name tags, nullopt when it tags an image.
Result<std::optional<oci::Index>> load_index(store::Store& store, const std::string& ref);

// What a name holds, a line each: every platform of an index ("linux/arm64"
// and whether the store has that image), or the one image's platform.
struct PlatformEntry {
  std::string platform;  // "" when the image's config names none
  oci::Descriptor manifest;
  bool present = true;
};
Result<std::vector<PlatformEntry>> platforms_of(store::Store& store, const std::string& ref);

}  // namespace strata::images

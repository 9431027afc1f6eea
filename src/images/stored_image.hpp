// Images in the store as builds, exports and pushes see them: the manifest,
// the config document and the layers with their diff ids.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oci/image.hpp"
#include "store/store.hpp"

namespace strata::images {

struct StoredImage {
  oci::Descriptor manifest_desc;
  oci::Manifest manifest;
  nlohmann::json config;
  std::vector<oci::LayerRef> layers;
};

// An image by name ("app", "app:1.0") or manifest digest.
Result<StoredImage> load_image(store::Store& store, const std::string& ref);

}  // namespace strata::images

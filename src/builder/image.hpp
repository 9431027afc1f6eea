// Images in the store as the builder sees them: manifest, config and the
// layers with their diff ids; and the translation of an OCI image config into
// the frontend's ImageConfig (for the ENV, WORKDIR, ... a FROM inherits).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "builder/rootfs.hpp"
#include "frontend/plan.hpp"
#include "oci/image.hpp"
#include "store/store.hpp"

namespace strata::builder {

struct StoredImage {
  oci::Descriptor manifest_desc;
  oci::Manifest manifest;
  nlohmann::json config;
  std::vector<LayerRef> layers;
};

// An image by name ("app", "app:1.0") or manifest digest.
Result<StoredImage> load_image(store::Store& store, const std::string& ref);

frontend::ImageConfig to_frontend_config(const nlohmann::json& config);
// Sets the "config" section of an OCI image config from the frontend's.
void apply_config(nlohmann::json& config, const frontend::ImageConfig& c);

}  // namespace strata::builder

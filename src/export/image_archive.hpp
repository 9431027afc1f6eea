// Image archives in and out of the store. strata writes one tar that is at
// once an OCI image layout (oci-layout, index.json, blobs/) and a docker
// archive (manifest.json), so docker load, podman load, skopeo and strata
// load all accept it. Loading accepts OCI archives and docker archives
// (old and new layouts), plain or compressed, and verifies every digest.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "builder/image.hpp"
#include "store/store.hpp"

namespace strata::exporter {

Result<void> write_image_archive(store::Store& store, const builder::StoredImage& image,
                                 const std::vector<std::string>& names,
                                 const std::filesystem::path& dest);

// Imports every image in the archive; returns the names it tagged (or the
// manifest digests of untagged images).
Result<std::vector<std::string>> load_archive(store::Store& store,
                                              const std::filesystem::path& archive);

}  // namespace strata::exporter

#include "images/stored_image.hpp"

#include <fmt/format.h>

#include "digest/sha256.hpp"

namespace strata::images {

Result<StoredImage> load_image(store::Store& store, const std::string& ref) {
  StoredImage img;
  if (valid_digest(ref) && store.has_blob(ref)) {
    img.manifest_desc = {oci::kManifest, ref, 0, {}, {}};
  } else {
    auto rec = TRY_VALUE(store.resolve(ref));
    if (!rec) {
      return fail(Errc::not_found, fmt::format("image \"{}\" is not in the store; load it with "
                                               "`strata load FILE` or build it with -t {}",
                                               ref, oci::normalize_name(ref)));
    }
    img.manifest_desc = rec->manifest;
  }
  auto text = TRY_VALUE(store.read_blob(img.manifest_desc.digest));
  auto m = oci::parse_manifest(text, "manifest " + img.manifest_desc.digest);
  if (!m) return std::unexpected(m.error().with_context("image " + ref));
  img.manifest = *m;
  auto cfg_text = TRY_VALUE(store.read_blob(img.manifest.config.digest));
  auto config = oci::parse_config(cfg_text, "config " + img.manifest.config.digest);
  if (!config) return std::unexpected(config.error().with_context("image " + ref));
  img.config = std::move(config->doc);
  const std::vector<std::string>& diff_ids = config->diff_ids;
  if (diff_ids.size() != img.manifest.layers.size()) {
    return fail(Errc::syntax, fmt::format("image {}: {} layers but {} diff ids", ref,
                                          img.manifest.layers.size(), diff_ids.size()));
  }
  for (size_t i = 0; i < diff_ids.size(); ++i) {
    oci::Descriptor layer = img.manifest.layers[i];
    // A Docker schema 2 image's layers carry Docker's media type for what
    // OCI calls tar+gzip; images built on it are OCI throughout.
    if (layer.media_type == oci::kDockerLayerGzip) layer.media_type = oci::kLayerGzip;
    img.layers.push_back({layer, diff_ids[i]});
  }
  return img;
}

}  // namespace strata::images

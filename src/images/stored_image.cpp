#include "images/stored_image.hpp"

#include <fmt/format.h>

#include "digest/sha256.hpp"
#include "util/strings.hpp"

namespace strata::images {

Result<oci::Descriptor> resolve_descriptor(store::Store& store, const std::string& ref) {
  if (valid_digest(ref) && store.has_blob(ref)) {
    // A digest names a manifest or an index: which, its text says.
    auto text = TRY_VALUE(store.read_blob(ref));
    auto doc = nlohmann::json::parse(text, nullptr, false);
    std::string media_type = oci::kManifest;
    if (doc.is_object() && doc.contains("mediaType") && doc["mediaType"].is_string())
      media_type = doc["mediaType"].get<std::string>();
    else if (doc.is_object() && doc.contains("manifests"))
      media_type = oci::kIndex;
    return oci::Descriptor{media_type, ref, static_cast<int64_t>(text.size()), {}, {}};
  }
  auto rec = TRY_VALUE(store.resolve(ref));
  if (!rec)
    return fail(Errc::not_found, fmt::format("image \"{}\" is not in the store; load it with "
                                             "`strata load FILE` or build it with -t {}",
                                             ref, oci::normalize_name(ref)));
  return rec->manifest;
}

Result<std::optional<oci::Index>> load_index(store::Store& store, const std::string& ref) {
  auto desc = TRY_VALUE(resolve_descriptor(store, ref));
  if (!oci::is_index_media_type(desc.media_type)) return std::nullopt;
  auto text = TRY_VALUE(store.read_blob(desc.digest));
  auto index = oci::parse_index(text, "index " + desc.digest);
  if (!index) return std::unexpected(index.error().with_context("image " + ref));
  return std::move(*index);
}

Result<StoredImage> load_image(store::Store& store, const std::string& ref,
                               const oci::Platform& platform) {
  StoredImage img;
  img.manifest_desc = TRY_VALUE(resolve_descriptor(store, ref));
  if (oci::is_index_media_type(img.manifest_desc.media_type)) {
    auto index = TRY_VALUE(load_index(store, ref));
    img.index_desc = img.manifest_desc;
    auto entry = oci::pick_platform(*index, platform);
    if (!entry) return std::unexpected(entry.error().with_context("image " + ref));
    if (!store.has_blob(entry->digest))
      return fail(Errc::not_found, fmt::format("image {}: its {} image is not in the store (pull "
                                               "it: strata pull --platform {} {})",
                                               ref, platform.str(), platform.str(), ref));
    img.manifest_desc = *entry;
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

Result<std::vector<StoredImage>> load_index_images(store::Store& store,
                                                   const oci::Descriptor& index) {
  auto text = TRY_VALUE(store.read_blob(index.digest));
  auto parsed = TRY_VALUE(oci::parse_index(text, "index " + index.digest));
  std::vector<StoredImage> out;
  std::vector<std::string> missing;
  for (const auto& m : parsed.manifests) {
    if (!store.has_blob(m.digest)) {
      auto p = m.platform ? oci::platform_of(*m.platform) : std::nullopt;
      missing.push_back(p ? p->str() : m.digest);
      continue;
    }
    auto img = TRY_VALUE(load_image(store, m.digest));
    img.manifest_desc = m;
    img.index_desc = index;
    out.push_back(std::move(img));
  }
  if (!missing.empty())
    return fail(Errc::not_found,
                fmt::format("index {}: the store lacks its {} image{}", index.digest,
                            join(missing, ", "), missing.size() > 1 ? "s" : ""));
  return out;
}

Result<std::vector<PlatformEntry>> platforms_of(store::Store& store, const std::string& ref) {
  std::vector<PlatformEntry> out;
  if (auto index = TRY_VALUE(load_index(store, ref))) {
    for (const auto& m : index->manifests) {
      auto p = m.platform ? oci::platform_of(*m.platform) : std::nullopt;
      out.push_back({p ? p->str() : "", m, store.has_blob(m.digest)});
    }
    return out;
  }
  auto img = TRY_VALUE(load_image(store, ref));
  auto p = oci::platform_of(img.config);
  out.push_back({p ? p->str() : "", img.manifest_desc, true});
  return out;
}

}  // namespace strata::images

#include "cache/image_cache.hpp"

#include <fmt/format.h>

#include <set>

#include "digest/sha256.hpp"
#include "oci/checked_json.hpp"

using nlohmann::json;

namespace strata::cache {

namespace {

// A step's inputs are carried inline up to this size: a COPY of thousands
// of files lists them all, and a config is read whole by every tool. A
// record without them still hits; only a later miss's reason is vaguer.
constexpr size_t kMaxInlineInputs = 64 << 10;

}  // namespace

Result<images::StoredImage> with_inline_cache(store::Store& store, const images::StoredImage& image,
                                              const std::vector<std::string>& keys) {
  std::set<std::string> diff_ids;
  for (const auto& l : image.layers) diff_ids.insert(l.diff_id);
  json records = json::array();
  std::set<std::string> seen;
  for (const auto& key : keys) {
    if (!seen.insert(key).second) continue;
    auto rec = TRY_VALUE(store.cache_get(key));
    if (!rec) continue;                                        // pruned meanwhile
    if (rec->blob && !diff_ids.count(rec->diff_id)) continue;  // not a layer of this image
    json r = {{"key", key}};
    if (rec->blob) r["diff_id"] = rec->diff_id;
    if (rec->created > 0) r["created"] = rec->created;
    put_lineage(r, *rec);
    auto inputs = TRY_VALUE(store.cache_inputs(key));
    if (inputs && inputs->size() <= kMaxInlineInputs) r["inputs"] = *inputs;
    records.push_back(std::move(r));
  }
  images::StoredImage out = image;
  out.config[kInlineCacheField] = {{"records", records}};
  out.manifest.config = TRY_VALUE(store.put_blob(oci::canonical(out.config), oci::kConfig));
  out.manifest_desc =
      TRY_VALUE(store.put_blob(oci::to_json_text(out.manifest), image.manifest_desc.media_type));
  return out;
}

bool has_inline_cache(const json& config) {
  return config.is_object() && config.contains(kInlineCacheField);
}

Result<std::vector<ImportedRecord>> inline_cache_records(store::Store& store,
                                                         const oci::Manifest& manifest,
                                                         const json& config,
                                                         const std::string& name) {
  std::vector<ImportedRecord> out;
  if (!has_inline_cache(config)) return out;
  auto top = TRY_VALUE(oci::Fields::of(config, "the image config"));
  auto section = TRY_VALUE(top.object(kInlineCacheField));
  if (!section) return out;  // null
  auto cf = TRY_VALUE(oci::Fields::of(*section, std::string("the config's ") + kInlineCacheField));
  auto records = TRY_VALUE(cf.array("records"));
  if (!records) return cf.missing("records");
  // The image's layer of each diff id.
  std::map<std::string, oci::Descriptor> layers;
  auto rootfs = config.value("rootfs", json::object());
  auto ids = rootfs.value("diff_ids", json::array());
  if (!ids.is_array() || ids.size() != manifest.layers.size())
    return fail(Errc::invalid_argument, "the image's config and manifest differ in their layers");
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i].is_string()) layers.emplace(ids[i].get<std::string>(), manifest.layers[i]);
  for (size_t i = 0; i < records->size(); ++i) {
    auto rf =
        TRY_VALUE(oci::Fields::of((*records)[i], fmt::format("inline cache record {}", i + 1)));
    auto key = TRY_VALUE(rf.string("key")).value_or("");
    auto diff_id = TRY_VALUE(rf.string("diff_id")).value_or("");
    auto inputs = TRY_VALUE(rf.string("inputs")).value_or("");
    auto created = TRY_VALUE(rf.integer("created")).value_or(0);
    if (!valid_digest(key))
      return fail(Errc::invalid_argument,
                  fmt::format("an inline cache record's key is not a digest: {}", key));
    if (TRY_VALUE(store.cache_get(key))) continue;
    ImportedRecord rec;
    rec.key = key;
    rec.inputs = inputs;
    rec.record.created = std::max<int64_t>(0, created);
    rec.record.source = name;
    TRY(read_lineage(rf, key, rec.record));
    if (!diff_id.empty()) {
      auto it = layers.find(diff_id);
      if (it == layers.end())
        return fail(Errc::invalid_argument,
                    fmt::format("inline cache record {} names diff id {}, which is no layer of "
                                "the image",
                                key, diff_id));
      rec.record.blob = it->second;
      rec.record.diff_id = diff_id;
    }
    out.push_back(std::move(rec));
  }
  return out;
}

Result<CacheTransferStats> import_inline_cache(store::Store& store, const oci::Manifest& manifest,
                                               const json& config, const std::string& blobs_from,
                                               const std::string& name) {
  auto records = TRY_VALUE(inline_cache_records(store, manifest, config, name));
  CacheTransferStats stats;
  for (const auto& rec : records) {
    if (rec.record.blob && !blobs_from.empty())
      TRY(store.note_blob_source(rec.record.blob->digest, blobs_from));
    TRY(store.cache_put(rec.key, rec.record, rec.inputs));
    ++stats.records;
  }
  return stats;
}

Result<CacheTransferStats> import_image_cache(store::Store& store, const images::StoredImage& image,
                                              const std::string& name) {
  if (has_inline_cache(image.config)) {
    auto stats = TRY_VALUE(import_inline_cache(store, image.manifest, image.config, "", name));
    stats.from_image = true;
    return stats;
  }
  auto steps = TRY_VALUE(store.image_steps(image.manifest_desc.digest));
  if (!steps)
    return fail(Errc::not_found,
                fmt::format("image {} carries no build cache: it has no inline cache, and it was "
                            "neither built here nor loaded from an archive with its cache",
                            name));
  return CacheTransferStats{};  // its records are the store's own
}

Result<CacheMode> parse_cache_mode(std::string_view text, std::string_view what) {
  if (text == "none") return CacheMode::none;
  if (text == "min") return CacheMode::min;
  if (text == "max") return CacheMode::max;
  return fail(Errc::invalid_argument,
              fmt::format("{} {}: use min (the steps behind the image's layers), max (every "
                          "step of its build) or none",
                          what, text));
}

Result<std::vector<std::string>> steps_of_images(store::Store& store,
                                                 const std::vector<images::StoredImage>& images,
                                                 CacheMode mode) {
  std::vector<std::string> keys;
  if (mode == CacheMode::none) return keys;
  for (const auto& img : images) {
    auto steps = TRY_VALUE(store.image_steps(img.manifest_desc.digest));
    if (!steps) continue;
    const auto& these = mode == CacheMode::max ? steps->all_keys : steps->image_keys;
    keys.insert(keys.end(), these.begin(), these.end());
  }
  return keys;
}

Result<exporter::ArchiveExtras> archive_cache(store::Store& store,
                                              const std::vector<std::string>& keys,
                                              const exporter::CompressionOptions& compression) {
  exporter::ArchiveExtras extras;
  auto artifact = TRY_VALUE(collect_cache_records(store, keys, compression));
  if (artifact.records.empty()) return extras;
  auto config = TRY_VALUE(store.put_blob(artifact.config_text(), kCacheConfig));
  artifact.manifest.config = config;
  auto manifest = TRY_VALUE(store.put_blob(oci::to_json_text(artifact.manifest), oci::kManifest));
  extras.blobs = artifact.manifest.layers;
  extras.blobs.push_back(config);
  extras.blobs.push_back(manifest);
  extras.index_annotations[kArchiveCacheAnnotation] = manifest.digest;
  return extras;
}

Result<CacheTransferStats> restore_archive_cache(store::Store& store,
                                                 const exporter::LoadedArchive& loaded,
                                                 const std::string& name) {
  CacheTransferStats stats;
  std::vector<std::string> keys;
  if (auto it = loaded.index_annotations.find(kArchiveCacheAnnotation);
      it != loaded.index_annotations.end()) {
    std::string what = "the archive's build cache " + it->second;
    if (!valid_digest(it->second) || !store.has_blob(it->second))
      return fail(Errc::invalid_argument, what + ": not in the archive");
    auto manifest_text = TRY_VALUE(store.read_blob(it->second));
    auto manifest = parse_cache_manifest(manifest_text);
    if (!manifest) return std::unexpected(manifest.error().with_context(what));
    if (!store.has_blob(manifest->config.digest))
      return fail(Errc::invalid_argument, what + ": its config is not in the archive");
    auto config_text = TRY_VALUE(store.read_blob(manifest->config.digest));
    auto records = new_cache_records(store, *manifest, config_text, name);
    if (!records) return std::unexpected(records.error().with_context(what));
    for (const auto& rec : *records)
      if (rec.record.blob && !store.has_blob(rec.record.blob->digest))
        return fail(Errc::invalid_argument, fmt::format("{}: layer {} is not in the archive", what,
                                                        rec.record.blob->digest));
    for (const auto& rec : *records) {
      TRY(store.cache_put(rec.key, rec.record, rec.inputs));
      ++stats.records;
    }
    // Every record the artifact lists, those the store had too.
    auto config = json::parse(config_text, nullptr, false);
    for (const auto& r : config.value("records", json::array()))
      if (r.is_object() && r.value("key", json()).is_string()) keys.push_back(r["key"]);
  }
  for (const auto& desc : loaded.images) {
    auto mtext = TRY_VALUE(store.read_blob(desc.digest));
    auto manifest = TRY_VALUE(oci::parse_manifest(mtext, "manifest " + desc.digest));
    auto ctext = TRY_VALUE(store.read_blob(manifest.config.digest));
    auto config =
        TRY_VALUE(oci::parse_json(ctext, "config " + manifest.config.digest, oci::kMaxConfigBytes));
    auto inline_stats = import_inline_cache(store, manifest, config, "", name);
    if (!inline_stats)
      return std::unexpected(
          inline_stats.error().with_context("the inline cache of " + desc.digest));
    stats.records += inline_stats->records;
    if (!keys.empty()) TRY(store.put_image_steps(desc.digest, {keys, keys}));
  }
  return stats;
}

}  // namespace strata::cache

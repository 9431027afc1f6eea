#include "cache/local_cache.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "archive/tree.hpp"
#include "digest/sha256.hpp"
#include "mounts/transfer.hpp"
#include "oci/checked_json.hpp"
#include "oci/image.hpp"
#include "os/fs.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace strata::cache {

namespace {

constexpr const char* kRefName = "strata-cache";

fs::path blob_in(const fs::path& dir, std::string_view digest) {
  return dir / "blobs" / "sha256" / std::string(digest_hex(digest));
}

bool present(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

Result<void> put_json_blob(const fs::path& dir, const std::string& text, std::string& digest) {
  digest = sha256_digest(text);
  return os::write_file_atomic(blob_in(dir, digest), text);
}

// Every blob a mounts index (strata-mounts.json) refers to.
void mount_blobs(const fs::path& dir, std::set<std::string>& live) {
  auto text = os::read_file(dir / "strata-mounts.json");
  if (!text) return;
  json index = json::parse(*text, nullptr, false);
  if (!index.is_object() || !index.contains("mounts") || !index["mounts"].is_object()) return;
  for (const auto& [id, d] : index["mounts"].items()) {
    if (!d.is_string() || !valid_digest(d.get<std::string>())) continue;
    live.insert(d.get<std::string>());
    auto m = os::read_file(blob_in(dir, d.get<std::string>()), oci::kMaxManifestBytes);
    if (!m) continue;
    json manifest = json::parse(*m, nullptr, false);
    if (!manifest.is_object() || !manifest.contains("entries") || !manifest["entries"].is_array())
      continue;
    for (const auto& e : manifest["entries"])
      if (e.is_object() && e.contains("digest") && e["digest"].is_string())
        live.insert(e["digest"].get<std::string>());
  }
}

}  // namespace

std::string CacheArtifact::config_text() const {
  json config = {{"records", records}};
  if (!mounts.is_null()) config["mounts"] = mounts;
  return config.dump();
}

Result<CacheArtifact> collect_cache_records(store::Store& store,
                                            const std::vector<std::string>& keys,
                                            const exporter::CompressionOptions& compression) {
  CacheArtifact a;
  a.records = json::array();
  std::set<std::string> seen, layers;
  for (const auto& key : keys) {
    if (!seen.insert(key).second) continue;
    auto rec = TRY_VALUE(store.cache_get(key));
    if (!rec) continue;  // pruned meanwhile
    auto inputs = TRY_VALUE(store.cache_inputs(key));
    json r = {{"key", key}, {"inputs", inputs.value_or("")}};
    if (rec->created > 0) r["created"] = rec->created;
    put_lineage(r, *rec);
    if (rec->blob) {
      oci::Descriptor blob = *rec->blob;
      if (exporter::needs_conversion(blob, compression)) {
        auto converted = TRY_VALUE(exporter::layer_in(store, blob, rec->diff_id,
                                                      *compression.compression, compression.level));
        blob = converted;
      }
      r["layer"] = blob.digest;
      r["diff_id"] = rec->diff_id;
      if (layers.insert(blob.digest).second) a.manifest.layers.push_back(blob);
    }
    a.records.push_back(std::move(r));
  }
  return a;
}

void put_lineage(json& record, const store::Store::CacheRecord& rec) {
  if (!rec.step.empty()) record["step"] = rec.step;
  if (rec.parent) record["parent"] = *rec.parent;
  if (!rec.incremental_on.empty())
    record["incremental"] = {{"on", rec.incremental_on}, {"from", rec.incremental_from}};
}

Result<void> read_lineage(const oci::Fields& record, const std::string& key,
                          store::Store::CacheRecord& rec) {
  auto bad = [&](std::string_view what) {
    return fail(Errc::invalid_argument, fmt::format("record {}: {}", key, what));
  };
  rec.step = TRY_VALUE(record.string("step")).value_or("");
  if (!rec.step.empty() && !valid_digest(rec.step)) return bad("its step is not a digest");
  rec.parent = TRY_VALUE(record.strings("parent"));
  if (rec.parent)
    for (const auto& d : *rec.parent)
      if (!valid_digest(d)) return bad("its parent names a layer that is not a digest");
  if (const json* inc = TRY_VALUE(record.object("incremental"))) {
    auto f = TRY_VALUE(oci::Fields::of(*inc, fmt::format("record {}'s incremental", key)));
    rec.incremental_on = TRY_VALUE(f.string("on")).value_or("");
    rec.incremental_from = TRY_VALUE(f.string("from")).value_or("");
    if (!valid_digest(rec.incremental_on)) return bad("it ran incrementally on no valid key");
  }
  return {};
}

Result<oci::Manifest> parse_cache_manifest(std::string_view text) {
  auto manifest = TRY_VALUE(oci::parse_manifest(text));
  if (manifest.config.media_type != kCacheConfig)
    return fail(Errc::invalid_argument, "the manifest is not a strata cache");
  return manifest;
}

Result<std::vector<ImportedRecord>> new_cache_records(store::Store& store,
                                                      const oci::Manifest& manifest,
                                                      std::string_view config_text,
                                                      const std::string& source) {
  std::map<std::string, oci::Descriptor> layers;
  for (const auto& l : manifest.layers) layers[l.digest] = l;
  auto config = TRY_VALUE(oci::parse_json(config_text, "the cache config", oci::kMaxConfigBytes));
  auto cf = TRY_VALUE(oci::Fields::of(config, "the cache config"));
  auto records = TRY_VALUE(cf.array("records"));
  if (!records) return fail(Errc::invalid_argument, "the cache config has no records");
  std::vector<ImportedRecord> out;
  for (size_t i = 0; i < records->size(); ++i) {
    auto rf = TRY_VALUE(oci::Fields::of((*records)[i], fmt::format("cache record {}", i + 1)));
    auto key_field = rf.string("key"), inputs = rf.string("inputs"),
         layer_field = rf.string("layer"), diff_id = rf.string("diff_id");
    for (const auto* r : {&key_field, &inputs, &layer_field, &diff_id})
      if (!*r) return std::unexpected(r->error());
    auto created = TRY_VALUE(rf.integer("created"));
    std::string key = key_field->value_or("");
    if (!valid_digest(key))
      return fail(Errc::invalid_argument,
                  fmt::format("a cache record's key is not a digest: {}", key));
    auto have = TRY_VALUE(store.cache_get(key));
    if (have) continue;
    ImportedRecord rec;
    rec.key = key;
    rec.inputs = inputs->value_or("");
    rec.record.created = std::max<int64_t>(0, created.value_or(0));
    rec.record.source = source;
    TRY(read_lineage(rf, key, rec.record));
    std::string layer = layer_field->value_or("");
    if (!layer.empty()) {
      if (!valid_digest(layer))
        return fail(Errc::invalid_argument,
                    fmt::format("record {} names a layer that is not a digest: {}", key, layer));
      auto it = layers.find(layer);
      if (it == layers.end())
        return fail(Errc::invalid_argument,
                    fmt::format("record {} names a layer the manifest lacks", key));
      rec.record.blob = it->second;
      rec.record.diff_id = diff_id->value_or("");
      if (!valid_digest(rec.record.diff_id))
        return fail(Errc::invalid_argument, fmt::format("record {} has no valid diff_id", key));
    }
    out.push_back(std::move(rec));
  }
  return out;
}

namespace {

Result<CacheTransferStats> export_to_dir(store::Store& store, const std::vector<std::string>& keys,
                                         const fs::path& dir, const CacheExportOptions& opts) {
  CacheTransferStats stats;
  TRY(os::make_dirs(dir / "blobs" / "sha256"));
  auto artifact = TRY_VALUE(collect_cache_records(store, keys, opts.compression));
  oci::Manifest& manifest = artifact.manifest;
  std::set<std::string> live;
  for (const auto& blob : manifest.layers) {
    live.insert(blob.digest);
    fs::path to = blob_in(dir, blob.digest);
    if (present(to)) continue;
    TRY(store.ensure_blob(blob));
    auto n = TRY_VALUE(os::copy_file_atomic(store.blob_path(blob.digest), to));
    ++stats.blobs_copied;
    stats.bytes_copied += n;
    if (opts.progress) opts.progress(stats.bytes_copied, 0);
  }
  stats.records = artifact.records.size();
  if (opts.mounts) {
    auto m = mounts::export_mounts(store, {}, dir);
    if (!m) return std::unexpected(m.error().with_context("exporting cache mounts"));
    stats.mounts = m->mounts;
    stats.blobs_copied += m->blobs_copied;
    stats.bytes_copied += m->bytes_copied;
  }
  std::string config_digest, manifest_digest;
  std::string config_text = artifact.config_text();
  TRY(put_json_blob(dir, config_text, config_digest));
  manifest.config = {kCacheConfig, config_digest, static_cast<int64_t>(config_text.size()), {}, {}};
  std::string manifest_text = oci::to_json_text(manifest);
  TRY(put_json_blob(dir, manifest_text, manifest_digest));
  json index = {{"schemaVersion", 2},
                {"mediaType", oci::kIndex},
                {"manifests",
                 {{{"mediaType", oci::kManifest},
                   {"digest", manifest_digest},
                   {"size", manifest_text.size()},
                   {"annotations", {{"org.opencontainers.image.ref.name", kRefName}}}}}}};
  if (auto r = os::write_file_atomic(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"); !r)
    return std::unexpected(r.error());
  TRY(os::write_file_atomic(dir / "index.json", index.dump() + "\n"));
  if (opts.reset) {
    // What this export does not reference goes (mounts only with mounts=true).
    live.insert(config_digest);
    live.insert(manifest_digest);
    if (opts.mounts)
      mount_blobs(dir, live);
    else
      (void)::unlink((dir / "strata-mounts.json").c_str());
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir / "blobs" / "sha256", ec))
      if (!live.count("sha256:" + e.path().filename().string())) fs::remove(e.path(), ec);
  }
  return stats;
}

Result<CacheTransferStats> import_from_dir(store::Store& store, const fs::path& dir,
                                           const std::string& source) {
  CacheTransferStats stats;
  auto index_text = os::read_file(dir / "index.json", oci::kMaxManifestBytes);
  if (!index_text)
    return fail(Errc::not_found,
                fmt::format("{} is not a strata cache export (no index.json)", dir.string()));
  auto index = TRY_VALUE(oci::parse_index(*index_text, dir.string() + "/index.json"));
  // A cache export names its artifact as its one image; an archive of
  // images carries it beside them (image_cache).
  std::string manifest_digest;
  for (const auto& m : index.manifests)
    if (auto it = m.annotations.find(oci::kRefNameAnnotation);
        it != m.annotations.end() && it->second == kRefName)
      manifest_digest = m.digest;
  if (auto it = index.annotations.find(kArchiveCacheAnnotation); it != index.annotations.end())
    manifest_digest = it->second;
  if (!valid_digest(manifest_digest))
    return fail(Errc::invalid_argument,
                fmt::format("{}: index.json names no strata cache (an archive of images that "
                            "strata did not write, or one written before archives carried "
                            "their build cache)",
                            dir.string()));
  auto read_checked = [&](const std::string& digest) -> Result<std::string> {
    auto text = os::read_file(blob_in(dir, digest), oci::kMaxConfigBytes);
    if (!text) return text;
    if (sha256_digest(*text) != digest)
      return fail(Errc::invalid_argument, fmt::format("blob {} is corrupt", digest));
    return text;
  };
  auto manifest_text = TRY_VALUE(read_checked(manifest_digest));
  auto manifest = TRY_VALUE(parse_cache_manifest(manifest_text));
  auto config_text = TRY_VALUE(read_checked(manifest.config.digest));
  auto records = TRY_VALUE(new_cache_records(store, manifest, config_text, source));
  // The layers first, hashed as they are copied; adopted together (without
  // waiting for the disk, see Store::adopt_blobs_unsynced); then the records
  // that name them.
  std::vector<store::Store::NewBlob> copied;
  for (const auto& rec : records) {
    if (rec.record.blob) {
      const std::string& layer = rec.record.blob->digest;
      bool seen = std::any_of(copied.begin(), copied.end(),
                              [&](const store::Store::NewBlob& b) { return b.digest == layer; });
      if (!seen && !store.has_blob(layer)) {
        fs::path tmp = store.tmp_dir() / fmt::format("cache-import-{}-{}", ::getpid(),
                                                     digest_hex(layer).substr(0, 16));
        Sha256 hash;
        auto n = os::copy_file_atomic(
            blob_in(dir, layer), tmp, [&](std::string_view chunk) { hash.update(chunk); },
            [&]() -> Result<void> {
              std::string got = hash.finish();
              if (got == layer) return {};
              return fail(Errc::invalid_argument,
                          fmt::format("digest mismatch: expected {}, content has {}", layer, got));
            });
        if (!n) {
          for (const auto& c : copied) ::unlink(c.tmp_file.c_str());
          return std::unexpected(n.error());
        }
        copied.push_back({tmp, layer});
        ++stats.blobs_copied;
        stats.bytes_copied += *n;
      }
    }
  }
  TRY(store.adopt_blobs_unsynced(copied));
  for (const auto& rec : records) {
    TRY(store.cache_put(rec.key, rec.record, rec.inputs));
    ++stats.records;
  }
  if (present(dir / "strata-mounts.json")) {
    auto m = mounts::import_mounts(store, dir);
    if (!m) return std::unexpected(m.error().with_context("importing cache mounts"));
    stats.mounts = m->mounts;
    stats.blobs_copied += m->blobs_copied;
    stats.bytes_copied += m->bytes_copied;
  }
  return stats;
}

}  // namespace

Result<CacheTransferStats> export_cache(store::Store& store, const std::vector<std::string>& keys,
                                        const fs::path& dest, const CacheExportOptions& opts) {
  return archive::write_directory_or_archive(dest, store.tmp_dir(), [&](const fs::path& dir) {
    return export_to_dir(store, keys, dir, opts);
  });
}

Result<CacheTransferStats> import_cache(store::Store& store, const fs::path& src) {
  return archive::read_directory_or_archive(
      src, store.tmp_dir(), [&](const fs::path& dir) { return import_from_dir(store, dir, src); });
}

}  // namespace strata::cache

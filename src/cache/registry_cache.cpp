#include "cache/registry_cache.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>

#include <nlohmann/json.hpp>

#include "cache/image_cache.hpp"
#include "digest/sha256.hpp"
#include "images/push.hpp"
#include "mounts/transfer.hpp"
#include "oci/checked_json.hpp"
#include "oci/platform.hpp"
#include "os/fs.hpp"

using nlohmann::json;

namespace strata::cache {

namespace {

// Whether the client's repository has the blob (a HEAD).
Result<bool> has_blob(registry::Client& client, const std::string& digest) {
  auto size = TRY_VALUE(client.blob_size(digest));
  return size.has_value();
}

// Uploads a small blob held in memory (the cache config) unless present.
Result<bool> push_text(registry::Client& client, const std::string& text,
                       const std::string& digest) {
  auto has = TRY_VALUE(has_blob(client, digest));
  if (has) return false;
  os::UniqueFd fd(::memfd_create("strata-blob", MFD_CLOEXEC));
  if (!fd) return std::unexpected(os::errno_error("memfd_create", "strata-blob"));
  TRY(os::write_all(fd.get(), text.data(), text.size()));
  if (auto r = client.push_blob(digest, fmt::format("/proc/self/fd/{}", fd.get())); !r)
    return std::unexpected(r.error());
  return true;
}

}  // namespace

Result<CacheTransferStats> export_registry_cache(store::Store& store,
                                                 const std::vector<std::string>& keys,
                                                 const oci::Reference& ref,
                                                 const RegistryCacheOptions& opts) {
  std::string what = "exporting the cache to " + ref.str();
  auto artifact = collect_cache_records(store, keys, opts.compression);
  if (!artifact) return std::unexpected(artifact.error().with_context(what));
  registry::Client client(ref, opts.client);
  auto pushed = images::push_blobs(store, client, artifact->manifest.layers, {}, opts.progress);
  if (!pushed) return std::unexpected(pushed.error().with_context(what));
  CacheTransferStats stats;
  stats.records = artifact->records.size();
  stats.blobs_copied = pushed->uploaded;
  stats.bytes_copied = pushed->bytes_uploaded;
  if (opts.mounts) {
    mounts::TransferStats ms;
    mounts::ChunkTarget target{[&](const std::string& digest) { return has_blob(client, digest); },
                               [&](const std::string& digest, const std::filesystem::path& file) {
                                 return client.push_blob(digest, file);
                               }};
    auto bundle = mounts::export_mount_chunks(store, {}, target, ms);
    if (!bundle) return std::unexpected(bundle.error().with_context(what + ": cache mounts"));
    for (const auto& [digest, text] : bundle->manifests) {
      auto sent = push_text(client, text, digest);
      if (!sent) return std::unexpected(sent.error().with_context(what));
      if (*sent) {
        ++stats.blobs_copied;
        stats.bytes_copied += text.size();
      }
      artifact->manifest.layers.push_back(
          {mounts::kMountManifestType, digest, static_cast<int64_t>(text.size()), {}, {}});
    }
    for (const auto& c : bundle->chunks)
      artifact->manifest.layers.push_back(
          {c.gzip ? mounts::kMountChunkGzipType : mounts::kMountChunkType,
           c.digest,
           c.size,
           {},
           {}});
    artifact->mounts = mounts::to_json(*bundle);
    stats.mounts = ms.mounts;
    stats.blobs_copied += ms.blobs_copied;
    stats.bytes_copied += ms.bytes_copied;
  }
  std::string config_text = artifact->config_text();
  std::string config_digest = sha256_digest(config_text);
  auto sent = push_text(client, config_text, config_digest);
  if (!sent) return std::unexpected(sent.error().with_context(what));
  if (*sent) {
    ++stats.blobs_copied;
    stats.bytes_copied += config_text.size();
  }
  oci::Manifest& manifest = artifact->manifest;
  manifest.config = {kCacheConfig, config_digest, static_cast<int64_t>(config_text.size()), {}, {}};
  auto put = client.put_manifest(ref.manifest_ref(), oci::to_json_text(manifest), oci::kManifest);
  if (!put) return std::unexpected(put.error().with_context(what));
  if (opts.log && pushed->mounted > 0)
    opts.log(fmt::format("{} layers mounted from other repositories of {}", pushed->mounted,
                         ref.registry));
  return stats;
}

Result<CacheTransferStats> import_registry_cache(store::Store& store, const oci::Reference& ref,
                                                 const registry::ClientOptions& opts) {
  registry::Client client(ref, opts);
  auto m = TRY_VALUE(client.get_manifest(ref.manifest_ref()));
  if (oci::is_index_media_type(m.media_type)) {
    // An image index: the image for this platform, with its inline cache.
    auto index = oci::parse_index(m.bytes, "index " + m.digest);
    if (!index) return std::unexpected(index.error().with_context(ref.str()));
    auto entry = oci::pick_platform(*index, oci::host_platform());
    if (!entry) return std::unexpected(entry.error().with_context(ref.str()));
    m = TRY_VALUE(client.get_manifest(entry->digest));
  }
  auto manifest = TRY_VALUE(oci::parse_manifest(m.bytes, ref.str()));
  auto got = client.fetch_small_blob(manifest.config.digest, manifest.config.size);
  if (!got) return std::unexpected(got.error().with_context(ref.str()));
  const std::string& config_text = *got;
  if (manifest.config.media_type != kCacheConfig) {
    auto config =
        TRY_VALUE(oci::parse_json(config_text, "config of " + ref.str(), oci::kMaxConfigBytes));
    if (!has_inline_cache(config))
      return fail(Errc::not_found,
                  fmt::format("{} is neither a strata cache nor an image with an inline cache "
                              "(build it with --cache-to type=inline or --build-arg "
                              "BUILDKIT_INLINE_CACHE=1)",
                              ref.str()));
    auto stats = import_inline_cache(store, manifest, config, ref.repo_path(), ref.str());
    if (!stats) return std::unexpected(stats.error().with_context(ref.str()));
    stats->from_image = true;
    stats->blobs_copied = 2;
    stats->bytes_copied = m.bytes.size() + config_text.size();
    return stats;
  }
  auto records = new_cache_records(store, manifest, config_text, ref.str());
  if (!records) return std::unexpected(records.error().with_context(ref.str()));
  CacheTransferStats stats;
  stats.bytes_copied = m.bytes.size() + config_text.size();
  stats.blobs_copied = 2;
  json config = json::parse(config_text, nullptr, false);
  if (config.is_object() && config.contains("mounts")) {
    auto bundle = mounts::bundle_from_json(config["mounts"]);
    if (!bundle) return std::unexpected(bundle.error().with_context(ref.str()));
    auto fetch_to_string = [&](const std::string& digest) {
      return client.fetch_small_blob(digest, -1);
    };
    auto fetch_to_file = [&](const std::string& digest,
                             const std::filesystem::path& to) -> Result<void> {
      os::UniqueFd fd(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (!fd) return std::unexpected(os::errno_error("creating", to));
      TRY(client.fetch_blob_to(digest, -1, fd.get()));
      return {};
    };
    auto m = mounts::import_mount_chunks(store, *bundle, {fetch_to_string, fetch_to_file});
    if (!m) return std::unexpected(m.error().with_context("importing cache mounts"));
    stats.mounts = m->mounts;
    stats.blobs_copied += m->blobs_copied;
    stats.bytes_copied += m->bytes_copied;
  }
  for (const auto& rec : *records) {
    if (rec.record.blob) TRY(store.note_blob_source(rec.record.blob->digest, ref.repo_path()));
    TRY(store.cache_put(rec.key, rec.record, rec.inputs));
    ++stats.records;
  }
  return stats;
}

}  // namespace strata::cache

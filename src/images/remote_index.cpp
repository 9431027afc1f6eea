#include "images/remote_index.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "digest/sha256.hpp"
#include "oci/checked_json.hpp"
#include "oci/platform.hpp"
#include "os/fs.hpp"

namespace strata::images {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool is_docker_media_type(const std::string& media_type) {
  return media_type == oci::kDockerManifest || media_type == oci::kDockerManifestList;
}

// An image manifest's entry: its platform from its config.
Result<IndexEntry> image_entry(registry::Client& client, const oci::Reference& ref,
                               registry::RemoteManifest m) {
  auto manifest = TRY_VALUE(oci::parse_manifest(m.bytes, ref.str()));
  auto config_text = TRY_VALUE(
      client.fetch_small_blob(manifest.config.digest, manifest.config.size, oci::kMaxConfigBytes));
  auto config =
      TRY_VALUE(oci::parse_json(config_text, "the config of " + ref.str(), oci::kMaxConfigBytes));
  auto platform = oci::platform_of(config);
  if (!platform)
    return fail(Errc::invalid_argument,
                fmt::format("{}: its config names no platform (os, architecture)", ref.str()));
  json p = {{"architecture", platform->arch}, {"os", platform->os}};
  if (!platform->variant.empty()) p["variant"] = platform->variant;
  oci::Descriptor d{m.media_type, m.digest, static_cast<int64_t>(m.bytes.size()), {}, p};
  return IndexEntry{std::move(d), ref, std::move(m.bytes)};
}

// The blobs an image manifest names: its config and layers.
Result<std::vector<oci::Descriptor>> blobs_of(const IndexEntry& e) {
  auto m = TRY_VALUE(oci::parse_manifest(e.manifest, "manifest " + e.desc.digest));
  std::vector<oci::Descriptor> out{m.config};
  out.insert(out.end(), m.layers.begin(), m.layers.end());
  return out;
}

// A blob of `from` into the target's repository: there already, mounted
// from another repository of the same registry, else copied through a
// temporary file.
Result<void> copy_blob(registry::Client& target, const oci::Reference& from,
                       const oci::Descriptor& blob, const registry::ClientOptions& opts,
                       IndexPushStats& stats) {
  if (TRY_VALUE(target.blob_size(blob.digest))) {
    ++stats.present;
    return {};
  }
  if (from.registry == target.registry() &&
      TRY_VALUE(target.mount_blob(blob.digest, from.repository))) {
    ++stats.mounted;
    return {};
  }
  registry::Client source(from, opts);
  auto tmp = TRY_VALUE(os::TempDir::create(fs::temp_directory_path(), "strata-imagetools-"));
  fs::path file = tmp.path() / "blob";
  os::UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return std::unexpected(os::errno_error("creating", file));
  TRY(source.fetch_blob_to(blob.digest, blob.size, fd.get()));
  TRY(target.push_blob(blob.digest, file));
  ++stats.copied;
  return {};
}

}  // namespace

Result<RemoteIndex> make_remote_index(const std::vector<oci::Reference>& sources,
                                      const registry::ClientOptions& opts) {
  if (sources.empty())
    return fail(Errc::invalid_argument, "an index needs at least one source image");
  RemoteIndex out;
  bool all_docker = true;
  for (const auto& ref : sources) {
    registry::Client client(ref, opts);
    auto m = TRY_VALUE(client.get_manifest(ref.manifest_ref()));
    all_docker = all_docker && is_docker_media_type(m.media_type);
    std::vector<IndexEntry> found;
    if (!oci::is_index_media_type(m.media_type)) {
      found.push_back(TRY_VALUE(image_entry(client, ref, std::move(m))));
    } else {
      auto index = TRY_VALUE(oci::parse_index(m.bytes, ref.str()));
      for (auto& d : index.manifests) {
        if (oci::is_index_media_type(d.media_type))
          return fail(Errc::invalid_argument,
                      fmt::format("{}: lists another index ({}); name the images instead",
                                  ref.str(), d.digest));
        auto inner = TRY_VALUE(client.get_manifest(d.digest));
        found.push_back({std::move(d), ref, std::move(inner.bytes)});
      }
    }
    for (auto& e : found)
      if (std::none_of(out.entries.begin(), out.entries.end(),
                       [&](const IndexEntry& have) { return have.desc.digest == e.desc.digest; }))
        out.entries.push_back(std::move(e));
  }
  out.media_type = all_docker ? oci::kDockerManifestList : oci::kIndex;
  json manifests = json::array();
  for (const auto& e : out.entries) manifests.push_back(oci::to_json(e.desc));
  out.bytes = oci::canonical(
      {{"schemaVersion", 2}, {"mediaType", out.media_type}, {"manifests", manifests}});
  out.digest = sha256_digest(out.bytes);
  return out;
}

Result<IndexPushStats> push_remote_index(const RemoteIndex& index, const oci::Reference& target,
                                         const registry::ClientOptions& opts,
                                         const std::function<void(const std::string&)>& log) {
  registry::Client client(target, opts);
  IndexPushStats stats;
  for (const auto& e : index.entries) {
    if (e.source.registry == target.registry && e.source.repository == target.repository)
      continue;  // the manifest and its blobs are there
    for (const auto& blob : TRY_VALUE(blobs_of(e)))
      TRY(copy_blob(client, e.source, blob, opts, stats));
    TRY(client.put_manifest(e.desc.digest, e.manifest, e.desc.media_type));
    ++stats.manifests;
  }
  auto digest =
      TRY_VALUE(client.put_manifest(target.manifest_ref(), index.bytes, index.media_type));
  if (digest != index.digest)
    return fail(Errc::invalid_argument, fmt::format("{} stored the index as {}, not {}",
                                                    target.str(), digest, index.digest));
  if (log)
    log(fmt::format("pushed {} ({}): {} manifests, {} blobs mounted, {} copied, {} there already",
                    target.str(), index.digest, stats.manifests, stats.mounted, stats.copied,
                    stats.present));
  return stats;
}

}  // namespace strata::images

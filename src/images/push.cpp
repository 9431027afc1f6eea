#include "images/push.hpp"

#include <fmt/format.h>

#include <mutex>

#include "util/parallel.hpp"

namespace strata::images {

namespace {

Result<void> push_one(store::Store& store, registry::Client& client, const oci::Descriptor& blob,
                      PushStats& stats, std::mutex& mu, SharedProgress& progress) {
  // A blob the registry has, or links from another repository, is done whole.
  auto skipped = [&](size_t PushStats::*counter) -> Result<void> {
    progress.add(static_cast<uint64_t>(std::max<int64_t>(blob.size, 0)));
    std::lock_guard g(mu);
    ++(stats.*counter);
    return {};
  };
  auto size = TRY_VALUE(client.blob_size(blob.digest));
  if (size) return skipped(&PushStats::present);
  auto sources = TRY_VALUE(store.blob_sources(blob.digest));
  std::string prefix = client.registry() + "/";
  for (const auto& s : sources) {
    if (!s.starts_with(prefix) || s == prefix + client.repository()) continue;
    auto mounted = TRY_VALUE(client.mount_blob(blob.digest, s.substr(prefix.size())));
    if (mounted) return skipped(&PushStats::mounted);
  }
  if (auto r = store.ensure_blob(blob); !r) return r;
  if (auto r = client.push_blob(blob.digest, store.blob_path(blob.digest),
                                [&](size_t sent) { progress.add(sent); });
      !r)
    return r;
  std::lock_guard g(mu);
  ++stats.uploaded;
  stats.bytes_uploaded += static_cast<uint64_t>(blob.size);
  return {};
}

}  // namespace

Result<PushStats> push_blobs(store::Store& store, registry::Client& client,
                             const std::vector<oci::Descriptor>& blobs,
                             const std::function<void(const std::string&)>& log,
                             const std::function<void(uint64_t, uint64_t)>& progress) {
  PushStats stats;
  std::mutex mu;
  uint64_t all = 0;
  for (const auto& b : blobs) all += static_cast<uint64_t>(std::max<int64_t>(b.size, 0));
  SharedProgress shared(all, progress);
  auto r = parallel_for(blobs.size(), 3, [&](size_t i) {
    return push_one(store, client, blobs[i], stats, mu, shared);
  });
  if (!r) return std::unexpected(r.error());
  if (log)
    log(fmt::format("{}/{}: {} blobs uploaded ({} B), {} mounted, {} already there",
                    client.registry(), client.repository(), stats.uploaded, stats.bytes_uploaded,
                    stats.mounted, stats.present));
  return stats;
}

Result<PushStats> push_image(store::Store& store, const StoredImage& image,
                             const oci::Reference& ref, const registry::ClientOptions& opts,
                             const std::function<void(const std::string&)>& log,
                             const std::function<void(uint64_t, uint64_t)>& progress) {
  registry::Client client(ref, opts);
  std::string what = "pushing " + ref.str();
  std::vector<oci::Descriptor> blobs = image.manifest.layers;
  blobs.push_back(image.manifest.config);
  auto stats = push_blobs(store, client, blobs, log, progress);
  if (!stats) return std::unexpected(stats.error().with_context(what));
  auto bytes = TRY_VALUE(store.read_blob(image.manifest_desc.digest));
  auto digest =
      TRY_VALUE(client.put_manifest(ref.manifest_ref(), bytes, image.manifest.media_type));
  stats->digest = digest;
  return stats;
}

Result<PushStats> push_index(store::Store& store, const oci::Descriptor& index,
                             const oci::Reference& ref, const registry::ClientOptions& opts,
                             const std::function<void(const std::string&)>& log,
                             const std::function<void(uint64_t, uint64_t)>& progress) {
  std::string what = "pushing " + ref.str();
  auto bytes = TRY_VALUE(store.read_blob(index.digest));
  auto parsed = oci::parse_index(bytes, "index " + index.digest);
  if (!parsed) return std::unexpected(parsed.error().with_context(what));
  PushStats all;
  for (const auto& m : parsed->manifests) {
    if (!store.has_blob(m.digest))
      return fail(Errc::not_found,
                  fmt::format("{}: the index lists {}, which is not in the store (pull every "
                              "platform first: strata pull --platform P)",
                              what, m.digest));
    auto image = TRY_VALUE(load_image(store, m.digest));
    oci::Reference by_digest = ref;
    by_digest.digest = m.digest;
    auto one = TRY_VALUE(push_image(store, image, by_digest, opts, log, progress));
    all.uploaded += one.uploaded;
    all.mounted += one.mounted;
    all.present += one.present;
    all.bytes_uploaded += one.bytes_uploaded;
  }
  registry::Client client(ref, opts);
  all.digest = TRY_VALUE(client.put_manifest(ref.manifest_ref(), bytes, index.media_type));
  return all;
}

}  // namespace strata::images

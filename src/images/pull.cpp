#include "images/pull.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "oci/checked_json.hpp"
#include "oci/platform.hpp"
#include "os/fs.hpp"
#include "util/parallel.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;

namespace strata::images {

namespace {

// Fetches one blob (its digest checked as it streams) into `tmp`.
Result<uint64_t> fetch_one(registry::Client& client, const oci::Descriptor& blob,
                           const fs::path& tmp, SharedProgress& progress) {
  os::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return std::unexpected(os::errno_error("creating", tmp));
  auto n = client.fetch_blob_to(blob.digest, blob.size, fd.get(),
                                [&](size_t got) { progress.add(got); });
  fd.reset();
  if (!n) ::unlink(tmp.c_str());
  return n;
}

}  // namespace

Result<uint64_t> fetch_blobs(store::Store& store, registry::Client& client,
                             const std::vector<oci::Descriptor>& blobs,
                             const std::function<void(const std::string&)>& log,
                             const std::function<void(uint64_t, uint64_t)>& progress) {
  std::atomic<uint64_t> total{0};
  std::mutex mu;  // guards started, fetched and the log
  uint64_t all = 0;
  for (const auto& b : blobs) all += static_cast<uint64_t>(std::max<int64_t>(b.size, 0));
  SharedProgress shared(all, progress);
  // Adopted together once all have arrived, without waiting for the disk
  // (Store::adopt_blobs_unsynced); gone if any fails.
  std::vector<store::Store::NewBlob> fetched;
  std::set<std::string> started;
  auto r = parallel_for(blobs.size(), 3, [&](size_t i) -> Result<void> {
    const auto& b = blobs[i];
    bool first = false;
    {
      std::lock_guard g(mu);
      first = started.insert(b.digest).second;
    }
    if (!first || store.has_blob(b.digest)) {
      shared.add(static_cast<uint64_t>(std::max<int64_t>(b.size, 0)));
      return {};
    }
    fs::path tmp = store.tmp_dir() / fmt::format("fetch-{}-{}", ::getpid(), i);
    auto n = TRY_VALUE(fetch_one(client, b, tmp, shared));
    total += n;
    std::lock_guard g(mu);
    fetched.push_back({tmp, b.digest});
    if (log)
      log(fmt::format("fetched {} ({}) from {}/{}", b.digest.substr(0, 19),
                      human_size(static_cast<double>(b.size)), client.registry(),
                      client.repository()));
    return {};
  });
  if (!r) {
    for (const auto& f : fetched) ::unlink(f.tmp_file.c_str());
    return std::unexpected(r.error());
  }
  TRY(store.adopt_blobs_unsynced(fetched));
  return total.load();
}

Result<oci::Descriptor> pull_image(store::Store& store, const std::string& name,
                                   const PullOptions& opts) {
  auto ref = TRY_VALUE(oci::parse_reference(name));
  registry::Client client(ref, opts.client);
  std::string what = "pulling " + ref.str();
  auto top = client.get_manifest(ref.manifest_ref());
  if (!top) return std::unexpected(top.error().with_context(what));
  registry::RemoteManifest m = std::move(*top);
  std::optional<registry::RemoteManifest> index;  // kept, and tagged, beside the image
  if (oci::is_index_media_type(m.media_type)) {
    auto parsed = oci::parse_index(m.bytes, "index " + m.digest);
    if (!parsed) return std::unexpected(parsed.error().with_context(what));
    auto entry = oci::pick_platform(*parsed, opts.platform);
    if (!entry) return std::unexpected(entry.error().with_context(what));
    auto one = client.get_manifest(entry->digest);
    if (!one) return std::unexpected(one.error().with_context(what));
    index = std::move(m);
    m = std::move(*one);
  }
  if (m.media_type != oci::kManifest && m.media_type != oci::kDockerManifest)
    return fail(Errc::invalid_argument,
                fmt::format("{}: the manifest has media type \"{}\", not an image manifest", what,
                            m.media_type));
  auto manifest = oci::parse_manifest(m.bytes, "manifest " + m.digest);
  if (!manifest) return std::unexpected(manifest.error().with_context(what));
  // The config is small and every build reads it: fetched now, and checked
  // before the image is named.
  if (static_cast<uint64_t>(manifest->config.size) > oci::kMaxConfigBytes)
    return fail(Errc::invalid_argument,
                fmt::format("{}: the config is {} bytes, more than the {} strata reads", what,
                            manifest->config.size, oci::kMaxConfigBytes));
  if (auto c = fetch_blobs(store, client, {manifest->config}, {}); !c)
    return std::unexpected(c.error().with_context(what));
  auto config_text = TRY_VALUE(store.read_blob(manifest->config.digest));
  auto config = oci::parse_config(config_text, "config " + manifest->config.digest);
  if (!config) return std::unexpected(config.error().with_context(what));
  if (config->diff_ids.size() != manifest->layers.size())
    return fail(Errc::invalid_argument,
                fmt::format("{}: the manifest has {} layers, but the config names {} diff ids",
                            what, manifest->layers.size(), config->diff_ids.size()));
  for (const auto& l : manifest->layers) TRY(store.note_blob_source(l.digest, ref.repo_path()));
  if (!opts.lazy) {
    auto n = fetch_blobs(store, client, manifest->layers, opts.log, opts.progress);
    if (!n) return std::unexpected(n.error().with_context(what));
  }
  auto desc = TRY_VALUE(store.put_blob(m.bytes, m.media_type));
  // A multi-platform image stays one: the name tags the index, and each
  // platform pulled is kept beside it.
  if (index) {
    auto index_desc = TRY_VALUE(store.put_blob(index->bytes, index->media_type));
    TRY(store.tag(name, index_desc));
  } else {
    TRY(store.tag(name, desc));
  }
  if (opts.log)
    opts.log(fmt::format("pulled {}{} ({}, {} layers{})", ref.str(),
                         index ? " for " + opts.platform.str() : "", desc.digest,
                         manifest->layers.size(), opts.lazy ? ", fetched when needed" : ""));
  return desc;
}

Result<StoredImage> find_or_pull(store::Store& store, const std::string& name,
                                 const PullOptions& opts, bool refresh) {
  if (!refresh) {
    auto img = load_image(store, name, opts.platform);
    if (img || img.error().code != Errc::not_found || name.starts_with("sha256:")) return img;
  }
  auto pulled = pull_image(store, name, opts);
  if (!pulled) {
    if (refresh || oci::names_registry(name)) return std::unexpected(pulled.error());
    return fail(
        Errc::not_found,
        fmt::format("image \"{}\" is not in the store and could not be pulled ({}); load it "
                    "with `strata load FILE`, build it with -t {}, or name its registry",
                    name, pulled.error().message, oci::normalize_name(name)));
  }
  return load_image(store, name, opts.platform);
}

store::Store::BlobFetcher registry_fetcher(const PullOptions& opts) {
  return [opts](store::Store& store, const oci::Descriptor& blob,
                const std::vector<std::string>& sources) -> Result<void> {
    // One fetch per blob at a time, however many steps want it.
    static std::mutex locks_mu;
    static std::map<std::string, std::shared_ptr<std::mutex>> locks;
    std::shared_ptr<std::mutex> lock;
    {
      std::lock_guard g(locks_mu);
      auto& l = locks[blob.digest];
      if (!l) l = std::make_shared<std::mutex>();
      lock = l;
    }
    std::lock_guard g(*lock);
    if (store.has_blob(blob.digest)) return {};
    std::optional<Error> last;
    for (const auto& source : sources) {
      size_t slash = source.find('/');
      if (slash == std::string::npos) continue;
      registry::Client client(source.substr(0, slash), source.substr(slash + 1), opts.client);
      auto n = fetch_blobs(store, client, {blob}, opts.log);
      if (n) return {};
      last = n.error();
    }
    if (!last) return fail(Errc::not_found, fmt::format("blob {} has no source", blob.digest));
    return std::unexpected(last->with_context("fetching " + blob.digest));
  };
}

}  // namespace strata::images

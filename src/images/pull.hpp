// Images from registries into the store. A pull stores the manifest and the
// config at once and, when lazy, only notes where each layer can be fetched
// (store::Store::note_blob_source); the layer arrives when something reads
// it (a RUN or COPY that needs the root filesystem, an export, a push).
#pragma once

#include <functional>
#include <string>

#include "images/stored_image.hpp"
#include "registry/client.hpp"
#include "store/store.hpp"

namespace strata::images {

struct PullOptions {
  registry::ClientOptions client;
  oci::Platform platform = oci::host_platform();  // which image of an index
  bool lazy = true;                               // layers on demand
  std::function<void(const std::string&)> log;    // one line per pull and layer fetched
  std::function<void(uint64_t done, uint64_t total)> progress;  // bytes of an eager pull
};

// Pulls `name` (a registry reference; short names are Docker Hub's) and tags
// it in the store as oci::normalize_name(name). An index: its image for
// opts.platform, kept beside the index, which the name then tags (so that
// other platforms' images pulled later sit beside it). Returns the image's
// manifest.
Result<oci::Descriptor> pull_image(store::Store& store, const std::string& name,
                                   const PullOptions& opts);

// An image from the store; pulled first when the store lacks it (or always,
// with `refresh`, as `--pull` asks).
Result<StoredImage> find_or_pull(store::Store& store, const std::string& name,
                                 const PullOptions& opts, bool refresh);

// Fetches blobs into the store from `client`'s repository, up to three at
// once, each checked against its digest; one sync at the end.
Result<uint64_t> fetch_blobs(store::Store& store, registry::Client& client,
                             const std::vector<oci::Descriptor>& blobs,
                             const std::function<void(const std::string&)>& log,
                             const std::function<void(uint64_t, uint64_t)>& progress = {});

// What Store::ensure_blob calls: fetch a noted blob from the first of its
// sources that has it.
store::Store::BlobFetcher registry_fetcher(const PullOptions& opts);

}  // namespace strata::images

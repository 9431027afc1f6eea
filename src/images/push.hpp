// Images and blobs from the store to a registry: a HEAD before every blob,
// a cross-repository mount when the blob came from another repository of
// the same registry (so a lazily pulled base is never downloaded to be
// pushed back), an upload otherwise, and the manifest last.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "images/stored_image.hpp"
#include "registry/client.hpp"
#include "store/store.hpp"

namespace strata::images {

// Hears (bytes done, total) of a transfer.
using ProgressFn = std::function<void(uint64_t, uint64_t)>;

struct PushStats {
  size_t uploaded = 0, mounted = 0, present = 0;  // blobs
  uint64_t bytes_uploaded = 0;
  std::string digest;  // of the manifest pushed
};

// Pushes blobs to the client's repository, up to three at once; `progress`
// hears (bytes done, total), blobs the registry has or mounts counting whole.
Result<PushStats> push_blobs(store::Store& store, registry::Client& client,
                             const std::vector<oci::Descriptor>& blobs,
                             const std::function<void(const std::string&)>& log,
                             const std::function<void(uint64_t, uint64_t)>& progress = {});

// Pushes an image of the store as `ref` (its tag, or its digest alone).
Result<PushStats> push_image(store::Store& store, const StoredImage& image,
                             const oci::Reference& ref, const registry::ClientOptions& opts,
                             const std::function<void(const std::string&)>& log,
                             const std::function<void(uint64_t, uint64_t)>& progress = {});

// Pushes an image index of the store as `ref`: each platform's image by
// its digest, then the index under ref's tag (or digest). Every image it
// lists must be in the store.
Result<PushStats> push_index(store::Store& store, const oci::Descriptor& index,
                             const oci::Reference& ref, const registry::ClientOptions& opts,
                             const std::function<void(const std::string&)>& log,
                             const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace strata::images

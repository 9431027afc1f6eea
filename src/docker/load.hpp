// Putting an image of the store into a docker daemon, sending only what the
// daemon lacks: `--load`, `--output type=docker|image` without dest, and
// `strata load --into-docker`. Called by cli/.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "docker/engine.hpp"
#include "images/stored_image.hpp"
#include "store/store.hpp"

namespace strata::docker {

struct DockerLoadResult {
  std::string image_id;     // the daemon's id of the image: its config digest
  size_t layers = 0;        // in the image
  size_t layers_sent = 0;   // the daemon did not have them
  uint64_t bytes_sent = 0;  // the whole upload (0 when the image was there)
  bool was_there = false;   // the daemon had the image: it was only tagged
};

// Gives the image every name in `names` in the daemon. When the daemon has
// the image already, it is only tagged. Otherwise a docker archive is
// streamed to POST /images/load in which only the layers the daemon lacks
// (past the longest start of the image's diff-id chain that one of its
// images has) carry their content, uncompressed, so that the daemon neither
// receives nor gunzips what it holds. `note` (optional) hears what is done.
Result<DockerLoadResult> load_into_docker(store::Store& store, Engine& engine,
                                          const images::StoredImage& image,
                                          const std::vector<std::string>& names,
                                          const std::function<void(const std::string&)>& note = {});

// How many of `ours` (diff ids, bottom first) a daemon whose images have
// the layer chains `theirs` holds: the longest common start. For the unit
// tests, and used by load_into_docker.
size_t layers_present(const std::vector<std::string>& ours,
                      const std::vector<std::vector<std::string>>& theirs);

}  // namespace strata::docker

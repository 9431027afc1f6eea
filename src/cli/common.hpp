// What the commands share: global flags, opening the store, reporting errors.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "docker/load.hpp"
#include "images/pull.hpp"
#include "store/store.hpp"
#include "util/error.hpp"

namespace strata::cli {

struct GlobalFlags {
  std::string root;                              // --root; "" = STRATA_ROOT or the default
  std::string runtime;                           // --runtime crun|runc; "" = crun when present
  std::vector<std::string> insecure_registries;  // --insecure-registry HOST (plain http)
};

// Prints "error: ..." and returns exit code 1.
int report(const Error& e);
// Opens the store, with lazily pulled blobs fetched from their registries
// as they are needed (a line on stderr for each).
Result<store::Store> open_store(const GlobalFlags& g);
// How to reach registries: --insecure-registry and $STRATA_INSECURE_REGISTRIES.
images::PullOptions pull_options(const GlobalFlags& g);
// Puts a stored image into the docker daemon at $DOCKER_HOST under `names`
// (--load, strata load --into-docker); says what it sent to `note` (none:
// nothing said).
Result<docker::DockerLoadResult> load_into_docker_daemon(
    store::Store& store, const images::StoredImage& image, const std::vector<std::string>& names,
    const std::function<void(const std::string&)>& note);

}  // namespace strata::cli

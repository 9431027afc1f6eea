// What the parts of one build share (builder/ only): the store, the
// options, the stages built so far, the step cache, the events and the
// counters. Each job of the builder (key inputs, RUN, file steps, layer
// commits) is a function that takes it by reference.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "builder/builder.hpp"
#include "builder/copy.hpp"
#include "builder/rootfs.hpp"
#include "dockerfile/git_ref.hpp"
#include "graph/cache_key.hpp"
#include "solver/step_cache.hpp"

namespace strata::builder {

// A stage as far as it is built: its config and layers, and the keys that
// name it.
struct StageImage {
  bool built = true;  // false: only keyed (builder/stage_needs), no layers
  nlohmann::json config;
  std::vector<oci::LayerRef> layers;
  std::string chain;              // the key of the last step that could change files, or the base
  std::vector<std::string> keys;  // the cached steps behind this image (its stage and base stages)
  size_t base_layers = 0;         // how many of `layers` came from an image in the store
};

// A step's key inputs worked out before the build (builder/stage_needs) for
// the parent key they were made for, so that the build does not list and
// hash its files again.
struct ProbedInputs {
  std::string parent;
  std::optional<graph::StepInputs> inputs;
  std::vector<SourceFile> listing;
};

// A stage's name as steps and --no-cache-filter name it: its AS name, else
// stage-N.
std::string stage_name(const frontend::PlannedStage& stage);

// A line of a RUN's output (or a miss reason) with the value of every
// secret (and each of its lines, for multi-line files) replaced by "****".
std::string mask_secrets(const std::map<std::string, std::string>& secrets, std::string line);

class BuildState {
 public:
  BuildState(store::Store& store, const BuildOptions& opts);
  BuildState(const BuildState&) = delete;
  BuildState& operator=(const BuildState&) = delete;

  store::Store& store;
  const BuildOptions& opts;
  std::string dockerfile;                         // its name, for error messages
  oci::Platform platform = oci::host_platform();  // the target's (Plan::platform)
  std::atomic<int64_t> container_ns{0};           // in RUN containers, all stages
  std::atomic<bool> ran_steps{false};             // a step missed and wrote to the store

  // SOURCE_DATE_EPOCH, or the time now.
  int64_t now() const;
  // A step's event (opts.events), one at a time whatever the thread.
  void emit(solver::StepEvent e);
  // A line the step's command printed (secrets already masked); a line
  // strata says about the step.
  void output(const std::string& step, std::string line);
  void note(const std::string& step, std::string line);
  std::string mask_secrets(std::string line) const;

  // By stage index and step position; filled before the build starts, then
  // each entry taken by the one stage it belongs to.
  std::map<std::pair<int, size_t>, ProbedInputs> probed;

  // A stage that has been built (or only keyed); set once, when it is.
  StageImage built(int index);
  void set_built(int index, StageImage image);
  // The layers of a stage whose files a step reads; an error for a stage
  // that was only keyed (stage_needs judged that nothing would read it).
  Result<std::vector<oci::LayerRef>> stage_layers(int index);
  // A named image for `platform` (an index's image for it): from the
  // store, pulled (lazily) when missing. COPY --from and mount from= read
  // images for the target's platform, a FROM for its stage's.
  Result<images::StoredImage> image(const std::string& name, const oci::Platform& platform);
  // The directory a SourceRef of kind context reads: the build context, or
  // a --build-context of that name.
  Result<LocalContext> local_context(const frontend::SourceRef& ref) const;
  // A read-only root of a stage, an image or scratch.
  Result<Rootfs> mount_ref(const frontend::SourceRef& ref);
  // The commit a git source's ref names, resolved once per build (the key
  // and the checkout must agree).
  Result<std::string> git_commit(const dockerfile::GitRef& g, const std::string& flag_checksum);

 private:
  std::mutex mu_;  // guards built_
  std::map<int, StageImage> built_;
  std::mutex events_mu_;
  std::mutex git_mu_;
  std::map<std::string, std::string> git_commits_;  // remote#ref@checksum -> commit

 public:
  // Last, so that the cache records it writes behind the build are written
  // before the members their steps used go.
  solver::StepCache cache;
};

}  // namespace strata::builder

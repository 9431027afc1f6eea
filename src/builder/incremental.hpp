// A marked RUN (# strata:incremental) on top of its earlier result
// (builder/execute only): the earlier result's changes rebased onto the
// stage's root as it is now (snapshot/rebase), stacked above that root
// while the step runs, and the step's own changes merged into them, so
// that its layer holds both.
#pragma once

#include <filesystem>
#include <vector>

#include "builder/build_state.hpp"
#include "os/fs.hpp"
#include "snapshot/lower_view.hpp"

namespace strata::builder {

class IncrementalRoot {
 public:
  // The earlier result's changes on the root `layers`: an error says why
  // they cannot be had (a layer gone from the store, say); the step then
  // runs from scratch.
  static Result<IncrementalRoot> prepare(BuildState& st, const std::vector<oci::LayerRef>& layers,
                                         const solver::IncrementalBase& base);

  // The directory to stack right above the root's layers; after merge(),
  // the step's whole change, to commit as its layer.
  const std::filesystem::path& changes() const { return dir_.path(); }
  // Moves the step's overlay upper dir into changes().
  Result<void> merge(const std::filesystem::path& upper);
  // changes() was kept as a snapshot: it is not removed.
  void release() { dir_.release(); }

 private:
  IncrementalRoot(os::TempDir dir, std::vector<std::filesystem::path> root)
      : dir_(std::move(dir)), root_(std::move(root)) {}
  os::TempDir dir_;
  snapshot::LowerView root_;  // the stage's root as it is now
};

}  // namespace strata::builder

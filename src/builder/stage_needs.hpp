// Which stages of a plan a build must run (builder/ only). As BuildKit
// leaves them, a stage whose result is read only by steps that hit the
// cache (a COPY --from whose record came with an imported cache, say) is
// keyed but not built: a pass that runs nothing works out each step's key
// and whether the cache has it, from a stage's base on; the target, the
// FROM base of every stage built and the sources of every step that may
// run are built. The keys it worked out are kept for the build
// (BuildState::probed), so nothing is hashed twice.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "builder/build_state.hpp"
#include "frontend/plan.hpp"

namespace strata::builder {

// The indexes of the stages to build, and the keys of the steps of those
// left out (for a mode=max export: what they would have hit). A stage left
// out is set as built with its key alone (StageImage::built false), for its
// consumers' keys.
// `first_run`: of the stages the pass keyed, the position of the first
// step that may run (steps.size() when all hit); the others unknown.
struct StagesToBuild {
  std::set<int> build;
  std::vector<std::string> keys_left_out;
  std::map<int, size_t> first_run;
};
Result<StagesToBuild> stages_to_build(BuildState& st, const frontend::Plan& plan);

}  // namespace strata::builder

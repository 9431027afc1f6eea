// Running a step that changes files (builder/ only): a COPY from a context
// straight into a new snapshot where it can (a delta on the last build's
// when few paths changed), otherwise a writable overlay of the stage's
// layers (for a marked RUN, with its earlier changes above them), the step
// in it, and its changes committed as a layer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "builder/build_state.hpp"
#include "builder/copy.hpp"
#include "graph/cache_key.hpp"

namespace strata::builder {

// `name`: the step's, for its events; `listing`, `inputs`: what
// step_inputs found; `previous`: the step's key in the last build of the
// target ("" when none); `base`: for a marked RUN, the earlier result to
// run on top of (builder/incremental), or null.
Result<solver::StepRun> execute_step(BuildState& st, const StageImage& img,
                                     const frontend::Step& step, const std::string& name,
                                     const std::vector<SourceFile>& listing,
                                     const std::optional<graph::StepInputs>& inputs,
                                     const std::string& previous,
                                     const solver::IncrementalBase* base);

}  // namespace strata::builder

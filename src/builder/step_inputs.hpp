// A step's cache key inputs (builder/ only): what a RUN, COPY, ADD or
// WORKDIR depends on, as graph::StepInputs: its parent, instruction,
// environment, mounts and their sources, and for a COPY from a context the
// files it selects with their content digests.
#pragma once

#include <optional>
#include <vector>

#include "builder/build_state.hpp"
#include "builder/copy.hpp"
#include "graph/cache_key.hpp"

namespace strata::builder {

// nullopt when the step cannot be cached (an ADD of a URL without
// --checksum that is not http or https: refused when it runs). A COPY from
// a context leaves the files it copies in `listing`.
Result<std::optional<graph::StepInputs>> step_inputs(BuildState& st, const StageImage& img,
                                                     const frontend::Step& step,
                                                     const frontend::PlannedStage& stage,
                                                     std::vector<SourceFile>& listing);

}  // namespace strata::builder

// A RUN step in a container on a mounted root (builder/ only): its user,
// environment and network, every --mount type (cache, bind, tmpfs, secret,
// ssh), heredoc files, the runtime's exit status and output.
#pragma once

#include <string>
#include <vector>

#include "builder/build_state.hpp"

namespace strata::builder {

// `name`: the step's, for its events; `created`: the mount points the
// runtime had to create in the root (the caller removes those that stayed
// empty from the layer). Returns the seconds the container ran.
Result<double> run_step(BuildState& st, Rootfs& root, const frontend::RunStep& run,
                        const std::string& name, std::vector<std::string>& created);

}  // namespace strata::builder

// The steps that change files without a container (builder/ only): COPY
// and ADD into a mounted root (context, stage, image, inline files, URLs,
// git repositories) and WORKDIR's directories.
#pragma once

#include <filesystem>
#include <string>

#include "builder/build_state.hpp"
#include "builder/copy.hpp"

namespace strata::builder {

// A COPY's options but for --chown (a user name needs the image's files)
// and the context's .dockerignore.
Result<CopyOptions> copy_options(BuildState& st, const frontend::CopyStep& c);
Result<void> copy_step(BuildState& st, Rootfs& root, const frontend::CopyStep& c);
// The directories of a WORKDIR the root lacks, made 0755 and owned by
// `user` (as BuildKit makes them; root's when empty).
Result<void> make_workdir(const std::filesystem::path& root, const std::string& dir,
                          const std::string& user = "");
// Whether an ADD of a git repository keeps its .git (the flag or the URL's).
bool keep_git_dir(const dockerfile::GitRef& g, const frontend::CopyStep& c);

}  // namespace strata::builder

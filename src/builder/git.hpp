// Git sources (ADD of a repository, a git build context) fetched with the
// git CLI, as BuildKit fetches them: the ref resolved to a commit first (the
// commit is what the step's cache key holds, so --checksum changes nothing
// there), then that commit checked out, its submodules updated, and `.git`
// kept only when asked. Called by the builder and by cli/ for contexts.
#pragma once

#include <filesystem>
#include <string>

#include "dockerfile/git_ref.hpp"
#include "util/error.hpp"

namespace strata::builder {

// The commit `g.ref` names in `g.remote` (the remote's HEAD when empty;
// a full commit hash names itself), checked against `checksum` (a commit or
// its prefix; "" = none).
Result<std::string> resolve_git_commit(const dockerfile::GitRef& g, const std::string& checksum);

// Checks `commit` of `g.remote` out into `dir` (made here): submodules
// updated unless g.submodules is false, `.git` removed unless
// `keep_git_dir`, file times the commit's with g.mtime == "commit".
// Returns the commit's time (seconds since 1970).
Result<int64_t> checkout_git(const dockerfile::GitRef& g, const std::string& commit,
                             bool keep_git_dir, const std::filesystem::path& dir);

}  // namespace strata::builder

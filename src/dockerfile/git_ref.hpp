// Git sources as BuildKit's Dockerfile frontend reads them (dfgitutil):
// `https://host/repo.git#ref:subdir`, `git://…`, `ssh://…`, `git@host:repo`,
// and the query form `…repo.git?ref=…&subdir=…&checksum=…&keep-git-dir`.
// An http(s) URL is a git source only when its path ends in `.git`. Used by
// the planner (which ADD sources are git) and the builder (what to fetch).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace strata::dockerfile {

struct GitRef {
  std::string remote;    // the repository URL, without fragment and query
  std::string ref;       // a branch, tag, refs/... name or commit; "" = the remote's HEAD
  std::string checksum;  // a commit (or its prefix) the ref must resolve to
  std::string subdir;    // a directory inside the repository; "" = its root
  std::optional<bool> keep_git_dir, submodules;
  std::string mtime;  // "checkout" (default) or "commit"
};

// nullopt when `source` is not a git source; an error when it is one with
// a bad query (an unknown key, conflicting refs, a bad boolean).
Result<std::optional<GitRef>> parse_git_ref(std::string_view source);

// A commit hash or its prefix: 4 to 64 lower-case hex digits.
bool is_commit_hash(std::string_view s);

}  // namespace strata::dockerfile

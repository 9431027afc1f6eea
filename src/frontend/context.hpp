// The build context: the files under the context directory that .dockerignore
// does not exclude, and which of them a COPY/ADD source selects.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "dockerfile/dockerignore.hpp"
#include "util/error.hpp"

namespace strata::frontend {

struct ContextEntry {
  std::string path;  // relative, "/"-separated, e.g. "src/main.c"
  bool is_dir = false;
};

class BuildContext {
 public:
  // Walks `root` once; entries that `ignore` excludes are left out.
  static Result<BuildContext> open(const std::filesystem::path& root,
                                   const dockerfile::IgnoreMatcher& ignore);

  // The non-directory entries a source path or pattern selects, sorted.
  // `excludes` (COPY --exclude) are matched relative to the source.
  // An empty result for a source that names nothing is an error.
  Result<std::vector<std::string>> select(std::string_view source,
                                          const std::vector<std::string>& excludes) const;

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  std::vector<ContextEntry> entries_;  // sorted by path
};

// The .dockerignore that applies to a Dockerfile: `<dockerfile>.dockerignore`
// beside it if present, else `<context>/.dockerignore`; empty path if none.
std::filesystem::path find_ignore_file(const std::filesystem::path& dockerfile,
                                       const std::filesystem::path& context);

}  // namespace strata::frontend

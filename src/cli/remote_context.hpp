// A build context that is not a local directory, as `docker buildx build`
// takes one: `-` (standard input), an http(s) URL (a tar, any compression,
// or a Dockerfile with an empty context), or a git repository
// (`https://host/repo.git#ref:subdir`, `git@host:repo`, ...: its commit
// checked out, the subdir as the context). It lives in a temporary
// directory under $TMPDIR/strata-<uid> that goes with the object; what a
// killed build left there is removed by the next. Used by
// cli/build_command.
#pragma once

#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/builder.hpp"
#include "cli/build_flags.hpp"
#include "frontend/plan.hpp"
#include "os/fs.hpp"
#include "util/error.hpp"

namespace strata::cli {

struct RemoteContext {
  os::TempDir dir;
  std::filesystem::path root;             // the context directory
  std::optional<std::string> dockerfile;  // the input was a Dockerfile: the context is empty
  std::optional<int64_t> known_time;      // a git commit's time, a URL's Last-Modified
  bool url_tar = false;                   // a tar from a URL that sent no Last-Modified

  // What SOURCE_DATE_EPOCH=context means, as BuildKit has it: a git
  // context's commit time; a URL's Last-Modified, else the newest file time
  // in its tar (found by walking it, so only when asked). None for standard
  // input.
  std::optional<int64_t> time() const;
};

bool is_remote_context(std::string_view arg);

// The --build-context NAME=VALUE of a build: images for the plan,
// directories (local, or fetched into a RemoteContext kept here) for the
// plan by name and for the builder with their .dockerignore, and OCI layouts
// resolved once the store is open.
struct BuildContexts {
  std::map<std::string, frontend::NamedContext> for_plan;
  std::map<std::string, builder::LocalContext> dirs;

  static Result<BuildContexts> open(const std::vector<std::string>& specs);
  // The image each oci-layout context names, by its manifest digest: read
  // from the layout's index (store == nullptr, a dry run), or imported into
  // the store first.
  Result<std::map<std::string, frontend::NamedContext>> resolve_layouts(store::Store* store) const;

 private:
  std::deque<RemoteContext> fetched_;
  std::deque<dockerfile::IgnoreMatcher> ignores_;
  std::vector<std::pair<std::string, OciLayoutRef>> layouts_;
};

Result<RemoteContext> open_remote_context(const std::string& arg);

}  // namespace strata::cli

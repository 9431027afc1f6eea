// A build context that is not a local directory, as `docker buildx build`
// takes one: `-` (standard input), an http(s) URL (a tar, any compression,
// or a Dockerfile with an empty context), or a git repository
// (`https://host/repo.git#ref:subdir`, `git@host:repo`, ...: its commit
// checked out, the subdir as the context). It lives in a temporary
// directory under $TMPDIR/strata-<uid> that goes with the object; what a
// killed build left there is removed by the next. Used by
// cli/build_command.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "os/fs.hpp"
#include "util/error.hpp"

namespace strata::cli {

struct RemoteContext {
  os::TempDir dir;
  std::filesystem::path root;             // the context directory
  std::optional<std::string> dockerfile;  // the input was a Dockerfile: the context is empty
  // What SOURCE_DATE_EPOCH=context means, as BuildKit has it: a git
  // context's commit time; a URL's Last-Modified, else the newest file time
  // in its tar. None for standard input.
  std::optional<int64_t> time;
};

bool is_remote_context(std::string_view arg);

Result<RemoteContext> open_remote_context(const std::string& arg);

}  // namespace strata::cli

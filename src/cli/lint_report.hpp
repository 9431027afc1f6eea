// What `strata build` does with BuildKit's lint rules: the config from
// --build-arg BUILDKIT_DOCKERFILE_CHECK, `--call` / `--check` parsed, the
// warnings of a build as BuildKit's short lines, and the result of a check
// as `docker buildx build --check` prints it (text) or as BuildKit's lint
// subrequest returns it (JSON). Called by cli/build_command.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dockerfile/lint.hpp"
#include "dockerfile/source.hpp"

namespace strata::cli {

// --call build | check[,format=text|json]; --check is --call check.
struct CallSpec {
  bool check = false;
  bool json = false;
};
Result<CallSpec> parse_call(const std::string& value);

// The config BUILDKIT_DOCKERFILE_CHECK forces (nullopt when not passed).
Result<std::optional<dockerfile::LintConfig>> forced_lint_config(
    const std::vector<std::pair<std::string, std::string>>& build_args);

// "warning: Rule: detail (line N)" lines, in the order reported.
std::string lint_warning_lines(const dockerfile::Linter& lint);

// A check's result: the summary, then each warning with its URL, detail and
// the lines it points at; then the error, if the Dockerfile cannot build.
std::string check_text(const dockerfile::Linter& lint, const dockerfile::SourceText& source,
                       const std::optional<std::string>& error);
// BuildKit's LintResults JSON: warnings, sources, buildError.
std::string check_json(const dockerfile::Linter& lint, const dockerfile::SourceText& source,
                       const std::optional<std::string>& error);

}  // namespace strata::cli

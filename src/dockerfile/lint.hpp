// Dockerfile checks as BuildKit has them (moby/buildkit
// frontend/dockerfile/linter): the rules with BuildKit's names, texts and
// URLs; the `check` options (the `# check=` directive, a `# check=` comment
// right above one instruction, `--build-arg BUILDKIT_DOCKERFILE_CHECK`) that
// skip rules, turn experimental ones on or make violations errors; and the
// Linter that collects what read_dockerfile and frontend::make_plan report.
// The CLI owns the Linter and prints what it holds.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::dockerfile {

struct LintRule {
  std::string_view name, description, url;
  bool experimental = false;
};

namespace rules {
extern const LintRule StageNameCasing, FromAsCasing, NoEmptyContinuation,
    ConsistentInstructionCasing, DuplicateStageName, ReservedStageName, JSONArgsRecommended,
    MaintainerDeprecated, UndefinedArgInFrom, WorkdirRelativePath, UndefinedVar,
    MultipleInstructionsDisallowed, LegacyKeyValueFormat, InvalidBaseImagePlatform,
    RedundantTargetPlatform, SecretsUsedInArgOrEnv, InvalidDefaultArgInFrom,
    FromPlatformFlagConstDisallowed, CopyIgnoredFile, InvalidDefinitionDescription,
    ExposeProtoCasing, ExposeInvalidFormat;
}  // namespace rules

struct LintConfig {
  bool skip_all = false, experimental_all = false, error = false;
  std::set<std::string, std::less<>> skip, experimental;

  // "skip=A,B;error=true;experimental=all"; "" is the default config.
  static Result<LintConfig> parse(std::string_view text);
  // What a `# check=` comment above an instruction adds (it can only add).
  void merge(const LintConfig& other);
  bool enabled(const LintRule& rule) const;
};

struct LintWarning {
  std::string rule, description, url, detail;
  int line = 0, end_line = 0;  // the instruction's lines; 0 when it has none
  // BuildKit's short form: "Rule: detail (line N)".
  std::string short_text() const;
};

class Linter {
 public:
  // `forced`: a config that replaces the file's `# check=` directive (as
  // --build-arg BUILDKIT_DOCKERFILE_CHECK does).
  explicit Linter(std::optional<LintConfig> forced = std::nullopt)
      : config_(forced.value_or(LintConfig{})), forced_(forced.has_value()) {}

  // The file's `# check=` directive, unless a config was forced.
  Result<void> use_directive(std::string_view check);

  // Reports a violation of `rule` at an instruction spanning [line,
  // end_line]; `comments` are the comment lines right above it, whose
  // `check=` may skip the rule there.
  void report(const LintRule& rule, int line, int end_line, std::string detail,
              const std::vector<std::string>& comments = {});
  const std::vector<LintWarning>& warnings() const { return warnings_; }
  // With error=true and a violation: "lint violation found for rules: A, B".
  std::optional<std::string> error_message() const;

 private:
  LintConfig config_;
  bool forced_;
  std::vector<LintWarning> warnings_;
};

// Secret-looking ARG/ENV names as BuildKit finds them: an underscore-
// separated word such as "password", "token" or "key", and none of
// "public", "file", "version" (case-insensitive).
bool looks_like_secret(std::string_view name);

}  // namespace strata::dockerfile

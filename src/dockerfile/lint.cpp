#include "dockerfile/lint.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "util/strings.hpp"

namespace strata::dockerfile {

namespace rules {
#define STRATA_RULE(id, desc, slug)                                   \
  const LintRule id {                                                 \
#id, desc, "https://docs.docker.com/go/dockerfile/rule/" slug "/" \
  }
STRATA_RULE(StageNameCasing, "Stage names should be lowercase", "stage-name-casing");
STRATA_RULE(FromAsCasing, "The 'as' keyword should match the case of the 'from' keyword",
            "from-as-casing");
STRATA_RULE(NoEmptyContinuation, "Empty continuation lines will become errors in a future release",
            "no-empty-continuation");
STRATA_RULE(ConsistentInstructionCasing,
            "All commands within the Dockerfile should use the same casing (either upper or lower)",
            "consistent-instruction-casing");
STRATA_RULE(DuplicateStageName, "Stage names should be unique", "duplicate-stage-name");
STRATA_RULE(ReservedStageName, "Reserved words should not be used as stage names",
            "reserved-stage-name");
STRATA_RULE(JSONArgsRecommended,
            "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related "
            "to OS signals",
            "json-args-recommended");
STRATA_RULE(MaintainerDeprecated,
            "The MAINTAINER instruction is deprecated, use a label instead to define an image "
            "author",
            "maintainer-deprecated");
STRATA_RULE(UndefinedArgInFrom, "FROM command must use declared ARGs", "undefined-arg-in-from");
STRATA_RULE(WorkdirRelativePath,
            "Relative workdir without an absolute workdir declared within the build can have "
            "unexpected results if the base image changes",
            "workdir-relative-path");
STRATA_RULE(UndefinedVar, "Variables should be defined before their use", "undefined-var");
STRATA_RULE(MultipleInstructionsDisallowed,
            "Multiple instructions of the same type should not be used in the same stage",
            "multiple-instructions-disallowed");
STRATA_RULE(LegacyKeyValueFormat,
            "Legacy key/value format with whitespace separator should not be used",
            "legacy-key-value-format");
STRATA_RULE(RedundantTargetPlatform,
            "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the "
            "default behavior",
            "redundant-target-platform");
STRATA_RULE(SecretsUsedInArgOrEnv, "Sensitive data should not be used in the ARG or ENV commands",
            "secrets-used-in-arg-or-env");
STRATA_RULE(InvalidDefaultArgInFrom,
            "Default value for global ARG results in an empty or invalid base image name",
            "invalid-default-arg-in-from");
STRATA_RULE(FromPlatformFlagConstDisallowed, "FROM --platform flag should not use a constant value",
            "from-platform-flag-const-disallowed");
STRATA_RULE(CopyIgnoredFile, "Attempting to Copy file that is excluded by .dockerignore",
            "copy-ignored-file");
STRATA_RULE(ExposeProtoCasing, "Protocol in EXPOSE instruction should be lowercase",
            "expose-proto-casing");
STRATA_RULE(ExposeInvalidFormat,
            "IP address and host-port mapping should not be used in EXPOSE instruction. This will "
            "become an error in a future release",
            "expose-invalid-format");
#undef STRATA_RULE
// BuildKit gives this one no URL.
const LintRule InvalidBaseImagePlatform{
    "InvalidBaseImagePlatform", "Base image platform does not match expected target platform", ""};
const LintRule InvalidDefinitionDescription{
    "InvalidDefinitionDescription",
    "Comment for build stage or argument should follow the format: `# <arg/stage name> "
    "<description>`. If this is not intended to be a description comment, add an empty line or "
    "comment between the instruction and the comment.",
    "https://docs.docker.com/go/dockerfile/rule/invalid-definition-description/", true};
}  // namespace rules

namespace {

std::set<std::string, std::less<>> rule_list(std::string_view v, bool& all) {
  std::set<std::string, std::less<>> out;
  if (v == "all") {
    all = true;
    return out;
  }
  for (const auto& r : split(v, ',')) out.emplace(trim(r));
  return out;
}

// The config a `check=` comment above an instruction gives (BuildKit reads
// only the first such comment; one that does not parse changes nothing).
std::optional<LintConfig> config_in_comments(const std::vector<std::string>& comments) {
  for (const auto& c : comments) {
    std::string_view s = trim(c);
    size_t eq = s.find('=');
    if (eq == std::string_view::npos || to_lower(trim(s.substr(0, eq))) != "check") continue;
    std::string_view value = trim(s.substr(eq + 1));
    value = value.substr(0, value.find(' '));
    auto cfg = LintConfig::parse(value);
    if (!cfg) return std::nullopt;
    return *cfg;
  }
  return std::nullopt;
}

}  // namespace

Result<LintConfig> LintConfig::parse(std::string_view text) {
  LintConfig cfg;
  text = trim(text);
  if (text.empty()) return cfg;
  // As BuildKit splits it: at most three parts, the last keeps any ';'.
  std::vector<std::string_view> parts;
  while (parts.size() < 2) {
    size_t semi = text.find(';');
    if (semi == std::string_view::npos) break;
    parts.push_back(text.substr(0, semi));
    text.remove_prefix(semi + 1);
  }
  parts.push_back(text);
  auto bad = [](std::string what) {
    return fail(Errc::invalid_argument,
                what +
                    "\n  hint: write check=skip=RULE[,RULE...]|all;error=true|false;"
                    "experimental=RULE[,RULE...]|all");
  };
  for (std::string_view p : parts) {
    size_t eq = p.find('=');
    if (eq == std::string_view::npos) return bad(fmt::format("invalid check option \"{}\"", p));
    std::string_view key = trim(p.substr(0, eq)), value = trim(p.substr(eq + 1));
    if (key == "skip") {
      cfg.skip = rule_list(value, cfg.skip_all);
    } else if (key == "experimental") {
      cfg.experimental = rule_list(value, cfg.experimental_all);
    } else if (key == "error") {
      auto b = parse_go_bool(value);
      if (!b)
        return bad(
            fmt::format("failed to parse check option \"{}\": strconv.ParseBool: parsing \"{}\": "
                        "invalid syntax",
                        p, value));
      cfg.error = *b;
    } else {
      return bad(fmt::format("invalid check option \"{}\"", key));
    }
  }
  return cfg;
}

void LintConfig::merge(const LintConfig& other) {
  skip_all = skip_all || other.skip_all;
  experimental_all = experimental_all || other.experimental_all;
  skip.insert(other.skip.begin(), other.skip.end());
  experimental.insert(other.experimental.begin(), other.experimental.end());
}

bool LintConfig::enabled(const LintRule& rule) const {
  if (rule.experimental) return experimental_all || experimental.count(rule.name);
  return !skip_all && !skip.count(rule.name);
}

std::string LintWarning::short_text() const {
  std::string s = rule + ": " + detail;
  if (line > 0) s += fmt::format(" (line {})", line);
  return s;
}

Result<void> Linter::use_directive(std::string_view check) {
  if (forced_) return {};
  auto cfg = LintConfig::parse(check);
  if (!cfg) return std::unexpected(cfg.error().with_context("failed to parse check options"));
  config_ = std::move(*cfg);
  return {};
}

void Linter::report(const LintRule& rule, int line, int end_line, std::string detail,
                    const std::vector<std::string>& comments) {
  if (auto local = config_in_comments(comments)) {
    LintConfig merged = config_;
    merged.merge(*local);
    if (!merged.enabled(rule)) return;
  } else if (!config_.enabled(rule)) {
    return;
  }
  warnings_.push_back({std::string(rule.name), std::string(rule.description), std::string(rule.url),
                       std::move(detail), line, end_line});
}

std::optional<std::string> Linter::error_message() const {
  if (!config_.error || warnings_.empty()) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& w : warnings_)
    if (std::find(names.begin(), names.end(), w.rule) == names.end()) names.push_back(w.rule);
  return "lint violation found for rules: " + join(names, ", ");
}

bool looks_like_secret(std::string_view name) {
  static const std::set<std::string, std::less<>> deny = {
      "apikey",   "auth",  "credential", "credentials", "key",
      "password", "pword", "passwd",     "secret",      "token"};
  static const std::set<std::string, std::less<>> allow = {"public", "file", "version"};
  bool secret = false;
  for (const auto& word : split(name, '_')) {
    std::string w = to_lower(word);
    if (allow.count(w)) return false;
    if (deny.count(w)) secret = true;
  }
  return secret;
}

}  // namespace strata::dockerfile

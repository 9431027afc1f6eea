#include "cli/lint_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "util/strings.hpp"

namespace strata::cli {

using dockerfile::Linter;
using dockerfile::LintWarning;
using dockerfile::SourceText;

Result<CallSpec> parse_call(const std::string& value) {
  CallSpec c;
  auto parts = split(value, ',');
  std::string method = parts.empty() ? "" : std::string(trim(parts[0]));
  if (method != "build" && method != "check")
    return fail(Errc::invalid_argument,
                fmt::format("--call {}: strata runs build and check (outline and targets are "
                            "BuildKit's, not supported)",
                            method));
  c.check = method == "check";
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view opt = trim(parts[i]);
    if (opt == "format=json" || opt == "format=text") {
      c.json = opt == "format=json";
      continue;
    }
    return fail(
        Errc::invalid_argument,
        fmt::format("--call {}: unknown option \"{}\" (format=text or format=json)", value, opt));
  }
  return c;
}

Result<std::optional<dockerfile::LintConfig>> forced_lint_config(
    const std::vector<std::pair<std::string, std::string>>& build_args) {
  std::optional<dockerfile::LintConfig> forced;
  for (const auto& [k, v] : build_args) {
    if (k != "BUILDKIT_DOCKERFILE_CHECK") continue;
    auto cfg = dockerfile::LintConfig::parse(v);
    if (!cfg)
      return std::unexpected(
          cfg.error().with_context("--build-arg BUILDKIT_DOCKERFILE_CHECK: failed to parse "
                                   "check options"));
    forced = std::move(*cfg);
  }
  return forced;
}

std::string lint_warning_lines(const Linter& lint) {
  std::string out;
  for (const auto& w : lint.warnings()) out += "warning: " + w.short_text() + "\n";
  return out;
}

namespace {

std::vector<LintWarning> by_line(const Linter& lint) {
  std::vector<LintWarning> ws = lint.warnings();
  std::stable_sort(ws.begin(), ws.end(),
                   [](const LintWarning& a, const LintWarning& b) { return a.line < b.line; });
  return ws;
}

// The lines a warning points at, with two lines around them, as BuildKit
// prints a source range.
std::string excerpt(const SourceText& source, int line, int end_line) {
  if (line <= 0 || static_cast<size_t>(line) > source.lines.size()) return "";
  int last_line = std::max(line, end_line);
  int from = std::max(1, line - 2);
  int to = std::min(static_cast<int>(source.lines.size()), last_line + 2);
  std::string out = fmt::format("{}:{}\n--------------------\n", source.name, line);
  for (int i = from; i <= to; ++i)
    out += fmt::format("{:>4} | {} {}\n", i, i >= line && i <= last_line ? ">>>" : "   ",
                       source.lines[i - 1]);
  return out + "--------------------\n";
}

}  // namespace

std::string check_text(const Linter& lint, const SourceText& source,
                       const std::optional<std::string>& error) {
  auto ws = by_line(lint);
  std::string out;
  if (ws.empty())
    out = "Check complete, no warnings found.\n";
  else
    out = fmt::format("Check complete, {} {} been found!\n", ws.size(),
                      ws.size() == 1 ? "warning has" : "warnings have");
  for (const auto& w : ws) {
    out += "\nWARNING: " + w.rule + (w.url.empty() ? "" : " - " + w.url) + "\n" + w.detail + "\n";
    if (std::string e = excerpt(source, w.line, w.end_line); !e.empty()) out += "\n" + e;
  }
  if (error) out += "\nERROR: " + *error + "\n";
  return out;
}

std::string check_json(const Linter& lint, const SourceText& source,
                       const std::optional<std::string>& error) {
  using nlohmann::json;
  auto location = [](int line, int end_line) {
    json loc = {{"sourceIndex", 0}, {"ranges", json::array()}};
    if (line > 0)
      loc["ranges"].push_back(
          {{"start", {{"line", line}}}, {"end", {{"line", std::max(line, end_line)}}}});
    return loc;
  };
  json warnings = json::array();
  for (const auto& w : lint.warnings()) {
    json j = {{"ruleName", w.rule}, {"location", location(w.line, w.end_line)}};
    if (!w.description.empty()) j["description"] = w.description;
    if (!w.url.empty()) j["url"] = w.url;
    if (!w.detail.empty()) j["detail"] = w.detail;
    warnings.push_back(std::move(j));
  }
  std::string data = join(source.lines, "\n");
  if (!source.lines.empty()) data += "\n";
  json out = {{"warnings", std::move(warnings)},
              {"sources", json::array({{{"filename", source.name},
                                        {"language", "Dockerfile"},
                                        {"data", base64_encode(data)}}})}};
  if (error) out["buildError"] = {{"message", *error}, {"location", location(0, 0)}};
  return out.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace strata::cli

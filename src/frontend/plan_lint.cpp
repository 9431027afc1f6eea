#include <fmt/format.h>

#include "frontend/planner.hpp"
#include "util/strings.hpp"

namespace strata::frontend::planning {

void Planner::report(const LintRule& rule, const Instruction& ins, std::string detail) {
  if (lint_)
    lint_->report(rule, ins.node->start_line, ins.node->end_line, std::move(detail),
                  ins.node->comments);
}

void Planner::note_used_once(const StageState& ss, const Instruction& earlier) {
  note(ss, rules::MultipleInstructionsDisallowed, earlier,
       fmt::format("Multiple {} instructions should not be used in the same stage because only "
                   "the last one will be used",
                   keyword(earlier.kind)));
}

void Planner::lint_ignored_sources(const StageState& ss, const Instruction& ins,
                                   const CopyStep& c) {
  const IgnoreMatcher* ignore = opts_.ignore;
  if (!ignore || ignore->empty() || ignore->has_exceptions()) return;
  for (const auto& src : c.sources) {
    if (c.add && is_remote_source(src)) continue;
    std::string p = clean_path(src);
    bool root = p == "." || p == "/";
    if (root ? !ignore->excludes_all_entries()
             : !ignore->excluded(p.starts_with("/") ? p.substr(1) : p))
      continue;
    note(ss, rules::CopyIgnoredFile, ins,
         fmt::format("Attempting to {} file {} that is excluded by .dockerignore",
                     c.add ? "Add" : "Copy", go_quote(p)));
  }
}

void Planner::note(const StageState& ss, const LintRule& rule, const Instruction& ins,
                   std::string detail) {
  if (!lint_ || ss.in_trigger) return;
  results_[ss.index].lint.push_back(
      {&rule, ins.node->start_line, ins.node->end_line, std::move(detail), &ins.node->comments});
}

void Planner::lint_casing() {
  int lower = 0, upper = 0;
  auto count = [&](const std::string& kw) {
    if (kw == to_lower(kw))
      ++lower;
    else if (kw == to_upper(kw))
      ++upper;
  };
  for (const auto& st : df_.stages) {
    count(st.from.node->keyword);
    for (const auto& ins : st.commands) count(ins.node->keyword);
  }
  bool majority_lower = lower > upper;
  auto check = [&](const Instruction& ins) {
    const std::string& kw = ins.node->keyword;
    if (majority_lower ? kw == to_lower(kw) : kw == to_upper(kw)) return;
    report(rules::ConsistentInstructionCasing, ins,
           fmt::format("Command '{}' should match the case of the command majority ({})", kw,
                       majority_lower ? "lowercase" : "uppercase"));
  };
  for (const auto& st : df_.stages) {
    check(st.from);
    for (const auto& ins : st.commands) check(ins);
  }
}

void Planner::lint_default_base_names() {
  if (!lint_) return;
  Vars defaults;
  for (const auto& ins : df_.global_args) {
    for (const auto& d : ins.as<ArgCmd>().decls) {
      if (!d.value) continue;
      auto v = expand_word(*d.value, lookup_in(defaults, platform_args_), lex_);
      if (!v) return;  // the build reports it
      defaults.set(d.name, *v);
    }
  }
  for (const auto& st : df_.stages) {
    const auto& fc = st.from.as<FromCmd>();
    auto image = expand_word(fc.image, lookup_in(defaults, platform_args_), lex_);
    if (!image) return;
    if (!valid_reference(*image))
      report(rules::InvalidDefaultArgInFrom, st.from,
             fmt::format("Default value for ARG {} results in empty or invalid base image name",
                         fc.image));
  }
}

}  // namespace strata::frontend::planning

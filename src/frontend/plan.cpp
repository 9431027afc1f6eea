#include "frontend/plan.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "dockerfile/git_ref.hpp"
#include "frontend/planner.hpp"
#include "oci/reference.hpp"
#include "util/strings.hpp"

namespace strata::frontend::planning {

std::string Planner::target_stage() const {
  if (!opts_.target.empty()) return opts_.target;
  if (df_.stages.empty()) return "default";
  const std::string& last = df_.stages.back().from.as<FromCmd>().stage_name;
  return last.empty() ? "default" : last;
}

Result<Plan> Planner::run() {
  Plan plan;
  plan.dockerfile = df_.file.source.name;
  plan.platform = opts_.platform.str();
  for (const auto& w : df_.file.warnings)
    plan.warnings.push_back(fmt::format("{}:{}: {}", df_.file.source.name, w.line, w.message));

  TRY(resolve_global_args());

  // Stage names: a name used twice names its last stage (for --target
  // and --from; a FROM names the last one above it), as in BuildKit.
  for (size_t i = 0; i < df_.stages.size(); ++i) {
    const auto& from = df_.stages[i].from;
    const std::string& name = from.as<FromCmd>().stage_name;
    if (name.empty()) continue;
    if (name == "scratch" || name == "context")
      report(rules::ReservedStageName, from,
             fmt::format("Stage name should not use the same name as reserved stage \"{}\"", name));
    if (names_.count(name))
      report(rules::DuplicateStageName, from,
             fmt::format("Duplicate stage name \"{}\", stage names should be unique", name));
    names_[name] = static_cast<int>(i);
  }
  lint_casing();
  lint_default_base_names();

  results_.resize(df_.stages.size());
  for (size_t i = 0; i < df_.stages.size(); ++i) {
    auto r = resolve_stage(static_cast<int>(i));
    if (!r)
      results_[i].error = r.error();
    else
      results_[i].stage = std::move(*r);
  }

  // The target and the stages it needs, dependencies first.
  int target = static_cast<int>(df_.stages.size()) - 1;
  if (!opts_.target.empty()) {
    auto it = names_.find(to_lower(opts_.target));
    if (it == names_.end()) {
      std::vector<std::string> known;
      for (const auto& [n, idx] : names_) known.push_back(n);
      std::string near = nearest(opts_.target, known);
      std::string hint = known.empty() ? "no stage has a name; name one with FROM image AS name"
                                       : "stages: " + join(known, ", ");
      // BuildKit's words, its suggestion included.
      return fail(Errc::not_found,
                  fmt::format("{}: target stage \"{}\" could not be found{}\n  hint: {}",
                              df_.file.source.name, opts_.target,
                              near.empty() ? "" : fmt::format(" (did you mean {}?)", near), hint));
    }
    target = it->second;
  }
  const auto& tfrom = df_.stages[target].from.as<FromCmd>();
  plan.target = tfrom.stage_name.empty() ? std::to_string(target) : tfrom.stage_name;

  // The steps' lint of the stages the target needs (or of all, for a
  // check), reported before any error of theirs, as BuildKit reports it.
  std::vector<bool> built(df_.stages.size(), opts_.all_stages);
  std::vector<int> pending = {target};
  while (!pending.empty()) {
    int i = pending.back();
    pending.pop_back();
    if (built[i] && !opts_.all_stages) continue;
    built[i] = true;
    if (results_[i].stage)
      for (int d : results_[i].stage->deps)
        if (!built[d]) pending.push_back(d);
  }
  for (size_t i = 0; i < results_.size(); ++i) {
    if (!built[i] || !lint_) continue;
    for (auto& l : results_[i].lint)
      lint_->report(*l.rule, l.line, l.end_line, std::move(l.detail), *l.comments);
  }
  if (opts_.all_stages)
    for (const auto& r : results_)
      if (r.error) return std::unexpected(*r.error);

  std::vector<int> order;
  std::vector<int> state(df_.stages.size(), 0);  // 0 new, 1 visiting, 2 done
  TRY(visit(target, state, order));
  if (auto e = lint_ ? lint_->error_message() : std::nullopt) {
    const auto& first = lint_->warnings().front();
    return std::unexpected(located_error(df_.file.source, {first.line, 0}, *e,
                                         "fix what the warnings say, or skip the rules with "
                                         "# check=skip=RULE"));
  }

  std::set<std::string> consumed = global_consumed_;
  for (int i : order) {
    consumed.insert(results_[i].consumed.begin(), results_[i].consumed.end());
    plan.stages.push_back(std::move(*results_[i].stage));
  }
  for (const auto& [k, v] : opts_.labels) plan.stages.back().config.labels[k] = v;
  if (auto it = build_args_.find("SOURCE_DATE_EPOCH"); it != build_args_.end())
    plan.source_date_epoch = it->second;
  else if (auto g = global_.get("SOURCE_DATE_EPOCH"))
    plan.source_date_epoch = *g;
  for (const auto& w : warnings_) plan.warnings.push_back(w);
  for (const auto& [k, v] : opts_.build_args) {
    // SOURCE_DATE_EPOCH is the builder's own (reproducible times), as in BuildKit.
    if (consumed.count(k) || kProxyArgs.count(k) || used_proxy_.count(k) ||
        k == "SOURCE_DATE_EPOCH" || k == kSandboxHostname || k == "BUILDKIT_DOCKERFILE_CHECK" ||
        k == kInlineCacheArg)
      continue;
    if (k.starts_with("BUILDKIT_")) {
      plan.warnings.push_back(
          fmt::format("build-arg {} is an option of BuildKit's that strata does not use", k));
      continue;
    }
    plan.warnings.push_back(fmt::format(
        "build-arg {} was not consumed: no ARG {} in the stages built for target \"{}\"", k, k,
        plan.target));
  }
  return plan;
}

EnvLookup Planner::lookup_in(const Vars& first, const Vars& second) {
  return [&first, &second](std::string_view n) -> std::optional<std::string> {
    if (auto v = first.get(n)) return *v;
    if (auto v = second.get(n)) return *v;
    return std::nullopt;
  };
}

Result<std::string> Planner::expand_at(const Instruction& ins, std::string_view word,
                                       const EnvLookup& env, size_t offset) const {
  auto r = expand_word(word, env, lex_);
  if (!r) {
    return std::unexpected(
        df_.error_at(ins, offset == SIZE_MAX ? ins.node->args_offset : offset, r.error().message));
  }
  return r;
}

Result<std::string> Planner::expand_noting(std::string_view word, const EnvLookup& env,
                                           StageState& ss, const Instruction& ins,
                                           const LexOptions& lex) {
  auto e = TRY_VALUE(expand(word, env, lex));
  for (const auto& name : e.unset) {
    // Without the image's config, any name may be the image's.
    if (ss.declared.count(name) || !results_[ss.index].env_known) continue;
    std::vector<std::string> keys;
    for (const auto& [k, v] : ss.env.list()) keys.push_back(k);
    for (const auto& [k, v] : ss.args.list()) keys.push_back(k);
    std::string near = suggest_like_buildkit(name, keys, true);
    note(ss, rules::UndefinedVar, ins,
         fmt::format("Usage of undefined variable '${}'{}", name,
                     near.empty() ? "" : fmt::format(" (did you mean ${}?)", near)));
  }
  return std::move(e.word);
}

Result<void> Planner::resolve_global_args() {
  for (const auto& ins : df_.global_args) {
    for (const auto& d : ins.as<ArgCmd>().decls) {
      global_declared_.insert(d.name);
      std::optional<std::string> value;
      if (auto it = build_args_.find(d.name); it != build_args_.end()) {
        value = it->second;
        global_consumed_.insert(d.name);
      } else if (d.value) {
        auto v = TRY_VALUE(expand_at(ins, *d.value, lookup_in(global_, platform_args_)));
        value = v;
      }
      if (value) global_.set(d.name, *value);
    }
  }
  return {};
}

Result<SourceRef> Planner::resolve_ref(const Instruction& ins, const std::string& value,
                                       int current, size_t offset) const {
  SourceRef ref;
  if (value.empty()) return ref;
  if (auto it = names_.find(to_lower(value)); it != names_.end()) {
    if (it->second == current) {
      return std::unexpected(df_.error_at(
          ins, offset, fmt::format("circular dependency: stage \"{}\" refers to itself", value)));
    }
    ref.kind = SourceRef::stage;
    ref.index = it->second;
    ref.name = it->first;
    return ref;
  }
  if (!value.empty() &&
      std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int idx = value.size() > 6 ? INT32_MAX : std::stoi(value);
    if (idx >= current) {
      return std::unexpected(df_.error_at(
          ins, offset,
          fmt::format("invalid from flag value {}: refers to current or future build stage", value),
          "an index names an earlier stage (0 is the first); use a stage name to refer to a "
          "later one"));
    }
    ref.kind = SourceRef::stage;
    ref.index = idx;
    ref.name = df_.stages[idx].from.as<FromCmd>().stage_name;
    return ref;
  }
  if (const NamedContext* nc = named(value)) return named_ref(*nc, value);
  ref.kind = value == "scratch" ? SourceRef::scratch : SourceRef::image;
  ref.name = value;
  return ref;
}

const NamedContext* Planner::named(const std::string& name) const {
  auto it = opts_.named_contexts.find(to_lower(name));
  return it == opts_.named_contexts.end() ? nullptr : &it->second;
}

SourceRef Planner::named_ref(const NamedContext& nc, const std::string& name) {
  if (!nc.image) return {SourceRef::context, to_lower(name), -1};
  if (nc.ref == "scratch") return {SourceRef::scratch, "scratch", -1};
  return {SourceRef::image, nc.ref, -1};
}

Result<std::vector<std::string>> Planner::start_stage(PlannedStage& out, int index,
                                                      const Instruction& from,
                                                      const SourceRef& base,
                                                      const std::string& written,
                                                      bool lint_platform) {
  std::vector<std::string> triggers;
  if (base.kind != SourceRef::image) {
    out.base = {SourceRef::scratch, "scratch", -1};
    out.config.env.emplace_back("PATH", kDefaultPath);  // as BuildKit's empty image has
    if (base.kind == SourceRef::context) out.steps.push_back(named_context_step(from, base.name));
    return triggers;
  }
  out.base = base;
  results_[index].env_known = static_cast<bool>(opts_.base_config);
  if (!opts_.base_config) return triggers;
  auto cfg = opts_.base_config(base.name, out.platform);
  if (!cfg) return std::unexpected(df_.error_at(from, cfg.error().message));
  out.config = std::move(*cfg);
  auto have = oci::parse_platform(out.config.platform);
  auto want = oci::parse_platform(out.platform);
  if (lint_platform && have && want && (have->os != want->os || have->arch != want->arch))
    results_[index].lint.push_back(
        {&rules::InvalidBaseImagePlatform, from.node->start_line, from.node->end_line,
         fmt::format("Base image {} was pulled with platform \"{}\", expected \"{}\" for "
                     "current build",
                     written, have->str(), want->str()),
         &from.node->comments});
  triggers = std::move(out.config.onbuild);
  out.config.onbuild.clear();
  return triggers;
}

Step Planner::named_context_step(const Instruction& from, const std::string& name) {
  Step step;
  step.kind = Kind::Copy;
  step.line = from.node->start_line;
  step.end_line = from.node->end_line;
  step.text = from.node->original;
  CopyStep c;
  c.from = {SourceRef::context, name, -1};
  c.sources = {"."};
  c.dest = "/";
  c.history = "COPY --from=" + name + " . /";
  step.history = c.history + " # buildkit";
  step.copy = std::move(c);
  return step;
}

Result<void> Planner::visit(int i, std::vector<int>& state, std::vector<int>& order) {
  if (state[i] == 2) return {};
  if (state[i] == 1) {
    return std::unexpected(
        df_.error_at(df_.stages[i].from, "circular dependency detected between stages",
                     "a stage cannot need, directly or not, a stage that needs it"));
  }
  if (results_[i].error) return std::unexpected(*results_[i].error);
  state[i] = 1;
  for (int d : results_[i].stage->deps) TRY(visit(d, state, order));
  state[i] = 2;
  order.push_back(i);
  return {};
}

Result<PlannedStage> Planner::resolve_stage(int index) {
  const Stage& st = df_.stages[index];
  const Instruction& from = st.from;
  const auto& fc = from.as<FromCmd>();
  PlannedStage out;
  out.index = index;
  out.name = fc.stage_name;
  out.line = from.node->start_line;

  auto global_lookup = lookup_in(global_, platform_args_);
  // The names a FROM may use: declared global ARGs and the platform ARGs.
  std::vector<std::string> known(global_declared_.begin(), global_declared_.end());
  for (const auto& [k, v] : platform_args_.list()) known.push_back(k);
  std::set<std::string> unset;  // what the FROM used that has no value
  auto expand_from = [&](std::string_view word, size_t offset) -> Result<Expansion> {
    auto e = expand(word, global_lookup, lex_);
    if (!e) return std::unexpected(df_.error_at(from, offset, e.error().message));
    for (const auto& name : e->unset) {
      unset.insert(name);
      if (global_declared_.count(name) || platform_args_.get(name)) continue;
      std::string near = suggest_like_buildkit(name, known, true);
      report(rules::UndefinedArgInFrom, from,
             fmt::format("FROM argument '{}' is not declared{}", name,
                         near.empty() ? "" : fmt::format(" (did you mean {}?)", near)));
    }
    return e;
  };
  // BuildKit's "did you mean" for a name the FROM used without a value.
  auto did_you_mean = [&]() -> std::string {
    std::vector<std::string> set_names;
    for (const auto& [k, v] : global_.list()) set_names.push_back(k);
    for (const auto& [k, v] : platform_args_.list()) set_names.push_back(k);
    for (const auto& name : unset)
      if (auto near = suggest_like_buildkit(name, set_names, true); !near.empty())
        return fmt::format(" (did you mean {}?)", near);
    return "";
  };
  auto image_ex = TRY_VALUE(expand_from(fc.image, from.node->args_offset));
  const std::string* image = &image_ex.word;
  if (image->empty()) {
    return std::unexpected(df_.error_at(from,
                                        fmt::format("base name ({}) should not be blank", fc.image),
                                        "give the ARG a default or pass --build-arg"));
  }
  out.platform = opts_.platform.str();
  if (fc.platform) {
    const std::string& expr = fc.platform->value;
    unset.clear();
    auto p = TRY_VALUE(expand_from(expr, fc.platform->offset));
    if (p.unset.empty() && p.used.size() == 1 && p.used.count("TARGETPLATFORM") &&
        p.word == opts_.platform.str())
      report(rules::RedundantTargetPlatform, from,
             fmt::format("Setting platform to predefined {} in FROM is redundant as this is "
                         "the default behavior",
                         expr));
    if (p.word.empty())
      return std::unexpected(df_.error_at(
          from, fc.platform->offset,
          fmt::format("empty platform value from expression {}{}", expr, did_you_mean()),
          "give the ARG a value, or leave out --platform"));
    auto parsed = oci::parse_platform(p.word);
    if (!parsed)
      return std::unexpected(df_.error_at(from, fc.platform->offset,
                                          fmt::format("failed to parse platform {}: {}{}", expr,
                                                      parsed.error().message, did_you_mean())));
    out.platform = parsed->str();
    if (p.used.empty() && p.unset.empty() && out.name.find(parsed->os) == std::string::npos &&
        out.name.find(parsed->arch) == std::string::npos)
      report(rules::FromPlatformFlagConstDisallowed, from,
             fmt::format("FROM --platform flag should not use constant value \"{}\"", p.word));
  }

  // A --build-context of the stage's name replaces the whole stage; one
  // of the name its FROM gives replaces that base (BuildKit's order).
  const NamedContext* whole = out.name.empty() ? nullptr : named(out.name);
  if (whole) {
    TRY(start_stage(out, index, from, named_ref(*whole, out.name), out.name, false));
    if (out.config.workdir.empty()) out.config.workdir = "/";
    return out;
  }
  std::vector<std::string> triggers;
  EnvList inherited_args;
  std::set<std::string> inherited_declared;
  std::string base_key = to_lower(*image);
  int parent_index = -1;  // the last stage of that name above this one
  for (int i = index - 1; i >= 0 && parent_index < 0; --i)
    if (df_.stages[i].from.as<FromCmd>().stage_name == base_key) parent_index = i;
  const NamedContext* base_nc = parent_index < 0 ? named(*image) : nullptr;
  if (auto it = names_.find(base_key);
      parent_index < 0 && !base_nc && it != names_.end() && it->second > index) {
    return std::unexpected(
        df_.error_at(from,
                     fmt::format("FROM {} names a stage defined later (line {})", *image,
                                 df_.stages[it->second].from.node->start_line),
                     "move that stage above this one"));
  }
  if (parent_index >= 0) {
    const auto& parent = results_[parent_index];
    if (parent.error) return std::unexpected(*parent.error);
    out.base = {SourceRef::stage, base_key, parent_index};
    out.config = parent.stage->config;
    triggers = std::move(out.config.onbuild);
    out.config.onbuild.clear();
    out.deps.push_back(parent_index);
    results_[index].workdir_set = parent.workdir_set;
    results_[index].env_known = parent.env_known;
    inherited_args = parent.args;
    inherited_declared = parent.declared;
  } else {
    SourceRef base = base_nc                 ? named_ref(*base_nc, *image)
                     : base_key == "scratch" ? SourceRef{SourceRef::scratch, "scratch", -1}
                                             : SourceRef{SourceRef::image, *image, -1};
    auto from_image = TRY_VALUE(start_stage(out, index, from, base, *image, true));
    triggers = std::move(from_image);
  }

  StageState ss{out,
                Vars(std::move(out.config.env)),
                Vars(std::move(inherited_args)),
                {},
                false,
                index,
                false,
                std::move(inherited_declared),
                {},
                {},
                {}};
  ss.in_trigger = true;
  for (const auto& expr : triggers) {
    trigger_files_.emplace_back();
    auto parsed =
        TRY_VALUE(parse(expr, df_.file.source.name + " (ONBUILD trigger of the parent stage)"));
    trigger_files_.back() = std::move(parsed);
    for (const auto& node : trigger_files_.back().nodes) {
      auto ins = TRY_VALUE(parse_instruction(node, trigger_files_.back()));
      auto step = TRY_VALUE(resolve_step(ins, ss, &from));
      step.onbuild = true;
      step.line = from.node->start_line;
      step.end_line = from.node->end_line;
      out.steps.push_back(std::move(step));
    }
  }
  ss.in_trigger = false;
  for (const auto& ins : st.commands) {
    auto step = TRY_VALUE(resolve_step(ins, ss, nullptr));
    out.steps.push_back(std::move(step));
  }
  results_[index].consumed = std::move(ss.consumed);
  results_[index].args = ss.args.list();
  results_[index].declared = std::move(ss.declared);
  out.config.env = ss.env.list();
  if (out.config.workdir.empty()) out.config.workdir = "/";
  std::sort(out.deps.begin(), out.deps.end());
  out.deps.erase(std::unique(out.deps.begin(), out.deps.end()), out.deps.end());
  return out;
}

}  // namespace strata::frontend::planning

namespace strata::frontend {

Result<Plan> make_plan(const dockerfile::Dockerfile& df, const PlanOptions& opts) {
  return planning::Planner(df, opts).run();
}

}  // namespace strata::frontend

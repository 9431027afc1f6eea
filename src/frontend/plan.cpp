#include "frontend/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <set>
#include <unordered_map>

#include "dockerfile/git_ref.hpp"
#include "dockerfile/shell_lex.hpp"
#include "oci/reference.hpp"
#include "util/strings.hpp"

namespace strata::frontend {

using namespace dockerfile;

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// As in BuildKit, the hostname of RUN containers (and a name in their
// /etc/hosts).
constexpr std::string_view kSandboxHostname = "BUILDKIT_SANDBOX_HOSTNAME";

const std::set<std::string> kProxyArgs = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                          "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                          "ALL_PROXY",  "all_proxy"};

// An ordered list of variables with a hash index, so that lookups stay
// O(1) in Dockerfiles with hundreds of ARGs and ENVs.
class Vars {
 public:
  Vars() = default;
  explicit Vars(EnvList list) : list_(std::move(list)) {
    for (size_t i = 0; i < list_.size(); ++i) index_.emplace(list_[i].first, i);
  }
  void set(const std::string& k, const std::string& v) {
    auto [it, added] = index_.emplace(k, list_.size());
    if (added)
      list_.emplace_back(k, v);
    else
      list_[it->second].second = v;
  }
  const std::string* get(std::string_view k) const {
    auto it = index_.find(k);
    return it == index_.end() ? nullptr : &list_[it->second].second;
  }
  const EnvList& list() const { return list_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  EnvList list_;
  std::unordered_map<std::string, size_t, Hash, std::equal_to<>> index_;
};

std::string join_path(const std::string& dir, const std::string& p) {
  if (p.starts_with("/")) return p;
  return (dir.empty() || dir == "/" ? "/" : dir + "/") + p;
}

bool valid_chmod(std::string_view v) {
  if (v.empty()) return false;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '7'; }))
    return v.size() <= 4;
  // Symbolic modes: [ugoa]*[+-=][rwxXst]*, comma-separated.
  for (const auto& clause : split(v, ',')) {
    size_t i = 0;
    while (i < clause.size() && std::string_view("ugoa").find(clause[i]) != std::string_view::npos)
      ++i;
    if (i >= clause.size() || std::string_view("+-=").find(clause[i]) == std::string_view::npos)
      return false;
    for (++i; i < clause.size(); ++i)
      if (std::string_view("rwxXst").find(clause[i]) == std::string_view::npos) return false;
  }
  return true;
}

// What is wrong with an ADD --checksum, in go-digest's words (as BuildKit
// reports it); nullopt when it is a sha256 digest, the one strata checks.
std::optional<std::string> checksum_error(std::string_view v) {
  size_t colon = v.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == v.size())
    return "invalid checksum digest format";
  std::string_view algo = v.substr(0, colon), hex = v.substr(colon + 1);
  if (algo != "sha256") {
    bool known = algo == "sha384" || algo == "sha512";
    return known ? fmt::format("unsupported digest algorithm: {} (strata checks sha256)", algo)
                 : std::string("unsupported digest algorithm");
  }
  if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), [](char ch) {
        return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
      }))
    return "invalid checksum digest format";
  return std::nullopt;
}

struct PortSpec {
  std::vector<std::string> ports;  // "80/tcp", ...
  bool proto_not_lower = false;    // "80/TCP": ExposeProtoCasing
  bool host_part = false;          // "127.0.0.1:80:80", "5000:5000": ExposeInvalidFormat
};

// EXPOSE 80, 80/udp, 8000-8002/tcp -> "80/tcp", ...; as BuildKit, an IP
// address and a host port before the container port are accepted (and
// linted) and left out.
Result<PortSpec> expand_port(const std::string& spec) {
  PortSpec out;
  std::string container = spec;
  if (size_t colon = spec.rfind(':'); colon != std::string::npos) {
    out.host_part = true;
    container = spec.substr(colon + 1);
  }
  std::string port = container, proto = "tcp";
  size_t slash = container.find('/');
  if (slash != std::string::npos) {
    port = container.substr(0, slash);
    proto = container.substr(slash + 1);
    out.proto_not_lower = proto != to_lower(proto);
    proto = to_lower(proto);
    if (proto.empty()) proto = "tcp";
  }
  if (proto != "tcp" && proto != "udp" && proto != "sctp") {
    return fail(Errc::invalid_argument,
                fmt::format("invalid proto \"{}\" in \"{}\" (use tcp, udp or sctp)", proto, spec));
  }
  auto num = [](const std::string& s) -> std::optional<int> {
    if (s.empty() || s.size() > 5 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    int n = std::stoi(s);
    if (n > 65535) return std::nullopt;
    return n;
  };
  size_t dash = port.find('-');
  auto lo = num(port.substr(0, dash));
  auto hi = dash == std::string::npos ? lo : num(port.substr(dash + 1));
  if (!lo || !hi || *hi < *lo) {
    return fail(Errc::invalid_argument,
                fmt::format("invalid port \"{}\": expected PORT[/PROTO] or FROM-TO[/PROTO]", spec));
  }
  for (int p = *lo; p <= *hi; ++p) out.ports.push_back(fmt::format("{}/{}", p, proto));
  return out;
}

void add_sorted_unique(std::vector<std::string>& v, const std::string& s) {
  auto it = std::lower_bound(v.begin(), v.end(), s);
  if (it == v.end() || *it != s) v.insert(it, s);
}

// A lint rule a step violated: reported if its stage is built.
struct PendingLint {
  const LintRule* rule;
  int line, end_line;
  std::string detail;
  const std::vector<std::string>* comments;
};

struct StageResult {
  std::optional<PlannedStage> stage;
  std::optional<Error> error;
  std::set<std::string> consumed;  // build args this stage's ARGs consumed
  std::vector<PendingLint> lint;
  bool workdir_set = false;  // a WORKDIR here or in a parent stage
  bool env_known = true;     // false when an image's config was not read (a dry run)
  // The ARGs in scope at the stage's end, which a stage FROM it inherits
  // (as BuildKit's state carries them).
  EnvList args;
  std::set<std::string> declared;
};

bool valid_reference(const std::string& name) {
  return oci::parse_reference(name).has_value();
}

class Planner {
 public:
  Planner(const Dockerfile& df, const PlanOptions& opts) : df_(df), opts_(opts), lint_(opts.lint) {
    for (const auto& [k, v] : opts.build_args) build_args_[k] = v;
    const oci::Platform& t = opts.platform;
    const oci::Platform& b = opts.build_platform;
    platform_args_ = Vars({{"TARGETPLATFORM", t.str()},
                           {"TARGETOS", t.os},
                           {"TARGETARCH", t.arch},
                           {"TARGETVARIANT", t.variant},
                           {"BUILDPLATFORM", b.str()},
                           {"BUILDOS", b.os},
                           {"BUILDARCH", b.arch},
                           {"BUILDVARIANT", b.variant},
                           {"TARGETSTAGE", target_stage()}});
    lex_.escape = df.file.directives.escape;
  }

  // The built-in TARGETSTAGE: the stage built, by the name it was asked
  // for; without --target the last stage's name, or "default".
  std::string target_stage() const {
    if (!opts_.target.empty()) return opts_.target;
    if (df_.stages.empty()) return "default";
    const std::string& last = df_.stages.back().from.as<FromCmd>().stage_name;
    return last.empty() ? "default" : last;
  }

  Result<Plan> run() {
    Plan plan;
    plan.dockerfile = df_.file.source.name;
    plan.platform = opts_.platform.str();
    for (const auto& w : df_.file.warnings)
      plan.warnings.push_back(fmt::format("{}:{}: {}", df_.file.source.name, w.line, w.message));

    if (auto r = resolve_global_args(); !r) return std::unexpected(r.error());

    // Stage names: a name used twice names its last stage (for --target
    // and --from; a FROM names the last one above it), as in BuildKit.
    for (size_t i = 0; i < df_.stages.size(); ++i) {
      const auto& from = df_.stages[i].from;
      const std::string& name = from.as<FromCmd>().stage_name;
      if (name.empty()) continue;
      if (name == "scratch" || name == "context")
        report(
            rules::ReservedStageName, from,
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
        return fail(
            Errc::not_found,
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
    if (auto r = visit(target, state, order); !r) return std::unexpected(r.error());
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
          k == "SOURCE_DATE_EPOCH" || k == kSandboxHostname || k == "BUILDKIT_DOCKERFILE_CHECK")
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

 private:
  struct StageState;

  void report(const LintRule& rule, const Instruction& ins, std::string detail) {
    if (lint_)
      lint_->report(rule, ins.node->start_line, ins.node->end_line, std::move(detail),
                    ins.node->comments);
  }

  // MultipleInstructionsDisallowed, at the earlier instruction (the one
  // that has no effect).
  void note_used_once(const StageState& ss, const Instruction& earlier) {
    note(ss, rules::MultipleInstructionsDisallowed, earlier,
         fmt::format("Multiple {} instructions should not be used in the same stage because only "
                     "the last one will be used",
                     keyword(earlier.kind)));
  }

  // CopyIgnoredFile: a source from the context that .dockerignore excludes.
  // As in BuildKit, not checked when the file has `!` lines (whether they
  // re-include a source is not known before the copy).
  void lint_ignored_sources(const StageState& ss, const Instruction& ins, const CopyStep& c) {
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

  // A step's lint: kept with its stage, reported if the stage is built. Not
  // for ONBUILD triggers, whose text is not in this Dockerfile.
  void note(const StageState& ss, const LintRule& rule, const Instruction& ins,
            std::string detail) {
    if (!lint_ || ss.in_trigger) return;
    results_[ss.index].lint.push_back(
        {&rule, ins.node->start_line, ins.node->end_line, std::move(detail), &ins.node->comments});
  }

  // ConsistentInstructionCasing: each stage's instructions against the
  // casing most of them use (upper on a tie).
  void lint_casing() {
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

  // InvalidDefaultArgInFrom: each FROM with the global ARGs' defaults only
  // (no build args) must still name an image.
  void lint_default_base_names() {
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

  // ENV wins over ARG, as the reference says; globals over platform ARGs.
  static EnvLookup lookup_in(const Vars& first, const Vars& second) {
    return [&first, &second](std::string_view n) -> std::optional<std::string> {
      if (auto v = first.get(n)) return *v;
      if (auto v = second.get(n)) return *v;
      return std::nullopt;
    };
  }

  Result<std::string> expand_at(const Instruction& ins, std::string_view word, const EnvLookup& env,
                                size_t offset = SIZE_MAX) const {
    auto r = expand_word(word, env, lex_);
    if (!r) {
      return std::unexpected(df_.error_at(ins, offset == SIZE_MAX ? ins.node->args_offset : offset,
                                          r.error().message));
    }
    return r;
  }

  // Expands a step's word, noting UndefinedVar for each variable it uses
  // that is neither set nor declared by an ARG of the stage.
  Result<std::string> expand_noting(std::string_view word, const EnvLookup& env, StageState& ss,
                                    const Instruction& ins, const LexOptions& lex) {
    auto e = expand(word, env, lex);
    if (!e) return std::unexpected(e.error());
    for (const auto& name : e->unset) {
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
    return std::move(e->word);
  }

  Result<void> resolve_global_args() {
    for (const auto& ins : df_.global_args) {
      for (const auto& d : ins.as<ArgCmd>().decls) {
        global_declared_.insert(d.name);
        std::optional<std::string> value;
        if (auto it = build_args_.find(d.name); it != build_args_.end()) {
          value = it->second;
          global_consumed_.insert(d.name);
        } else if (d.value) {
          auto v = expand_at(ins, *d.value, lookup_in(global_, platform_args_));
          if (!v) return std::unexpected(v.error());
          value = *v;
        }
        if (value) global_.set(d.name, *value);
      }
    }
    return {};
  }

  // Stage name, index or image for --from / from=.
  Result<SourceRef> resolve_ref(const Instruction& ins, const std::string& value, int current,
                                size_t offset) const {
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
            fmt::format("invalid from flag value {}: refers to current or future build stage",
                        value),
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

  const NamedContext* named(const std::string& name) const {
    auto it = opts_.named_contexts.find(to_lower(name));
    return it == opts_.named_contexts.end() ? nullptr : &it->second;
  }

  static SourceRef named_ref(const NamedContext& nc, const std::string& name) {
    if (!nc.image) return {SourceRef::context, to_lower(name), -1};
    if (nc.ref == "scratch") return {SourceRef::scratch, "scratch", -1};
    return {SourceRef::image, nc.ref, -1};
  }

  // Where a stage starts when not from another stage: scratch, a
  // --build-context directory (its files on scratch) or an image, whose
  // config it takes; returns the image's ONBUILD triggers. `written` is the
  // name the FROM gave, for the platform check (`lint_platform`).
  Result<std::vector<std::string>> start_stage(PlannedStage& out, int index,
                                               const Instruction& from, const SourceRef& base,
                                               const std::string& written, bool lint_platform) {
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

  // The step that makes a stage of a --build-context directory: its files
  // at the root, on scratch.
  static Step named_context_step(const Instruction& from, const std::string& name) {
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

  Result<void> visit(int i, std::vector<int>& state, std::vector<int>& order) {
    if (state[i] == 2) return {};
    if (state[i] == 1) {
      return std::unexpected(
          df_.error_at(df_.stages[i].from, "circular dependency detected between stages",
                       "a stage cannot need, directly or not, a stage that needs it"));
    }
    if (results_[i].error) return std::unexpected(*results_[i].error);
    state[i] = 1;
    for (int d : results_[i].stage->deps)
      if (auto r = visit(d, state, order); !r) return std::unexpected(r.error());
    state[i] = 2;
    order.push_back(i);
    return {};
  }

  // One stage, from its FROM to its last instruction.
  Result<PlannedStage> resolve_stage(int index) {
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
    auto image_ex = expand_from(fc.image, from.node->args_offset);
    if (!image_ex) return std::unexpected(image_ex.error());
    const std::string* image = &image_ex->word;
    if (image->empty()) {
      return std::unexpected(
          df_.error_at(from, fmt::format("base name ({}) should not be blank", fc.image),
                       "give the ARG a default or pass --build-arg"));
    }
    out.platform = opts_.platform.str();
    if (fc.platform) {
      const std::string& expr = fc.platform->value;
      unset.clear();
      auto p = expand_from(expr, fc.platform->offset);
      if (!p) return std::unexpected(p.error());
      if (p->unset.empty() && p->used.size() == 1 && p->used.count("TARGETPLATFORM") &&
          p->word == opts_.platform.str())
        report(rules::RedundantTargetPlatform, from,
               fmt::format("Setting platform to predefined {} in FROM is redundant as this is "
                           "the default behavior",
                           expr));
      if (p->word.empty())
        return std::unexpected(df_.error_at(
            from, fc.platform->offset,
            fmt::format("empty platform value from expression {}{}", expr, did_you_mean()),
            "give the ARG a value, or leave out --platform"));
      auto parsed = oci::parse_platform(p->word);
      if (!parsed)
        return std::unexpected(df_.error_at(from, fc.platform->offset,
                                            fmt::format("failed to parse platform {}: {}{}", expr,
                                                        parsed.error().message, did_you_mean())));
      out.platform = parsed->str();
      if (p->used.empty() && p->unset.empty() && out.name.find(parsed->os) == std::string::npos &&
          out.name.find(parsed->arch) == std::string::npos)
        report(rules::FromPlatformFlagConstDisallowed, from,
               fmt::format("FROM --platform flag should not use constant value \"{}\"", p->word));
    }

    // A --build-context of the stage's name replaces the whole stage; one
    // of the name its FROM gives replaces that base (BuildKit's order).
    const NamedContext* whole = out.name.empty() ? nullptr : named(out.name);
    if (whole) {
      auto replaced = start_stage(out, index, from, named_ref(*whole, out.name), out.name, false);
      if (!replaced) return std::unexpected(replaced.error());
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
      auto from_image = start_stage(out, index, from, base, *image, true);
      if (!from_image) return std::unexpected(from_image.error());
      triggers = std::move(*from_image);
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
      auto parsed = parse(expr, df_.file.source.name + " (ONBUILD trigger of the parent stage)");
      if (!parsed) return std::unexpected(parsed.error());
      trigger_files_.back() = std::move(*parsed);
      for (const auto& node : trigger_files_.back().nodes) {
        auto ins = parse_instruction(node, trigger_files_.back());
        if (!ins) return std::unexpected(ins.error());
        auto step = resolve_step(*ins, ss, &from);
        if (!step) return std::unexpected(step.error());
        step->onbuild = true;
        step->line = from.node->start_line;
        step->end_line = from.node->end_line;
        out.steps.push_back(std::move(*step));
      }
    }
    ss.in_trigger = false;
    for (const auto& ins : st.commands) {
      auto step = resolve_step(ins, ss, nullptr);
      if (!step) return std::unexpected(step.error());
      out.steps.push_back(std::move(*step));
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

  struct StageState {
    PlannedStage& out;
    Vars env;                        // ENV so far; copied to out.config.env at the end
    Vars args;                       // ARGs in scope with a value
    std::set<std::string> consumed;  // build args consumed here
    bool cmd_set = false;
    int index;
    bool in_trigger = false;                // resolving the parent's ONBUILD triggers
    std::set<std::string> declared;         // ARGs declared in the stage, with a value or not
    const Instruction* last_cmd = nullptr;  // for MultipleInstructionsDisallowed
    const Instruction* last_entrypoint = nullptr;
    const Instruction* last_healthcheck = nullptr;
  };

  Result<Step> resolve_step(const Instruction& ins, StageState& ss, const Instruction* trigger_of) {
    // Errors in ONBUILD triggers point at the FROM that inherited them.
    const Instruction& at = trigger_of ? *trigger_of : ins;
    ImageConfig& cfg = ss.out.config;
    EnvLookup env = lookup_in(ss.env, ss.args);
    auto ex = [&](std::string_view w, size_t off = SIZE_MAX) -> Result<std::string> {
      auto r = expand_noting(w, env, ss, ins, lex_);
      if (!r) {
        size_t o = trigger_of || off == SIZE_MAX ? at.node->args_offset : off;
        return std::unexpected(df_.error_at(at, o, r.error().message));
      }
      return r;
    };
    Step step;
    step.kind = ins.kind;
    step.line = ins.node->start_line;
    step.end_line = ins.node->end_line;
    step.text = ins.node->original;

    switch (ins.kind) {
      case Kind::From:
        return std::unexpected(df_.error_at(at, "FROM inside a stage"));  // split by the reader
      case Kind::Arg:
        for (const auto& d : ins.as<ArgCmd>().decls) {
          std::optional<std::string> value;
          if (auto it = build_args_.find(d.name); it != build_args_.end()) {
            value = it->second;
            ss.consumed.insert(d.name);
          } else if (d.value) {
            auto v = ex(*d.value);
            if (!v) return std::unexpected(v.error());
            value = *v;
          } else if (auto g = global_.get(d.name)) {
            value = *g;
          } else if (auto p = platform_args_.get(d.name)) {
            value = *p;
          }
          if (value) {
            ss.args.set(d.name, *value);
            step.args.push_back(d.name + "=" + *value);
          } else {
            step.args.push_back(d.name);
          }
          ss.declared.insert(d.name);
          if (looks_like_secret(d.name))
            note(ss, rules::SecretsUsedInArgOrEnv, ins,
                 fmt::format("Do not use ARG or ENV instructions for sensitive data (ARG {})",
                             go_quote(d.name)));
        }
        break;
      case Kind::Env:
      case Kind::Label: {
        // Every pair sees the environment from before the instruction.
        EnvList pairs;
        for (const auto& kv : ins.as<KeyValuesCmd>().pairs) {
          auto k = ex(kv.key);
          if (!k) return std::unexpected(k.error());
          auto v = ex(kv.value);
          if (!v) return std::unexpected(v.error());
          if (k->empty())
            return std::unexpected(
                df_.error_at(at, fmt::format("{} names can not be blank", keyword(ins.kind))));
          if (kv.legacy)
            note(ss, rules::LegacyKeyValueFormat, ins,
                 fmt::format("\"{0} key=value\" should be used instead of legacy \"{0} key value\" "
                             "format",
                             keyword(ins.kind)));
          if (ins.kind == Kind::Env && looks_like_secret(*k))
            note(ss, rules::SecretsUsedInArgOrEnv, ins,
                 fmt::format("Do not use ARG or ENV instructions for sensitive data (ENV {})",
                             go_quote(*k)));
          pairs.emplace_back(*k, *v);
        }
        for (auto& [k, v] : pairs) {
          if (ins.kind == Kind::Env)
            ss.env.set(k, v);
          else
            cfg.labels[k] = v;
          step.args.push_back(k + "=" + v);
        }
        break;
      }
      case Kind::Workdir: {
        auto v = ex(ins.as<ValueCmd>().value);
        if (!v) return std::unexpected(v.error());
        bool& workdir_set = results_[ss.index].workdir_set;
        if (!workdir_set && !v->starts_with("/") && !ss.in_trigger)
          note(ss, rules::WorkdirRelativePath, ins,
               fmt::format("Relative workdir {} can have unexpected results if the base image "
                           "changes",
                           go_quote(*v)));
        if (!ss.in_trigger) workdir_set = true;
        cfg.workdir = clean_path(join_path(cfg.workdir.empty() ? "/" : cfg.workdir, *v));
        step.args.push_back(cfg.workdir);
        if (!cfg.user.empty()) step.args.push_back(cfg.user);  // who it is made as
        break;
      }
      case Kind::User: {
        auto v = ex(ins.as<ValueCmd>().value);
        if (!v) return std::unexpected(v.error());
        cfg.user = *v;
        step.args.push_back(*v);
        break;
      }
      case Kind::Stopsignal: {
        auto v = ex(ins.as<ValueCmd>().value);
        if (!v) return std::unexpected(v.error());
        std::string sig = *v;
        std::string name = sig.starts_with("SIG") ? sig.substr(3) : sig;
        bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-';
        });
        if (!ok) {
          return std::unexpected(df_.error_at(at, fmt::format("invalid signal \"{}\"", sig),
                                              "use a name such as SIGTERM or a number such as 15"));
        }
        cfg.stop_signal = sig;
        step.args.push_back(sig);
        break;
      }
      case Kind::Maintainer:
        cfg.author = ins.as<ValueCmd>().value;
        step.args.push_back(cfg.author);
        warnings_.push_back(
            fmt::format("{}:{}: MAINTAINER is deprecated; use LABEL "
                        "org.opencontainers.image.authors=\"{}\"",
                        df_.file.source.name, step.line, cfg.author));
        break;
      case Kind::Cmd:
      case Kind::Entrypoint:
      case Kind::Shell: {
        const auto& e = ins.as<ExecCmd>();
        if (ins.kind != Kind::Shell) {
          const Instruction*& last = ins.kind == Kind::Cmd ? ss.last_cmd : ss.last_entrypoint;
          if (last) note_used_once(ss, *last);
          last = &ins;
          if (e.shell_form && !cfg.shell_set)
            note(ss, rules::JSONArgsRecommended, ins,
                 fmt::format("JSON arguments recommended for {} to prevent unintended behavior "
                             "related to OS signals",
                             keyword(ins.kind)));
        }
        std::vector<std::string> argv;
        if (e.shell_form && ins.kind != Kind::Shell) {
          argv = cfg.shell;
          argv.push_back(e.args.empty() ? "" : e.args[0]);
        } else {
          argv = e.args;
        }
        if (ins.kind == Kind::Cmd) {
          cfg.cmd = argv;
          ss.cmd_set = true;
        } else if (ins.kind == Kind::Entrypoint) {
          cfg.entrypoint = argv;
          if (!ss.cmd_set) cfg.cmd.reset();
        } else {
          cfg.shell = argv;
          cfg.shell_set = true;
        }
        step.args = std::move(argv);
        break;
      }
      case Kind::Expose:
        for (const auto& item : ins.as<ListCmd>().items) {
          auto v = ex(item);
          if (!v) return std::unexpected(v.error());
          for (const auto& part : split_words(*v)) {
            auto ports = expand_port(part);
            if (!ports) return std::unexpected(df_.error_at(at, ports.error().message));
            if (ports->proto_not_lower)
              note(ss, rules::ExposeProtoCasing, ins,
                   fmt::format("Defined protocol '{}' in EXPOSE instruction should be lowercase",
                               part));
            if (ports->host_part)
              note(ss, rules::ExposeInvalidFormat, ins,
                   fmt::format("EXPOSE instruction should not define an IP address or host-port "
                               "mapping, found '{}'",
                               part));
            for (const auto& p : ports->ports) {
              add_sorted_unique(cfg.exposed_ports, p);
              step.args.push_back(p);
            }
          }
        }
        break;
      case Kind::Volume:
        for (const auto& item : ins.as<ListCmd>().items) {
          auto v = ex(item);
          if (!v) return std::unexpected(v.error());
          if (trim(*v).empty())
            return std::unexpected(df_.error_at(at, "VOLUME specified can not be an empty string"));
          add_sorted_unique(cfg.volumes, *v);
          step.args.push_back(*v);
        }
        break;
      case Kind::Healthcheck: {
        const auto& h = ins.as<HealthcheckCmd>();
        if (ss.last_healthcheck) note_used_once(ss, *ss.last_healthcheck);
        ss.last_healthcheck = &ins;
        Healthcheck hc;
        if (h.none) {
          hc.test = {"NONE"};
        } else {
          hc.test = h.shell_form ? std::vector<std::string>{"CMD-SHELL", h.args[0]}
                                 : std::vector<std::string>{"CMD"};
          if (!h.shell_form) hc.test.insert(hc.test.end(), h.args.begin(), h.args.end());
          hc.interval = h.interval;
          hc.timeout = h.timeout;
          hc.start_period = h.start_period;
          hc.start_interval = h.start_interval;
          hc.retries = h.retries;
        }
        cfg.healthcheck = hc;
        step.healthcheck = hc;
        break;
      }
      case Kind::Onbuild:
        cfg.onbuild.push_back(ins.as<OnbuildCmd>().expression);
        step.args.push_back(ins.as<OnbuildCmd>().expression);
        break;
      case Kind::Run: {
        auto r = resolve_run(ins, at, ss, env, trigger_of != nullptr);
        if (!r) return std::unexpected(r.error());
        step.run = std::move(*r);
        break;
      }
      case Kind::Add:
      case Kind::Copy: {
        auto c = resolve_copy(ins, at, ss, env, trigger_of != nullptr);
        if (!c) return std::unexpected(c.error());
        step.copy = std::move(*c);
        break;
      }
    }
    step.history = history_of(step, ss);
    return step;
  }

  // The step's history entry (created_by) as BuildKit writes it: RUN with
  // the stage's ARGs (`RUN |2 a=1 b=2 /bin/sh -c ...`), COPY without
  // --from, ENV/LABEL/ARG as k=v, lists and commands in Go's %v/%q forms;
  // steps that make a layer end with " # buildkit".
  static std::string go_list(const std::vector<std::string>& items, bool quoted) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i)
      out += (i ? " " : "") + (quoted ? go_quote(items[i]) : items[i]);
    return out + "]";
  }

  std::string history_of(const Step& step, const StageState& ss) const {
    const std::string kw(keyword(step.kind));
    switch (step.kind) {
      case Kind::Run: {
        std::vector<std::string> words;
        for (const auto& [k, v] : ss.args.list())
          words.push_back(k + "=" + (ss.env.get(k) ? *ss.env.get(k) : v));
        if (!words.empty()) words.insert(words.begin(), fmt::format("|{}", words.size()));
        words.insert(words.end(), step.run->argv.begin(), step.run->argv.end());
        return "RUN " + join(words, " ") + " # buildkit";
      }
      case Kind::Add:
      case Kind::Copy:
        return step.copy->history + " # buildkit";
      case Kind::Env:
      case Kind::Label:
      case Kind::Arg:
        return kw + " " + join(step.args, " ");
      case Kind::Workdir:
        return kw + " " + step.args.at(0) + " # buildkit";
      case Kind::Expose: {
        std::vector<std::string> ports = step.args;  // sorted, as BuildKit lists them
        std::sort(ports.begin(), ports.end());
        return kw + " " + go_list(ports, false);
      }
      case Kind::Volume:
        return kw + " " + go_list(step.args, false);
      case Kind::Cmd:
      case Kind::Entrypoint:
      case Kind::Shell:
        return kw + " " + go_list(step.args, true);
      case Kind::User:
      case Kind::Stopsignal:
      case Kind::Maintainer:
      case Kind::Onbuild:
        return kw + " " + step.args.at(0);
      default:
        return step.text;
    }
  }

  static std::vector<std::string> split_words(const std::string& s) {
    std::vector<std::string> out;
    for (const auto& w : split(s, ' '))
      if (!trim(w).empty()) out.emplace_back(trim(w));
    return out;
  }

  Result<RunStep> resolve_run(const Instruction& ins, const Instruction& at, StageState& ss,
                              const EnvLookup& env, bool in_trigger) {
    const auto& rc = ins.as<RunCmd>();
    const ImageConfig& cfg = ss.out.config;
    RunStep run;
    run.user = cfg.user;
    run.workdir = cfg.workdir.empty() ? "/" : cfg.workdir;
    bool has_path = ss.env.get("PATH") || ss.args.get("PATH");
    run.env.reserve(ss.env.list().size() + ss.args.list().size() + (has_path ? 0 : 1));
    if (!has_path) run.env.emplace_back("PATH", kDefaultPath);
    run.env.insert(run.env.end(), ss.env.list().begin(), ss.env.list().end());
    for (const auto& [k, v] : ss.args.list())
      if (!ss.env.get(k)) run.env.emplace_back(k, v);
    // Proxy build args reach RUN without an ARG, in both cases (BuildKit's
    // ProxyEnv), and stay out of the step's key; one the Dockerfile
    // declares or sets is an ordinary variable.
    auto set_proxy = [&](const std::string& k, const std::string& v) {
      if (ss.env.get(k) || ss.args.get(k)) return;
      for (auto& [name, value] : run.proxy_env)
        if (name == k) return;
      run.proxy_env.emplace_back(k, v);
    };
    for (const auto& [k, v] : opts_.build_args) {
      if (!kProxyArgs.count(k)) continue;
      used_proxy_.insert(k);
      set_proxy(k, v);
    }
    for (const auto& [k, v] : opts_.build_args) {
      if (!kProxyArgs.count(k)) continue;
      bool lower = k == to_lower(k);
      set_proxy(lower ? to_upper(k) : to_lower(k), v);
    }
    for (const auto& [k, v] : opts_.build_args)
      if (k == kSandboxHostname) run.hostname = v;
    if (rc.network) run.network = rc.network->value;
    if (rc.security) {
      run.security = rc.security->value;
      if (run.security == "insecure" && !opts_.allow_insecure)
        return std::unexpected(
            df_.error_at(at, in_trigger ? at.node->args_offset : rc.security->offset,
                         "entitlement security.insecure is not allowed",
                         "grant it with --allow security.insecure: the step then runs with every "
                         "capability and the host's devices"));
    }

    for (const auto& mf : rc.mounts) {
      size_t off = in_trigger ? at.node->args_offset : mf.offset;
      auto m = resolve_mount(
          mf.fields, [&](std::string_view w) { return expand_noting(w, env, ss, ins, lex_); });
      if (!m) {
        return std::unexpected(
            df_.error_at(at, off, m.error().message,
                         "see https://docs.docker.com/reference/dockerfile/#run---mount"));
      }
      SourceRef source;
      if (!m->from.empty()) {
        auto ref = resolve_ref(at, m->from, ss.index, off);
        if (!ref) return std::unexpected(ref.error());
        if (ref->kind == SourceRef::stage) ss.out.deps.push_back(ref->index);
        source = *ref;
      }
      run.mounts.push_back(std::move(*m));
      run.mount_sources.push_back(std::move(source));
    }

    if (!rc.shell_form) {
      run.argv = rc.args;
      return run;
    }
    std::string cmd = rc.args.empty() ? "" : rc.args[0];
    if (!rc.heredocs.empty()) {
      auto whole = parse_heredoc(cmd);
      if (whole && *whole) {
        const Heredoc& doc = rc.heredocs[0];
        std::string data = doc.chomp ? chomp_heredoc(doc.content) : doc.content;
        if (data.starts_with("#!")) {
          // A script with its own interpreter runs as a file.
          run.files.push_back({doc.name, data});
          run.argv = {"/dev/pipes/" + doc.name};
          return run;
        }
        cmd = data;
      } else {
        for (const auto& doc : rc.heredocs) cmd += "\n" + doc.content + doc.name;
      }
    }
    run.argv = cfg.shell;
    run.argv.push_back(cmd);
    return run;
  }

  Result<CopyStep> resolve_copy(const Instruction& ins, const Instruction& at, StageState& ss,
                                const EnvLookup& env, bool in_trigger) {
    const auto& cc = ins.as<CopyCmd>();
    const ImageConfig& cfg = ss.out.config;
    CopyStep c;
    c.add = ins.kind == Kind::Add;
    c.link = cc.link;
    c.parents = cc.parents;
    c.keep_git_dir = cc.keep_git_dir;
    c.unpack = cc.unpack;
    // Expands a word of the instruction, noting undefined variables.
    auto ex = [&](std::string_view w, size_t offset, const LexOptions& lex) -> Result<std::string> {
      auto v = expand_noting(w, env, ss, ins, lex);
      if (!v)
        return std::unexpected(
            df_.error_at(at, in_trigger ? at.node->args_offset : offset, v.error().message));
      return v;
    };
    auto flag = [&](const std::optional<Flag>& f, std::string& out) -> Result<void> {
      if (!f) return {};
      auto v = ex(f->value, f->offset, lex_);
      if (!v) return std::unexpected(v.error());
      out = *v;
      return {};
    };
    std::string from;
    if (cc.from) {
      // As in BuildKit: a stage is named as it is written.
      auto bare = expand_at(
          at, cc.from->value, [](std::string_view) { return std::nullopt; },
          in_trigger ? SIZE_MAX : cc.from->offset);
      if (bare && *bare != cc.from->value) {
        return std::unexpected(df_.error_at(
            at, in_trigger ? at.node->args_offset : cc.from->offset,
            "variable expansion is not supported for --from, define a new stage with FROM using "
            "ARG from global scope as a workaround",
            "declare `ARG NAME` before the first FROM, add a stage `FROM ${NAME} AS src` and "
            "write `COPY --from=src`"));
      }
    }
    for (auto [f, out] : {std::pair{&cc.from, &from},
                          {&cc.chown, &c.chown},
                          {&cc.chmod, &c.chmod},
                          {&cc.checksum, &c.checksum}}) {
      if (auto r = flag(*f, *out); !r) return std::unexpected(r.error());
    }
    if (cc.chmod && !valid_chmod(c.chmod)) {
      return std::unexpected(
          df_.error_at(at, in_trigger ? at.node->args_offset : cc.chmod->offset,
                       fmt::format("invalid chmod parameter: '{}'. it should be octal string "
                                   "and between 0 and 07777",
                                   c.chmod),
                       "use an octal mode such as 0755 or a symbolic one such as u+x"));
    }
    if (cc.from) {
      auto ref =
          resolve_ref(at, from, ss.index, in_trigger ? at.node->args_offset : cc.from->offset);
      if (!ref) return std::unexpected(ref.error());
      if (ref->kind == SourceRef::context) {
        return std::unexpected(df_.error_at(at, cc.from->offset, "--from must not be empty"));
      }
      if (ref->kind == SourceRef::stage && ref->index > ss.index) {
        return std::unexpected(df_.error_at(
            at, in_trigger ? at.node->args_offset : cc.from->offset,
            fmt::format("cannot copy from stage \"{}\", it needs to be defined before current "
                        "stage \"{}\"",
                        from, ss.out.name.empty() ? std::to_string(ss.index) : ss.out.name),
            "move the stage it copies from above this one"));
      }
      c.from = *ref;
      if (ref->kind == SourceRef::stage) ss.out.deps.push_back(ref->index);
    }
    for (const auto& e : cc.excludes) {
      auto v = expand_at(at, e.value, env, in_trigger ? SIZE_MAX : e.offset);
      if (!v) return std::unexpected(v.error());
      c.excludes.push_back(*v);
    }
    for (const auto& s : cc.sources) {
      auto v = ex(s, at.node->args_offset, lex_);
      if (!v) return std::unexpected(v.error());
      // As in BuildKit, a source that expands to nothing is the root.
      if (v->empty()) *v = ".";
      if (is_remote_source(*v) && !c.add) {
        return std::unexpected(df_.error_at(at,
                                            fmt::format("source can't be a URL for COPY: {}", *v),
                                            "use ADD to download a URL"));
      }
      if (auto git = parse_git_ref(*v); !git)
        return std::unexpected(df_.error_at(at, git.error().message,
                                            "see https://docs.docker.com/reference/dockerfile/"
                                            "#adding-private-git-repositories"));
      c.sources.push_back(*v);
    }
    if (c.from.kind == SourceRef::context && c.from.name.empty()) lint_ignored_sources(ss, ins, c);
    for (const auto& doc : cc.inline_files) {
      std::string data = doc.chomp ? chomp_heredoc(doc.content) : doc.content;
      if (doc.expand) {
        LexOptions o = lex_;
        o.skip_quotes = true;
        auto v = ex(data, at.node->args_offset, o);
        if (!v) return std::unexpected(v.error());
        data = *v;
      }
      c.inline_files.push_back({doc.name, data});
    }
    if (cc.checksum) {
      // As BuildKit checks it: on the expanded sources.
      size_t off = in_trigger ? at.node->args_offset : cc.checksum->offset;
      if (c.sources.size() != 1)
        return std::unexpected(df_.error_at(at, off,
                                            "checksum can't be specified for multiple sources",
                                            "give each URL its own ADD --checksum"));
      if (!is_remote_source(c.sources[0]))
        return std::unexpected(df_.error_at(at, off, "checksum requires HTTP(S) or Git sources",
                                            "--checksum only applies to ADD of a URL"));
      auto git = parse_git_ref(c.sources[0]);
      if (git && *git) {
        if (!is_commit_hash(c.checksum))
          return std::unexpected(df_.error_at(
              at, off,
              fmt::format("invalid checksum {}: expected hex commit hash", go_quote(c.checksum)),
              "a git source's --checksum is the commit (or its first hex digits)"));
      } else if (auto bad = checksum_error(c.checksum)) {
        return std::unexpected(
            df_.error_at(at, off, *bad, "write --checksum=sha256:<64 hex digits>"));
      }
    }
    auto dest = ex(cc.dest, at.node->args_offset, lex_);
    if (dest) {
      c.history = std::string(keyword(ins.kind));
      if (c.parents) c.history += " --parents";
      if (!c.chown.empty()) c.history += " --chown=" + c.chown;
      if (!c.chmod.empty()) c.history += " --chmod=" + c.chmod;
      for (const auto& src : c.sources) c.history += " " + src;
      for (const auto& doc : c.inline_files) c.history += " <<" + doc.name;
      c.history += " " + *dest;
    }
    if (!dest) return std::unexpected(dest.error());
    bool dir_dest = dest->ends_with("/") || *dest == "." || *dest == "..";
    if (c.sources.size() + c.inline_files.size() > 1 && !dir_dest) {
      return std::unexpected(df_.error_at(
          at,
          fmt::format("When using {} with more than one source file, the destination must be "
                      "a directory and end with a /",
                      keyword(ins.kind)),
          fmt::format("write the destination as {}/", *dest)));
    }
    std::string workdir = cfg.workdir.empty() ? "/" : cfg.workdir;
    std::string abs = clean_path(join_path(workdir, *dest));
    if (dir_dest && abs != "/") abs += "/";
    c.dest = abs;

    bool from_context = std::any_of(c.sources.begin(), c.sources.end(), [&](const std::string& s) {
      return !(c.add && is_remote_source(s));
    });
    if (opts_.context && c.from.kind == SourceRef::context && c.from.name.empty() && from_context) {
      std::vector<std::string> selected;
      for (const auto& s : c.sources) {
        if (c.add && is_remote_source(s)) continue;
        auto files = opts_.context->select(s, c.excludes);
        if (!files) {
          return std::unexpected(df_.error_at(
              at, files.error().message, "check the path, and .dockerignore if it excludes it"));
        }
        selected.insert(selected.end(), files->begin(), files->end());
      }
      c.selected = std::move(selected);
    }
    return c;
  }

  const Dockerfile& df_;
  const PlanOptions& opts_;
  Linter* lint_;
  LexOptions lex_;
  std::map<std::string, std::string> build_args_;
  Vars global_;
  Vars platform_args_;
  std::set<std::string> global_declared_, global_consumed_, used_proxy_;
  std::map<std::string, int> names_;
  std::vector<StageResult> results_;
  std::deque<ParsedFile> trigger_files_;
  std::vector<std::string> warnings_;
};

}  // namespace

Result<Plan> make_plan(const Dockerfile& df, const PlanOptions& opts) {
  return Planner(df, opts).run();
}

}  // namespace strata::frontend

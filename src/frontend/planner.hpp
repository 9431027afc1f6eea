// The planner behind frontend::make_plan (frontend/ only): the Planner
// class, whose members are defined in plan.cpp (stages, ARG scoping, the
// order of stages), plan_steps.cpp (each instruction of a stage resolved
// into a step) and plan_lint.cpp (the build checks of the whole file and of
// each step), and the values they share (plan_values.cpp).
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dockerfile/lint.hpp"
#include "dockerfile/shell_lex.hpp"
#include "frontend/plan.hpp"

namespace strata::frontend::planning {

using namespace dockerfile;

inline constexpr const char* kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// As in BuildKit, the hostname of RUN containers (and a name in their
// /etc/hosts).
inline constexpr std::string_view kSandboxHostname = "BUILDKIT_SANDBOX_HOSTNAME";

inline const std::set<std::string> kProxyArgs = {
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
    "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};

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

std::string join_path(const std::string& dir, const std::string& p);

bool valid_chmod(std::string_view v);

// What is wrong with an ADD --checksum, in go-digest's words (as BuildKit
// reports it); nullopt when it is a sha256 digest, the one strata checks.
std::optional<std::string> checksum_error(std::string_view v);

struct PortSpec {
  std::vector<std::string> ports;  // "80/tcp", ...
  bool proto_not_lower = false;    // "80/TCP": ExposeProtoCasing
  bool host_part = false;          // "127.0.0.1:80:80", "5000:5000": ExposeInvalidFormat
};

// EXPOSE 80, 80/udp, 8000-8002/tcp -> "80/tcp", ...; as BuildKit, an IP
// address and a host port before the container port are accepted (and
// linted) and left out.
Result<PortSpec> expand_port(const std::string& spec);

void add_sorted_unique(std::vector<std::string>& v, const std::string& s);

bool valid_reference(const std::string& name);

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
  std::string target_stage() const;

  Result<Plan> run();

 private:
  struct StageState;

  void report(const LintRule& rule, const Instruction& ins, std::string detail);

  // MultipleInstructionsDisallowed, at the earlier instruction (the one
  // that has no effect).
  void note_used_once(const StageState& ss, const Instruction& earlier);

  // CopyIgnoredFile: a source from the context that .dockerignore excludes.
  // As in BuildKit, not checked when the file has `!` lines (whether they
  // re-include a source is not known before the copy).
  void lint_ignored_sources(const StageState& ss, const Instruction& ins, const CopyStep& c);

  // A step's lint: kept with its stage, reported if the stage is built. Not
  // for ONBUILD triggers, whose text is not in this Dockerfile.
  void note(const StageState& ss, const LintRule& rule, const Instruction& ins, std::string detail);

  // ConsistentInstructionCasing: each stage's instructions against the
  // casing most of them use (upper on a tie).
  void lint_casing();

  // InvalidDefaultArgInFrom: each FROM with the global ARGs' defaults only
  // (no build args) must still name an image.
  void lint_default_base_names();

  // ENV wins over ARG, as the reference says; globals over platform ARGs.
  static EnvLookup lookup_in(const Vars& first, const Vars& second);

  Result<std::string> expand_at(const Instruction& ins, std::string_view word, const EnvLookup& env,
                                size_t offset = SIZE_MAX) const;

  // Expands a step's word, noting UndefinedVar for each variable it uses
  // that is neither set nor declared by an ARG of the stage.
  Result<std::string> expand_noting(std::string_view word, const EnvLookup& env, StageState& ss,
                                    const Instruction& ins, const LexOptions& lex);

  Result<void> resolve_global_args();

  // Stage name, index or image for --from / from=.
  Result<SourceRef> resolve_ref(const Instruction& ins, const std::string& value, int current,
                                size_t offset) const;

  const NamedContext* named(const std::string& name) const;

  static SourceRef named_ref(const NamedContext& nc, const std::string& name);

  // Where a stage starts when not from another stage: scratch, a
  // --build-context directory (its files on scratch) or an image, whose
  // config it takes; returns the image's ONBUILD triggers. `written` is the
  // name the FROM gave, for the platform check (`lint_platform`).
  Result<std::vector<std::string>> start_stage(PlannedStage& out, int index,
                                               const Instruction& from, const SourceRef& base,
                                               const std::string& written, bool lint_platform);

  // The step that makes a stage of a --build-context directory: its files
  // at the root, on scratch.
  static Step named_context_step(const Instruction& from, const std::string& name);

  Result<void> visit(int i, std::vector<int>& state, std::vector<int>& order);

  // One stage, from its FROM to its last instruction.
  Result<PlannedStage> resolve_stage(int index);

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

  Result<Step> resolve_step(const Instruction& ins, StageState& ss, const Instruction* trigger_of);

  // The step's history entry (created_by) as BuildKit writes it: RUN with
  // the stage's ARGs (`RUN |2 a=1 b=2 /bin/sh -c ...`), COPY without
  // --from, ENV/LABEL/ARG as k=v, lists and commands in Go's %v/%q forms;
  // steps that make a layer end with " # buildkit".
  static std::string go_list(const std::vector<std::string>& items, bool quoted);

  std::string history_of(const Step& step, const StageState& ss) const;

  static std::vector<std::string> split_words(const std::string& s);

  Result<RunStep> resolve_run(const Instruction& ins, const Instruction& at, StageState& ss,
                              const EnvLookup& env, bool in_trigger);

  Result<CopyStep> resolve_copy(const Instruction& ins, const Instruction& at, StageState& ss,
                                const EnvLookup& env, bool in_trigger);

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

}  // namespace strata::frontend::planning

#include "frontend/plan.hpp"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <algorithm>
#include <deque>
#include <set>
#include <unordered_map>

#include "dockerfile/shell_lex.hpp"
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

// EXPOSE 80, 80/udp, 8000-8002/tcp -> "80/tcp", ...
Result<std::vector<std::string>> expand_port(const std::string& spec) {
  std::string port = spec, proto = "tcp";
  size_t slash = spec.find('/');
  if (slash != std::string::npos) {
    port = spec.substr(0, slash);
    proto = to_lower(spec.substr(slash + 1));
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
  std::vector<std::string> out;
  for (int p = *lo; p <= *hi; ++p) out.push_back(fmt::format("{}/{}", p, proto));
  return out;
}

void add_sorted_unique(std::vector<std::string>& v, const std::string& s) {
  auto it = std::lower_bound(v.begin(), v.end(), s);
  if (it == v.end() || *it != s) v.insert(it, s);
}

struct StageResult {
  std::optional<PlannedStage> stage;
  std::optional<Error> error;
  std::set<std::string> consumed;  // build args this stage's ARGs consumed
};

class Planner {
 public:
  Planner(const Dockerfile& df, const PlanOptions& opts) : df_(df), opts_(opts) {
    for (const auto& [k, v] : opts.build_args) build_args_[k] = v;
    const Platform& t = opts.platform;
    const Platform& b = opts.build_platform;
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

    // Stage names, checked for duplicates.
    for (size_t i = 0; i < df_.stages.size(); ++i) {
      const auto& from = df_.stages[i].from;
      const std::string& name = from.as<FromCmd>().stage_name;
      if (name.empty()) continue;
      if (auto it = names_.find(name); it != names_.end()) {
        int first = df_.stages[it->second].from.node->start_line;
        return std::unexpected(df_.error_at(
            from,
            fmt::format("duplicate stage name \"{}\" (first defined at line {})", name, first),
            "give each stage its own name"));
      }
      names_[name] = static_cast<int>(i);
      std::string as_written = from.node->values.size() == 3 ? from.node->values[2] : name;
      if (as_written != name) {
        plan.warnings.push_back(fmt::format("{}:{}: stage name '{}' should be lowercase",
                                            df_.file.source.name, from.node->start_line,
                                            as_written));
      }
    }

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

    std::vector<int> order;
    std::vector<int> state(df_.stages.size(), 0);  // 0 new, 1 visiting, 2 done
    if (auto r = visit(target, state, order); !r) return std::unexpected(r.error());

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
          k == "SOURCE_DATE_EPOCH" || k == kSandboxHostname)
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
    ref.kind = value == "scratch" ? SourceRef::scratch : SourceRef::image;
    ref.name = value;
    return ref;
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
    auto check_declared = [&](std::string_view word, size_t offset) -> Result<std::string> {
      auto e = expand(word, global_lookup, lex_);
      if (!e) return std::unexpected(df_.error_at(from, offset, e.error().message));
      for (const auto& name : e->unset) {
        if (!global_declared_.count(name)) {
          return std::unexpected(df_.error_at(
              from, offset, fmt::format("ARG {} is used in FROM but never declared", name),
              fmt::format("declare it before the first FROM: ARG {}=<default>", name)));
        }
      }
      return e->word;
    };
    auto image = check_declared(fc.image, from.node->args_offset);
    if (!image) return std::unexpected(image.error());
    if (image->empty()) {
      return std::unexpected(
          df_.error_at(from, fmt::format("base name ({}) should not be blank", fc.image),
                       "give the ARG a default or pass --build-arg"));
    }
    out.platform = opts_.platform.str();
    if (fc.platform) {
      auto p = check_declared(fc.platform->value, fc.platform->offset);
      if (!p) return std::unexpected(p.error());
      auto parsed = parse_platform(*p);
      if (!parsed)
        return std::unexpected(df_.error_at(from, fc.platform->offset, parsed.error().message));
      out.platform = parsed->str();
    }

    std::vector<std::string> triggers;
    std::string base_key = to_lower(*image);
    if (auto it = names_.find(base_key); it != names_.end() && it->second != index) {
      if (it->second > index) {
        return std::unexpected(
            df_.error_at(from,
                         fmt::format("FROM {} names a stage defined later (line {})", *image,
                                     df_.stages[it->second].from.node->start_line),
                         "move that stage above this one"));
      }
      const auto& parent = results_[it->second];
      if (parent.error) return std::unexpected(*parent.error);
      out.base = {SourceRef::stage, it->first, it->second};
      out.config = parent.stage->config;
      triggers = std::move(out.config.onbuild);
      out.config.onbuild.clear();
      out.deps.push_back(it->second);
    } else if (base_key == "scratch") {
      out.base = {SourceRef::scratch, "scratch", -1};
      out.config.env.emplace_back("PATH", kDefaultPath);  // as BuildKit's empty image has
    } else {
      out.base = {SourceRef::image, *image, -1};
      if (opts_.base_config) {
        auto cfg = opts_.base_config(*image, out.platform);
        if (!cfg) return std::unexpected(df_.error_at(from, cfg.error().message));
        out.config = std::move(*cfg);
        triggers = std::move(out.config.onbuild);
        out.config.onbuild.clear();
      }
    }

    StageState ss{out, Vars(std::move(out.config.env)), {}, {}, false, index};
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
    for (const auto& ins : st.commands) {
      auto step = resolve_step(ins, ss, nullptr);
      if (!step) return std::unexpected(step.error());
      out.steps.push_back(std::move(*step));
    }
    results_[index].consumed = std::move(ss.consumed);
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
  };

  Result<Step> resolve_step(const Instruction& ins, StageState& ss, const Instruction* trigger_of) {
    // Errors in ONBUILD triggers point at the FROM that inherited them.
    const Instruction& at = trigger_of ? *trigger_of : ins;
    ImageConfig& cfg = ss.out.config;
    EnvLookup env = lookup_in(ss.env, ss.args);
    auto ex = [&](std::string_view w, size_t off = SIZE_MAX) {
      return expand_at(at, w, env, trigger_of ? SIZE_MAX : off);
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
            for (const auto& p : *ports) {
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
      auto m =
          resolve_mount(mf.fields, [&](std::string_view w) { return expand_word(w, env, lex_); });
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
    auto flag = [&](const std::optional<Flag>& f, std::string& out) -> Result<void> {
      if (!f) return {};
      auto v = expand_at(at, f->value, env, in_trigger ? SIZE_MAX : f->offset);
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
      auto v = expand_at(at, s, env);
      if (!v) return std::unexpected(v.error());
      if (v->empty()) continue;
      if (is_remote_source(*v) && !c.add) {
        return std::unexpected(df_.error_at(at,
                                            fmt::format("source can't be a URL for COPY: {}", *v),
                                            "use ADD to download a URL"));
      }
      c.sources.push_back(*v);
    }
    for (const auto& doc : cc.inline_files) {
      std::string data = doc.chomp ? chomp_heredoc(doc.content) : doc.content;
      if (doc.expand) {
        LexOptions o = lex_;
        o.skip_quotes = true;
        auto v = expand_word(data, env, o);
        if (!v) return std::unexpected(df_.error_at(at, v.error().message));
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
      if (auto bad = checksum_error(c.checksum))
        return std::unexpected(
            df_.error_at(at, off, *bad, "write --checksum=sha256:<64 hex digits>"));
    }
    auto dest = expand_at(at, cc.dest, env);
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
    if (c.sources.empty() && c.inline_files.empty()) {
      return std::unexpected(
          df_.error_at(at, fmt::format("{} has no source after expansion", keyword(ins.kind))));
    }
    std::string workdir = cfg.workdir.empty() ? "/" : cfg.workdir;
    std::string abs = clean_path(join_path(workdir, *dest));
    if (dir_dest && abs != "/") abs += "/";
    c.dest = abs;

    bool from_context = std::any_of(c.sources.begin(), c.sources.end(), [&](const std::string& s) {
      return !(c.add && is_remote_source(s));
    });
    if (opts_.context && c.from.kind == SourceRef::context && from_context) {
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

Platform host_platform() {
  Platform p;
  struct utsname u {};
  std::string m = uname(&u) == 0 ? u.machine : "x86_64";
  if (m == "x86_64")
    p.arch = "amd64";
  else if (m == "aarch64" || m == "arm64") {
    p.arch = "arm64";
  } else if (m.starts_with("armv7")) {
    p.arch = "arm";
    p.variant = "v7";
  } else if (m == "i686" || m == "i386") {
    p.arch = "386";
  } else {
    p.arch = m;
  }
  return p;
}

Result<Platform> parse_platform(std::string_view spec) {
  auto parts = split(spec, '/');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
    return fail(
        Errc::invalid_argument,
        fmt::format("invalid platform \"{}\": expected os/arch[/variant], e.g. linux/amd64", spec));
  }
  Platform p;
  p.os = to_lower(parts[0]);
  p.arch = to_lower(parts[1]);
  if (parts.size() == 3) p.variant = to_lower(parts[2]);
  return p;
}

Result<Plan> make_plan(const Dockerfile& df, const PlanOptions& opts) {
  return Planner(df, opts).run();
}

}  // namespace strata::frontend

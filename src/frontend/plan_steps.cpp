#include <fmt/format.h>

#include <algorithm>

#include "dockerfile/git_ref.hpp"
#include "frontend/planner.hpp"
#include "oci/reference.hpp"
#include "util/strings.hpp"

namespace strata::frontend::planning {

Result<Step> Planner::resolve_step(const Instruction& ins, StageState& ss,
                                   const Instruction* trigger_of) {
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
          auto v = TRY_VALUE(ex(*d.value));
          value = v;
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
        auto k = TRY_VALUE(ex(kv.key));
        auto v = TRY_VALUE(ex(kv.value));
        if (k.empty())
          return std::unexpected(
              df_.error_at(at, fmt::format("{} names can not be blank", keyword(ins.kind))));
        if (kv.legacy)
          note(ss, rules::LegacyKeyValueFormat, ins,
               fmt::format("\"{0} key=value\" should be used instead of legacy \"{0} key value\" "
                           "format",
                           keyword(ins.kind)));
        if (ins.kind == Kind::Env && looks_like_secret(k))
          note(ss, rules::SecretsUsedInArgOrEnv, ins,
               fmt::format("Do not use ARG or ENV instructions for sensitive data (ENV {})",
                           go_quote(k)));
        pairs.emplace_back(k, v);
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
      auto v = TRY_VALUE(ex(ins.as<ValueCmd>().value));
      bool& workdir_set = results_[ss.index].workdir_set;
      if (!workdir_set && !v.starts_with("/") && !ss.in_trigger)
        note(ss, rules::WorkdirRelativePath, ins,
             fmt::format("Relative workdir {} can have unexpected results if the base image "
                         "changes",
                         go_quote(v)));
      if (!ss.in_trigger) workdir_set = true;
      cfg.workdir = clean_path(join_path(cfg.workdir.empty() ? "/" : cfg.workdir, v));
      step.args.push_back(cfg.workdir);
      if (!cfg.user.empty()) step.args.push_back(cfg.user);  // who it is made as
      break;
    }
    case Kind::User: {
      auto v = TRY_VALUE(ex(ins.as<ValueCmd>().value));
      cfg.user = v;
      step.args.push_back(v);
      break;
    }
    case Kind::Stopsignal: {
      auto v = TRY_VALUE(ex(ins.as<ValueCmd>().value));
      std::string sig = v;
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
        auto v = TRY_VALUE(ex(item));
        for (const auto& part : split_words(v)) {
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
        auto v = TRY_VALUE(ex(item));
        if (trim(v).empty())
          return std::unexpected(df_.error_at(at, "VOLUME specified can not be an empty string"));
        add_sorted_unique(cfg.volumes, v);
        step.args.push_back(v);
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
      auto r = TRY_VALUE(resolve_run(ins, at, ss, env, trigger_of != nullptr));
      step.run = std::move(r);
      break;
    }
    case Kind::Add:
    case Kind::Copy: {
      auto c = TRY_VALUE(resolve_copy(ins, at, ss, env, trigger_of != nullptr));
      step.copy = std::move(c);
      break;
    }
  }
  step.history = history_of(step, ss);
  return step;
}

std::string Planner::go_list(const std::vector<std::string>& items, bool quoted) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i)
    out += (i ? " " : "") + (quoted ? go_quote(items[i]) : items[i]);
  return out + "]";
}

std::string Planner::history_of(const Step& step, const StageState& ss) const {
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

std::vector<std::string> Planner::split_words(const std::string& s) {
  std::vector<std::string> out;
  for (const auto& w : split(s, ' '))
    if (!trim(w).empty()) out.emplace_back(trim(w));
  return out;
}

Result<RunStep> Planner::resolve_run(const Instruction& ins, const Instruction& at, StageState& ss,
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
  // An ONBUILD trigger's RUN is not the instruction the comments are above.
  run.incremental = !in_trigger && dockerfile::has_mark(*ins.node, dockerfile::kIncrementalMark);
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
      auto ref = TRY_VALUE(resolve_ref(at, m->from, ss.index, off));
      if (ref.kind == SourceRef::stage) ss.out.deps.push_back(ref.index);
      source = ref;
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

Result<CopyStep> Planner::resolve_copy(const Instruction& ins, const Instruction& at,
                                       StageState& ss, const EnvLookup& env, bool in_trigger) {
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
    auto v = TRY_VALUE(ex(f->value, f->offset, lex_));
    out = v;
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
    TRY(flag(*f, *out));
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
    auto ref = TRY_VALUE(
        resolve_ref(at, from, ss.index, in_trigger ? at.node->args_offset : cc.from->offset));
    if (ref.kind == SourceRef::context) {
      return std::unexpected(df_.error_at(at, cc.from->offset, "--from must not be empty"));
    }
    if (ref.kind == SourceRef::stage && ref.index > ss.index) {
      return std::unexpected(df_.error_at(
          at, in_trigger ? at.node->args_offset : cc.from->offset,
          fmt::format("cannot copy from stage \"{}\", it needs to be defined before current "
                      "stage \"{}\"",
                      from, ss.out.name.empty() ? std::to_string(ss.index) : ss.out.name),
          "move the stage it copies from above this one"));
    }
    c.from = ref;
    if (ref.kind == SourceRef::stage) ss.out.deps.push_back(ref.index);
  }
  for (const auto& e : cc.excludes) {
    auto v = TRY_VALUE(expand_at(at, e.value, env, in_trigger ? SIZE_MAX : e.offset));
    c.excludes.push_back(v);
  }
  for (const auto& s : cc.sources) {
    auto v = TRY_VALUE(ex(s, at.node->args_offset, lex_));
    // As in BuildKit, a source that expands to nothing is the root.
    if (v.empty()) v = ".";
    if (is_remote_source(v) && !c.add) {
      return std::unexpected(df_.error_at(at, fmt::format("source can't be a URL for COPY: {}", v),
                                          "use ADD to download a URL"));
    }
    if (auto git = parse_git_ref(v); !git)
      return std::unexpected(df_.error_at(at, git.error().message,
                                          "see https://docs.docker.com/reference/dockerfile/"
                                          "#adding-private-git-repositories"));
    c.sources.push_back(v);
  }
  if (c.from.kind == SourceRef::context && c.from.name.empty()) lint_ignored_sources(ss, ins, c);
  for (const auto& doc : cc.inline_files) {
    std::string data = doc.chomp ? chomp_heredoc(doc.content) : doc.content;
    if (doc.expand) {
      LexOptions o = lex_;
      o.skip_quotes = true;
      auto v = TRY_VALUE(ex(data, at.node->args_offset, o));
      data = v;
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
        return std::unexpected(df_.error_at(at, files.error().message,
                                            "check the path, and .dockerignore if it excludes it"));
      }
      selected.insert(selected.end(), files->begin(), files->end());
    }
    c.selected = std::move(selected);
  }
  return c;
}

}  // namespace strata::frontend::planning

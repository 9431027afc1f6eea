#include "dockerfile/instructions.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "util/strings.hpp"

namespace strata::dockerfile {
namespace {

struct KindName {
  Kind kind;
  const char* name;
};
constexpr KindName kKinds[] = {
    {Kind::From, "FROM"},
    {Kind::Run, "RUN"},
    {Kind::Cmd, "CMD"},
    {Kind::Entrypoint, "ENTRYPOINT"},
    {Kind::Shell, "SHELL"},
    {Kind::Label, "LABEL"},
    {Kind::Expose, "EXPOSE"},
    {Kind::Env, "ENV"},
    {Kind::Add, "ADD"},
    {Kind::Copy, "COPY"},
    {Kind::Volume, "VOLUME"},
    {Kind::User, "USER"},
    {Kind::Workdir, "WORKDIR"},
    {Kind::Arg, "ARG"},
    {Kind::Onbuild, "ONBUILD"},
    {Kind::Stopsignal, "STOPSIGNAL"},
    {Kind::Healthcheck, "HEALTHCHECK"},
    {Kind::Maintainer, "MAINTAINER"},
};

enum class FlagType { boolean, string, strings };

// BuildKit's BFlags: --name=value / --name, checked against what the
// instruction accepts.
class FlagSet {
 public:
  FlagSet(const Node& node, const ParsedFile& file) : node_(node), file_(file) {}

  void add(std::string name, FlagType type) { types_[std::move(name)] = type; }

  Result<void> parse() {
    for (size_t i = 0; i < node_.flags.size(); ++i) {
      const std::string& arg = node_.flags[i];
      size_t off = node_.flag_offsets[i];
      if (!arg.starts_with("--"))
        return err(off, fmt::format("arg should start with -- : {}", arg));
      if (arg == "--") return {};
      std::string_view body = std::string_view(arg).substr(2);
      size_t eq = body.find('=');
      std::string name(body.substr(0, eq));
      bool has_value = eq != std::string_view::npos;
      std::string value = has_value ? std::string(body.substr(eq + 1)) : std::string();
      auto it = types_.find(name);
      if (it == types_.end()) {
        std::vector<std::string> names;
        for (auto& [n, t] : types_) names.push_back(n);
        std::string near = nearest(name, names);
        std::string kw = to_upper(node_.keyword);
        std::string hint = names.empty() ? fmt::format("{} takes no flags", kw)
                                         : fmt::format("{} accepts --{}", kw, join(names, ", --"));
        // BuildKit's words, its suggestion included.
        return err(off,
                   fmt::format("unknown flag: --{}{}", name,
                               near.empty() ? "" : fmt::format(" (did you mean {}?)", near)),
                   hint);
      }
      FlagType type = it->second;
      if (type != FlagType::strings && values_.count(name)) {
        return err(off, fmt::format("duplicate flag specified: --{}", name));
      }
      switch (type) {
        case FlagType::boolean: {
          if (has_value && value.empty())
            return err(off, fmt::format("missing a value on flag: --{}", name));
          std::string l = to_lower(value);
          if (l != "" && l != "true" && l != "false") {
            return err(off,
                       fmt::format("expecting boolean value for flag --{}, not: {}", name, value));
          }
          values_[name].push_back({l == "false" ? "false" : "true", off});
          break;
        }
        case FlagType::string:
        case FlagType::strings:
          if (!has_value) {
            return err(off, fmt::format("missing a value on flag: --{}", name),
                       fmt::format("write --{}=VALUE", name));
          }
          values_[name].push_back({value, off});
          break;
      }
    }
    return {};
  }

  std::optional<Flag> get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second.front();
  }
  std::vector<Flag> all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<Flag>{} : it->second;
  }
  bool flag_bool(const std::string& name) const {
    auto f = get(name);
    return f && f->value == "true";
  }

  Error error(size_t off, std::string_view msg, std::string_view hint = {}) const {
    return located_error(file_.source, node_.position(file_.source, off), msg, hint);
  }

 private:
  std::unexpected<Error> err(size_t off, std::string_view msg, std::string_view hint = {}) const {
    return std::unexpected(error(off, msg, hint));
  }

  const Node& node_;
  const ParsedFile& file_;
  std::map<std::string, FlagType> types_;
  std::map<std::string, std::vector<Flag>> values_;
};

class InstructionParser {
 public:
  InstructionParser(const Node& node, const ParsedFile& file)
      : node_(node), file_(file), flags_(node, file), kw_(to_upper(node.keyword)) {}

  Result<Instruction> run() {
    auto kind = kind_from_keyword(node_.keyword);
    if (!kind) {
      std::vector<std::string> names;
      for (const auto& k : kKinds) names.emplace_back(k.name);
      std::string near = nearest(node_.keyword, names);
      return std::unexpected(located_error(
          file_.source, node_.position(file_.source, 0),
          fmt::format("unknown instruction: {}", node_.keyword),
          near.empty() ? "see https://docs.docker.com/reference/dockerfile/ for the instructions"
                       : fmt::format("did you mean {}?", near)));
    }
    Instruction ins{*kind, &node_, ValueCmd{}};
    auto body = parse_body(*kind);
    if (!body) return std::unexpected(body.error());
    ins.body = std::move(*body);
    return ins;
  }

 private:
  std::unexpected<Error> err(std::string_view msg, std::string_view hint = {}) const {
    return std::unexpected(
        located_error(file_.source, node_.position(file_.source, node_.args_offset), msg, hint));
  }

  Result<Body> parse_body(Kind kind) {
    switch (kind) {
      case Kind::From:
        return parse_from();
      case Kind::Run:
        return parse_run();
      case Kind::Cmd:
      case Kind::Entrypoint:
      case Kind::Shell:
        return parse_exec(kind);
      case Kind::Env:
      case Kind::Label:
        return parse_kv();
      case Kind::Arg:
        return parse_arg();
      case Kind::Add:
      case Kind::Copy:
        return parse_copy(kind);
      case Kind::Expose:
      case Kind::Volume:
        return parse_list(kind);
      case Kind::User:
      case Kind::Workdir:
      case Kind::Stopsignal:
      case Kind::Maintainer:
        return parse_value(kind);
      case Kind::Healthcheck:
        return parse_healthcheck();
      case Kind::Onbuild:
        return parse_onbuild();
    }
    return err("internal error: unhandled instruction");
  }

  Result<Body> parse_from() {
    flags_.add("platform", FlagType::string);
    if (auto r = flags_.parse(); !r) return std::unexpected(r.error());
    const auto& v = node_.values;
    if (!(v.size() == 1 || (v.size() == 3 && iequals(v[1], "as")))) {
      return err("FROM requires either one or three arguments", "write FROM image[:tag] [AS name]");
    }
    FromCmd f;
    f.image = v[0];
    f.platform = flags_.get("platform");
    if (v.size() == 3) {
      f.stage_name = to_lower(v[2]);
      bool ok = !f.stage_name.empty() && f.stage_name[0] >= 'a' && f.stage_name[0] <= 'z';
      for (char c : f.stage_name) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
          ok = false;
      }
      if (!ok) {
        return err(fmt::format("invalid name for build stage: \"{}\", name can't start with a "
                               "number or contain symbols",
                               v[2]),
                   "stage names are letters, digits, '-', '_' and '.', starting with a letter");
      }
    }
    return f;
  }

  Result<Body> parse_run() {
    flags_.add("mount", FlagType::strings);
    flags_.add("network", FlagType::string);
    flags_.add("security", FlagType::string);
    if (auto r = flags_.parse(); !r) return std::unexpected(r.error());
    RunCmd run;
    for (const auto& f : flags_.all("mount")) {
      auto fields = parse_mount_fields(f.value);
      if (!fields) {
        return std::unexpected(flags_.error(f.offset, fields.error().message,
                                            "a mount is --mount=type=cache|bind|tmpfs|secret|ssh,"
                                            "target=PATH[,key=value...]"));
      }
      run.mounts.push_back({std::move(*fields), f.offset});
    }
    run.network = flags_.get("network");
    if (run.network) {
      const std::string& n = run.network->value;
      if (n != "default" && n != "none" && n != "host") {
        return std::unexpected(flags_.error(run.network->offset,
                                            fmt::format("unsupported network mode \"{}\"", n),
                                            "use --network=default, none or host"));
      }
    }
    run.security = flags_.get("security");
    if (run.security) {
      const std::string& s = run.security->value;
      if (s != "sandbox" && s != "insecure") {
        return std::unexpected(flags_.error(run.security->offset,
                                            fmt::format("unsupported security mode \"{}\"", s),
                                            "use --security=sandbox or insecure"));
      }
    }
    run.shell_form = !node_.json;
    run.args = node_.values;
    run.heredocs = node_.heredocs;
    if (run.args.empty() && run.shell_form) {
      return err("RUN requires at least one argument",
                 "write RUN command or RUN [\"exe\", \"arg\"]");
    }
    return run;
  }

  Result<Body> parse_exec(Kind kind) {
    if (auto r = flags_.parse(); !r) return std::unexpected(r.error());
    ExecCmd e;
    e.shell_form = !node_.json;
    e.args = node_.values;
    if (kind == Kind::Shell) {
      if (!node_.json) {
        return err("SHELL requires the arguments to be in JSON form",
                   "write SHELL [\"/bin/bash\", \"-c\"]");
      }
      if (e.args.empty()) return err("SHELL requires at least one argument");
    } else if (e.shell_form && e.args.empty()) {
      return err(fmt::format("{} requires at least one argument", kw_));
    }
    return e;
  }

  Result<Body> parse_kv() {
    if (auto r = flags_.parse(); !r) return std::unexpected(r.error());
    if (node_.values.empty()) {
      return err(fmt::format("{} requires at least one argument", kw_),
                 fmt::format("write {} name=value", kw_));
    }
    KeyValuesCmd kv;
    for (size_t i = 0; i + 1 < node_.values.size(); i += 3) {
      if (node_.values[i].empty()) {
        return err(fmt::format("{} names can not be blank", kw_));
      }
      kv.pairs.push_back({node_.values[i], node_.values[i + 1], node_.values[i + 2] != "="});
    }
    return kv;
  }

  Result<Body> parse_arg() {
    if (auto r = flags_.parse(); !r) return std::unexpected(r.error());
    if (node_.values.empty()) {
      return err("ARG requires at least one argument", "write ARG name or ARG name=default");
    }
    ArgCmd a;
    for (const auto& w : node_.values) {
      size_t eq = w.find('=');
      ArgCmd::Decl d;
      d.name = w.substr(0, eq);
      if (eq != std::string::npos) d.value = w.substr(eq + 1);
      if (d.name.empty()) return err("ARG names can not be blank");
      a.decls.push_back(std::move(d));
    }
    return a;
  }

  Result<Body> parse_copy(Kind kind) {
    bool add = kind == Kind::Add;
    flags_.add("chown", FlagType::string);
    flags_.add("chmod", FlagType::string);
    flags_.add("link", FlagType::boolean);
    flags_.add("exclude", FlagType::strings);
    if (add) {
      flags_.add("checksum", FlagType::string);
      flags_.add("keep-git-dir", FlagType::boolean);
      flags_.add("unpack", FlagType::boolean);
    } else {
      flags_.add("from", FlagType::string);
      flags_.add("parents", FlagType::boolean);
    }
    if (auto r = flags_.parse(); !r) return std::unexpected(r.error());
    if (node_.values.size() < 2) {
      return err(fmt::format("{} requires at least two arguments, but only {} provided. "
                             "Destination could not be determined",
                             kw_, node_.values.size() == 1 ? "one was" : "none were"),
                 fmt::format("write {} SOURCE... DEST", kw_));
    }
    CopyCmd c;
    c.json = node_.json;
    c.dest = node_.values.back();
    if (!c.json) {
      auto dest_doc = parse_heredoc(c.dest);
      if (dest_doc && *dest_doc) {
        return err(fmt::format("{} cannot accept a heredoc as a destination", kw_),
                   "the destination comes last: COPY <<EOF /path/file");
      }
    }
    std::map<std::string, const Heredoc*> docs;
    for (const auto& h : node_.heredocs) docs[h.name] = &h;
    for (size_t i = 0; i + 1 < node_.values.size(); ++i) {
      const std::string& src = node_.values[i];
      auto doc = c.json ? Result<std::optional<Heredoc>>(std::nullopt) : parse_heredoc(src);
      if (doc && *doc && docs.count((*doc)->name)) {
        c.inline_files.push_back(*docs[(*doc)->name]);
      } else {
        c.sources.push_back(src);
      }
    }
    c.from = flags_.get("from");
    c.chown = flags_.get("chown");
    c.chmod = flags_.get("chmod");
    c.checksum = flags_.get("checksum");
    c.excludes = flags_.all("exclude");
    c.link = flags_.flag_bool("link");
    c.parents = flags_.flag_bool("parents");
    c.keep_git_dir = flags_.flag_bool("keep-git-dir");
    if (flags_.get("unpack")) c.unpack = flags_.flag_bool("unpack");
    return c;
  }

  Result<Body> parse_list(Kind kind) {
    if (auto r = flags_.parse(); !r) return std::unexpected(r.error());
    ListCmd l;
    l.items = node_.values;
    if (l.items.empty()) {
      return err(fmt::format("{} requires at least one argument", kw_),
                 kind == Kind::Expose ? "write EXPOSE 80 or EXPOSE 53/udp" : "write VOLUME /data");
    }
    if (kind == Kind::Volume) {
      for (const auto& v : l.items) {
        if (trim(v).empty()) return err("VOLUME specified can not be an empty string");
      }
    }
    return l;
  }

  Result<Body> parse_value(Kind kind) {
    if (auto r = flags_.parse(); !r) return std::unexpected(r.error());
    if (node_.values.empty()) {
      std::string_view what = kind == Kind::User         ? "write USER name[:group] or uid[:gid]"
                              : kind == Kind::Workdir    ? "write WORKDIR /path"
                              : kind == Kind::Stopsignal ? "write STOPSIGNAL SIGTERM"
                                                         : "write MAINTAINER name";
      return err(fmt::format("{} requires exactly one argument", kw_), what);
    }
    ValueCmd v;
    v.value = node_.values[0];
    return v;
  }

  Result<Body> parse_healthcheck() {
    flags_.add("interval", FlagType::string);
    flags_.add("timeout", FlagType::string);
    flags_.add("start-period", FlagType::string);
    flags_.add("start-interval", FlagType::string);
    flags_.add("retries", FlagType::string);
    if (auto r = flags_.parse(); !r) return std::unexpected(r.error());
    HealthcheckCmd h;
    if (node_.values.empty()) {
      return err("HEALTHCHECK requires an argument",
                 "write HEALTHCHECK CMD command or HEALTHCHECK NONE");
    }
    std::string type = to_upper(node_.values[0]);
    if (type == "NONE") {
      if (node_.values.size() > 1 || !node_.flags.empty()) {
        return err("HEALTHCHECK NONE takes no other arguments");
      }
      h.none = true;
      return h;
    }
    if (type != "CMD") {
      return err(fmt::format("unknown type \"{}\" in HEALTHCHECK (try CMD)", node_.values[0]),
                 "write HEALTHCHECK [OPTIONS] CMD command or HEALTHCHECK NONE");
    }
    h.args.assign(node_.values.begin() + 1, node_.values.end());
    h.shell_form = !node_.json;
    if (h.args.empty()) return err("HEALTHCHECK CMD requires a command");
    struct {
      const char* name;
      int64_t* out;
    } durations[] = {{"interval", &h.interval},
                     {"timeout", &h.timeout},
                     {"start-period", &h.start_period},
                     {"start-interval", &h.start_interval}};
    for (auto& d : durations) {
      auto f = flags_.get(d.name);
      if (!f) continue;
      auto ns = parse_duration(f->value);
      if (!ns) {
        return std::unexpected(flags_.error(
            f->offset, fmt::format("invalid duration \"{}\" for --{}", f->value, d.name),
            "durations look like 30s, 1m30s or 500ms"));
      }
      if (*ns != 0 && *ns < 1000000) {
        return std::unexpected(
            flags_.error(f->offset, fmt::format("--{} cannot be less than 1ms", d.name)));
      }
      *d.out = *ns;
    }
    if (auto f = flags_.get("retries")) {
      int n = 0;
      auto [p, ec] = std::from_chars(f->value.data(), f->value.data() + f->value.size(), n);
      if (ec != std::errc() || p != f->value.data() + f->value.size()) {
        return std::unexpected(
            flags_.error(f->offset, fmt::format("invalid value \"{}\" for --retries", f->value)));
      }
      if (n < 0) return std::unexpected(flags_.error(f->offset, "--retries cannot be negative"));
      h.retries = n;
    }
    return h;
  }

  Result<Body> parse_onbuild() {
    if (auto r = flags_.parse(); !r) return std::unexpected(r.error());
    if (!node_.sub) return err("ONBUILD requires at least one argument", "write ONBUILD RUN ...");
    std::string inner = to_upper(node_.sub->keyword);
    if (inner == "ONBUILD") return err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (inner == "FROM" || inner == "MAINTAINER") {
      return err(fmt::format("{} isn't allowed as an ONBUILD trigger", inner));
    }
    // The trigger must itself be a valid instruction.
    auto trig = parse_instruction(*node_.sub, file_);
    if (!trig) return std::unexpected(trig.error());
    OnbuildCmd o;
    o.expression = std::string(trim(std::string_view(node_.original).substr(node_.args_offset)));
    // As BuildKit does, the trigger carries its heredoc bodies so that it
    // parses again on its own.
    for (const auto& h : node_.sub->heredocs) o.expression += "\n" + h.content + h.name;
    return o;
  }

  const Node& node_;
  const ParsedFile& file_;
  FlagSet flags_;
  std::string kw_;
};

}  // namespace

std::optional<int64_t> parse_duration(std::string_view s) {
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  double total = 0;
  bool any = false;
  while (!s.empty()) {
    auto num = take_number(s);
    if (!num) return std::nullopt;
    size_t u = 0;
    while (u < s.size() && !((s[u] >= '0' && s[u] <= '9') || s[u] == '.')) ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    double mult = 0;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
      mult = 1e3;
    else if (unit == "ms")
      mult = 1e6;
    else if (unit == "s")
      mult = 1e9;
    else if (unit == "m")
      mult = 60e9;
    else if (unit == "h")
      mult = 3600e9;
    else
      return std::nullopt;
    total += *num * mult;
    any = true;
  }
  if (!any) return std::nullopt;
  return static_cast<int64_t>(neg ? -total : total);
}

bool is_remote_source(std::string_view source) {
  return source.find("://") != std::string_view::npos || source.starts_with("git@");
}

std::string_view keyword(Kind k) {
  for (const auto& e : kKinds)
    if (e.kind == k) return e.name;
  return "?";
}

std::optional<Kind> kind_from_keyword(std::string_view word) {
  for (const auto& e : kKinds)
    if (iequals(word, e.name)) return e.kind;
  return std::nullopt;
}

Error Dockerfile::error_at(const Instruction& ins, size_t offset, std::string_view message,
                           std::string_view hint) const {
  return located_error(file.source, ins.node->position(file.source, offset), message, hint);
}

Result<Instruction> parse_instruction(const Node& node, const ParsedFile& file) {
  return InstructionParser(node, file).run();
}

namespace {

// What BuildKit checks on a node before it parses it.
void lint_node(const Node& node, Linter& lint) {
  auto report = [&](const LintRule& rule, std::string detail) {
    lint.report(rule, node.start_line, node.end_line, std::move(detail), node.comments);
  };
  if (iequals(node.keyword, "maintainer"))
    report(rules::MaintainerDeprecated,
           "Maintainer instruction is deprecated in favor of using label");
  if (!iequals(node.keyword, "from") || node.values.size() != 3) return;
  const std::string& as = node.values[1];
  const std::string& name = node.values[2];
  if (name != to_lower(name))
    report(rules::StageNameCasing, fmt::format("Stage name '{}' should be lowercase", name));
  // A FROM of mixed casing is ConsistentInstructionCasing's, not this rule's.
  bool lower = node.keyword == to_lower(node.keyword);
  bool upper = node.keyword == to_upper(node.keyword);
  if ((lower && as != to_lower(as)) || (upper && as != to_upper(as)))
    report(rules::FromAsCasing,
           fmt::format("'{}' and '{}' keywords' casing do not match", as, node.keyword));
}

// The experimental check that a comment right above a named stage or an ARG
// starts with the name it describes.
void lint_definition(const Node& node, const Instruction& ins, Linter& lint) {
  std::vector<std::string> names;
  if (ins.kind == Kind::From && !ins.as<FromCmd>().stage_name.empty())
    names.push_back(ins.as<FromCmd>().stage_name);
  if (ins.kind == Kind::Arg)
    for (const auto& d : ins.as<ArgCmd>().decls) names.push_back(d.name);
  if (names.empty() || node.comments.empty()) return;
  std::string first = split(node.comments.back(), ' ')[0];
  if (std::find(names.begin(), names.end(), first) != names.end()) return;
  lint.report(rules::InvalidDefinitionDescription, node.start_line, node.end_line,
              fmt::format("Comment for {} should follow the format: `# {} <description>`",
                          keyword(ins.kind), names.size() > 1 ? "<arg_key>" : names[0]),
              node.comments);
}

// A mark that does nothing where it is says so.
void check_marks(const Node& node, const Instruction& ins, std::vector<Warning>& warnings) {
  for (const auto& c : node.comments) {
    if (!c.starts_with("strata:")) continue;
    if (c != kIncrementalMark)
      warnings.push_back(
          {node.start_line, fmt::format("# {} is not a strata mark (# {} is one); it does nothing",
                                        c, kIncrementalMark)});
    else if (ins.kind != Kind::Run)
      warnings.push_back({node.start_line, fmt::format("# {} marks a RUN, not {}; it does nothing "
                                                       "here",
                                                       c, keyword(ins.kind))});
  }
}

}  // namespace

bool has_mark(const Node& node, std::string_view mark) {
  return std::find(node.comments.begin(), node.comments.end(), mark) != node.comments.end();
}

Result<Dockerfile> read_dockerfile(std::string_view text, std::string name, Linter* lint) {
  auto parsed = parse(text, std::move(name));
  if (!parsed) return std::unexpected(parsed.error());
  Dockerfile df;
  df.file = std::move(*parsed);
  if (lint) {
    if (df.file.directives.check) {
      if (auto r = lint->use_directive(*df.file.directives.check); !r)
        return std::unexpected(r.error().with_context(df.file.source.name));
    }
    for (int line : df.file.empty_continuations)
      lint->report(rules::NoEmptyContinuation, line, line, "Empty continuation line");
  }
  for (const auto& node : df.file.nodes) {
    if (lint) lint_node(node, *lint);
    auto ins = parse_instruction(node, df.file);
    if (!ins) return std::unexpected(ins.error());
    if (lint) lint_definition(node, *ins, *lint);
    check_marks(node, *ins, df.file.warnings);
    if (ins->kind == Kind::From) {
      df.stages.push_back(Stage{std::move(*ins), {}});
    } else if (df.stages.empty()) {
      if (ins->kind != Kind::Arg) {
        return std::unexpected(df.error_at(
            *ins, 0, fmt::format("{} before the first FROM", keyword(ins->kind)),
            "only ARG may come before the first FROM; start the stage with FROM image"));
      }
      df.global_args.push_back(std::move(*ins));
    } else {
      df.stages.back().commands.push_back(std::move(*ins));
    }
  }
  if (df.stages.empty()) {
    return std::unexpected(
        located_error(df.file.source, {df.file.nodes.back().start_line, 1},
                      "dockerfile contains no stages to build: it has no FROM instruction",
                      "every build stage starts with FROM image (or FROM scratch)"));
  }
  return df;
}

}  // namespace strata::dockerfile

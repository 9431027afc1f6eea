#include "frontend/plan_format.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "util/strings.hpp"

namespace strata::frontend {

using dockerfile::Kind;
using nlohmann::json;

namespace {

// A word as a shell would need it: bare when safe, else double-quoted.
std::string show(const std::string& s) {
  bool safe = !s.empty();
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("-_./:=@%+,^~").find(c) != std::string_view::npos;
    if (!ok) safe = false;
  }
  return safe ? s : go_quote(s);
}

std::string show_kv(const std::string& kv) {
  size_t eq = kv.find('=');
  if (eq == std::string::npos) return show(kv);
  return show(kv.substr(0, eq)) + "=" + show(kv.substr(eq + 1));
}

std::string argv_text(const std::vector<std::string>& argv) {
  std::string out = "[";
  for (size_t i = 0; i < argv.size(); ++i) out += (i ? ", " : "") + go_quote(argv[i]);
  return out + "]";
}

std::string ref_text(const SourceRef& r) {
  switch (r.kind) {
    case SourceRef::context:
      return r.name.empty() ? "context" : "build context " + r.name;
    case SourceRef::scratch:
      return "scratch";
    case SourceRef::image:
      return "image " + r.name;
    case SourceRef::stage:
      return r.name.empty() ? fmt::format("stage {}", r.index)
                            : fmt::format("stage {} ({})", r.index, r.name);
  }
  return "?";
}

std::string mount_text(const dockerfile::Mount& m) {
  std::string out = fmt::format("type={}", dockerfile::to_string(m.type));
  if (!m.target.empty()) out += ",target=" + m.target;
  if (!m.id.empty() && m.type != dockerfile::MountType::bind &&
      m.type != dockerfile::MountType::tmpfs)
    out += ",id=" + m.id;
  if (!m.from.empty()) out += ",from=" + m.from;
  if (!m.source.empty()) out += ",source=" + m.source;
  if (m.type == dockerfile::MountType::cache)
    out += fmt::format(",sharing={}", dockerfile::to_string(m.sharing));
  if (m.env) out += ",env=" + *m.env;
  out += m.readonly ? ",ro" : ",rw";
  if (m.required) out += ",required";
  if (m.mode) out += fmt::format(",mode={:04o}", *m.mode);
  if (m.uid) out += fmt::format(",uid={}", *m.uid);
  if (m.gid) out += fmt::format(",gid={}", *m.gid);
  if (m.size) out += fmt::format(",size={}", *m.size);
  return out;
}

json mount_json(const dockerfile::Mount& m) {
  json j = {
      {"type", dockerfile::to_string(m.type)}, {"target", m.target}, {"readonly", m.readonly}};
  if (!m.id.empty()) j["id"] = m.id;
  if (!m.from.empty()) j["from"] = m.from;
  if (!m.source.empty()) j["source"] = m.source;
  if (m.type == dockerfile::MountType::cache) j["sharing"] = dockerfile::to_string(m.sharing);
  if (m.type == dockerfile::MountType::secret || m.type == dockerfile::MountType::ssh)
    j["required"] = m.required;
  if (m.env) j["env"] = *m.env;
  if (m.mode) j["mode"] = fmt::format("{:04o}", *m.mode);
  if (m.uid) j["uid"] = *m.uid;
  if (m.gid) j["gid"] = *m.gid;
  if (m.size) j["size"] = *m.size;
  return j;
}

json ref_json(const SourceRef& r) {
  static const char* kinds[] = {"context", "scratch", "image", "stage"};
  json j = {{"kind", kinds[r.kind]}};
  if (!r.name.empty()) j["name"] = r.name;
  if (r.kind == SourceRef::stage) j["stage"] = r.index;
  return j;
}

json healthcheck_json(const Healthcheck& h) {
  json j = {{"test", h.test}};
  if (h.interval) j["interval"] = h.interval;
  if (h.timeout) j["timeout"] = h.timeout;
  if (h.start_period) j["start_period"] = h.start_period;
  if (h.start_interval) j["start_interval"] = h.start_interval;
  if (h.retries) j["retries"] = h.retries;
  return j;
}

std::string healthcheck_text(const Healthcheck& h) {
  std::string out = argv_text(h.test);
  if (h.interval) out += " interval=" + format_duration(h.interval);
  if (h.timeout) out += " timeout=" + format_duration(h.timeout);
  if (h.start_period) out += " start-period=" + format_duration(h.start_period);
  if (h.start_interval) out += " start-interval=" + format_duration(h.start_interval);
  if (h.retries) out += fmt::format(" retries={}", h.retries);
  return out;
}

json env_json(const EnvList& env) {
  json j = json::array();
  for (const auto& [k, v] : env) j.push_back(k + "=" + v);
  return j;
}

}  // namespace

std::string format_duration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  if (ns < 1000000000) {
    if (ns % 1000000 == 0) return out + fmt::format("{}ms", ns / 1000000);
    if (ns % 1000 == 0) return out + fmt::format("{}us", ns / 1000);
    return out + fmt::format("{}ns", ns);
  }
  int64_t h = ns / 3600000000000LL;
  ns %= 3600000000000LL;
  int64_t m = ns / 60000000000LL;
  ns %= 60000000000LL;
  if (h) out += fmt::format("{}h", h);
  if (h || m) out += fmt::format("{}m", m);
  int64_t s = ns / 1000000000, frac = ns % 1000000000;
  if (frac == 0) return out + fmt::format("{}s", s);
  std::string f = fmt::format("{:09d}", frac);
  while (!f.empty() && f.back() == '0') f.pop_back();
  return out + fmt::format("{}.{}s", s, f);
}

std::string plan_to_text(const Plan& plan) {
  std::string out;
  std::vector<std::string> names;
  for (const auto& st : plan.stages)
    names.push_back(st.name.empty() ? std::to_string(st.index)
                                    : fmt::format("{} ({})", st.index, st.name));
  out += fmt::format("target {} for {}: build stages {}\n", show(plan.target), plan.platform,
                     join(names, ", "));
  for (const auto& st : plan.stages) {
    out += fmt::format("\nstage {}{}: FROM {}", st.index, st.name.empty() ? "" : " " + st.name,
                       ref_text(st.base));
    if (st.platform != plan.platform) out += " platform=" + st.platform;
    out += fmt::format("  [{}:{}]\n", plan.dockerfile, st.line);
    for (const auto& step : st.steps) {
      std::string loc = step.line == step.end_line ? fmt::format("{}", step.line)
                                                   : fmt::format("{}-{}", step.line, step.end_line);
      std::string head = fmt::format("  {:<6} {}", loc, dockerfile::keyword(step.kind));
      if (step.onbuild)
        head = fmt::format("  {:<6} (ONBUILD) {}", loc, dockerfile::keyword(step.kind));
      std::string body;
      std::vector<std::string> details;
      switch (step.kind) {
        case Kind::Env:
        case Kind::Label:
        case Kind::Arg:
          for (const auto& a : step.args) (body += ' ') += show_kv(a);
          break;
        case Kind::Cmd:
        case Kind::Entrypoint:
        case Kind::Shell:
          body = " " + argv_text(step.args);
          break;
        case Kind::Healthcheck:
          body = " " + healthcheck_text(*step.healthcheck);
          break;
        case Kind::Run: {
          const RunStep& r = *step.run;
          body = " " + argv_text(r.argv);
          for (const auto& m : r.mounts) details.push_back("mount " + mount_text(m));
          if (r.network != "default") details.push_back("network " + r.network);
          if (r.security != "sandbox") details.push_back("security " + r.security);
          if (r.incremental)
            details.push_back("incremental: on a miss, runs on its earlier result");
          for (const auto& f : r.files)
            details.push_back(fmt::format("file /dev/pipes/{} {}", f.name, go_quote(f.content)));
          std::vector<std::string> env;
          for (const auto& [k, v] : r.env) env.push_back(show_kv(k + "=" + v));
          details.push_back("env " + join(env, " "));
          if (!r.proxy_env.empty()) {
            std::vector<std::string> proxy;
            for (const auto& [k, v] : r.proxy_env) proxy.push_back(show_kv(k + "=" + v));
            details.push_back("proxy env (not in the cache key) " + join(proxy, " "));
          }
          details.push_back(
              fmt::format("as {} in {}", r.user.empty() ? "root" : show(r.user), show(r.workdir)));
          break;
        }
        case Kind::Add:
        case Kind::Copy: {
          const CopyStep& c = *step.copy;
          std::vector<std::string> srcs;
          for (const auto& s : c.sources) srcs.push_back(show(s));
          for (const auto& f : c.inline_files) srcs.push_back(fmt::format("<<{}", f.name));
          body = fmt::format(" {} -> {}", join(srcs, " "), show(c.dest));
          std::vector<std::string> opts;
          if (c.from.kind != SourceRef::context || !c.from.name.empty())
            opts.push_back("from " + ref_text(c.from));
          if (!c.chown.empty()) opts.push_back("chown=" + show(c.chown));
          if (!c.chmod.empty()) opts.push_back("chmod=" + show(c.chmod));
          if (!c.checksum.empty()) opts.push_back("checksum=" + show(c.checksum));
          for (const auto& e : c.excludes) opts.push_back("exclude=" + show(e));
          if (c.link) opts.push_back("link");
          if (c.parents) opts.push_back("parents");
          if (c.keep_git_dir) opts.push_back("keep-git-dir");
          if (c.unpack) opts.push_back(*c.unpack ? "unpack" : "unpack=false");
          if (!opts.empty()) details.push_back(join(opts, " "));
          for (const auto& f : c.inline_files)
            details.push_back(fmt::format("<<{} {}", f.name, go_quote(f.content)));
          if (c.selected) {
            constexpr size_t kShown = 50;
            std::string files;
            for (size_t i = 0; i < c.selected->size() && i < kShown; ++i)
              (files += ' ') += show((*c.selected)[i]);
            if (c.selected->size() > kShown)
              files += fmt::format(" ... and {} more (--format json lists all)",
                                   c.selected->size() - kShown);
            details.push_back(fmt::format("context files ({}):{}", c.selected->size(), files));
          }
          break;
        }
        default:
          for (const auto& a : step.args) (body += ' ') += show(a);
      }
      out += head + body + "\n";
      for (const auto& d : details) out += "           " + d + "\n";
    }
  }
  return out;
}

json plan_to_json(const Plan& plan) {
  json stages = json::array();
  for (const auto& st : plan.stages) {
    json steps = json::array();
    for (const auto& step : st.steps) {
      json s = {{"instruction", dockerfile::keyword(step.kind)},
                {"line", step.line},
                {"end_line", step.end_line},
                {"text", step.text}};
      if (step.onbuild) s["onbuild"] = true;
      if (!step.args.empty()) s["args"] = step.args;
      if (step.healthcheck) s["healthcheck"] = healthcheck_json(*step.healthcheck);
      if (step.run) {
        const RunStep& r = *step.run;
        json mounts = json::array();
        for (const auto& m : r.mounts) mounts.push_back(mount_json(m));
        json run = {{"argv", r.argv},        {"env", env_json(r.env)}, {"user", r.user},
                    {"workdir", r.workdir},  {"mounts", mounts},       {"network", r.network},
                    {"security", r.security}};
        if (!r.proxy_env.empty()) run["proxy_env"] = env_json(r.proxy_env);
        if (r.incremental) run["incremental"] = true;
        if (!r.files.empty()) {
          json files = json::array();
          for (const auto& f : r.files)
            files.push_back({{"path", "/dev/pipes/" + f.name}, {"content", f.content}});
          run["files"] = files;
        }
        s["run"] = run;
      }
      if (step.copy) {
        const CopyStep& c = *step.copy;
        json inl = json::array();
        for (const auto& f : c.inline_files)
          inl.push_back({{"name", f.name}, {"content", f.content}});
        json cj = {{"from", ref_json(c.from)}, {"sources", c.sources}, {"inline_files", inl},
                   {"dest", c.dest},           {"link", c.link},       {"parents", c.parents},
                   {"excludes", c.excludes}};
        if (!c.chown.empty()) cj["chown"] = c.chown;
        if (!c.chmod.empty()) cj["chmod"] = c.chmod;
        if (!c.checksum.empty()) cj["checksum"] = c.checksum;
        if (c.keep_git_dir) cj["keep_git_dir"] = true;
        if (c.unpack) cj["unpack"] = *c.unpack;
        if (c.selected) cj["context_files"] = *c.selected;
        s[c.add ? "add" : "copy"] = cj;
      }
      steps.push_back(s);
    }
    const ImageConfig& c = st.config;
    json config = {{"env", env_json(c.env)}, {"workdir", c.workdir},
                   {"user", c.user},         {"shell", c.shell},
                   {"labels", c.labels},     {"exposed_ports", c.exposed_ports},
                   {"volumes", c.volumes}};
    if (c.cmd) config["cmd"] = *c.cmd;
    if (c.entrypoint) config["entrypoint"] = *c.entrypoint;
    if (!c.stop_signal.empty()) config["stop_signal"] = c.stop_signal;
    if (c.healthcheck) config["healthcheck"] = healthcheck_json(*c.healthcheck);
    if (!c.onbuild.empty()) config["onbuild"] = c.onbuild;
    if (!c.author.empty()) config["author"] = c.author;
    json stage = {{"index", st.index},       {"line", st.line}, {"base", ref_json(st.base)},
                  {"platform", st.platform}, {"deps", st.deps}, {"steps", steps},
                  {"config", config}};
    if (!st.name.empty()) stage["name"] = st.name;
    stages.push_back(stage);
  }
  return {{"dockerfile", plan.dockerfile},
          {"target", plan.target},
          {"platform", plan.platform},
          {"warnings", plan.warnings},
          {"stages", stages}};
}

std::string plan_to_json_text(const Plan& plan) {
  return plan_to_json(plan).dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace strata::frontend

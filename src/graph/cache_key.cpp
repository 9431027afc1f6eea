#include "graph/cache_key.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <map>
#include <unordered_map>

#include "digest/sha256.hpp"
#include "util/strings.hpp"

using nlohmann::json;

namespace strata::graph {

namespace {

// Length-prefixed fields: no two different inputs encode alike.
void put(Sha256& h, std::string_view name, std::string_view value) {
  std::string head = fmt::format("{}\n{}:", name, value.size());
  h.update(head);
  h.update(value);
  h.update("\n", 1);
}

std::string show(const std::string& v) {
  return v.size() > 60 ? v.substr(0, 57) + "..." : v;
}

// The file list of a record as one string (a 5,000-file COPY's list is
// parsed and written much faster so than as 5,000 JSON arrays): a line per
// file, "type mode(octal) uid gid content path\tlink", where path and link
// escape backslash, tab and newline as \\, \t, \n; content is "-" when
// empty.
void escape_to(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    out += c == 't' ? '\t' : c == 'n' ? '\n' : c;
  }
  return out;
}

std::string encode_files(const std::vector<FileEntry>& files) {
  std::string out;
  for (const auto& f : files) {
    fmt::format_to(std::back_inserter(out), "{} {:o} {} {} {} ", f.type, f.mode, f.uid, f.gid,
                   f.content.empty() ? "-" : f.content);
    escape_to(out, f.path);
    out += '\t';
    escape_to(out, f.link);
    out += '\n';
  }
  return out;
}

// Lines that do not parse are left out (a damaged record explains less).
std::vector<FileEntry> decode_files(std::string_view text) {
  std::vector<FileEntry> files;
  files.reserve(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')));
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    FileEntry e;
    size_t at = 0;
    auto field = [&]() {
      size_t sp = line.find(' ', at);
      if (sp == std::string_view::npos) return std::string_view();
      std::string_view f = line.substr(at, sp - at);
      at = sp + 1;
      return f;
    };
    std::string_view type = field(), mode = field(), uid = field(), gid = field(),
                     content = field();
    size_t tab = line.find('\t', at);
    if (type.size() != 1 || content.empty() || tab == std::string_view::npos) continue;
    auto number = [](std::string_view v, int base, uint32_t& out) {
      auto n = parse_number<uint32_t>(v, base);
      if (n) out = *n;
      return n.has_value();
    };
    if (!number(mode, 8, e.mode) || !number(uid, 10, e.uid) || !number(gid, 10, e.gid)) continue;
    e.type = type[0];
    if (content != "-") e.content = content;
    e.path = unescape(line.substr(at, tab - at));
    e.link = unescape(line.substr(tab + 1));
    files.push_back(std::move(e));
  }
  return files;
}

}  // namespace

std::string StepInputs::files_digest() const {
  if (files.empty()) return {};
  std::vector<const FileEntry*> sorted;
  for (const auto& f : files) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->path < b->path; });
  Sha256 h;
  for (const auto* f : sorted) {
    put(h, "path", f->path);
    put(h, "entry", fmt::format("{}:{:o}:{}:{}", f->type, f->mode, f->uid, f->gid));
    put(h, "link", f->link);
    put(h, "content", f->content);
  }
  return h.finish();
}

std::string StepInputs::key() const {
  Sha256 h;
  put(h, "strata-step-v1", "");
  put(h, "parent", parent);
  put(h, "instruction", instruction);
  for (const auto& [k, v] : env) put(h, "env:" + k, v);
  put(h, "user", user);
  put(h, "workdir", workdir);
  put(h, "platform", platform);
  for (const auto& [k, v] : extra) put(h, "extra:" + k, v);
  put(h, "files", files_digest());
  return h.finish();
}

json StepInputs::to_json() const {
  json j = {{"parent", parent},
            {"instruction", instruction},
            {"user", user},
            {"workdir", workdir},
            {"platform", platform}};
  json e = json::array();
  for (const auto& [k, v] : env) e.push_back({k, v});
  j["env"] = e;
  json x = json::array();
  for (const auto& [k, v] : extra) x.push_back({k, v});
  j["extra"] = x;
  j["files"] = encode_files(files);
  return j;
}

StepInputs StepInputs::from_json(const json& j) {
  StepInputs s;
  s.parent = j.value("parent", "");
  s.instruction = j.value("instruction", "");
  s.user = j.value("user", "");
  s.workdir = j.value("workdir", "");
  s.platform = j.value("platform", "");
  // By reference: value() would copy a big COPY's thousands of entries.
  static const json none = json::array();
  auto list = [&](const char* key) -> const json& {
    auto it = j.find(key);
    return it != j.end() && it->is_array() ? *it : none;
  };
  for (const auto& p : list("env"))
    s.env.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
  for (const auto& p : list("extra"))
    s.extra.emplace_back(p[0].get<std::string>(), p[1].get<std::string>());
  if (auto it = j.find("files"); it != j.end() && it->is_string()) {
    s.files = decode_files(it->get_ref<const std::string&>());
    return s;
  }
  // Records written before the files were one string: an array per file.
  const json& files = list("files");
  s.files.reserve(files.size());
  for (const auto& f : files) {
    FileEntry e;
    e.path = f[0].get_ref<const std::string&>();
    e.type = f[1].get_ref<const std::string&>()[0];
    e.mode = f[2].get<uint32_t>();
    e.uid = f[3].get<uint32_t>();
    e.gid = f[4].get<uint32_t>();
    e.link = f[5].get_ref<const std::string&>();
    e.content = f[6].get_ref<const std::string&>();
    s.files.push_back(std::move(e));
  }
  return s;
}

std::string explain_difference(const StepInputs& before, const StepInputs& now) {
  if (before.instruction != now.instruction) {
    return fmt::format("instruction changed: \"{}\" → \"{}\"", show(before.instruction),
                       show(now.instruction));
  }
  std::map<std::string, std::string> old_env(before.env.begin(), before.env.end());
  std::map<std::string, std::string> new_env(now.env.begin(), now.env.end());
  std::vector<std::string> env_changes;
  for (const auto& [k, v] : new_env) {
    auto it = old_env.find(k);
    if (it == old_env.end())
      env_changes.push_back(fmt::format("{} (unset) → \"{}\"", k, show(v)));
    else if (it->second != v)
      env_changes.push_back(fmt::format("{} \"{}\" → \"{}\"", k, show(it->second), show(v)));
  }
  for (const auto& [k, v] : old_env)
    if (!new_env.count(k)) env_changes.push_back(fmt::format("{} \"{}\" → (unset)", k, show(v)));
  if (!env_changes.empty()) {
    std::string out = "ARG/ENV changed: ";
    for (size_t i = 0; i < env_changes.size(); ++i) out += (i ? ", " : "") + env_changes[i];
    return out;
  }
  {
    // Paths as views in hash maps: a big COPY lists thousands of files. The
    // changes are told in path order, what is new or changed first.
    std::unordered_map<std::string_view, const FileEntry*> a, b;
    a.reserve(before.files.size());
    b.reserve(now.files.size());
    for (const auto& f : before.files) a[f.path] = &f;
    for (const auto& f : now.files) b[f.path] = &f;
    std::vector<std::pair<std::string_view, const char*>> changed, removed;
    for (const auto& [p, f] : b) {
      auto it = a.find(p);
      if (it == a.end())
        changed.emplace_back(p, "added ");
      else if (it->second->content != f->content || it->second->type != f->type ||
               it->second->link != f->link)
        changed.emplace_back(p, "modified ");
      else if (it->second->mode != f->mode || it->second->uid != f->uid ||
               it->second->gid != f->gid)
        changed.emplace_back(p, "mode or owner of ");
    }
    for (const auto& [p, f] : a)
      if (!b.count(p)) removed.emplace_back(p, "removed ");
    std::sort(changed.begin(), changed.end());
    std::sort(removed.begin(), removed.end());
    changed.insert(changed.end(), removed.begin(), removed.end());
    std::vector<std::string> changes;
    for (size_t i = 0; i < changed.size() && i < 10; ++i)
      changes.push_back(changed[i].second + std::string(changed[i].first));
    size_t total = changed.size();
    if (total == 0 && before.files_digest() != now.files_digest()) {
      changes.push_back("the same paths with other contents (a path copied twice)");
      total = 1;
    }
    if (total > 0) {
      std::string out = "files changed: ";
      for (size_t i = 0; i < changes.size(); ++i) out += (i ? ", " : "") + changes[i];
      if (total > changes.size()) out += fmt::format(" and {} more", total - changes.size());
      return out;
    }
  }
  if (before.user != now.user || before.workdir != now.workdir) {
    return fmt::format("user/workdir changed: {}:{} → {}:{}", before.user, before.workdir, now.user,
                       now.workdir);
  }
  if (before.extra != now.extra) {
    for (const auto& [k, v] : now.extra) {
      if (k != "from") continue;
      for (const auto& [k0, v0] : before.extra) {
        if (k0 == "from" && v0 != v) {
          return Source::is_stage(v) && Source::is_stage(v0)
                     ? "the stage it copies from changed (a step there missed)"
                     : fmt::format("the image it copies from changed: {} → {}", show(v0), show(v));
        }
      }
    }
    for (size_t i = 0; i < std::max(before.extra.size(), now.extra.size()); ++i) {
      std::string o =
          i < before.extra.size() ? before.extra[i].first + "=" + before.extra[i].second : "(none)";
      std::string n =
          i < now.extra.size() ? now.extra[i].first + "=" + now.extra[i].second : "(none)";
      if (o != n) return fmt::format("flags changed: {} → {}", show(o), show(n));
    }
  }
  if (before.platform != now.platform)
    return fmt::format("platform changed: {} → {}", before.platform, now.platform);
  if (before.parent != now.parent) {
    if (Source::is_base(before.parent) && Source::is_base(now.parent))
      return fmt::format("base image changed: {} → {}", Source::base_name(before.parent),
                         Source::base_name(now.parent));
    return "parent changed (an earlier step missed)";
  }
  return {};
}

}  // namespace strata::graph

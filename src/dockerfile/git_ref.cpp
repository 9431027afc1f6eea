#include "dockerfile/git_ref.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>

#include "dockerfile/dockerignore.hpp"
#include "util/strings.hpp"

namespace strata::dockerfile {

namespace {

// Percent-decoding of a query component ('+' is a space, as Go's
// url.ParseQuery has it).
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

// The fragment `ref[:subdir]`, the subdir cleaned as BuildKit cleans it.
void read_fragment(std::string_view fragment, GitRef& g) {
  size_t colon = fragment.find(':');
  g.ref = std::string(fragment.substr(0, colon));
  if (colon != std::string_view::npos) {
    std::string sub = "/";
    sub.append(fragment.substr(colon + 1));
    sub = clean_path(sub);
    g.subdir = sub == "/" ? "" : sub.substr(1);
  }
}

Result<void> read_query(std::string_view query, GitRef& g) {
  std::map<std::string, std::vector<std::string>> values;
  for (const auto& part : split(query, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    values[unescape(std::string_view(part).substr(0, eq))].push_back(
        eq == std::string::npos ? "" : unescape(std::string_view(part).substr(eq + 1)));
  }
  auto bad = [](std::string what) { return fail(Errc::invalid_argument, std::move(what)); };
  std::string tag, branch;
  for (const auto& [k, vs] : values) {
    if (vs.size() > 1) return bad(fmt::format("query \"{}\" has multiple values", k));
    const std::string& v = vs[0];
    bool flag_key = k == "submodules" || k == "keep-git-dir" || k == "fetch-by-commit";
    if (v.empty() && !flag_key) return bad(fmt::format("query \"{}\" has no value", k));
    auto boolean = [&](std::optional<bool>& out) -> Result<void> {
      auto b = v.empty() ? std::optional(true) : parse_go_bool(v);
      if (!b) return bad(fmt::format("invalid {} value: \"{}\"", k, v));
      out = *b;
      return {};
    };
    if (k == "ref") {
      if (!g.ref.empty() && g.ref != v)
        return bad(fmt::format("ref conflicts: \"{}\" vs \"{}\"", g.ref, v));
      g.ref = v;
    } else if (k == "tag") {
      tag = v;
    } else if (k == "branch") {
      branch = v;
    } else if (k == "subdir") {
      if (!g.subdir.empty() && g.subdir != v)
        return bad(fmt::format("subdir conflicts: \"{}\" vs \"{}\"", g.subdir, v));
      g.subdir = v;
    } else if (k == "checksum" || k == "commit") {
      g.checksum = v;
    } else if (k == "keep-git-dir") {
      if (auto r = boolean(g.keep_git_dir); !r) return r;
    } else if (k == "submodules") {
      if (auto r = boolean(g.submodules); !r) return r;
    } else if (k == "mtime") {
      if (v != "checkout" && v != "commit")
        return bad(
            fmt::format("invalid mtime value: \"{}\" (must be \"checkout\" or \"commit\")", v));
      g.mtime = v;
    } else if (k == "fetch-by-commit") {
      std::optional<bool> ignored;  // strata always fetches the commit it resolved
      if (auto r = boolean(ignored); !r) return r;
    } else {
      return bad(fmt::format("unexpected query \"{}\"", k));
    }
  }
  if (!tag.empty()) {
    if (!tag.starts_with("refs/tags/")) tag = "refs/tags/" + tag;
    if (!g.ref.empty() && g.ref != tag)
      return bad(fmt::format("ref conflicts: \"{}\" vs \"{}\"", g.ref, tag));
    g.ref = tag;
  }
  if (!branch.empty()) {
    if (!tag.empty()) return bad("branch conflicts with tag");
    if (!branch.starts_with("refs/heads/")) branch = "refs/heads/" + branch;
    if (!g.ref.empty() && g.ref != branch)
      return bad(fmt::format("ref conflicts: \"{}\" vs \"{}\"", g.ref, branch));
    g.ref = branch;
  }
  return {};
}

}  // namespace

bool is_commit_hash(std::string_view s) {
  return s.size() >= 4 && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Result<std::optional<GitRef>> parse_git_ref(std::string_view source) {
  std::string_view rest = source;
  std::string_view fragment, query;
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    std::string scheme = to_lower(rest.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https" && scheme != "git" && scheme != "ssh")
      return std::nullopt;
    if (scheme == "http" || scheme == "https") {
      // The path, after the host, must end in .git.
      std::string_view after = rest.substr(scheme_end + 3);
      size_t slash = after.find('/');
      std::string_view path = slash == std::string_view::npos ? "" : after.substr(slash);
      if (!path.ends_with(".git")) return std::nullopt;
    }
  } else {
    // scp-like: user@host:path, the user and host of letters, digits, '.',
    // '_' and '-' (not first: nothing git could take for an option).
    size_t at = rest.find('@'), colon = rest.find(':');
    if (at == std::string_view::npos || colon == std::string_view::npos || colon < at)
      return std::nullopt;
    auto word = [](std::string_view w) {
      return !w.empty() && w.front() != '-' && std::all_of(w.begin(), w.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      });
    };
    if (!word(rest.substr(0, at)) || !word(rest.substr(at + 1, colon - at - 1)))
      return std::nullopt;
  }
  GitRef g;
  g.remote = std::string(rest);
  if (!fragment.empty()) read_fragment(fragment, g);
  if (!query.empty()) {
    if (auto r = read_query(query, g); !r)
      return std::unexpected(r.error().with_context(std::string(source)));
  }
  return g;
}

}  // namespace strata::dockerfile

#include "dockerfile/dockerignore.hpp"

#include <fmt/format.h>

#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace strata::dockerfile {

std::string clean_path(std::string_view path) {
  bool rooted = !path.empty() && path[0] == '/';
  std::vector<std::string> out;
  for (const auto& part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!out.empty() && out.back() != "..")
        out.pop_back();
      else if (!rooted)
        out.push_back("..");
      continue;
    }
    out.push_back(part);
  }
  std::string s = join(out, "/");
  if (rooted) return "/" + s;
  return s.empty() ? "." : s;
}

Result<Glob> Glob::compile(std::string_view pattern, bool doublestar) {
  Glob g;
  std::u32string p = utf8::decode(pattern);
  for (size_t i = 0; i < p.size(); ++i) {
    char32_t c = p[i];
    Token t;
    if (c == '*') {
      g.wild_ = true;
      if (doublestar && i + 1 < p.size() && p[i + 1] == '*') {
        ++i;
        if (i + 1 < p.size() && p[i + 1] == '/') ++i;
        t.kind = i + 1 == p.size() ? Token::anything : Token::any_dirs;
      } else {
        while (i + 1 < p.size() && p[i + 1] == '*') ++i;
        t.kind = Token::any_run;
      }
    } else if (c == '?') {
      g.wild_ = true;
      t.kind = Token::any_char;
    } else if (c == '[') {
      g.wild_ = true;
      t.kind = Token::cls;
      size_t j = i + 1;
      if (j < p.size() && (p[j] == '^' || p[j] == '!')) {
        t.negate = true;
        ++j;
      }
      bool closed = false;
      bool first = true;
      while (j < p.size()) {
        if (p[j] == ']' && !first) {
          closed = true;
          break;
        }
        first = false;
        char32_t lo = p[j];
        if (lo == '\\' && j + 1 < p.size()) lo = p[++j];
        char32_t hi = lo;
        if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
          hi = p[j + 2];
          j += 2;
          if (hi == '\\' && j + 1 < p.size()) hi = p[++j];
        }
        t.ranges.emplace_back(lo, hi);
        ++j;
      }
      if (!closed) {
        return fail(Errc::syntax,
                    fmt::format("syntax error in pattern \"{}\": unclosed [", pattern));
      }
      i = j;
    } else if (c == '\\') {
      if (i + 1 < p.size()) c = p[++i];
      t.ch = c;
    } else {
      t.ch = c;
    }
    g.tokens_.push_back(std::move(t));
  }
  return g;
}

// The tokens run as a nondeterministic automaton over the path, one
// character at a time: state i is "about to match token i", tokens.size() is
// "matched". `**` (any_dirs, "(.*/)?") has a second state, inside a run that
// must end with "/". Time is tokens x characters and memory tokens, whatever
// the pattern: no backtracking and no recursion.
bool Glob::run(std::string_view path, bool or_parent) const {
  std::u32string s = utf8::decode(path);
  const size_t n = tokens_.size();
  std::vector<char> at(n + 1, 0), in_dirs(n, 0), next_at(n + 1, 0), next_dirs(n, 0);
  // Follows the moves that take no character (a star matching nothing, a
  // `**` starting its run); they only go forward, so one pass is enough.
  // True when `anything` (a trailing `**`) is reached: the rest matches.
  auto close = [&] {
    for (size_t i = 0; i < n; ++i) {
      if (!at[i]) continue;
      switch (tokens_[i].kind) {
        case Token::anything:
          return true;
        case Token::any_dirs:
          in_dirs[i] = 1;
          at[i + 1] = 1;
          break;
        case Token::any_run:
          at[i + 1] = 1;
          break;
        default:
          break;
      }
    }
    return false;
  };
  at[0] = 1;
  if (close()) return true;
  for (char32_t c : s) {
    // A parent directory matched: the path is inside it.
    if (or_parent && c == '/' && at[n]) return true;
    std::fill(next_at.begin(), next_at.end(), 0);
    std::fill(next_dirs.begin(), next_dirs.end(), 0);
    bool alive = false;
    for (size_t i = 0; i < n; ++i) {
      if (in_dirs[i]) {
        next_dirs[i] = 1;
        if (c == '/') next_at[i + 1] = 1;
        alive = true;
      }
      if (!at[i]) continue;
      const Token& t = tokens_[i];
      bool step = false, stay = false;  // to the next token; in this one (a star)
      switch (t.kind) {
        case Token::literal:
          step = c == t.ch;
          break;
        case Token::any_char:
          step = c != '/';
          break;
        case Token::cls: {
          bool in = false;
          for (auto [lo, hi] : t.ranges)
            if (c >= lo && c <= hi) in = true;
          step = c != '/' && in != t.negate;
          break;
        }
        case Token::any_run:
          stay = c != '/';
          break;
        case Token::any_dirs:
        case Token::anything:
          break;
      }
      if (step) next_at[i + 1] = 1;
      if (stay) next_at[i] = 1;
      alive = alive || step || stay;
    }
    if (!alive) return false;
    at.swap(next_at);
    in_dirs.swap(next_dirs);
    if (close()) return true;
  }
  return at[n] != 0;
}

bool Glob::matches(std::string_view path) const {
  return run(path, false);
}

bool Glob::matches_or_parent(std::string_view path) const {
  return run(path, true);
}

Result<IgnoreMatcher> IgnoreMatcher::parse(std::string_view text, std::string_view source) {
  IgnoreMatcher m;
  int line_no = 0;
  for (const auto& raw : split(text, '\n')) {
    ++line_no;
    std::string_view line = raw;
    if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (!line.empty() && line[0] == '#') continue;
    line = trim(line);
    if (line.empty()) continue;
    bool exclusion = false;
    if (line[0] == '!') {
      exclusion = true;
      line = trim(line.substr(1));
      if (line.empty()) {
        return fail(Errc::syntax,
                    fmt::format("{}:{}: illegal exclusion pattern: \"!\"", source, line_no));
      }
    }
    std::string pattern = clean_path(line);
    if (pattern.starts_with("/")) pattern = pattern.size() == 1 ? "." : pattern.substr(1);
    auto g = Glob::compile(pattern, true);
    if (!g)
      return std::unexpected(
          Error{Errc::syntax, fmt::format("{}:{}: {}", source, line_no, g.error().message)});
    if (exclusion) m.has_exceptions_ = true;
    if (!exclusion && (pattern == "*" || pattern == "**" || pattern == "**/*"))
      m.excludes_all_entries_ = true;
    m.rules_.push_back({std::move(*g), exclusion});
  }
  return m;
}

bool IgnoreMatcher::excluded(std::string_view path) const {
  if (rules_.empty()) return false;
  std::string p = clean_path(path);
  bool matched = false;
  for (const auto& r : rules_)
    if (r.glob.matches_or_parent(p)) matched = !r.exclusion;
  return matched;
}

}  // namespace strata::dockerfile

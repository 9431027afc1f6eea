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

bool Glob::match_from(size_t ti, const std::u32string& s, size_t si,
                      std::vector<bool>& memo) const {
  size_t key = ti * (s.size() + 1) + si;
  if (memo[key]) return false;
  bool ok = match_here(ti, s, si, memo);
  if (!ok) memo[key] = true;
  return ok;
}

bool Glob::match_here(size_t ti, const std::u32string& s, size_t si,
                      std::vector<bool>& memo) const {
  while (ti < tokens_.size()) {
    const Token& t = tokens_[ti];
    switch (t.kind) {
      case Token::literal:
        if (si >= s.size() || s[si] != t.ch) return false;
        ++si;
        ++ti;
        break;
      case Token::any_char:
        if (si >= s.size() || s[si] == '/') return false;
        ++si;
        ++ti;
        break;
      case Token::cls: {
        if (si >= s.size() || s[si] == '/') return false;
        bool in = false;
        for (auto [lo, hi] : t.ranges)
          if (s[si] >= lo && s[si] <= hi) in = true;
        if (in == t.negate) return false;
        ++si;
        ++ti;
        break;
      }
      case Token::any_run:
        // Any run of non-separators, shortest first.
        for (size_t k = si;; ++k) {
          if (match_from(ti + 1, s, k, memo)) return true;
          if (k >= s.size() || s[k] == '/') return false;
        }
      case Token::anything:
        return true;
      case Token::any_dirs:
        // (.*/)? : nothing, or anything that ends with a separator.
        if (match_from(ti + 1, s, si, memo)) return true;
        for (size_t k = si; k < s.size(); ++k)
          if (s[k] == '/' && match_from(ti + 1, s, k + 1, memo)) return true;
        return false;
    }
  }
  return si == s.size();
}

bool Glob::matches(std::string_view path) const {
  std::u32string s = utf8::decode(path);
  std::vector<bool> memo((tokens_.size() + 1) * (s.size() + 1), false);
  return match_from(0, s, 0, memo);
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
  std::vector<std::string> parts = split(p, '/');
  bool matched = false;
  for (const auto& r : rules_) {
    bool m = r.glob.matches(p);
    // A pattern matching a parent directory matches everything inside it.
    std::string prefix;
    for (size_t i = 0; !m && i + 1 < parts.size(); ++i) {
      prefix += (i ? "/" : "") + parts[i];
      m = r.glob.matches(prefix);
    }
    if (m) matched = !r.exclusion;
  }
  return matched;
}

}  // namespace strata::dockerfile

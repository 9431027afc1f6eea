// .dockerignore patterns and path globs. The reference's semantics: `*` and
// `?` stop at "/", `[...]` classes, `**` spans directories, `!` re-includes,
// the last matching line wins, and a pattern that matches a directory
// matches everything under it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::dockerfile {

// One compiled glob. With `doublestar` (dockerignore), `**` spans
// directories; without it (COPY sources, filepath.Match), it is just `*`.
class Glob {
 public:
  static Result<Glob> compile(std::string_view pattern, bool doublestar);
  bool matches(std::string_view path) const;
  // Does it match the path or one of its parent directories ("a/*" matches
  // "a/b/c" through "a/b")? One pass, however deep the path.
  bool matches_or_parent(std::string_view path) const;
  bool has_wildcards() const { return wild_; }

 private:
  struct Token {
    enum Kind { literal, any_run, any_char, cls, any_dirs, anything } kind = literal;
    char32_t ch = 0;
    bool negate = false;
    std::vector<std::pair<char32_t, char32_t>> ranges;
  };
  bool run(std::string_view path, bool or_parent) const;

  std::vector<Token> tokens_;
  bool wild_ = false;
};

// Normalises a path the way Go's filepath.Clean does ("a//b/../c" -> "a/c").
std::string clean_path(std::string_view path);

class IgnoreMatcher {
 public:
  // Reads .dockerignore text; `source` names the file in error messages.
  static Result<IgnoreMatcher> parse(std::string_view text, std::string_view source);
  // Is this context-relative path (e.g. "src/a.c") excluded?
  bool excluded(std::string_view path) const;
  // Could something under this excluded directory be re-included by a `!`?
  bool has_exceptions() const { return has_exceptions_; }
  // Does a line (`*`, `**`, `**/*`) exclude every entry of the context root?
  bool excludes_all_entries() const { return excludes_all_entries_; }
  bool empty() const { return rules_.empty(); }

 private:
  struct Rule {
    Glob glob;
    bool exclusion;  // a "!" line
  };
  std::vector<Rule> rules_;
  bool has_exceptions_ = false;
  bool excludes_all_entries_ = false;
};

}  // namespace strata::dockerfile

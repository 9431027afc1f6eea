#include "dockerfile/shell_lex.hpp"

#include <fmt/format.h>

#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace strata::dockerfile {
namespace {

constexpr char32_t kEof = 0xFFFFFFFF;

// Collects the words of a ProcessWords-style split alongside the joined word.
struct WordSplitter {
  std::u32string word;
  std::vector<std::string> words;
  bool in_word = false;

  void add_char(char32_t c) {
    if (utf8::is_space(c)) {
      if (in_word && !word.empty()) {
        words.push_back(utf8::encode(word));
        word.clear();
        in_word = false;
      }
    } else {
      add_raw_char(c);
    }
  }
  void add_raw_char(char32_t c) {
    word.push_back(c);
    in_word = true;
  }
  void add_string(const std::u32string& s) {
    for (char32_t c : s) add_char(c);
  }
  void add_raw_string(const std::u32string& s) {
    word += s;
    in_word = true;
  }
  std::vector<std::string> finish() {
    if (!word.empty()) {
      words.push_back(utf8::encode(word));
      word.clear();
      in_word = false;
    }
    return std::move(words);
  }
};

// Glob match used by ${V#p} and friends: * any run, ? any char, [..] a class,
// the escape character quotes the next one.
bool glob_match(std::u32string_view p, std::u32string_view s, char32_t esc) {
  size_t pi = 0, si = 0;
  size_t star_p = std::u32string_view::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size()) {
      char32_t pc = p[pi];
      if (pc == '*') {
        star_p = pi++;
        star_s = si;
        continue;
      }
      if (pc == '?') {
        ++pi;
        ++si;
        continue;
      }
      if (pc == '[') {
        size_t j = pi + 1;
        bool negate = j < p.size() && (p[j] == '!' || p[j] == '^');
        if (negate) ++j;
        bool matched = false;
        bool first = true;
        while (j < p.size() && (first || p[j] != ']')) {
          first = false;
          char32_t lo = p[j];
          if (lo == esc && j + 1 < p.size()) lo = p[++j];
          char32_t hi = lo;
          if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
            hi = p[j + 2];
            if (hi == esc && j + 3 < p.size()) hi = p[++j + 2];
            j += 2;
          }
          if (s[si] >= lo && s[si] <= hi) matched = true;
          ++j;
        }
        if (j < p.size() && matched != negate) {  // a closed class that matched
          pi = j + 1;
          ++si;
          continue;
        }
        if (j >= p.size() && s[si] == '[') {  // an unclosed [ is literal
          ++pi;
          ++si;
          continue;
        }
      } else {
        char32_t lit = pc;
        size_t adv = 1;
        if (pc == esc && pi + 1 < p.size()) {
          lit = p[pi + 1];
          adv = 2;
        }
        if (lit == s[si]) {
          pi += adv;
          ++si;
          continue;
        }
      }
    }
    if (star_p == std::u32string_view::npos) return false;
    pi = star_p + 1;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

class Lexer {
 public:
  Lexer(std::u32string input, const EnvLookup& env, const LexOptions& opts)
      : in_(std::move(input)), env_(env), opts_(opts), raw_escapes_(opts.raw_escapes) {}

  Result<Expansion> run() {
    auto r = process_stop_on(kEof, opts_.raw_escapes);
    if (!r) return std::unexpected(r.error());
    Expansion e;
    e.word = utf8::encode(r->first);
    e.words = std::move(r->second);
    e.used = std::move(used_);
    e.unset = std::move(unset_);
    return e;
  }

 private:
  char32_t peek() const { return pos_ < in_.size() ? in_[pos_] : kEof; }
  char32_t next() { return pos_ < in_.size() ? in_[pos_++] : kEof; }

  static std::unexpected<Error> err(std::string msg) { return fail(Errc::syntax, std::move(msg)); }

  std::optional<std::string> lookup(const std::string& name) {
    auto v = env_ ? env_(name) : std::nullopt;
    (v ? used_ : unset_).insert(name);
    return v;
  }

  using Words = std::pair<std::u32string, std::vector<std::string>>;

  Result<Words> process_stop_on(char32_t stop, bool raw_escapes) {
    bool saved = raw_escapes_;
    raw_escapes_ = raw_escapes;
    auto r = stop_on(stop);
    raw_escapes_ = saved;
    return r;
  }

  Result<Words> stop_on(char32_t stop) {
    std::u32string result;
    WordSplitter words;
    while (peek() != kEof) {
      char32_t ch = peek();
      if (stop != kEof && ch == stop) {
        next();
        return Words{result, words.finish()};
      }
      if (ch == '$') {
        auto v = process_dollar();
        if (!v) return std::unexpected(v.error());
        result += *v;
        if (result.size() > kMaxExpansion) return too_long();
        words.add_string(*v);
        continue;
      }
      if (!opts_.skip_quotes && (ch == '\'' || ch == '"')) {
        auto v = ch == '\'' ? single_quote() : double_quote();
        if (!v) return std::unexpected(v.error());
        result += *v;
        words.add_raw_string(*v);
        continue;
      }
      ch = next();
      if (ch == opts_.escape) {
        if (raw_escapes_) {
          words.add_raw_char(ch);
          result.push_back(ch);
        }
        ch = next();
        if (ch == kEof) break;
        words.add_raw_char(ch);
      } else {
        words.add_char(ch);
      }
      result.push_back(ch);
    }
    if (stop != kEof) {
      return err(fmt::format("unexpected end of statement while looking for matching {}",
                             utf8::encode(std::u32string(1, stop))));
    }
    return Words{result, words.finish()};
  }

  Result<std::u32string> single_quote() {
    std::u32string out;
    char32_t ch = next();
    if (opts_.raw_quotes) out.push_back(ch);
    for (;;) {
      ch = next();
      if (ch == kEof)
        return err("unexpected end of statement while looking for matching single-quote");
      if (ch == '\'') {
        if (opts_.raw_quotes) out.push_back(ch);
        return out;
      }
      out.push_back(ch);
    }
  }

  Result<std::u32string> double_quote() {
    std::u32string out;
    char32_t ch = next();
    if (opts_.raw_quotes) out.push_back(ch);
    for (;;) {
      char32_t p = peek();
      if (p == kEof)
        return err("unexpected end of statement while looking for matching double-quote");
      if (p == '"') {
        ch = next();
        if (opts_.raw_quotes) out.push_back(ch);
        return out;
      }
      if (p == '$') {
        auto v = process_dollar();
        if (!v) return std::unexpected(v.error());
        out += *v;
        if (out.size() > kMaxExpansion) return too_long();
        continue;
      }
      ch = next();
      if (ch == opts_.escape) {
        char32_t n = peek();
        if (n == kEof) continue;  // an escape at the very end is dropped
        if (n == '"' || n == '$' || n == opts_.escape) {
          if (raw_escapes_) out.push_back(ch);
          ch = next();
        }
      }
      out.push_back(ch);
    }
  }

  static bool is_special_param(char32_t c) {
    switch (c) {
      case '@':
      case '*':
      case '#':
      case '?':
      case '-':
      case '$':
      case '!':
      case '0':
        return true;
      default:
        return false;
    }
  }

  std::string process_name() {
    std::u32string name;
    while (peek() != kEof) {
      char32_t ch = peek();
      if (name.empty() && utf8::is_digit(ch)) {
        while (peek() != kEof && utf8::is_digit(peek())) name.push_back(next());
        return utf8::encode(name);
      }
      if (name.empty() && is_special_param(ch)) {
        name.push_back(next());
        return utf8::encode(name);
      }
      if (!utf8::is_letter(ch) && !utf8::is_digit(ch) && ch != '_') break;
      name.push_back(next());
    }
    return utf8::encode(name);
  }

  Result<std::u32string> process_dollar() {
    next();  // the '$'
    if (peek() == '{' && depth_ >= kMaxNesting)
      return err(fmt::format("variable references are nested more than {} deep", kMaxNesting));
    ++depth_;
    auto r = dollar();
    --depth_;
    if (r && r->size() > kMaxExpansion) return too_long();
    return r;
  }

  static std::unexpected<Error> too_long() {
    return fail(Errc::invalid_argument,
                fmt::format("the expansion is longer than {} characters, more than strata expands",
                            kMaxExpansion));
  }

  Result<std::u32string> dollar() {
    if (peek() != '{') {
      std::string name = process_name();
      if (name.empty()) return std::u32string(U"$");
      auto v = lookup(name);
      if (!v && opts_.skip_unset) return utf8::decode("$" + name);
      return utf8::decode(v.value_or(""));
    }
    next();  // the '{'
    char32_t p = peek();
    if (p == kEof) return err("syntax error: missing '}'");
    if (p == '{' || p == '}' || p == ':') return err("syntax error: bad substitution");

    std::string name = process_name();
    char32_t ch = next();
    std::u32string mod(1, ch);
    bool null_is_unset = false;
    if (ch == '}') {
      auto v = lookup(name);
      if (!v && opts_.skip_unset) return utf8::decode("${" + name + "}");
      return utf8::decode(v.value_or(""));
    }
    if (ch == ':') {
      null_is_unset = true;
      ch = next();
      mod.push_back(ch);
    } else if (ch != '+' && ch != '-' && ch != '?' && ch != '#' && ch != '%') {
      return err(fmt::format("unsupported modifier ({}) in substitution", utf8::encode(mod)));
    }
    bool pattern_mod = ch == '#' || ch == '%';
    if (null_is_unset && pattern_mod)
      return err(fmt::format("unsupported modifier ({}) in substitution", utf8::encode(mod)));
    auto word = process_stop_on('}', pattern_mod);
    if (!word) {
      if (peek() == kEof) return err("syntax error: missing '}'");
      return std::unexpected(word.error());
    }
    std::u32string w = word->first;
    auto v = lookup(name);
    if (opts_.skip_unset && !v) {
      return utf8::decode("${" + name) + mod + w + U"}";
    }
    std::u32string value = utf8::decode(v.value_or(""));
    bool unset_or_null = !v || (null_is_unset && value.empty());
    switch (ch) {
      case '-':
        return unset_or_null ? w : value;
      case '+':
        return unset_or_null ? std::u32string() : w;
      case '?': {
        if (!v) {
          return err(fmt::format("{}: {}", name,
                                 w.empty() ? "is not allowed to be unset" : utf8::encode(w)));
        }
        if (null_is_unset && value.empty()) {
          return err(fmt::format("{}: {}", name,
                                 w.empty() ? "is not allowed to be empty" : utf8::encode(w)));
        }
        return value;
      }
      case '#':
      case '%': {
        bool greedy = !w.empty() && w[0] == ch;
        if (greedy) w.erase(0, 1);
        return ch == '#' ? trim_prefix(w, value, greedy) : trim_suffix(w, value, greedy);
      }
      default:
        return err(fmt::format("unsupported modifier ({}) in substitution", utf8::encode(mod)));
    }
  }

  std::u32string trim_prefix(const std::u32string& pat, const std::u32string& value,
                             bool greedy) const {
    size_t n = value.size();
    for (size_t k = 0; k <= n; ++k) {
      size_t len = greedy ? n - k : k;
      if (glob_match(pat, std::u32string_view(value).substr(0, len), opts_.escape))
        return value.substr(len);
    }
    return value;
  }

  std::u32string trim_suffix(const std::u32string& pat, const std::u32string& value,
                             bool greedy) const {
    size_t n = value.size();
    for (size_t k = 0; k <= n; ++k) {
      size_t start = greedy ? k : n - k;
      if (glob_match(pat, std::u32string_view(value).substr(start), opts_.escape))
        return value.substr(0, start);
    }
    return value;
  }

  std::u32string in_;
  size_t pos_ = 0;
  const EnvLookup& env_;
  const LexOptions& opts_;
  bool raw_escapes_;
  std::set<std::string> used_, unset_;
  // Inputs decide how deep ${...} nests (each level is a call) and how long
  // an expansion grows (ENV A=$A$A doubles): both are bounded.
  static constexpr int kMaxNesting = 128;
  static constexpr size_t kMaxExpansion = 1 << 20;
  int depth_ = 0;
};

}  // namespace

Result<Expansion> expand(std::string_view input, const EnvLookup& env, const LexOptions& opts) {
  auto r = Lexer(utf8::decode(input), env, opts).run();
  if (!r) {
    constexpr size_t kShown = 200;  // of a long input, its start
    std::string shown =
        input.size() <= kShown ? go_quote(input) : go_quote(input.substr(0, kShown)) + "…";
    return std::unexpected(r.error().with_context(fmt::format("failed to process {}", shown)));
  }
  return r;
}

Result<std::string> expand_word(std::string_view input, const EnvLookup& env,
                                const LexOptions& opts) {
  auto r = expand(input, env, opts);
  if (!r) return std::unexpected(r.error());
  return std::move(r->word);
}

}  // namespace strata::dockerfile

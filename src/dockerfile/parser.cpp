#include "dockerfile/parser.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "dockerfile/shell_lex.hpp"
#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace strata::dockerfile {
namespace {

// The pieces of one instruction's arguments, as the per-instruction parsers
// produce them.
struct Args {
  std::vector<std::string> values;
  bool json = false;
  std::unique_ptr<Node> sub;
};

std::string_view trim_newline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Leading Unicode whitespace, in bytes.
size_t leading_space(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (!utf8::is_space(c)) break;
      ++i;
    } else {
      auto cps = utf8::decode(s.substr(i, 4));
      if (cps.empty() || !utf8::is_space(cps[0])) break;
      std::string enc;
      utf8::append(enc, cps[0]);
      i += enc.size();
    }
  }
  return i;
}

std::string_view trim_space(std::string_view s) {
  s.remove_prefix(leading_space(s));
  while (!s.empty()) {
    unsigned char c = static_cast<unsigned char>(s.back());
    if (c < 0x80 && utf8::is_space(c)) {
      s.remove_suffix(1);
    } else if (s.size() >= 2 && s.substr(s.size() - 2) == "\xc2\x85") {
      s.remove_suffix(2);
    } else if (s.size() >= 2 && s.substr(s.size() - 2) == "\xc2\xa0") {
      s.remove_suffix(2);
    } else {
      break;
    }
  }
  return s;
}

bool is_comment(std::string_view raw) {
  std::string_view s = trim_newline(raw);
  s.remove_prefix(leading_space(s));
  return !s.empty() && s[0] == '#';
}

bool ws_byte(char c) {
  return c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == ' ';
}

// Go's regexp `[\t\v\f\r ]+` split.
std::vector<std::string> split_ws(std::string_view s, int max_parts = -1) {
  std::vector<std::string> out;
  size_t i = 0;
  for (;;) {
    if (max_parts > 0 && static_cast<int>(out.size()) == max_parts - 1) {
      out.emplace_back(s.substr(i));
      return out;
    }
    size_t j = i;
    while (j < s.size() && !ws_byte(s[j])) ++j;
    out.emplace_back(s.substr(i, j - i));
    if (j == s.size()) return out;
    while (j < s.size() && ws_byte(s[j])) ++j;
    i = j;
  }
}

// A directive line: `# key = value`.
std::optional<std::pair<std::string, std::string>> match_directive(std::string_view line) {
  auto sp = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; };
  size_t i = 0;
  if (line.empty() || line[0] != '#') return std::nullopt;
  ++i;
  while (i < line.size() && sp(line[i])) ++i;
  size_t ks = i;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (i >= line.size() || !alpha(line[i])) return std::nullopt;
  while (i < line.size() && (alpha(line[i]) || (line[i] >= '0' && line[i] <= '9'))) ++i;
  std::string key(line.substr(ks, i - ks));
  while (i < line.size() && sp(line[i])) ++i;
  if (i >= line.size() || line[i] != '=') return std::nullopt;
  ++i;
  while (i < line.size() && sp(line[i])) ++i;
  std::string_view value = line.substr(i);
  while (!value.empty() && sp(value.back())) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  return std::make_pair(to_lower(key), std::string(value));
}

class Parser {
 public:
  Parser(std::string_view text, std::string name) : text_(text) {
    file_.source = SourceText::from(text, std::move(name));
    // Physical lines with their newline kept (heredoc bodies need them).
    size_t start = 0;
    while (start < text_.size()) {
      size_t nl = text_.find('\n', start);
      size_t end = nl == std::string_view::npos ? text_.size() : nl + 1;
      raw_lines_.push_back(text_.substr(start, end - start));
      start = end;
    }
    if (!raw_lines_.empty() && raw_lines_[0].starts_with("\xEF\xBB\xBF")) {
      raw_lines_[0].remove_prefix(3);
      bom_ = 3;
    }
  }

  Result<ParsedFile> run() {
    std::vector<std::string> comments;
    size_t idx = 0;
    while (idx < raw_lines_.size()) {
      std::string_view raw = raw_lines_[idx];
      int line_no = static_cast<int>(idx) + 1;
      ++idx;
      if (is_comment(raw)) {
        std::string_view c = trim_newline(raw);
        c.remove_prefix(leading_space(c) + 1);
        c = trim_space(c);
        if (c.empty())
          comments.clear();
        else
          comments.emplace_back(c);
      }
      size_t stripped = 0;
      size_t directives = seen_directives_.size();
      auto processed = process_line(raw, true, line_no, &stripped);
      if (!processed) return std::unexpected(processed.error());
      // As BuildKit: a directive is not a comment of the next instruction.
      if (seen_directives_.size() > directives && !comments.empty()) comments.pop_back();
      int start_line = line_no;

      Node node;
      node.start_line = start_line;
      auto [first, end_of_line] = trim_continuation(*processed);
      if (end_of_line && first.empty()) continue;
      node.map.segments.push_back({0, line_no, stripped + (line_no == 1 ? bom_ : 0)});
      std::string line = first;
      bool empty_continuation = false;
      int cur_line = line_no;
      while (!end_of_line && idx < raw_lines_.size()) {
        std::string_view next_raw = raw_lines_[idx];
        cur_line = static_cast<int>(idx) + 1;
        ++idx;
        auto p = process_line(next_raw, false, cur_line, nullptr);
        if (!p) return std::unexpected(p.error());
        if (is_comment(next_raw)) continue;
        if (leading_space(*p) == p->size()) {
          empty_continuation = true;
          continue;
        }
        auto [cont, eol] = trim_continuation(*p);
        end_of_line = eol;
        node.map.segments.push_back({line.size(), cur_line, 0});
        line += cont;
      }
      node.end_line = cur_line;
      if (empty_continuation) file_.empty_continuations.push_back(cur_line);
      node.original = line;
      auto filled = fill_node(node, line, 0);
      if (!filled) return std::unexpected(filled.error());

      const Node* heredoc_target = &node;
      if (to_lower(node.keyword) == "onbuild" && node.sub) heredoc_target = node.sub.get();
      std::string kw = to_lower(heredoc_target->keyword);
      bool can_heredoc = (kw == "run" || kw == "copy" || kw == "add") && !heredoc_target->json;
      if (can_heredoc && line.find("<<") != std::string::npos) {
        auto docs = heredocs_from_line(line);
        if (!docs) return std::unexpected(located(node, 0, docs.error().message));
        for (auto& doc : *docs) {
          bool terminated = false;
          while (idx < raw_lines_.size()) {
            std::string_view body = raw_lines_[idx];
            cur_line = static_cast<int>(idx) + 1;
            ++idx;
            std::string_view term = trim_newline(body);
            if (doc.chomp) {
              while (!term.empty() && term[0] == '\t') term.remove_prefix(1);
            }
            if (term == doc.name) {
              terminated = true;
              break;
            }
            doc.content += body;
          }
          if (!terminated) {
            return std::unexpected(located_error(
                file_.source, node.position(file_.source, 0),
                fmt::format("unterminated heredoc: no line reads \"{}\" before the end of the file",
                            doc.name),
                fmt::format("end the heredoc with a line containing only {}", doc.name)));
          }
          Node* target = node.sub ? node.sub.get() : &node;
          target->heredocs.push_back(std::move(doc));
        }
        node.end_line = cur_line;
      }
      node.comments = std::move(comments);
      comments.clear();
      file_.nodes.push_back(std::move(node));
    }
    if (file_.nodes.empty()) {
      return std::unexpected(located_error(
          file_.source, Position{static_cast<int>(raw_lines_.size()), 0},
          "file with no instructions", "a Dockerfile needs at least a FROM instruction"));
    }
    return std::move(file_);
  }

 private:
  Error located(const Node& node, size_t offset, std::string_view message,
                std::string_view hint = {}) const {
    return located_error(file_.source, node.position(file_.source, offset), message, hint);
  }

  // Trims the newline (and leading whitespace), looks for a directive, and
  // returns "" for a comment line.
  Result<std::string> process_line(std::string_view raw, bool strip_left, int line_no,
                                   size_t* stripped) {
    std::string_view s = trim_newline(raw);
    if (strip_left) {
      size_t n = leading_space(s);
      if (stripped) *stripped = n;
      s.remove_prefix(n);
    }
    if (auto err = possible_directive(s, line_no); !err) return std::unexpected(err.error());
    if (is_comment(s)) return std::string();
    return std::string(s);
  }

  Result<void> possible_directive(std::string_view line, int line_no) {
    if (directives_done_) return {};
    auto m = match_directive(line);
    if (!m || (m->first != "escape" && m->first != "syntax" && m->first != "check")) {
      directives_done_ = true;
      return {};
    }
    auto& [key, value] = *m;
    for (auto& seen : seen_directives_) {
      if (seen == key) {
        return std::unexpected(
            located_error(file_.source, {line_no, 1},
                          fmt::format("only one {} parser directive can be used", key),
                          "remove the repeated directive"));
      }
    }
    seen_directives_.push_back(key);
    if (key == "escape") {
      if (value != "`" && value != "\\") {
        return std::unexpected(
            located_error(file_.source, {line_no, 1},
                          fmt::format("invalid escape token '{}' does not match ` or \\", value),
                          "use `# escape=\\` (the default) or `# escape=``"));
      }
      file_.directives.escape = static_cast<char32_t>(value[0]);
    } else if (key == "syntax") {
      file_.directives.syntax = value;
      file_.warnings.push_back(
          {line_no, fmt::format("the syntax directive ({}) is ignored: strata has its own "
                                "Dockerfile frontend",
                                value)});
    } else {
      file_.directives.check = value;
    }
    return {};
  }

  // Strips a trailing line-continuation escape; the bool says "end of line".
  std::pair<std::string, bool> trim_continuation(std::string_view line) const {
    char esc = static_cast<char>(file_.directives.escape);
    size_t end = line.size();
    while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
    if (end == 0 || line[end - 1] != esc) return {std::string(line), true};
    if (end >= 2 && line[end - 2] == esc) return {std::string(line), true};
    return {std::string(line.substr(0, end - 1)), false};
  }

  // Splits `line` into keyword, flags and arguments and applies the
  // instruction's argument parser. `base` is the offset of `line` within
  // node.original (non-zero for ONBUILD's inner instruction).
  Result<void> fill_node(Node& node, std::string_view line, size_t base) {
    size_t lead = leading_space(line);
    std::string_view trimmed = trim_space(line);
    auto parts = split_ws(trimmed, 2);
    node.keyword = parts[0];
    size_t rest_off = base + lead;
    std::string rest;
    if (parts.size() == 2) {
      rest_off += trimmed.size() - parts[1].size();
      auto flags = extract_flags(parts[1], rest_off, node);
      rest_off += parts[1].size() - flags.size();
      size_t l = leading_space(flags);
      rest_off += l;
      rest = std::string(trim_space(flags));
    }
    node.args_offset = rest_off;
    auto args = parse_args(to_lower(node.keyword), rest, node, rest_off);
    if (!args) return std::unexpected(args.error());
    node.values = std::move(args->values);
    node.json = args->json;
    node.sub = std::move(args->sub);
    return {};
  }

  // BuildKit's extractBuilderFlags: leading --flag words; returns the rest.
  std::string_view extract_flags(std::string_view line, size_t base, Node& node) {
    enum { in_spaces, in_word, in_quote } phase = in_spaces;
    std::string word;
    char quote = 0;
    bool blank_ok = false;
    size_t word_start = 0;
    auto push = [&] {
      node.flags.push_back(word);
      node.flag_offsets.push_back(base + word_start);
    };
    for (size_t pos = 0; pos <= line.size(); ++pos) {
      char ch = pos < line.size() ? line[pos] : 0;
      if (phase == in_spaces) {
        if (pos == line.size()) break;
        if (utf8::is_space(static_cast<unsigned char>(ch))) continue;
        if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') return line.substr(pos);
        phase = in_word;
        word_start = pos;
      }
      if (pos == line.size()) {
        if (word != "--" && (blank_ok || !word.empty())) push();
        break;
      }
      if (phase == in_word) {
        if (utf8::is_space(static_cast<unsigned char>(ch))) {
          phase = in_spaces;
          if (word == "--") return line.substr(pos);
          if (blank_ok || !word.empty()) push();
          word.clear();
          blank_ok = false;
          continue;
        }
        if (ch == '\'' || ch == '"') {
          quote = ch;
          blank_ok = true;
          phase = in_quote;
          continue;
        }
        if (ch == '\\') {
          if (pos + 1 == line.size()) continue;
          ch = line[++pos];
        }
        word.push_back(ch);
        continue;
      }
      // in_quote
      if (ch == quote) {
        phase = in_word;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == line.size()) {
          phase = in_word;
          continue;
        }
        ch = line[++pos];
      }
      word.push_back(ch);
    }
    return std::string_view();
  }

  // BuildKit's parseWords: words with quotes kept, for ENV/LABEL/ARG.
  std::vector<std::string> parse_words(std::string_view rest) const {
    enum { in_spaces, in_word, in_quote } phase = in_spaces;
    std::u32string in = utf8::decode(rest);
    std::vector<std::string> words;
    std::u32string word;
    char32_t quote = 0;
    bool blank_ok = false;
    char32_t esc = file_.directives.escape;
    for (size_t pos = 0; pos <= in.size(); ++pos) {
      char32_t ch = pos < in.size() ? in[pos] : 0;
      if (phase == in_spaces) {
        if (pos == in.size()) break;
        if (utf8::is_space(ch)) continue;
        phase = in_word;
      }
      if (pos == in.size()) {
        if (blank_ok || !word.empty()) words.push_back(utf8::encode(word));
        break;
      }
      if (phase == in_word) {
        if (utf8::is_space(ch)) {
          phase = in_spaces;
          if (blank_ok || !word.empty()) words.push_back(utf8::encode(word));
          word.clear();
          blank_ok = false;
          continue;
        }
        if (ch == '\'' || ch == '"') {
          quote = ch;
          blank_ok = true;
          phase = in_quote;
        }
        if (ch == esc) {
          if (pos + 1 == in.size()) continue;
          word.push_back(ch);
          ch = in[++pos];
        }
        word.push_back(ch);
        continue;
      }
      if (ch == quote) phase = in_word;
      if (ch == esc && quote != '\'') {
        if (pos + 1 == in.size()) {
          phase = in_word;
          continue;
        }
        word.push_back(ch);
        ch = in[++pos];
      }
      word.push_back(ch);
    }
    return words;
  }

  Result<Args> parse_name_val(std::string_view rest, std::string_view key, const Node& node,
                              size_t off) const {
    Args a;
    auto words = parse_words(rest);
    if (words.empty()) return a;
    if (words[0].find('=') == std::string::npos) {
      auto parts = split_ws(rest, 2);
      if (parts.size() < 2) {
        return std::unexpected(
            located(node, off, fmt::format("{} must have two arguments", key),
                    fmt::format("write `{} name value` or `{} name=value ...`", key, key)));
      }
      a.values = {parts[0], parts[1], ""};
      return a;
    }
    for (const auto& w : words) {
      size_t eq = w.find('=');
      if (eq == std::string::npos) {
        return std::unexpected(located(
            node, off,
            fmt::format("syntax error - can't find = in \"{}\"; must be of the form: name=value",
                        w),
            "quote values that contain spaces: name=\"a b\""));
      }
      a.values.push_back(w.substr(0, eq));
      a.values.push_back(w.substr(eq + 1));
      a.values.push_back("=");
    }
    return a;
  }

  static Args strings_ws(std::string_view rest) {
    Args a;
    if (rest.empty()) return a;
    a.values = split_ws(rest);
    return a;
  }

  // nullopt when `rest` is not a JSON array; an error when it is an array of
  // something other than strings.
  Result<std::optional<std::vector<std::string>>> parse_json(std::string_view rest,
                                                             const Node& node, size_t off) const {
    rest.remove_prefix(leading_space(rest));
    if (!rest.starts_with("[")) return std::nullopt;
    auto j = nlohmann::json::parse(rest, nullptr, false);
    if (j.is_discarded() || !j.is_array()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& e : j) {
      if (!e.is_string()) {
        return std::unexpected(located(
            node, off, "when using JSON array syntax, arrays must be comprised of strings only",
            "write [\"executable\", \"arg1\", ...] or drop the brackets for the shell form"));
      }
      out.push_back(e.get<std::string>());
    }
    return out;
  }

  Result<Args> maybe_json(std::string_view rest, const Node& node, size_t off, bool to_list) const {
    Args a;
    if (rest.empty() && !to_list) return a;
    auto j = parse_json(rest, node, off);
    if (!j) return std::unexpected(j.error());
    if (*j) {
      a.values = std::move(**j);
      a.json = true;
      return a;
    }
    if (to_list) return strings_ws(rest);
    a.values = {std::string(rest)};
    return a;
  }

  Result<Args> parse_args(const std::string& kw, std::string_view rest, Node& node, size_t off) {
    if (kw == "add" || kw == "copy" || kw == "volume") return maybe_json(rest, node, off, true);
    if (kw == "cmd" || kw == "entrypoint" || kw == "run" || kw == "shell")
      return maybe_json(rest, node, off, false);
    if (kw == "env" || kw == "label") return parse_name_val(rest, to_upper(kw), node, off);
    if (kw == "arg") {
      Args a;
      a.values = parse_words(rest);
      return a;
    }
    if (kw == "expose" || kw == "from") return strings_ws(rest);
    if (kw == "maintainer" || kw == "stopsignal" || kw == "user" || kw == "workdir") {
      Args a;
      if (!rest.empty()) a.values = {std::string(rest)};
      return a;
    }
    if (kw == "healthcheck") {
      Args a;
      size_t sep = 0;
      while (sep < rest.size() && !utf8::is_space(static_cast<unsigned char>(rest[sep]))) ++sep;
      size_t next = sep;
      while (next < rest.size() && utf8::is_space(static_cast<unsigned char>(rest[next]))) ++next;
      if (sep == 0) return a;
      auto cmd = maybe_json(rest.substr(next), node, off + next, false);
      if (!cmd) return std::unexpected(cmd.error());
      a.values.push_back(std::string(rest.substr(0, sep)));
      for (auto& v : cmd->values) a.values.push_back(std::move(v));
      a.json = cmd->json;
      return a;
    }
    if (kw == "onbuild") {
      Args a;
      if (rest.empty()) return a;
      a.sub = std::make_unique<Node>();
      auto r = fill_node(*a.sub, rest, off);
      if (!r) return std::unexpected(r.error());
      return a;
    }
    // Unknown instructions parse as nothing here; the typed parser reports them.
    return Args{};
  }

  // Heredoc words of an instruction line, in order.
  Result<std::vector<Heredoc>> heredocs_from_line(std::string_view line) const {
    LexOptions opts;
    opts.raw_quotes = true;
    opts.raw_escapes = true;
    auto words = expand(line, nullptr, opts);
    std::vector<Heredoc> docs;
    if (!words) return docs;
    for (const auto& w : words->words) {
      auto doc = parse_heredoc(w);
      if (!doc) return std::unexpected(doc.error());
      if (*doc) docs.push_back(std::move(**doc));
    }
    return docs;
  }

  std::string_view text_;
  std::vector<std::string_view> raw_lines_;
  size_t bom_ = 0;
  ParsedFile file_;
  bool directives_done_ = false;
  std::vector<std::string> seen_directives_;
};

}  // namespace

std::string chomp_heredoc(std::string_view content) {
  std::string out;
  bool at_line_start = true;
  for (char c : content) {
    if (at_line_start && c == '\t') continue;
    at_line_start = c == '\n';
    out.push_back(c);
  }
  return out;
}

Position Node::position(const SourceText& src, size_t offset) const {
  if (map.segments.empty()) return {start_line, 0};
  const LineMap::Segment* seg = &map.segments[0];
  for (const auto& s : map.segments)
    if (s.offset <= offset) seg = &s;
  size_t byte_col = seg->col + (offset - seg->offset);
  int col = 1;
  if (seg->line >= 1 && static_cast<size_t>(seg->line) <= src.lines.size()) {
    const std::string& l = src.lines[seg->line - 1];
    std::string_view prefix = std::string_view(l).substr(0, std::min(byte_col, l.size()));
    col = static_cast<int>(utf8::decode(prefix).size()) + 1;
  }
  return {seg->line, col};
}

Result<std::optional<Heredoc>> parse_heredoc(std::string_view word) {
  // ^(\d*)<<(-?)([^<]*)$
  size_t i = 0;
  while (i < word.size() && word[i] >= '0' && word[i] <= '9') ++i;
  std::string_view digits = word.substr(0, i);
  if (word.substr(i, 2) != "<<") return std::nullopt;
  i += 2;
  bool chomp = i < word.size() && word[i] == '-';
  if (chomp) ++i;
  std::string_view rest = word.substr(i);
  if (rest.find('<') != std::string_view::npos || rest.empty()) return std::nullopt;

  LexOptions opts;
  opts.skip_unset = true;
  auto plain = expand(rest, nullptr, opts);
  if (!plain) return std::unexpected(plain.error());
  if (plain->words.size() != 1) return std::nullopt;
  opts.raw_quotes = true;
  auto raw = expand(rest, nullptr, opts);
  if (!raw) return std::unexpected(raw.error());
  if (raw->words.size() != 1) {
    return fail(Errc::syntax,
                fmt::format("internal lexing of heredoc produced inconsistent results: {}", rest));
  }
  auto quotes = [](const std::string& s) {
    return std::count(s.begin(), s.end(), '\'') + std::count(s.begin(), s.end(), '"');
  };
  Heredoc h;
  h.name = plain->words[0];
  h.expand = quotes(plain->words[0]) == quotes(raw->words[0]);
  h.chomp = chomp;
  h.fd = digits.empty() ? 0 : static_cast<unsigned>(std::stoul(std::string(digits.substr(0, 9))));
  return h;
}

Result<ParsedFile> parse(std::string_view text, std::string name) {
  return Parser(text, std::move(name)).run();
}

std::string dump(const Node& node) {
  std::string out = to_lower(node.keyword);
  if (!node.flags.empty()) {
    out += " [";
    for (size_t i = 0; i < node.flags.size(); ++i) {
      if (i) out += ' ';
      out += go_quote(node.flags[i]);
    }
    out += ']';
  }
  if (node.sub) out += " (" + dump(*node.sub) + ")";
  for (const auto& v : node.values) {
    out += ' ';
    out += go_quote(v);
  }
  return out;
}

}  // namespace strata::dockerfile

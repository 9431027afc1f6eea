// The syntactic Dockerfile parser: parser directives, comments, line
// continuations, heredocs, and the per-instruction argument forms. Its output
// is the same tree BuildKit's parser builds (see dump()), with positions, so
// that typed parsing (instructions.hpp) can point at any word.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile/source.hpp"
#include "util/error.hpp"

namespace strata::dockerfile {

struct Heredoc {
  std::string name;     // the delimiter word, quotes removed
  std::string content;  // every line up to the delimiter, newlines kept
  bool expand = true;   // false when the delimiter was quoted
  bool chomp = false;   // <<- : leading tabs are stripped
  unsigned fd = 0;      // the N of N<<EOF
};

// Removes leading tabs from each line (for <<-).
std::string chomp_heredoc(std::string_view content);

// One logical line and where each piece of it came from.
struct LineMap {
  struct Segment {
    size_t offset;  // where this piece starts in the logical line
    int line;       // physical line (1-based)
    size_t col;     // byte offset in the physical line
  };
  std::vector<Segment> segments;
};

struct Node {
  std::string keyword;               // the instruction as written, e.g. "run"
  std::vector<std::string> flags;    // "--mount=...", unparsed
  std::vector<size_t> flag_offsets;  // where each flag starts in `original`
  std::vector<std::string> values;   // the argument chain (BuildKit's Next list)
  size_t args_offset = 0;            // where the arguments start in `original`
  bool json = false;                 // the arguments were a JSON array
  std::vector<Heredoc> heredocs;
  std::unique_ptr<Node> sub;  // the instruction of an ONBUILD
  std::string original;       // the logical line, continuations joined
  int start_line = 0, end_line = 0;
  std::vector<std::string> comments;  // comment lines right above the instruction
  LineMap map;

  // Source position of a byte offset in `original`.
  Position position(const SourceText& src, size_t offset) const;
};

struct Directives {
  char32_t escape = '\\';
  std::optional<std::string> syntax;  // accepted, reported as ignored
  std::optional<std::string> check;   // the lint options (dockerfile/lint.hpp)
};

struct Warning {
  int line = 0;
  std::string message;
};

struct ParsedFile {
  SourceText source;
  Directives directives;
  std::vector<Node> nodes;
  std::vector<Warning> warnings;
  std::vector<int> empty_continuations;  // last line of each instruction that has one
};

Result<ParsedFile> parse(std::string_view text, std::string name);

// BuildKit's Node.Dump(): `run ["--mount=x"] "arg" ...`.
std::string dump(const Node& node);

// Does this word start a heredoc (`<<EOF`, `<<-"EOF"`, `3<<EOF`)?
Result<std::optional<Heredoc>> parse_heredoc(std::string_view word);

}  // namespace strata::dockerfile

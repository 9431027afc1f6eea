// Positions in a Dockerfile and errors that point at them. An error names
// file:line:col, quotes the offending line with a caret under the column, and
// may carry a hint on what to do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::dockerfile {

struct Position {
  int line = 0;  // 1-based; 0 when unknown
  int col = 0;   // 1-based, in characters; 0 when unknown
};

// The text of a Dockerfile, split into physical lines (without newlines).
struct SourceText {
  std::string name;  // as the user named it, e.g. "Dockerfile"
  std::vector<std::string> lines;

  static SourceText from(std::string_view text, std::string name);
};

// "name:line:col: message", then the line and a caret, then the hint.
Error located_error(const SourceText& src, Position pos, std::string_view message,
                    std::string_view hint = {});

}  // namespace strata::dockerfile

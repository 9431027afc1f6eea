#include "dockerfile/source.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "util/utf8.hpp"

namespace strata::dockerfile {

SourceText SourceText::from(std::string_view text, std::string name) {
  SourceText s;
  s.name = std::move(name);
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    s.lines.emplace_back(line);
    start = nl + 1;
  }
  return s;
}

Error located_error(const SourceText& src, Position pos, std::string_view message,
                    std::string_view hint) {
  std::string out = src.name;
  if (pos.line > 0) {
    out += fmt::format(":{}", pos.line);
    if (pos.col > 0) out += fmt::format(":{}", pos.col);
  }
  // A message quotes what the input said, which may be megabytes long.
  constexpr size_t kMaxMessage = 1000, kHead = 800, kTail = 150;
  if (message.size() > kMaxMessage)
    out += fmt::format(": {}…{}", message.substr(0, kHead), message.substr(message.size() - kTail));
  else
    out += fmt::format(": {}", message);
  if (pos.line > 0 && static_cast<size_t>(pos.line) <= src.lines.size()) {
    const std::string& line = src.lines[pos.line - 1];
    std::string gutter = fmt::format("{:>5}", pos.line);
    // Of a long line, a window around the column ("…" where it is cut).
    constexpr size_t kWidth = 160, kBefore = 60;
    size_t col = pos.col > 0 ? static_cast<size_t>(pos.col - 1) : 0;
    size_t from = col > kWidth - 20 ? col - kBefore : 0;
    std::string shown = from > 0 ? "…" : "";
    // Tabs are shown as one space so that the caret lines up.
    for (char c : std::string_view(line).substr(std::min(from, line.size()), kWidth))
      shown.push_back(c == '\t' ? ' ' : c);
    if (line.size() > from + kWidth) shown += "…";
    out += fmt::format("\n{} | {}", gutter, shown);
    if (pos.col > 0) {
      out += fmt::format("\n{} | {}^", std::string(gutter.size(), ' '),
                         std::string(col - from + (from > 0 ? 1 : 0), ' '));
    }
  }
  if (!hint.empty()) out += fmt::format("\n  hint: {}", hint);
  return Error{Errc::syntax, std::move(out)};
}

}  // namespace strata::dockerfile

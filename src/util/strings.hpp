// Small string helpers shared by the modules.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view s);  // ASCII whitespace on both ends
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// Edit distance, for "did you mean ...?" suggestions.
size_t levenshtein(std::string_view a, std::string_view b);
// The candidate nearest to `word` (case-insensitive), or "" if none is close.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);
// Go's strconv.ParseBool: 1 t T TRUE true True, 0 f F FALSE false False.
std::optional<bool> parse_go_bool(std::string_view v);
// BuildKit's "did you mean" (util/suggest): the first candidate nearest to
// `word` within an edit distance of 2, "" when none is or one equals it.
std::string suggest_like_buildkit(std::string_view word, const std::vector<std::string>& candidates,
                                  bool case_sensitive);
// Consumes a leading decimal number ("1.5" of "1.5ms") from `s`.
std::optional<double> take_number(std::string_view& s);
// All of `s` as an integer of type T in `base` (no sign for unsigned types,
// no spaces); nullopt when it is anything else or out of T's range.
template <class T>
std::optional<T> parse_number(std::string_view s, int base = 10) {
  T out{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return out;
}
// A "/"-separated relative path without "." or ".." components, or nullopt
// when it would leave its root (a ".." component) or is empty.
std::optional<std::string> safe_relative_path(std::string_view path);
// "512 B", "1.5 KiB", "3.2 GiB".
std::string human_size(double bytes);

// A URL query value: every byte but letters, digits and "-_.~" as %XX.
std::string url_encode(std::string_view s);

// Standard base64 (RFC 4648, with padding); decoding rejects anything else.
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

// Go's strconv.Quote: a double-quoted string with Go escapes.
std::string go_quote(std::string_view s);

}  // namespace strata

// Lossless UTF-8 <-> code point conversion. Bytes that are not valid UTF-8 are
// mapped to U+DC80..U+DCFF (as Python's "surrogateescape" does) and written
// back unchanged, so text of any encoding survives a round trip.
#pragma once

#include <string>
#include <string_view>

namespace strata::utf8 {

std::u32string decode(std::string_view bytes);
void append(std::string& out, char32_t cp);
std::string encode(std::u32string_view cps);

// Unicode White_Space as Go's unicode.IsSpace defines it.
bool is_space(char32_t c);
// Letters and digits as Go's unicode.IsLetter / IsDigit (ASCII exact, other
// scripts approximated by "any non-ASCII code point that is not space or
// punctuation we know of").
bool is_letter(char32_t c);
bool is_digit(char32_t c);

}  // namespace strata::utf8

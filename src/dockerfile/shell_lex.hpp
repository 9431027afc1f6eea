// Word expansion as the Dockerfile reference defines it ($V, ${V:-w}, quotes,
// escapes, ...). Mirrors BuildKit's shell lexer so that strata expands every
// word exactly as `docker buildx build` does.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::dockerfile {

// Looks a variable up; nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

struct LexOptions {
  char32_t escape = '\\';    // the escape character of the `# escape=` directive
  bool raw_quotes = false;   // keep quote characters in the result
  bool raw_escapes = false;  // keep escape characters in the result
  bool skip_unset = false;   // leave references to unset variables as written
  bool skip_quotes = false;  // treat quotes as ordinary characters (heredoc bodies)
};

struct Expansion {
  std::string word;                // the whole input as one word
  std::vector<std::string> words;  // the input split into words, as a shell would
  std::set<std::string> used;      // variables referenced and set
  std::set<std::string> unset;     // variables referenced but not set
};

Result<Expansion> expand(std::string_view input, const EnvLookup& env, const LexOptions& opts = {});

// Convenience: the single-word result.
Result<std::string> expand_word(std::string_view input, const EnvLookup& env,
                                const LexOptions& opts = {});

}  // namespace strata::dockerfile

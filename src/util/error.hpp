// Error and Result<T>: how library code reports failure. A function that can
// fail returns Result<T>; callers add context ("reading X: ...") on the way up
// and the CLI turns the final Error into one message and an exit code.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace strata {

enum class Errc {
  invalid_argument,  // the user gave something we cannot use
  syntax,            // a Dockerfile or other input does not parse
  not_found,         // a named thing (file, stage, image) does not exist
  io,                // the operating system refused
  internal,          // a bug in strata
};

struct Error {
  Errc code = Errc::internal;
  std::string message;

  // Prefixes the message with what the caller was doing.
  Error with_context(const std::string& context) const& {
    return Error{code, context + ": " + message};
  }
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for `return fail(Errc::x, "...")` in functions returning Result<T>.
inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

}  // namespace strata

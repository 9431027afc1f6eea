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

// Propagating an error to the caller, in functions that return a Result:
//   TRY(write(...));                   returns write's error, if any;
//   auto data = TRY_VALUE(read(...));  the same, else the value.
// (TRY_VALUE is a GNU statement expression, which g++ and clang accept.)
#define TRY(...)                                              \
  do {                                                        \
    if (auto try_result_ = (__VA_ARGS__); !try_result_)       \
      return std::unexpected(std::move(try_result_).error()); \
  } while (0)
#define TRY_VALUE(...)                                                      \
  ({                                                                        \
    auto try_value_ = (__VA_ARGS__);                                        \
    if (!try_value_) return std::unexpected(std::move(try_value_).error()); \
    std::move(*try_value_);                                                 \
  })

// What the commands share: global flags, opening the store, reporting errors.
#pragma once

#include <string>

#include "store/store.hpp"
#include "util/error.hpp"

namespace strata::cli {

struct GlobalFlags {
  std::string root;     // --root; "" = STRATA_ROOT or the default
  std::string runtime;  // --runtime crun|runc; "" = crun when present
};

// Prints "error: ..." and returns exit code 1.
int report(const Error& e);
Result<store::Store> open_store(const GlobalFlags& g);

}  // namespace strata::cli

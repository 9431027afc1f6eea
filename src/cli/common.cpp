#include "cli/common.hpp"

#include <iostream>

namespace strata::cli {

int report(const Error& e) {
  std::cerr << "error: " << e.message << "\n";
  return 1;
}

Result<store::Store> open_store(const GlobalFlags& g) {
  auto root = g.root.empty() ? store::default_root() : std::filesystem::path(g.root);
  auto s = store::Store::open(root);
  if (!s) return std::unexpected(s.error().with_context("opening the store at " + root.string()));
  return s;
}

}  // namespace strata::cli

// Fuzzes .dockerignore parsing and matching: the first line is the path to
// match, the rest is the .dockerignore file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dockerfile/dockerignore.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  if (nl == std::string_view::npos) return 0;
  auto m = strata::dockerfile::IgnoreMatcher::parse(text.substr(nl + 1), ".dockerignore");
  if (!m) return 0;
  (void)m->excluded(text.substr(0, nl));
  auto g = strata::dockerfile::Glob::compile(text.substr(0, nl), false);
  if (g) (void)g->matches(text.substr(nl + 1, 200));
  return 0;
}

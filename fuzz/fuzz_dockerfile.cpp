// Fuzzes the Dockerfile path end to end: parse, typed instructions, ARG and
// stage resolution with word expansion, and both plan renderings.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dockerfile/instructions.hpp"
#include "dockerfile/shell_lex.hpp"
#include "frontend/plan.hpp"
#include "frontend/plan_format.hpp"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // The lexer on its own, with and without its options.
  dockerfile::EnvLookup env = [](std::string_view n) -> std::optional<std::string> {
    if (n == "A") return std::string("a/b.c");
    return std::nullopt;
  };
  (void)dockerfile::expand(text, env);
  (void)dockerfile::expand(text, env, {.escape = '`', .raw_quotes = true, .raw_escapes = true});

  auto df = dockerfile::read_dockerfile(text, "Dockerfile");
  if (!df) return 0;
  frontend::PlanOptions opts;
  opts.build_args = {{"A", "1"}, {"HTTP_PROXY", "x"}};
  auto plan = frontend::make_plan(*df, opts);
  if (!plan) return 0;
  (void)frontend::plan_to_text(*plan);
  (void)frontend::plan_to_json_text(*plan);
  return 0;
}

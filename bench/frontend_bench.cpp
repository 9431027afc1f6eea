// Times the Dockerfile frontend on a generated CI-sized Dockerfile: 1,500
// lines, 100 ARGs with ${VAR:-x} defaults, 20 heredocs, continuations, three
// stages. Reports parse alone and parse + full plan resolution (every word
// expanded, every mount typed, the environment of every RUN).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <iostream>
#include <string>

#include "dockerfile/instructions.hpp"
#include "frontend/plan.hpp"

using namespace strata;

namespace {

// Shaped like a large CI image's Dockerfile (Apache Airflow's is ~1,600
// lines): global ARGs redeclared in the stages, scripts inlined as heredocs,
// long RUN continuations full of ${VAR:-default}, a few dozen ENVs.
std::string generate() {
  std::string d = "# syntax=docker/dockerfile:1\n";
  for (int i = 0; i < 50; ++i) d += fmt::format("ARG GLOBAL_{}=\"value-{}\"\n", i, i);
  d += "ARG PYTHON_BASE_IMAGE=\"python:3.12-slim-bookworm\"\n";
  d += "FROM ${PYTHON_BASE_IMAGE} AS scripts\n";
  for (int h = 0; h < 10; ++h) {
    d += fmt::format(
        "COPY <<\"EOF\" /scripts/install_{}.sh\n#!/usr/bin/env bash\nset -euo pipefail\n", h);
    for (int l = 0; l < 25; ++l)
      d += fmt::format("echo \"step {} of script {}: ${{VAR_{}:-default}}\"\n", l, h, l);
    d += "EOF\n";
  }
  d += "FROM ${PYTHON_BASE_IMAGE} AS main\n";
  for (int i = 0; i < 50; ++i) d += fmt::format("ARG GLOBAL_{}\n", i);
  for (int i = 0; i < 50; ++i)
    d += fmt::format("ARG STAGE_{}=${{GLOBAL_{}:-fallback-{}}}\n", i, i, i);
  d += "ENV PATH=/root/.local/bin:$PATH \\\n    DEBIAN_FRONTEND=noninteractive \\\n    "
       "LANGUAGE=C.UTF-8\n";
  d += "COPY --from=scripts /scripts/ /scripts/\n";
  for (int h = 0; h < 10; ++h) {
    d += fmt::format(
        "RUN --mount=type=cache,id=uv-{},target=/root/.cache/uv,sharing=locked <<EOF\n", h);
    for (int l = 0; l < 20; ++l)
      d += fmt::format("uv pip install package-{}-{}==${{STAGE_{}:-1.0}}\n", h, l, l);
    d += "EOF\n";
  }
  int lines = 0;
  for (char c : d) lines += c == '\n';
  for (int i = 0; lines < 1490; ++i) {
    if (i % 4 == 0) {
      d +=
          fmt::format("ENV VAR_{}=\"${{STAGE_{}:-x}}/${{GLOBAL_{}#value-}}\"\n", i, i % 50, i % 50);
      ++lines;
    }
    d += fmt::format(
        "RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\\n"
        "    apt-get update && \\\n    apt-get install -y --no-install-recommends \\\n");
    for (int k = 0; k < 6; ++k)
      d += fmt::format("      package-{}-{}=${{STAGE_{}:-1.0}} \\\n", i, k, (i + k) % 50);
    d += "    && rm -rf /var/lib/apt/lists/*\n";
    lines += 10;
  }
  d += "FROM main AS final\nLABEL "
       "org.opencontainers.image.source=\"https://example.com/${GLOBAL_1}\"\n";
  d += "CMD [\"bash\"]\n";
  return d;
}

const std::string& generated_dockerfile() {
  static const std::string text = generate();
  return text;
}

void BM_Parse(benchmark::State& state) {
  for (auto _ : state) {
    auto df = dockerfile::read_dockerfile(generated_dockerfile(), "Dockerfile");
    if (!df) state.SkipWithError(df.error().message.c_str());
    benchmark::DoNotOptimize(df);
  }
}
BENCHMARK(BM_Parse)->Unit(benchmark::kMillisecond);

void BM_ParseAndPlan(benchmark::State& state) {
  frontend::PlanOptions opts;
  opts.build_args = {{"GLOBAL_3", "cli"}, {"STAGE_7", "2.0"}};
  for (auto _ : state) {
    auto df = dockerfile::read_dockerfile(generated_dockerfile(), "Dockerfile");
    if (!df) {
      state.SkipWithError(df.error().message.c_str());
      break;
    }
    auto plan = frontend::make_plan(*df, opts);
    if (!plan) state.SkipWithError(plan.error().message.c_str());
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_ParseAndPlan)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  const std::string& d = generated_dockerfile();
  if (argc > 1 && std::string_view(argv[1]) == "--print-dockerfile") {
    std::cout << d;
    return 0;
  }
  int lines = 0, heredocs = 0, args = 0;
  for (char c : d) lines += c == '\n';
  for (size_t p = 0; (p = d.find("<<", p)) != std::string::npos; ++p) ++heredocs;
  for (size_t p = 0; (p = d.find("\nARG ", p)) != std::string::npos; ++p) ++args;
  std::cout << fmt::format(
      "generated Dockerfile: {} lines, {} bytes, {} heredocs, {} ARG instructions\n", lines,
      d.size(), heredocs, args);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

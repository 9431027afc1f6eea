// What a step's events cost the build's displays: the events of one RUN
// step that prints three lines (started, missed, three outputs, done) sent
// to the plain log, the live terminal display (its redraw thread running)
// and the trace's display around the live one, written to a stream that
// keeps nothing. bench/display divides it by a RUN step's time.
#include <benchmark/benchmark.h>

#include <ostream>
#include <streambuf>

#include "cli/build_display.hpp"
#include "cli/build_trace.hpp"
#include "cli/tty_display.hpp"

using namespace strata;
using Kind = solver::StepEvent::Kind;

namespace {

class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

void one_step(cli::BuildDisplay& d, int i) {
  std::string name = "[app " + std::to_string(i % 50) + "/50] RUN make -j2 all";
  solver::StepEvent e;
  e.step = name;
  for (Kind k :
       {Kind::started, Kind::missed, Kind::output, Kind::output, Kind::output, Kind::done}) {
    e.kind = k;
    e.text = k == Kind::missed ? "no earlier build of this step" : "compiling src/file.c";
    d.step(e);
  }
}

void run(benchmark::State& state,
         const std::function<std::unique_ptr<cli::BuildDisplay>(std::ostream&)>& make) {
  NullBuffer buf;
  std::ostream out(&buf);
  auto d = make(out);
  int i = 0;
  for (auto _ : state) one_step(*d, i++);
  d->close();
}

void BM_PlainStep(benchmark::State& state) {
  run(state,
      [](std::ostream& out) { return std::move(*cli::make_build_display("plain", out, false)); });
}
void BM_TtyStep(benchmark::State& state) {
  run(state, [](std::ostream& out) {
    return std::make_unique<cli::TtyDisplay>(out, [] { return cli::TerminalSize{120, 40}; });
  });
}
void BM_TtyTracingStep(benchmark::State& state) {
  run(state, [](std::ostream& out) {
    return std::make_unique<cli::TracingDisplay>(std::make_unique<cli::TtyDisplay>(out, [] {
      return cli::TerminalSize{120, 40};
    }));
  });
}

}  // namespace

BENCHMARK(BM_PlainStep);
BENCHMARK(BM_TtyStep);
BENCHMARK(BM_TtyTracingStep);
BENCHMARK_MAIN();

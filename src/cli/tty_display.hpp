// --progress tty (auto on a terminal): the build as BuildKit's terminal
// display shows it, redrawn in place. Above, the lines that stay: each
// finished step ("=> CACHED [app 2/4] COPY ...", "=> [app 3/4] RUN make
// 3.4s", "=> ERROR ..."), messages and warnings; below, the live block: the
// build's time and how many steps are done, a line per running step with
// its own timer and its last lines of output, a line per transfer. Each
// line fits the terminal's width (read at every redraw, so a resize is
// followed); a block taller than the terminal shows its first lines and
// how many more run. A thread redraws the timers ten times a second; events
// print at once. The block appears with the first step or transfer (what
// the command writes to stderr before that is left alone) and goes with
// close(). Made by make_build_display (cli/build_display).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "cli/build_display.hpp"

namespace strata::cli {

struct TerminalSize {
  int columns = 80, rows = 24;
};
// The size of the terminal on `fd` ($COLUMNS/$LINES, else 80x24, when it
// says none).
TerminalSize terminal_size(int fd);

class TtyDisplay : public BuildDisplay {
 public:
  using Clock = std::chrono::steady_clock;
  // `size`: the terminal's, asked at every redraw. `redraw_thread` false:
  // only events redraw (for tests, with frame()).
  TtyDisplay(std::ostream& out, std::function<TerminalSize()> size, bool redraw_thread = true);
  ~TtyDisplay() override;

  void step(const solver::StepEvent& e) override;
  void message(const std::string& line) override;
  void warning(const std::string& text) override;
  std::unique_ptr<TransferDisplay> transfer(const std::string& what) override;
  void close() override;

  // The live block as it would be drawn at `now` for `size` (no escapes).
  std::string frame(Clock::time_point now, TerminalSize size);

 private:
  struct State;
  friend class TtyTransfer;
  std::unique_ptr<State> s_;
};

// "3.4s", "12s", "2m05s": a step's timer as BuildKit shows it.
std::string step_timer(double seconds);

}  // namespace strata::cli

// How `strata build` shows what it does, by --progress: plain lines (auto,
// plain), BuildKit's rawjson (one SolveStatus object per line, as `docker
// buildx build --progress rawjson` prints them), or nothing but warnings
// (quiet, none). The build command sends it the steps' events, the lines
// that pulls, pushes and exports say, and the byte counts of long
// transfers. Safe to call from several threads. Used by cli/build_command.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "solver/step_events.hpp"
#include "util/error.hpp"

namespace strata::cli {

// The bytes of one transfer (a push, an archive written, a cache export).
class TransferDisplay {
 public:
  virtual ~TransferDisplay() = default;
  // `total` 0: not known.
  virtual void update(uint64_t done, uint64_t total) = 0;
  // Once, when it is over.
  virtual void finish() = 0;
};

class BuildDisplay {
 public:
  virtual ~BuildDisplay() = default;
  virtual void step(const solver::StepEvent& e) = 0;
  // A line about the build that belongs to no step ("pulled ...").
  virtual void message(const std::string& line) = 0;
  // Shown whatever the mode, quiet too.
  virtual void warning(const std::string& text) = 0;
  // nullptr when the mode shows no transfers.
  virtual std::unique_ptr<TransferDisplay> transfer(const std::string& what) = 0;
  // The build is over (or failed): what the display still shows is put
  // down for good, before the command prints its result or error.
  virtual void close() {}
};

// `mode`: auto, tty, plain, quiet, none or rawjson; written to `out`
// (stderr). auto is tty on a terminal (unless TERM=dumb), else plain.
Result<std::unique_ptr<BuildDisplay>> make_build_display(std::string_view mode, std::ostream& out,
                                                         bool terminal);

// Go's RFC 3339 with nanoseconds, as BuildKit's JSON has its times:
// "2026-12-03T10:00:00.5Z" (trailing zeros of the fraction dropped).
std::string rfc3339_nano(std::chrono::system_clock::time_point t);

}  // namespace strata::cli

// Progress of long transfers (save, load, exports) on stderr: one line
// rewritten in place when stderr is a terminal (unless the command was told
// --progress plain: then never an escape code), otherwise a plain line every
// few seconds; bytes done, rate and, when the total is known, time left.
// Used by the CLI's commands.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace strata::cli {

// auto: in place on a terminal; plain: lines only, wherever stderr goes.
enum class Display { auto_, plain };

class Progress {
 public:
  // On stderr: in place when `display` is auto_ and stderr is a terminal.
  explicit Progress(std::string what, Display display = Display::auto_);
  // On `out`, in place or as plain lines (what the other constructor picks).
  Progress(std::string what, bool in_place, std::ostream& out);
  // `total` 0: not known.
  void update(uint64_t done, uint64_t total);
  // The last line, with the time it took.
  void finish();

 private:
  std::string line(uint64_t done, uint64_t total) const;
  std::string what_;
  bool tty_;
  std::ostream* out_;
  std::chrono::steady_clock::time_point start_, last_;
  uint64_t done_ = 0, total_ = 0;
};

}  // namespace strata::cli

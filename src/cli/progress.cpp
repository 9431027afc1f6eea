#include "cli/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

#include "util/strings.hpp"

namespace strata::cli {

Progress::Progress(std::string what, Display display)
    : Progress(std::move(what), display == Display::auto_ && ::isatty(STDERR_FILENO) == 1,
               std::cerr) {}

Progress::Progress(std::string what, bool in_place, std::ostream& out)
    : what_(std::move(what)),
      tty_(in_place),
      out_(&out),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

std::string Progress::line(uint64_t done, uint64_t total) const {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  std::string s = fmt::format("{}: {}", what_, human_size(static_cast<double>(done)));
  if (total) s += fmt::format(" of {}", human_size(static_cast<double>(total)));
  if (secs > 0.05) s += fmt::format(", {}/s", human_size(rate));
  if (total && rate > 0 && done < total)
    s += fmt::format(", {:.0f}s left", static_cast<double>(total - done) / rate);
  return s;
}

void Progress::update(uint64_t done, uint64_t total) {
  done_ = done;
  total_ = total;
  auto now = std::chrono::steady_clock::now();
  auto every = tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000);
  if (now - last_ < every) return;
  last_ = now;
  if (tty_)
    *out_ << "\r\033[K" << line(done, total) << std::flush;
  else
    *out_ << line(done, total) << "\n";
}

void Progress::finish() {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  *out_ << (tty_ ? "\r\033[K" : "")
        << fmt::format("{}: {} in {:.2f}s\n", what_, human_size(static_cast<double>(done_)), secs);
}

}  // namespace strata::cli

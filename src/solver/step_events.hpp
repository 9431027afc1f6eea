// What a build tells about its steps while it runs, as typed events: the
// builder sends when a step starts, its output and notes, and when it ends or
// fails; the step cache sends whether it hit or why it missed. A display
// (cli/build_display) turns them into the plain log or BuildKit's rawjson.
// Events of one build arrive one at a time, in the order they happened, from
// whatever thread the step runs on.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace strata::solver {

struct StepEvent {
  enum class Kind {
    started,  // the step begins; `after` is the step before it in its stage
    cached,   // its result came from the cache: nothing runs
    missed,   // it runs; `text` says why the cache could not answer
    output,   // a line the step's command printed (`text`, secrets masked)
    note,     // a line strata says about the step
    done,     // it ended well; `ran`: it did work that took `seconds`
    failed,   // it ended with the error in `text`
  };
  Kind kind = Kind::note;
  std::string step{};   // its name as the log shows it: "[base 2/3] RUN make"
  std::string after{};  // started: the name of the step before it ("" for a stage's first)
  std::string text{};
  bool ran = false;
  double seconds = 0;
  double container_seconds = 0;  // done: of those, in the RUN's container
  std::string key{};             // cached, missed: the step's cache key ("" when none)
  std::chrono::system_clock::time_point at = std::chrono::system_clock::now();
};

using StepEvents = std::function<void(const StepEvent&)>;

}  // namespace strata::solver

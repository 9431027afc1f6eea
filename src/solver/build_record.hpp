// The record of a build's steps: what `strata explain` prints and what the
// next build of the same target explains its misses against (each step's
// key in the last build). Kept in the store as JSON; the solver's step
// cache writes it, the CLI reads it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace strata::solver {

// One step that can change files (RUN, COPY, ADD, WORKDIR).
struct StepRecord {
  std::string stage;  // the stage's name, or stage-N
  size_t index = 0;   // the step's position in its stage
  size_t number = 0;  // its number in the progress output ([stage N/M])
  int line = 0;       // its line in the Dockerfile
  std::string text;   // the instruction as written
  std::string key;    // its cache key; "" when it cannot be cached
  bool cached = false;
  std::string reason;  // why it ran (not cached), secrets masked
  double seconds = 0;  // how long it ran (not cached)
  // A marked RUN (# strata:incremental) that ran, or whose cached result
  // was made, on top of an earlier result: that result's key, and where it
  // came from ("the last build", "the cache imported from R", ...).
  std::string incremental_on{}, incremental_from{};
  std::string platform{};  // its stage's ("" in records before it was kept)
  // When it started (Unix seconds; a hit: when it was looked up) and, of a
  // RUN that ran, the seconds in its container: a build's timeline
  // (strata explain --trace, --html). 0 in records before they were kept.
  double started = 0;
  double container_seconds = 0;
};

std::string records_to_json(const std::vector<StepRecord>& records);
// A record written by records_to_json (or by an earlier strata, which wrote
// the same fields); anything else is an error that says what is wrong.
Result<std::vector<StepRecord>> records_from_json(std::string_view text);

}  // namespace strata::solver

// The cache protocol of a build's steps: given a step's identity, its key
// inputs and how to run it, a hit returns the recorded layer without
// running anything; a miss runs the step (identical steps of one build run
// once) and records its result behind the build, with the reason it
// missed, explained against the same step of the last build of the target.
// The builder calls it for every step that can change files; it knows
// nothing of what a step does.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "graph/cache_key.hpp"
#include "oci/image.hpp"
#include "solver/build_record.hpp"
#include "solver/step_events.hpp"
#include "store/store.hpp"
#include "util/parallel.hpp"

namespace strata::solver {

struct StepId {
  std::string stage;  // the stage's name (what --no-cache-filter names)
  size_t index = 0;   // the step's position in its stage
  size_t number = 0;  // its number in the progress output
  int line = 0;
  std::string text;
  std::string name;  // as its events name it: "[base 2/3] RUN make"
};

// What a step produced: a layer, or none for a step that changed no file.
using StepLayer = std::optional<oci::LayerRef>;

struct StepOutcome {
  StepLayer layer;
  std::string key;      // "" for a step that cannot be cached
  int64_t created = 0;  // when the result was made (a hit's record time)
  bool cached = false;
};

struct StepCacheOptions {
  bool no_cache = false;                  // --no-cache: every step runs
  std::set<std::string> no_cache_stages;  // --no-cache-filter: these stages' steps run
  std::string build_name;  // the target whose last build misses are explained against
  // The caches imported for this build: a step the store never built is
  // "not in the cache imported from" them.
  std::vector<std::string> cache_sources;
  // SOURCE_DATE_EPOCH: every result's time; without it a miss is made now
  // and a hit keeps its record's time.
  std::optional<int64_t> source_date_epoch;
  std::function<std::string(std::string)> redact;  // masks secrets in reasons
  // cached, missed, done: called from the threads the steps run on, so
  // the sink serialises them.
  StepEvents events;
};

class StepCache {
 public:
  // Reads the last build record of opts.build_name.
  StepCache(store::Store& store, StepCacheOptions opts);
  StepCache(const StepCache&) = delete;
  StepCache& operator=(const StepCache&) = delete;

  // Runs `exec` on a miss; it is given the step's inputs and the key the
  // step had in the last build ("" when none: a COPY makes a delta on that
  // one's snapshot). `inputs` nullopt: the step cannot be cached and always
  // runs. Safe to call from several threads.
  using Exec = std::function<Result<StepLayer>(const std::optional<graph::StepInputs>& inputs,
                                               const std::string& previous_key)>;
  Result<StepOutcome> run(const StepId& id, std::optional<graph::StepInputs> inputs,
                          const Exec& exec);

  // Waits for the cache records still being written, then records the
  // build (for `strata explain` and the next build's reasons) and returns
  // its steps, in the order they finished.
  Result<std::vector<StepRecord>> finish();

 private:
  int64_t now() const;
  void emit(StepEvent::Kind kind, const StepId& id, std::string text = {},
            double seconds = 0) const;
  void note(StepRecord record);
  std::string miss_reason(const std::string& previous, const graph::StepInputs& now);

  store::Store& store_;
  StepCacheOptions opts_;
  std::map<std::string, std::string> previous_;  // "stage/index" -> the last build's key
  std::mutex mu_;                                // guards inflight_ and records_
  std::map<std::string, std::shared_future<Result<StepLayer>>> inflight_;
  std::vector<StepRecord> records_;
  // Cache records are written here, behind the build: encoding and storing
  // a big COPY's file list takes milliseconds no later step waits for.
  // Last, so that it finishes before the members its tasks use go.
  SerialQueue writes_;
};

}  // namespace strata::solver

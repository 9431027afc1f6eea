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
#include <memory>
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
  std::string stage{};  // the stage's name (what --no-cache-filter names)
  size_t index = 0;     // the step's position in its stage
  size_t number = 0;    // its number in the progress output
  int line = 0;
  std::string text{};
  std::string name{};        // as its events name it: "[base 2/3] RUN make"
  bool incremental = false;  // a RUN marked # strata:incremental
  std::string platform{};    // its stage's ("linux/arm64")
};

// A step's identity across builds, whatever its inputs: its stage's name,
// the platform it is built for and its instruction as written
// ("sha256:..."). The results of a marked RUN are found by it.
std::string step_identity(const StepId& id);

// What a step produced: a layer, or none for a step that changed no file.
using StepLayer = std::optional<oci::LayerRef>;

// An earlier result of a marked RUN, which it runs on top of when it
// misses: that result's key and layer, the root it ran on, and where it
// came from as the build says it ("the last build", "the cache imported
// from R").
struct IncrementalBase {
  std::string key;
  oci::LayerRef layer;
  std::vector<std::string> parent;  // diff ids, bottom first
  std::string from;
};

// What running a step made: its layer, the diff ids of the root it ran on
// (a RUN's; nullopt for other steps), and whether it ran on top of the
// IncrementalBase it was given (the step cache fills in which).
struct StepRun {
  StepLayer layer;
  std::optional<std::vector<std::string>> root;
  bool incremental = false;
  std::string incremental_on, incremental_from;
  double container_seconds = 0;  // a RUN's, in its container
};

struct StepOutcome {
  StepLayer layer;
  std::string key;      // "" for a step that cannot be cached
  std::string chain;    // what the next step's key builds on (chain_key)
  int64_t created = 0;  // when the result was made (a hit's record time)
  bool cached = false;
};

// The key the steps after a result build on: the step's key, or, for a
// result made incrementally, a key of it and the layer (so that the steps
// after it are cached apart from those after a result made from scratch,
// and --no-incremental rebuilds them too).
std::string chain_key(const std::string& key, const store::Store::CacheRecord& record);

// The steps being run in this process, by key: a step that builds running
// at once (the platforms of one `--platform a,b` build, each with a step
// cache of its own) both miss runs once, the others waiting for its
// result. A step cache makes one of its own unless given one to share.
struct RunningSteps {
  std::mutex mu;
  std::map<std::string, std::shared_future<Result<StepRun>>> by_key;
};

struct StepCacheOptions {
  bool no_cache = false;                  // --no-cache: every step runs
  std::set<std::string> no_cache_stages;  // --no-cache-filter: these stages' steps run
  // false (--no-incremental): marks do nothing and results made
  // incrementally are not hits (--no-cache turns them off too).
  bool incremental = true;
  std::string build_name;  // the target whose last build misses are explained against
  // The caches imported for this build, as their records name their
  // source: a step the store never built is "not in the cache imported
  // from" them, and a marked RUN the last build lacks builds on their
  // latest record of it first.
  std::vector<std::string> cache_sources;
  // SOURCE_DATE_EPOCH: every result's time; without it a miss is made now
  // and a hit keeps its record's time.
  std::optional<int64_t> source_date_epoch;
  std::function<std::string(std::string)> redact;  // masks secrets in reasons
  // cached, missed, done: called from the threads the steps run on, so
  // the sink serialises them.
  StepEvents events;
  std::shared_ptr<RunningSteps> running;  // shared with builds running at once; none: its own
};

class StepCache {
 public:
  // Reads the last build record of opts.build_name.
  StepCache(store::Store& store, StepCacheOptions opts);
  StepCache(const StepCache&) = delete;
  StepCache& operator=(const StepCache&) = delete;

  // Runs `exec` on a miss; it is given the step's inputs, the key the step
  // had in the last build ("" when none: a COPY makes a delta on that one's
  // snapshot) and, for a marked RUN, the earlier result to run on top of
  // (null when there is none or marks are off). `inputs` nullopt: the step
  // cannot be cached and always runs. Safe to call from several threads.
  using Exec =
      std::function<Result<StepRun>(const std::optional<graph::StepInputs>& inputs,
                                    const std::string& previous_key, const IncrementalBase* base)>;
  Result<StepOutcome> run(const StepId& id, std::optional<graph::StepInputs> inputs,
                          const Exec& exec);

  // Whether a step of `stage` with this key would hit, without running
  // anything: the chain_key the steps after it build on, or nullopt.
  Result<std::optional<std::string>> probe(const std::string& stage, const std::string& key);

  // Waits for the cache records still being written, then records the
  // build (for `strata explain` and the next build's reasons) and returns
  // its steps, in the order they finished.
  Result<std::vector<StepRecord>> finish();

 private:
  int64_t now() const;
  void emit(StepEvent::Kind kind, const StepId& id, std::string text = {}, double seconds = 0,
            std::string key = {}, double container_seconds = 0) const;
  void note(StepRecord record);
  std::string miss_reason(const std::string& previous, const graph::StepInputs& now);
  bool uses_cache(const std::string& stage) const;
  // A hit that this build may use: not one made incrementally when marks
  // are off.
  bool usable(const store::Store::CacheRecord& record) const;
  // The earlier result a marked RUN that missed runs on top of.
  Result<std::optional<IncrementalBase>> incremental_base(const StepId& id);

  store::Store& store_;
  StepCacheOptions opts_;
  std::map<std::string, std::string> previous_;          // "stage/index" -> the last build's key
  std::map<std::string, std::string> previous_of_step_;  // step_identity -> the last build's key
  std::mutex mu_;                                        // guards records_
  std::vector<StepRecord> records_;
  // Cache records are written here, behind the build: encoding and storing
  // a big COPY's file list takes milliseconds no later step waits for.
  // Last, so that it finishes before the members its tasks use go.
  SerialQueue writes_;
};

}  // namespace strata::solver

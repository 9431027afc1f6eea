// Executes a Plan: each stage from its base (scratch, an image in the store,
// or an earlier stage), every RUN in a container on an overlay of the layer
// snapshots, every COPY/ADD into such an overlay, each step's upper dir
// turned into a layer, and the target stage written as an OCI image.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "archive/sink.hpp"
#include "dockerfile/dockerignore.hpp"
#include "exec/runtime.hpp"
#include "frontend/plan.hpp"
#include "images/pull.hpp"
#include "images/stored_image.hpp"
#include "solver/build_record.hpp"
#include "solver/step_events.hpp"
#include "store/store.hpp"

namespace strata::solver {
struct RunningSteps;
}

namespace strata::builder {

// A directory COPY, ADD and bind mounts read from, with its .dockerignore.
struct LocalContext {
  std::filesystem::path root;
  const dockerfile::IgnoreMatcher* ignore = nullptr;
};

struct BuildOptions {
  std::filesystem::path context;
  const dockerfile::IgnoreMatcher* ignore = nullptr;
  // --build-context directories, by the name a SourceRef of kind context gives.
  std::map<std::string, LocalContext> named_contexts;
  exec::Runtime runtime;
  std::string network = "host";  // the default for RUN: host or none
  archive::Compression compression = archive::Compression::gzip;
  std::optional<int64_t> source_date_epoch;
  int jobs = 1;                            // stages built at once
  bool no_cache = false;                   // --no-cache
  bool incremental = true;                 // false: --no-incremental (marks do nothing)
  std::set<std::string> no_cache_stages;   // --no-cache-filter
  bool normalize_permissions = false;      // mask group/other write bits of COPY
  bool direct_copy = true;                 // COPY from the context without an overlay where it can
  std::string build_name;                  // which earlier build misses are explained against
  std::vector<std::string> cache_sources;  // --cache-from imported, named in miss reasons
  // --secret id -> value: mounted from memory (tmpfs) or set in the
  // environment of the RUN steps that ask, masked in their output, never
  // written to the store.
  std::map<std::string, std::string> secrets;
  std::map<std::string, std::filesystem::path> ssh;  // --ssh id -> agent socket
  uint64_t shm_size = 0;                             // --shm-size of RUN steps; 0: 64 MiB
  std::vector<exec::Ulimit> ulimits;                 // --ulimit of RUN steps
  std::vector<exec::ExtraHost> extra_hosts;          // --add-host of RUN steps
  std::map<std::string, std::string> annotations;    // --annotation: the image manifest's
  // Images the store lacks are pulled (lazily: layers when a step needs them).
  images::PullOptions pull;
  solver::StepEvents events;  // what the steps do, one event at a time
  // Builds running at once in this process (the platforms of one build):
  // the steps they share run once (solver::RunningSteps), and each step's
  // name starts with `label` (its platform) to tell them apart.
  std::shared_ptr<solver::RunningSteps> running_steps;
  std::string label;
  // Set when a build running at once failed: this one starts no more steps.
  std::shared_ptr<std::atomic<bool>> stop;
};

struct BuildResult {
  images::StoredImage image;
  double container_seconds = 0;         // time spent running RUN steps' containers
  std::vector<std::string> keys;        // every cacheable step of the build (--cache-to mode=max)
  std::vector<std::string> image_keys;  // the steps that made the image's layers (mode=min)
  size_t base_layers = 0;               // the image's first layers, from its base image
  std::vector<solver::StepRecord> records;  // every step, as the build record keeps them
};

Result<BuildResult> build(const frontend::Plan& plan, store::Store& store,
                          const BuildOptions& opts);

// "2026-11-22T10:00:00Z"
std::string rfc3339(int64_t seconds);

}  // namespace strata::builder

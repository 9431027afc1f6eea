// A step's changed files committed as a layer (builder/ only): the layer
// blob written from a directory (an overlay's upper dir or a direct copy's
// snapshot), and the directory kept as the layer's snapshot.
#pragma once

#include <filesystem>
#include <string>
#include <unordered_map>

#include "builder/build_state.hpp"
#include "builder/direct_copy.hpp"
#include "snapshot/layer.hpp"

namespace strata::builder {

// What a direct copy hands to layer_of.
struct CopySnapshot {
  // The files and their objects, whose tar entries the store keeps for
  // the next layer that has the same ones.
  const std::unordered_map<std::string, snapshot::ObjectFile>* objects = nullptr;
  const DeltaBase* base = nullptr;  // the directory is a delta on this
  std::string base_diff_id;
  const std::string* manifest = nullptr;  // see DirectCopy::manifest
};

// The layer of a step's changes in `dir`, which then becomes the layer's
// snapshot (`kept`) unless the store has one already; none when `dir` holds
// no change.
Result<solver::StepLayer> layer_of(BuildState& st, const std::filesystem::path& dir,
                                   dockerfile::Kind kind, bool hardlinks, bool& kept,
                                   const CopySnapshot* copy = nullptr);

}  // namespace strata::builder

#include "builder/stage_needs.hpp"

#include <functional>
#include <limits>
#include <map>

#include "builder/step_inputs.hpp"

namespace strata::builder {

namespace {

using dockerfile::Kind;
using frontend::PlannedStage;
using frontend::SourceRef;
using frontend::Step;

constexpr size_t kAllHit = std::numeric_limits<size_t>::max();

bool changes_files(const Step& step) {
  return step.kind == Kind::Run || step.kind == Kind::Copy || step.kind == Kind::Add ||
         step.kind == Kind::Workdir;
}

// The stages a step reads the files of (COPY --from, RUN --mount from=).
std::vector<int> stage_sources(const Step& step) {
  std::vector<int> out;
  if (step.copy && step.copy->from.kind == SourceRef::stage) out.push_back(step.copy->from.index);
  if (step.run)
    for (const auto& m : step.run->mount_sources)
      if (m.kind == SourceRef::stage) out.push_back(m.index);
  return out;
}

// Whether keying the step takes more than reading: a bind mount of a
// stage is keyed by its files (the stage must be built), a remote source
// by what the network says now. Such a step is left to the build.
bool keyed_only_by_building(const Step& step) {
  if (step.run)
    for (size_t i = 0; i < step.run->mounts.size(); ++i)
      if (step.run->mounts[i].type == dockerfile::MountType::bind &&
          step.run->mount_sources[i].kind == SourceRef::stage)
        return true;
  if (step.copy)
    for (const auto& src : step.copy->sources)
      if (dockerfile::is_remote_source(src)) return true;
  return false;
}

struct StageKeys {
  bool known = true;              // false: from first_run on the keys are not known
  std::string chain;              // the key of its last step that changes files (when known)
  size_t first_run = kAllHit;     // the first step that may run
  std::vector<std::string> keys;  // of its steps, as far as known
};

}  // namespace

Result<StagesToBuild> stages_to_build(BuildState& st, const frontend::Plan& plan) {
  StagesToBuild all;
  std::map<int, const PlannedStage*> by_index;
  for (const auto& s : plan.stages) {
    all.build.insert(s.index);
    by_index[s.index] = &s;
  }
  // Only a stage outside the target's line of FROMs can be left out.
  size_t line = 0;
  for (const PlannedStage* s = &plan.stages.back(); s;
       s = s->base.kind == SourceRef::stage ? by_index.at(s->base.index) : nullptr)
    ++line;
  if (st.opts.no_cache)
    for (const auto& s : plan.stages) all.first_run[s.index] = 0;
  if (line == plan.stages.size() || st.opts.no_cache) return all;

  std::map<int, StageKeys> keys;
  for (const auto& stage : plan.stages) {  // dependencies first
    StageKeys k;
    StageImage img;
    switch (stage.base.kind) {
      case SourceRef::stage: {
        const StageKeys& base = keys.at(stage.base.index);
        k.known = base.known;
        img.chain = base.chain;
        break;
      }
      case SourceRef::image:
        img.chain = graph::Source::base_image(
            TRY_VALUE(st.image(stage.base.name, TRY_VALUE(oci::parse_platform(stage.platform))))
                .manifest_desc.digest);
        break;
      default:
        img.chain = graph::Source::base_scratch();
    }
    std::string name = stage_name(stage);
    for (size_t i = 0; i < stage.steps.size() && k.known; ++i) {
      const Step& step = stage.steps[i];
      if (!changes_files(step)) continue;
      bool sources_known = true;
      for (int src : stage_sources(step)) sources_known = sources_known && keys.at(src).known;
      if (!sources_known || keyed_only_by_building(step)) {
        k.known = false;
        k.first_run = std::min(k.first_run, i);
        break;
      }
      ProbedInputs probe;
      probe.parent = img.chain;
      probe.inputs = TRY_VALUE(step_inputs(st, img, step, stage, probe.listing));
      if (!probe.inputs) {  // not cacheable: it runs, its parent's key goes on
        k.first_run = std::min(k.first_run, i);
        st.probed[{stage.index, i}] = std::move(probe);
        continue;
      }
      std::string key = probe.inputs->key();
      auto chain = TRY_VALUE(st.cache.probe(name, key));
      if (!chain) k.first_run = std::min(k.first_run, i);
      st.probed[{stage.index, i}] = std::move(probe);
      k.keys.push_back(key);
      img.chain = chain.value_or(key);
    }
    if (!k.known && k.first_run == kAllHit) k.first_run = 0;  // its base is not known
    k.chain = img.chain;
    if (k.known) {
      StageImage keyed;
      keyed.built = false;
      keyed.chain = k.chain;
      st.set_built(stage.index, std::move(keyed));  // what its consumers' keys read
    }
    keys[stage.index] = std::move(k);
  }

  StagesToBuild out;
  std::function<void(int)> need = [&](int index) {
    if (!out.build.insert(index).second) return;
    const PlannedStage& s = *by_index.at(index);
    if (s.base.kind == SourceRef::stage) need(s.base.index);
    for (size_t i = keys.at(index).first_run; i < s.steps.size(); ++i)
      for (int src : stage_sources(s.steps[i])) need(src);
  };
  need(plan.stages.back().index);
  for (const auto& [index, k] : keys)
    out.first_run[index] = std::min(k.first_run, by_index.at(index)->steps.size());
  for (const auto& [index, k] : keys)
    if (!out.build.count(index))
      out.keys_left_out.insert(out.keys_left_out.end(), k.keys.begin(), k.keys.end());
  return out;
}

}  // namespace strata::builder

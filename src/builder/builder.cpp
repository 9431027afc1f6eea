#include "builder/builder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "builder/build_state.hpp"
#include "builder/execute.hpp"
#include "builder/image_config.hpp"
#include "builder/stage_needs.hpp"
#include "builder/step_inputs.hpp"
#include "exec/emulation.hpp"
#include "os/process.hpp"
#include "solver/schedule.hpp"

using nlohmann::json;

namespace strata::builder {

std::string rfc3339(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

// BuildKit's layer annotation: the SOURCE_DATE_EPOCH the layer's file times
// were clamped to.
constexpr std::string_view kRewrittenTimestamp = "buildkit/rewritten-timestamp";

using dockerfile::Kind;
using frontend::PlannedStage;
using frontend::SourceRef;
using frontend::Step;

// Builds a plan's stages (each a task of the solver's schedule) step by
// step through the step cache, and writes the target stage's image.
class Builder {
 public:
  Builder(store::Store& store, const BuildOptions& opts) : st_(store, opts) {}

  // Stages whose dependencies are built run in parallel, up to opts.jobs.
  Result<BuildResult> run(const frontend::Plan& plan) {
    st_.dockerfile = plan.dockerfile;
    st_.platform = TRY_VALUE(oci::parse_platform(plan.platform));
    std::map<int, size_t> position;  // a stage's index -> its place in plan.stages
    for (size_t i = 0; i < plan.stages.size(); ++i) position[plan.stages[i].index] = i;
    auto build = TRY_VALUE(stages_to_build(st_, plan));
    // RUN steps for another architecture need QEMU: said now, not midway,
    // for the stages the probe saw a RUN of will run; the others are asked
    // before their first RUN that misses (a build whose RUNs all hit needs
    // no emulation).
    for (const auto& stage : plan.stages) {
      auto first = build.first_run.find(stage.index);
      if (!build.build.count(stage.index) || first == build.first_run.end()) continue;
      for (size_t i = first->second; i < stage.steps.size(); ++i)
        if (stage.steps[i].kind == Kind::Run) {
          TRY(can_run(stage));
          break;
        }
    }
    std::vector<solver::Task> tasks;
    for (const auto& stage : plan.stages) {
      solver::Task t;
      for (int d : stage.deps) t.deps.push_back(position.at(d));
      t.run = [this, &stage, needed = build.build.count(stage.index) > 0]() -> Result<void> {
        if (needed) st_.set_built(stage.index, TRY_VALUE(build_stage(stage)));
        return {};  // else only keyed
      };
      tasks.push_back(std::move(t));
    }
    TRY(solver::run_graph(tasks, static_cast<size_t>(std::max(1, st_.opts.jobs))));
    auto records = TRY_VALUE(st_.cache.finish());
    StageImage target = st_.built(plan.stages.back().index);
    // What the steps wrote besides layer blobs (snapshots, objects, kept
    // frames; overlays are volatile) goes to disk in one sync, made while
    // the image is written.
    Result<void> synced;
    std::thread syncing;
    if (st_.ran_steps) syncing = std::thread([&] { synced = st_.store.sync(); });
    auto image = write_image(target);
    if (syncing.joinable()) syncing.join();
    if (!image) return std::unexpected(image.error());
    if (!synced) return std::unexpected(synced.error());
    BuildResult out{std::move(*image),
                    static_cast<double>(st_.container_ns) / 1e9,
                    {},
                    target.keys,
                    target.base_layers,
                    {}};
    for (const auto& st : records)
      if (!st.key.empty()) out.keys.push_back(st.key);
    out.records = std::move(records);
    out.keys.insert(out.keys.end(), build.keys_left_out.begin(), build.keys_left_out.end());
    return out;
  }

  Result<StageImage> base_of(const PlannedStage& stage) {
    StageImage img;
    switch (stage.base.kind) {
      case SourceRef::stage:
        return st_.built(stage.base.index);
      case SourceRef::image: {
        auto stored =
            TRY_VALUE(st_.image(stage.base.name, TRY_VALUE(oci::parse_platform(stage.platform))));
        img.config = stored.config;
        img.layers = stored.layers;
        img.base_layers = stored.layers.size();
        img.chain = graph::Source::base_image(stored.manifest_desc.digest);
        return img;
      }
      default: {
        img.config = json::object();
        img.chain = graph::Source::base_scratch();
        return img;  // the platform fields are set when the stage ends
      }
    }
  }

  Result<StageImage> build_stage(const PlannedStage& stage) {
    // Steps are named as BuildKit names them, "[base 2/3] RUN ...": the
    // FROM of an image is the first, a stage without a name is stage-N.
    // Builds of several platforms at once say whose each step is:
    // "[linux/arm64 base 2/3] RUN ...".
    std::string name = stage_name(stage);
    std::string shown = st_.opts.label.empty() ? name : st_.opts.label + " " + name;
    size_t first = stage.base.kind == SourceRef::scratch ? 1 : 2;
    size_t count = stage.steps.size() + first - 1;
    std::string last_step;  // the step before the one that starts
    if (first == 2) {
      last_step = fmt::format("[{} 1/{}] FROM {}", shown, count, stage.base.name);
      started(last_step, "");
    }
    auto base = base_of(stage);
    if (!last_step.empty()) ended(last_step, base);
    if (!base) return std::unexpected(base.error());
    StageImage img = std::move(*base);
    json history = img.config.value("history", json::array());
    std::vector<std::optional<int64_t>> times(stage.steps.size());  // see below
    for (size_t i = 0; i < stage.steps.size(); ++i) {
      const Step& step = stage.steps[i];
      if (int sig = os::interrupted())
        return fail(Errc::io, fmt::format("interrupted by signal {}", sig));
      if (st_.opts.stop && *st_.opts.stop)
        return fail(Errc::io, "stopped: a build running at once failed");
      std::string step_name = fmt::format("[{} {}/{}] {}", shown, i + first, count, step.text);
      started(step_name, last_step);
      last_step = step_name;
      std::optional<oci::LayerRef> layer;
      if (step.kind == Kind::Run || step.kind == Kind::Copy || step.kind == Kind::Add ||
          step.kind == Kind::Workdir) {
        int64_t created = 0;
        auto l = cached_step(img, step, stage, name, step_name, i, i + first, created);
        times[i] = created;
        if (!l) {
          ended(step_name, l);
          // All the lines of an instruction that spans several.
          std::string lines = step.end_line > step.line
                                  ? fmt::format("{}-{}", step.line, step.end_line)
                                  : std::to_string(step.line);
          return std::unexpected(l.error().with_context(fmt::format(
              "step {}/{} of stage {} ({}:{})", i + first, count, name, st_.dockerfile, lines)));
        }
        layer = *l;  // the step cache said cached, or done
      } else {
        ended(step_name, Result<void>{});  // the config alone changes
      }
      json h = {{"created_by", step.history}, {"comment", "strata"}};
      if (layer)
        img.layers.push_back(*layer);
      else
        h["empty_layer"] = true;
      history.push_back(h);
    }
    // History times as BuildKit gives them: a step with a result, when that
    // result was made (a cached one keeps its time, so that a rebuild that
    // hits everywhere is the same image); any other, the time of the step
    // with a result before it, or the first one after it. The image's time
    // is the last entry's.
    std::optional<int64_t> fill;
    for (const auto& t : times)
      if (t) {
        fill = t;
        break;
      }
    int64_t last = fill.value_or(st_.now());
    for (size_t i = 0; i < stage.steps.size(); ++i) {
      if (times[i]) last = *times[i];
      history[history.size() - stage.steps.size() + i]["created"] = rfc3339(last);
    }
    json diff_ids = json::array();
    for (const auto& l : img.layers) diff_ids.push_back(l.diff_id);
    img.config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
    img.config["history"] = history;
    img.config["created"] = rfc3339(stage.steps.empty() ? st_.now() : last);
    auto platform = TRY_VALUE(oci::parse_platform(stage.platform));
    img.config["os"] = platform.os;
    img.config["architecture"] = platform.arch;
    if (!platform.variant.empty()) img.config["variant"] = platform.variant;
    apply_config(img.config, stage.config);
    return img;
  }

  // Whether this machine runs the programs of the stage's platform
  // (exec/emulation), asked once per architecture.
  Result<void> can_run(const PlannedStage& stage) {
    auto platform = TRY_VALUE(oci::parse_platform(stage.platform));
    std::lock_guard lock(emulation_mu_);
    auto [it, fresh] = emulation_.try_emplace(platform.arch);
    if (fresh)
      if (auto r = exec::check_can_run(platform.arch); !r) it->second = r.error();
    if (!it->second) return {};
    return std::unexpected(it->second->with_context(
        fmt::format("stage {} ({}:{})", stage_name(stage), st_.dockerfile, stage.line)));
  }

  void started(const std::string& step, const std::string& after) {
    st_.emit({.kind = solver::StepEvent::Kind::started, .step = step, .after = after});
  }

  // A step that the step cache did not end: done (it did nothing that took
  // time of its own), or failed with the error.
  template <class T>
  void ended(const std::string& step, const Result<T>& r) {
    if (r)
      st_.emit({.kind = solver::StepEvent::Kind::done, .step = step});
    else
      st_.emit({.kind = solver::StepEvent::Kind::failed, .step = step, .text = r.error().message});
  }

  // A step that can change files, through the step cache.
  // `step_name`: as its events name it; `number`: the step's number in the
  // progress output ([name N/M]); `created`: when the step's result was made
  // (its cache record's time on a hit), for the image history.
  Result<solver::StepLayer> cached_step(StageImage& img, const Step& step,
                                        const PlannedStage& stage, const std::string& name,
                                        const std::string& step_name, size_t index, size_t number,
                                        int64_t& created) {
    std::vector<SourceFile> listing;  // a COPY from the context: what it copies
    std::optional<graph::StepInputs> inputs;
    if (auto it = st_.probed.find({stage.index, index});
        it != st_.probed.end() && it->second.parent == img.chain) {
      inputs = std::move(it->second.inputs);
      listing = std::move(it->second.listing);
    } else {
      inputs = TRY_VALUE(step_inputs(st_, img, step, stage, listing));
    }
    solver::StepId id{name,
                      index,
                      number,
                      step.line,
                      step.text,
                      step_name,
                      step.run && step.run->incremental,
                      stage.platform};
    auto out = TRY_VALUE(
        st_.cache.run(id, std::move(inputs),
                      [&](const std::optional<graph::StepInputs>& in, const std::string& previous,
                          const solver::IncrementalBase* base) -> Result<solver::StepRun> {
                        if (step.kind == Kind::Run) TRY(can_run(stage));
                        return execute_step(st_, img, step, step_name, listing, in, previous, base);
                      }));
    created = out.created;
    if (!out.key.empty()) {
      img.chain = out.chain;
      img.keys.push_back(out.key);
    }
    return std::move(out.layer);
  }

  Result<images::StoredImage> write_image(const StageImage& img) {
    auto cfg = TRY_VALUE(st_.store.put_blob(oci::canonical(img.config), oci::kConfig));
    images::StoredImage out;
    out.layers = img.layers;
    // The layers this build made had their file times clamped to
    // SOURCE_DATE_EPOCH: they say so as BuildKit's rewrite-timestamp marks
    // the layers it rewrote (those of the base image are left as they are).
    if (st_.opts.source_date_epoch)
      for (size_t i = img.base_layers; i < out.layers.size(); ++i)
        out.layers[i].blob.annotations[std::string(kRewrittenTimestamp)] =
            std::to_string(*st_.opts.source_date_epoch);
    oci::Manifest m;
    m.config = cfg;
    for (const auto& l : out.layers) m.layers.push_back(l.blob);
    m.annotations = st_.opts.annotations;
    auto man = TRY_VALUE(st_.store.put_blob(oci::to_json_text(m), oci::kManifest));
    out.manifest_desc = man;
    out.manifest = m;
    out.config = img.config;
    return out;
  }

 private:
  BuildState st_;
  std::mutex emulation_mu_;
  std::map<std::string, std::optional<Error>> emulation_;  // by architecture: what it lacks
};

}  // namespace

Result<BuildResult> build(const frontend::Plan& plan, store::Store& store,
                          const BuildOptions& opts) {
  return Builder(store, opts).run(plan);
}

}  // namespace strata::builder

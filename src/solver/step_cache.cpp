#include "solver/step_cache.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

namespace strata::solver {

namespace {

std::string step_place(const std::string& stage, size_t index) {
  return fmt::format("{}/{}", stage, index);
}

}  // namespace

StepCache::StepCache(store::Store& store, StepCacheOptions opts)
    : store_(store), opts_(std::move(opts)) {
  // An unreadable or missing record only means that misses are explained
  // as having no earlier build.
  auto last = store_.last_build(opts_.build_name);
  if (!last || !*last) return;
  auto steps = records_from_json(**last);
  if (!steps) return;
  for (const auto& st : *steps)
    if (!st.key.empty()) previous_[step_place(st.stage, st.index)] = st.key;
}

int64_t StepCache::now() const {
  return opts_.source_date_epoch ? *opts_.source_date_epoch
                                 : static_cast<int64_t>(std::time(nullptr));
}

void StepCache::emit(StepEvent::Kind kind, const StepId& id, std::string text,
                     double seconds) const {
  if (!opts_.events) return;
  StepEvent e;
  e.kind = kind;
  e.step = id.name;
  e.text = std::move(text);
  e.ran = kind == StepEvent::Kind::done;
  e.seconds = seconds;
  opts_.events(e);
}

void StepCache::note(StepRecord record) {
  std::lock_guard g(mu_);
  records_.push_back(std::move(record));
}

Result<StepOutcome> StepCache::run(const StepId& id, std::optional<graph::StepInputs> inputs,
                                   const Exec& exec) {
  StepOutcome out;
  out.created = now();
  out.key = inputs ? inputs->key() : std::string();
  StepRecord record;
  record.stage = id.stage;
  record.index = id.index;
  record.number = id.number;
  record.line = id.line;
  record.text = id.text;
  record.key = out.key;
  bool use_cache = inputs && !opts_.no_cache && !opts_.no_cache_stages.count(id.stage);
  if (use_cache) {
    // The same step earlier in this build: its record may still be queued.
    bool ran_here = false;
    {
      std::lock_guard g(mu_);
      ran_here = inflight_.count(out.key) > 0;
    }
    if (ran_here) (void)writes_.wait();
    if (auto hit = TRY_VALUE(store_.cache_get(out.key))) {
      emit(StepEvent::Kind::cached, id);
      record.cached = out.cached = true;
      note(std::move(record));
      if (!opts_.source_date_epoch && hit->created > 0) out.created = hit->created;
      if (hit->blob) out.layer = oci::LayerRef{*hit->blob, hit->diff_id};
      return out;
    }
  }
  std::string previous;
  if (auto it = previous_.find(step_place(id.stage, id.index)); it != previous_.end())
    previous = it->second;
  std::string reason = !inputs          ? "not cacheable (ADD of a URL without --checksum)"
                       : opts_.no_cache ? "--no-cache"
                       : !use_cache     ? "--no-cache-filter " + id.stage
                                        : miss_reason(previous, *inputs);
  if (opts_.redact) reason = opts_.redact(std::move(reason));  // an ARG with a secret's value
  emit(StepEvent::Kind::missed, id, reason);
  record.reason = reason;

  // The same step twice in one build (two stages, say) runs once.
  std::shared_future<Result<StepLayer>> shared;
  std::promise<Result<StepLayer>> promise;
  bool first = true;
  if (inputs) {
    std::lock_guard g(mu_);
    if (auto it = inflight_.find(out.key); it != inflight_.end()) {
      shared = it->second;
      first = false;
    } else {
      inflight_[out.key] = promise.get_future().share();
    }
  }
  auto started = std::chrono::steady_clock::now();
  Result<StepLayer> layer = first ? exec(inputs, previous) : shared.get();
  record.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (layer) emit(StepEvent::Kind::done, id, {}, record.seconds);
  if (first && inputs) {
    promise.set_value(layer);
    if (layer) {
      store::Store::CacheRecord rec;
      if (*layer) rec = {(*layer)->blob, (*layer)->diff_id};
      rec.created = out.created;
      writes_.push([this, key = out.key, rec, in = std::move(*inputs)]() {
        return store_.cache_put(key, rec, in.to_json().dump());
      });
    }
  }
  note(std::move(record));
  if (!layer) return std::unexpected(layer.error());
  out.layer = std::move(*layer);
  return out;
}

std::string StepCache::miss_reason(const std::string& previous, const graph::StepInputs& now) {
  if (previous.empty())
    return opts_.cache_sources.empty() ? "no earlier build of this step"
                                       : fmt::format("not in the cache imported from {}",
                                                     fmt::join(opts_.cache_sources, ", "));
  // The earlier step's inputs live with its cache record.
  auto before = store_.cache_inputs(previous);
  if (!before || !*before) return "the earlier build's record of this step is gone (pruned)";
  auto j = nlohmann::json::parse(**before, nullptr, false);
  if ((*before)->empty())
    return "the earlier build's record of this step came from a cache without its inputs";
  if (!j.is_object()) return "the earlier build's record of this step is unreadable";
  std::string why = graph::explain_difference(graph::StepInputs::from_json(j), now);
  return why.empty() ? "same inputs as the last build, but its cache record is gone" : why;
}

Result<std::vector<StepRecord>> StepCache::finish() {
  TRY(writes_.wait());
  std::lock_guard g(mu_);
  TRY(store_.record_build(opts_.build_name, records_to_json(records_)));
  return records_;
}

}  // namespace strata::solver

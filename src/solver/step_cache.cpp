#include "solver/step_cache.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "digest/sha256.hpp"

namespace strata::solver {

namespace {

std::string step_place(const std::string& stage, size_t index) {
  return fmt::format("{}/{}", stage, index);
}

}  // namespace

std::string step_identity(const StepId& id) {
  return sha256_digest(id.stage + '\n' + id.platform + '\n' + id.text);
}

std::string chain_key(const std::string& key, const store::Store::CacheRecord& record) {
  if (record.incremental_on.empty()) return key;
  return sha256_digest("incremental\n" + key + '\n' + record.diff_id);
}

StepCache::StepCache(store::Store& store, StepCacheOptions opts)
    : store_(store), opts_(std::move(opts)) {
  if (!opts_.running) opts_.running = std::make_shared<RunningSteps>();
  // An unreadable or missing record only means that misses are explained
  // as having no earlier build.
  auto last = store_.last_build(opts_.build_name);
  if (!last || !*last) return;
  auto steps = records_from_json(**last);
  if (!steps) return;
  for (const auto& st : *steps) {
    if (st.key.empty()) continue;
    previous_[step_place(st.stage, st.index)] = st.key;
    previous_of_step_.emplace(
        step_identity({.stage = st.stage, .text = st.text, .platform = st.platform}), st.key);
  }
}

bool StepCache::uses_cache(const std::string& stage) const {
  return !opts_.no_cache && !opts_.no_cache_stages.count(stage);
}

bool StepCache::usable(const store::Store::CacheRecord& record) const {
  return opts_.incremental || record.incremental_on.empty();
}

Result<std::optional<std::string>> StepCache::probe(const std::string& stage,
                                                    const std::string& key) {
  if (!uses_cache(stage)) return std::nullopt;
  auto hit = TRY_VALUE(store_.cache_get(key));
  if (!hit || !usable(*hit)) return std::nullopt;
  return chain_key(key, *hit);
}

Result<std::optional<IncrementalBase>> StepCache::incremental_base(const StepId& id) {
  std::string identity = step_identity(id);
  std::optional<std::pair<std::string, store::Store::CacheRecord>> found;
  std::string from;
  if (auto it = previous_of_step_.find(identity); it != previous_of_step_.end()) {
    if (auto rec = TRY_VALUE(store_.cache_get(it->second)); rec && rec->blob && rec->parent) {
      found.emplace(it->second, std::move(*rec));
      from = "the last build";
    }
  }
  if (!found) {
    found = TRY_VALUE(store_.cache_latest_of_step(identity, opts_.cache_sources));
    if (!found) return std::nullopt;
    from = "the cache imported from " + found->second.source;
  }
  auto& [key, rec] = *found;
  return IncrementalBase{key, oci::LayerRef{*rec.blob, rec.diff_id}, std::move(*rec.parent),
                         std::move(from)};
}

int64_t StepCache::now() const {
  return opts_.source_date_epoch ? *opts_.source_date_epoch
                                 : static_cast<int64_t>(std::time(nullptr));
}

void StepCache::emit(StepEvent::Kind kind, const StepId& id, std::string text, double seconds,
                     std::string key, double container_seconds) const {
  if (!opts_.events) return;
  StepEvent e;
  e.kind = kind;
  e.step = id.name;
  e.text = std::move(text);
  e.ran = kind == StepEvent::Kind::done;
  e.seconds = seconds;
  e.key = std::move(key);
  e.container_seconds = container_seconds;
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
  out.key = out.chain = inputs ? inputs->key() : std::string();
  StepRecord record;
  record.stage = id.stage;
  record.index = id.index;
  record.number = id.number;
  record.line = id.line;
  record.text = id.text;
  record.platform = id.platform;
  record.key = out.key;
  auto wall_now = [] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  record.started = wall_now();
  bool use_cache = inputs && uses_cache(id.stage);
  std::string unusable;  // why a record of this key is not a hit
  if (use_cache) {
    // The same step earlier in this build (or one running at once): its
    // record may still be queued.
    std::optional<std::shared_future<Result<StepRun>>> ran_here;
    {
      std::lock_guard g(opts_.running->mu);
      if (auto it = opts_.running->by_key.find(out.key); it != opts_.running->by_key.end())
        ran_here = it->second;
    }
    if (ran_here) {
      ran_here->wait();
      (void)writes_.wait();
    }
    if (auto hit = TRY_VALUE(store_.cache_get(out.key)); hit && usable(*hit)) {
      emit(StepEvent::Kind::cached, id, {}, 0, out.key);
      record.cached = out.cached = true;
      record.incremental_on = hit->incremental_on;
      record.incremental_from = hit->incremental_from;
      note(std::move(record));
      if (!opts_.source_date_epoch && hit->created > 0) out.created = hit->created;
      if (hit->blob) out.layer = oci::LayerRef{*hit->blob, hit->diff_id};
      out.chain = chain_key(out.key, *hit);
      return out;
    } else if (hit) {
      unusable = "--no-incremental: its cached result was made incrementally";
    }
  }
  std::string previous;
  if (auto it = previous_.find(step_place(id.stage, id.index)); it != previous_.end())
    previous = it->second;
  std::string reason = !inputs             ? "not cacheable (ADD of a URL without --checksum)"
                       : opts_.no_cache    ? "--no-cache"
                       : !use_cache        ? "--no-cache-filter " + id.stage
                       : !unusable.empty() ? unusable
                                           : miss_reason(previous, *inputs);
  if (opts_.redact) reason = opts_.redact(std::move(reason));  // an ARG with a secret's value
  emit(StepEvent::Kind::missed, id, reason, 0, out.key);
  record.reason = reason;
  std::optional<IncrementalBase> base;
  if (id.incremental && use_cache && opts_.incremental) base = TRY_VALUE(incremental_base(id));

  // The same step twice in one build (two stages, say) runs once.
  std::shared_future<Result<StepRun>> shared;
  std::promise<Result<StepRun>> promise;
  bool first = true;
  if (inputs) {
    std::lock_guard g(opts_.running->mu);
    auto& running = opts_.running->by_key;
    if (auto it = running.find(out.key); it != running.end()) {
      shared = it->second;
      first = false;
    } else {
      running[out.key] = promise.get_future().share();
    }
  }
  auto started = std::chrono::steady_clock::now();
  record.started = wall_now();
  Result<StepRun> ran = first ? exec(inputs, previous, base ? &*base : nullptr) : shared.get();
  record.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (first && ran && ran->incremental && base) {
    ran->incremental_on = base->key;
    ran->incremental_from = base->from;
  }
  if (first && inputs) promise.set_value(ran);
  if (ran) {
    if (first && ran->incremental)
      emit(StepEvent::Kind::note, id,
           fmt::format("ran incrementally on the result of {} from {}", ran->incremental_on,
                       ran->incremental_from));
    emit(StepEvent::Kind::done, id, {}, record.seconds, {}, ran->container_seconds);
    record.container_seconds = ran->container_seconds;
    record.incremental_on = ran->incremental_on;
    record.incremental_from = ran->incremental_from;
    store::Store::CacheRecord rec;
    if (ran->layer) rec = {ran->layer->blob, ran->layer->diff_id};
    rec.created = out.created;
    rec.step = step_identity(id);
    rec.parent = ran->root;
    rec.incremental_on = ran->incremental_on;
    rec.incremental_from = ran->incremental_from;
    if (inputs) out.chain = chain_key(out.key, rec);
    if (first && inputs)
      writes_.push([this, key = out.key, rec, in = std::move(*inputs)]() {
        return store_.cache_put(key, rec, in.to_json().dump());
      });
  }
  note(std::move(record));
  if (!ran) return std::unexpected(ran.error());
  out.layer = std::move(ran->layer);
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

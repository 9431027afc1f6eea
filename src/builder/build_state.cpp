#include "builder/build_state.hpp"

#include <fmt/format.h>

#include <ctime>

#include "builder/git.hpp"
#include "util/strings.hpp"

namespace strata::builder {

std::string mask_secrets(const std::map<std::string, std::string>& secrets, std::string line) {
  for (const auto& [id, value] : secrets) {
    for (const auto& part : split(value, '\n')) {
      if (part.size() < 3) continue;  // masking "a" everywhere would hide more than it protects
      for (size_t at; (at = line.find(part)) != std::string::npos;)
        line.replace(at, part.size(), "****");
    }
  }
  return line;
}

std::string stage_name(const frontend::PlannedStage& stage) {
  return stage.name.empty() ? fmt::format("stage-{}", stage.index) : stage.name;
}

namespace {

solver::StepCacheOptions cache_options(BuildState& st) {
  solver::StepCacheOptions c;
  c.no_cache = st.opts.no_cache;
  c.no_cache_stages = st.opts.no_cache_stages;
  c.incremental = st.opts.incremental && !st.opts.no_cache;
  c.build_name = st.opts.build_name;
  c.cache_sources = st.opts.cache_sources;
  c.source_date_epoch = st.opts.source_date_epoch;
  c.redact = [&st](std::string reason) { return st.mask_secrets(std::move(reason)); };
  c.events = [&st](const solver::StepEvent& e) { st.emit(e); };
  c.running = st.opts.running_steps;
  return c;
}

}  // namespace

BuildState::BuildState(store::Store& s, const BuildOptions& o)
    : store(s), opts(o), cache(s, cache_options(*this)) {}

int64_t BuildState::now() const {
  return opts.source_date_epoch ? *opts.source_date_epoch
                                : static_cast<int64_t>(std::time(nullptr));
}

void BuildState::emit(solver::StepEvent e) {
  std::lock_guard g(events_mu_);
  if (opts.events) opts.events(e);
}

void BuildState::output(const std::string& step, std::string line) {
  emit({.kind = solver::StepEvent::Kind::output, .step = step, .text = std::move(line)});
}

void BuildState::note(const std::string& step, std::string line) {
  emit({.kind = solver::StepEvent::Kind::note, .step = step, .text = std::move(line)});
}

std::string BuildState::mask_secrets(std::string line) const {
  return builder::mask_secrets(opts.secrets, std::move(line));
}

StageImage BuildState::built(int index) {
  std::lock_guard g(mu_);
  return built_.at(index);
}

void BuildState::set_built(int index, StageImage image) {
  std::lock_guard g(mu_);
  built_[index] = std::move(image);
}

Result<std::vector<oci::LayerRef>> BuildState::stage_layers(int index) {
  StageImage img = built(index);
  if (!img.built)
    return fail(Errc::internal,
                fmt::format("stage {} was not built, as every step that reads it had hit the "
                            "cache, but one did not after all (a cache record went while the "
                            "build ran?): build again",
                            index));
  return std::move(img.layers);
}

Result<images::StoredImage> BuildState::image(const std::string& name,
                                              const oci::Platform& for_platform) {
  images::PullOptions o = opts.pull;
  o.platform = for_platform;
  return images::find_or_pull(store, name, o, false);
}

Result<LocalContext> BuildState::local_context(const frontend::SourceRef& ref) const {
  if (ref.name.empty()) return LocalContext{opts.context, opts.ignore};
  auto it = opts.named_contexts.find(ref.name);
  if (it == opts.named_contexts.end())
    return fail(Errc::internal, fmt::format("no --build-context named {}", ref.name));
  return it->second;
}

Result<Rootfs> BuildState::mount_ref(const frontend::SourceRef& ref) {
  if (ref.kind == frontend::SourceRef::stage)
    return Rootfs::mount(store, TRY_VALUE(stage_layers(ref.index)), false);
  if (ref.kind == frontend::SourceRef::scratch) return Rootfs::mount(store, {}, false);
  auto img = TRY_VALUE(image(ref.name, platform));
  return Rootfs::mount(store, img.layers, false);
}

Result<std::string> BuildState::git_commit(const dockerfile::GitRef& g,
                                           const std::string& flag_checksum) {
  std::string checksum = flag_checksum.empty() ? g.checksum : flag_checksum;
  std::string id = g.remote + "#" + g.ref + "@" + checksum;
  {
    std::lock_guard lock(git_mu_);
    if (auto it = git_commits_.find(id); it != git_commits_.end()) return it->second;
  }
  auto commit = TRY_VALUE(resolve_git_commit(g, checksum));
  std::lock_guard lock(git_mu_);
  return git_commits_.emplace(id, commit).first->second;
}

}  // namespace strata::builder

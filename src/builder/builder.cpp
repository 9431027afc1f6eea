#include "builder/builder.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

#include "builder/copy.hpp"
#include "builder/direct_copy.hpp"
#include "builder/fetch.hpp"
#include "builder/git.hpp"
#include "builder/image_config.hpp"
#include "builder/rootfs.hpp"
#include "builder/users.hpp"
#include "digest/sha256.hpp"
#include "graph/cache_key.hpp"
#include "mounts/cache_mount.hpp"
#include "mounts/ssh_agent.hpp"
#include "os/fs.hpp"
#include "os/mount.hpp"
#include "os/process.hpp"
#include "os/root_path.hpp"
#include "snapshot/layer.hpp"
#include "snapshot/lower_view.hpp"
#include "solver/schedule.hpp"
#include "solver/step_cache.hpp"
#include "store/file_hash.hpp"
#include "util/strings.hpp"

namespace fs = std::filesystem;
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

struct StageImage {
  json config;
  std::vector<oci::LayerRef> layers;
  std::string chain;              // the key of the last step that could change files, or the base
  std::vector<std::string> keys;  // the cached steps behind this image (its stage and base stages)
  size_t base_layers = 0;         // how many of `layers` came from an image in the store
};

using StepResult = Result<solver::StepLayer>;

// Paths the runtime creates as mount points; removed again from a step's
// layer when the image did not have them.
std::vector<std::string> runtime_mountpoints() {
  return {"/proc", "/dev", "/sys", "/etc/resolv.conf", "/etc/hosts"};
}

// A line of a RUN's output (or a miss reason) with the value of every
// secret (and each of its lines, for multi-line files) replaced by "****".
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

class Builder {
 public:
  Builder(store::Store& store, const BuildOptions& opts)
      : store_(store), opts_(opts), cache_(store, cache_options(opts)) {}

  // Stages whose dependencies are built run in parallel, up to opts.jobs.
  Result<BuildResult> run(const frontend::Plan& plan) {
    dockerfile_ = plan.dockerfile;
    std::map<int, size_t> position;  // a stage's index -> its place in plan.stages
    for (size_t i = 0; i < plan.stages.size(); ++i) position[plan.stages[i].index] = i;
    std::vector<solver::Task> tasks;
    for (const auto& stage : plan.stages) {
      solver::Task t;
      for (int d : stage.deps) t.deps.push_back(position.at(d));
      t.run = [this, &stage]() -> Result<void> {
        auto img = TRY_VALUE(build_stage(stage));
        std::lock_guard g(mu_);
        built_[stage.index] = std::move(img);
        return {};
      };
      tasks.push_back(std::move(t));
    }
    TRY(solver::run_graph(tasks, static_cast<size_t>(std::max(1, opts_.jobs))));
    auto records = TRY_VALUE(cache_.finish());
    const StageImage& target = built_.at(plan.stages.back().index);
    // What the steps wrote besides layer blobs (snapshots, objects, kept
    // frames; overlays are volatile) goes to disk in one sync, made while
    // the image is written.
    Result<void> synced;
    std::thread syncing;
    if (ran_steps_) syncing = std::thread([&] { synced = store_.sync(); });
    auto image = write_image(target);
    if (syncing.joinable()) syncing.join();
    if (!image) return std::unexpected(image.error());
    if (!synced) return std::unexpected(synced.error());
    BuildResult out{std::move(*image),
                    static_cast<double>(container_ns_) / 1e9,
                    {},
                    target.keys,
                    target.base_layers};
    for (const auto& st : records)
      if (!st.key.empty()) out.keys.push_back(st.key);
    return out;
  }

 private:
  solver::StepCacheOptions cache_options(const BuildOptions& o) {
    solver::StepCacheOptions c;
    c.no_cache = o.no_cache;
    c.no_cache_stages = o.no_cache_stages;
    c.build_name = o.build_name;
    c.source_date_epoch = o.source_date_epoch;
    c.redact = [&o](std::string reason) { return builder::mask_secrets(o.secrets, reason); };
    c.log = [this](const std::string& line) { log(line); };
    return c;
  }

  int64_t now() const {
    return opts_.source_date_epoch ? *opts_.source_date_epoch
                                   : static_cast<int64_t>(std::time(nullptr));
  }

  void log(const std::string& s) {
    std::lock_guard g(log_mu_);
    if (opts_.log) opts_.log(s);
  }

  // A named image: from the store, pulled (lazily) when missing.
  Result<images::StoredImage> image(const std::string& name) {
    return images::find_or_pull(store_, name, opts_.pull, false);
  }

  Result<StageImage> base_of(const PlannedStage& stage) {
    StageImage img;
    switch (stage.base.kind) {
      case SourceRef::stage:
        return built(stage.base.index);
      case SourceRef::image: {
        auto stored = image(stage.base.name);
        if (!stored) return std::unexpected(stored.error());
        img.config = stored->config;
        img.layers = stored->layers;
        img.base_layers = stored->layers.size();
        img.chain = "base:" + stored->manifest_desc.digest;
        return img;
      }
      default: {
        img.config = json::object();
        img.chain = "base:scratch";
        return img;  // the platform fields are set when the stage ends
      }
    }
  }

  Result<StageImage> build_stage(const PlannedStage& stage) {
    auto base = base_of(stage);
    if (!base) return std::unexpected(base.error());
    StageImage img = std::move(*base);
    json history = img.config.value("history", json::array());
    // Steps are named as BuildKit names them, "[base 2/3] RUN ...": the
    // FROM of an image is the first, a stage without a name is stage-N.
    std::string name = stage.name.empty() ? fmt::format("stage-{}", stage.index) : stage.name;
    size_t first = stage.base.kind == SourceRef::scratch ? 1 : 2;
    size_t count = stage.steps.size() + first - 1;
    if (first == 2) log(fmt::format("[{} 1/{}] FROM {}", name, count, stage.base.name));
    std::vector<std::optional<int64_t>> times(stage.steps.size());  // see below
    for (size_t i = 0; i < stage.steps.size(); ++i) {
      const Step& step = stage.steps[i];
      if (int sig = os::interrupted())
        return fail(Errc::io, fmt::format("interrupted by signal {}", sig));
      log(fmt::format("[{} {}/{}] {}", name, i + first, count, step.text));
      std::optional<oci::LayerRef> layer;
      if (step.kind == Kind::Run || step.kind == Kind::Copy || step.kind == Kind::Add ||
          step.kind == Kind::Workdir) {
        int64_t created = 0;
        auto l = cached_step(img, step, stage, name, i, i + first, created);
        times[i] = created;
        if (!l) {
          // All the lines of an instruction that spans several.
          std::string lines = step.end_line > step.line
                                  ? fmt::format("{}-{}", step.line, step.end_line)
                                  : std::to_string(step.line);
          return std::unexpected(l.error().with_context(fmt::format(
              "step {}/{} of stage {} ({}:{})", i + first, count, name, dockerfile_, lines)));
        }
        layer = *l;
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
    int64_t last = fill.value_or(now());
    for (size_t i = 0; i < stage.steps.size(); ++i) {
      if (times[i]) last = *times[i];
      history[history.size() - stage.steps.size() + i]["created"] = rfc3339(last);
    }
    json diff_ids = json::array();
    for (const auto& l : img.layers) diff_ids.push_back(l.diff_id);
    img.config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
    img.config["history"] = history;
    img.config["created"] = rfc3339(stage.steps.empty() ? now() : last);
    auto platform = oci::parse_platform(stage.platform);
    if (!platform) return std::unexpected(platform.error());
    img.config["os"] = platform->os;
    img.config["architecture"] = platform->arch;
    if (!platform->variant.empty()) img.config["variant"] = platform->variant;
    apply_config(img.config, stage.config);
    return img;
  }

  // A step that can change files, through the step cache.
  // `number`: the step's number in the progress output ([name N/M]);
  // `created`: when the step's result was made (its cache record's time on
  // a hit), for the image history.
  StepResult cached_step(StageImage& img, const Step& step, const PlannedStage& stage,
                         const std::string& name, size_t index, size_t number, int64_t& created) {
    std::vector<SourceFile> listing;  // a COPY from the context: what it copies
    auto inputs = TRY_VALUE(step_inputs(img, step, stage, listing));
    solver::StepId id{name, index, number, step.line, step.text};
    auto out = TRY_VALUE(
        cache_.run(id, std::move(inputs),
                   [&](const std::optional<graph::StepInputs>& in, const std::string& previous) {
                     return fs_step(img, step, listing, in, previous);
                   }));
    created = out.created;
    if (!out.key.empty()) {
      img.chain = out.key;
      img.keys.push_back(out.key);
    }
    return std::move(out.layer);
  }

  // What the step depends on; nullopt when it cannot be cached.
  Result<std::optional<graph::StepInputs>> step_inputs(const StageImage& img, const Step& step,
                                                       const PlannedStage& stage,
                                                       std::vector<SourceFile>& listing) {
    graph::StepInputs in;
    in.parent = img.chain;
    in.platform = stage.platform;
    if (step.kind == Kind::Workdir) {
      in.instruction = "WORKDIR " + step.args.at(0);
      if (step.args.size() > 1) in.user = step.args[1];
      return in;
    }
    if (step.kind == Kind::Run) {
      const auto& run = *step.run;
      in.instruction = "RUN " + json(run.argv).dump();
      in.env = run.env;
      in.user = run.user;
      in.workdir = run.workdir;
      std::string network = run.network == "default" ? opts_.network : run.network;
      in.extra.emplace_back("network", network);
      in.extra.emplace_back("security", run.security);
      for (size_t i = 0; i < run.mounts.size(); ++i) {
        const auto& m = run.mounts[i];
        std::string desc = fmt::format(
            "type={},target={},id={},sharing={},ro={},mode={},uid={},gid={},size={},source={}",
            dockerfile::to_string(m.type), m.target, m.id, dockerfile::to_string(m.sharing),
            m.readonly, m.mode.value_or(0), m.uid.value_or(0), m.gid.value_or(0),
            m.size.value_or(0), m.source);
        if (m.env) desc += ",env=" + *m.env;  // the name only: a secret's value never enters a key
        if (m.required) desc += ",required";
        if (m.type == dockerfile::MountType::bind) {
          auto from = source_key(run.mount_sources[i], m.source.empty() ? "." : m.source);
          if (!from) return std::unexpected(from.error());
          desc += ",from=" + *from;
        }
        in.extra.emplace_back(fmt::format("mount{}", i), desc);
      }
      for (const auto& f : run.files) in.extra.emplace_back("script:" + f.name, f.content);
      if (!run.hostname.empty()) in.extra.emplace_back("hostname", run.hostname);
      if (opts_.shm_size) in.extra.emplace_back("shm-size", std::to_string(opts_.shm_size));
      for (const auto& u : opts_.ulimits)
        in.extra.emplace_back("ulimit:" + u.name, fmt::format("{}:{}", u.soft, u.hard));
      return in;
    }
    const auto& c = *step.copy;
    json args = {{"sources", c.sources}, {"dest", c.dest},       {"chown", c.chown},
                 {"chmod", c.chmod},     {"parents", c.parents}, {"excludes", c.excludes},
                 {"link", c.link}};
    if (c.unpack) args["unpack"] = *c.unpack;
    in.instruction = std::string(c.add ? "ADD " : "COPY ") + args.dump();
    for (const auto& f : c.inline_files) in.extra.emplace_back("inline:" + f.name, f.content);
    std::vector<std::string> local;
    for (const auto& src : c.sources) {
      if (!dockerfile::is_remote_source(src)) {
        local.push_back(src);
        continue;
      }
      auto git_ref = dockerfile::parse_git_ref(src);
      if (!git_ref) return std::unexpected(git_ref.error());
      if (*git_ref) {
        // The commit, not the ref or the checksum: the same commit hits.
        auto commit = git_commit(**git_ref, c.checksum);
        if (!commit) return std::unexpected(commit.error());
        const auto& g = **git_ref;
        in.extra.emplace_back(
            "git", fmt::format("{}@{}:{} keep-git-dir={} submodules={} mtime={}", g.remote, *commit,
                               g.subdir, keep_git_dir(g, c), g.submodules.value_or(true),
                               g.mtime.empty() ? "checkout" : g.mtime));
      } else if (c.checksum.empty()) {
        if (!src.starts_with("http://") && !src.starts_with("https://"))
          return std::optional<graph::StepInputs>{};  // refused when the step runs
        auto digest = url_content(src);
        if (!digest) return std::unexpected(digest.error());
        in.extra.emplace_back("url", src + "@" + *digest);
      } else {
        in.extra.emplace_back("url", src + "@" + c.checksum);
      }
    }
    if (local.empty()) return in;
    if (c.from.kind != SourceRef::context) {
      auto from = source_key(c.from, "");
      if (!from) return std::unexpected(from.error());
      in.extra.emplace_back("from", *from);
      return in;
    }
    auto co = copy_options(c);
    if (!co) return std::unexpected(co.error());
    auto dir = local_context(c.from);
    if (!dir) return std::unexpected(dir.error());
    co->ignore = dir->ignore;
    auto files = list_sources(dir->root, local, c.dest, *co);
    if (!files) return std::unexpected(files.error());
    auto entries = file_entries(*files, dir->root);
    if (!entries) return std::unexpected(entries.error());
    in.files = std::move(*entries);
    listing = std::move(*files);
    return in;
  }

  // The directory a SourceRef of kind context reads: the build context, or
  // a --build-context of that name.
  Result<LocalContext> local_context(const SourceRef& ref) const {
    if (ref.name.empty()) return LocalContext{opts_.context, opts_.ignore};
    auto it = opts_.named_contexts.find(ref.name);
    if (it == opts_.named_contexts.end())
      return fail(Errc::internal, fmt::format("no --build-context named {}", ref.name));
    return it->second;
  }

  // The file entries of a listing from `root`, regular files with their
  // content digest.
  Result<std::vector<graph::FileEntry>> file_entries(const std::vector<SourceFile>& files,
                                                     const fs::path& root) {
    std::vector<store::FileId> ids;
    for (const auto& f : files)
      if (f.type == 'f') ids.push_back({f.from, f.size, f.mtime, f.ctime, f.ino});
    auto digests = store::content_digests(store_, root, ids);
    if (!digests) return std::unexpected(digests.error());
    std::vector<graph::FileEntry> out;
    size_t k = 0;
    for (const auto& f : files) {
      graph::FileEntry e{f.dest, f.type, f.mode, f.uid, f.gid, f.link, ""};
      if (f.type == 'f') e.content = (*digests)[k++];
      out.push_back(std::move(e));
    }
    return out;
  }

  // What a --from or a bind mount's from= stands for in a key.
  // `path`: what of the source a bind mount shows (for a stage, its content
  // is the key; "" keys a stage by its steps).
  Result<std::string> source_key(const SourceRef& ref, const std::string& context_path) {
    switch (ref.kind) {
      case SourceRef::stage:
        if (!context_path.empty()) return stage_content_key(ref.index, context_path);
        return "stage:" + built(ref.index).chain;
      case SourceRef::scratch:
        return std::string("scratch");
      case SourceRef::image: {
        auto img = image(ref.name);
        if (!img) return std::unexpected(img.error());
        return "image:" + img->manifest_desc.digest;
      }
      case SourceRef::context: {
        auto dir = local_context(ref);
        if (!dir) return std::unexpected(dir.error());
        CopyOptions co;
        co.ignore = dir->ignore;
        auto files = list_sources(dir->root, {context_path}, "/", co);
        if (!files) return std::unexpected(files.error());
        auto entries = file_entries(*files, dir->root);
        if (!entries) return std::unexpected(entries.error());
        graph::StepInputs tree;
        tree.files = std::move(*entries);
        return "context:" + tree.files_digest();
      }
    }
    return std::string();
  }

  // A stage's files under `path` as a key: their content, modes and owners
  // (not their times), so that a stage built again to the same files keys
  // the steps that mount it the same, as BuildKit's content checksums do.
  Result<std::string> stage_content_key(int index, const std::string& path) {
    auto root = Rootfs::mount(store_, built(index).layers, false);
    if (!root) return std::unexpected(root.error());
    CopyOptions co;
    co.keep_owner = true;
    auto files = list_sources(root->path(), {path}, "/", co);
    if (!files) return std::unexpected(files.error());
    graph::StepInputs tree;
    for (const auto& f : *files) {
      graph::FileEntry e{f.dest, f.type, f.mode, f.uid, f.gid, f.link, ""};
      if (f.type == 'f') {
        auto digest = sha256_file(f.from);
        if (!digest) return std::unexpected(digest.error());
        e.content = *digest;
      }
      tree.files.push_back(std::move(e));
    }
    return "stage-files:" + tree.files_digest();
  }

  // A step that changes files: a writable overlay, the change, a layer. A
  // COPY from the context skips the overlay when it can (copy_direct).
  StepResult fs_step(const StageImage& img, const Step& step,
                     const std::vector<SourceFile>& listing,
                     const std::optional<graph::StepInputs>& inputs, const std::string& previous) {
    ran_steps_ = true;
    if (opts_.direct_copy && step.kind == Kind::Copy && !listing.empty() && inputs &&
        step.copy->inline_files.empty()) {
      auto direct = direct_copy_step(img, *step.copy, listing, *inputs, previous);
      if (!direct || *direct) return direct ? std::move(**direct) : std::unexpected(direct.error());
    }
    auto root = Rootfs::mount(store_, img.layers, true);
    if (!root) return std::unexpected(root.error());
    std::vector<std::string> created_mountpoints;
    Result<void> r;
    if (step.kind == Kind::Run)
      r = run_step(*root, *step.run, created_mountpoints);
    else if (step.kind == Kind::Workdir)
      r = make_workdir(root->path(), step.args.at(0), step.args.size() > 1 ? step.args[1] : "");
    else
      r = copy_step(*root, *step.copy);
    if (auto u = root->unmount(); !u) return std::unexpected(u.error());
    if (!r) return std::unexpected(r.error());
    // Mount points the runtime made (and nothing else put files in) go.
    std::sort(created_mountpoints.rbegin(), created_mountpoints.rend());
    for (const auto& p : created_mountpoints) {
      fs::path in_upper = root->upper() / p.substr(1);
      struct stat st {};
      if (::lstat(in_upper.c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode))
        ::rmdir(in_upper.c_str());  // only when empty
      else if (S_ISREG(st.st_mode) && st.st_size == 0)
        ::unlink(in_upper.c_str());
    }
    bool kept = false;
    auto out = layer_of(root->upper(), step.kind, true, kept);
    if (kept) root->release_upper();
    return out;
  }

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
  // snapshot (`kept`) unless the store has one already.
  StepResult layer_of(const fs::path& dir, Kind kind, bool hardlinks, bool& kept,
                      const CopySnapshot* copy = nullptr) {
    std::error_code ec;
    if (fs::is_empty(dir, ec)) return std::optional<oci::LayerRef>{};
    snapshot::DiffOptions d;
    d.compression = opts_.compression;
    d.clamp_mtime = opts_.source_date_epoch;
    d.hardlinks = hardlinks;
    if (copy) {
      d.objects = copy->objects;
      d.segments_dir = store_.segments_dir();
      if (copy->base) d.stacked_on = {copy->base->dir};
    }
    // A COPY, ADD or WORKDIR layer is a function of its inputs only: the
    // directories it creates or touches get a fixed time.
    if (kind != Kind::Run) d.dir_mtime = opts_.source_date_epoch.value_or(0);
    auto layer = snapshot::write_layer(dir, store_, d);
    if (!layer) return std::unexpected(layer.error());
    if (layer->empty) return std::optional<oci::LayerRef>{};
    // The directory is already in the form a lower dir needs: keep it as the
    // layer's snapshot instead of unpacking the blob again.
    // (add_snapshot keeps an existing snapshot of the same layer and drops ours.)
    kept = static_cast<bool>(copy ? store_.add_snapshot(layer->diff_id, dir,
                                                        copy->base ? copy->base_diff_id : "",
                                                        copy->manifest)
                                  : store_.add_snapshot(layer->diff_id, dir));
    return std::optional<oci::LayerRef>{oci::LayerRef{layer->blob, layer->diff_id}};
  }

  // COPY from the context into a new snapshot without an overlay; nullopt
  // when the copy needs the overlay after all.
  Result<std::optional<StepResult>> direct_copy_step(const StageImage& img,
                                                     const frontend::CopyStep& c,
                                                     const std::vector<SourceFile>& listing,
                                                     const graph::StepInputs& inputs,
                                                     const std::string& previous) {
    std::vector<fs::path> lowers;
    for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it) {
      auto snap = snapshot::ensure_snapshot(store_, it->blob, it->diff_id);
      if (!snap) return std::unexpected(snap.error());
      lowers.insert(lowers.end(), snap->begin(), snap->end());
    }
    snapshot::LowerView view(std::move(lowers));
    std::vector<SourceFile> files = listing;
    if (!c.chown.empty()) {
      // --chown by name reads the image's /etc/passwd and /etc/group.
      fs::path db[2];
      const char* names[2] = {"passwd", "group"};
      for (int k = 0; k < 2; ++k) {
        auto e = view.lookup({"etc", names[k]});
        if (e.state == snapshot::LowerView::Entry::blocked ||
            (e.state == snapshot::LowerView::Entry::present && !S_ISREG(e.st.st_mode)))
          return std::optional<StepResult>{};
        db[k] = e.state == snapshot::LowerView::Entry::present ? e.path : fs::path("/nonexistent");
      }
      auto id = resolve_user(db[0], db[1], c.chown);
      if (!id) return std::unexpected(id.error());
      for (auto& f : files) {
        f.uid = id->uid;
        f.gid = id->gid;
      }
    }
    std::vector<std::string> digests;
    digests.reserve(inputs.files.size());
    for (const auto& e : inputs.files) digests.push_back(e.content);
    auto dir = os::TempDir::create(store_.tmp_dir(), "copy-");
    if (!dir) return std::unexpected(dir.error());
    // The last build's snapshot of this step (or the whole one it is a
    // delta on) as the base of a delta. (A store error here only means
    // that the copy is made whole.)
    CopySnapshot snap;
    std::optional<DeltaBase> base;
    std::string previous_diff_id;
    if (auto diff_id = previous.empty() ? std::nullopt
                                        : store_.cache_diff_id(previous).value_or(std::nullopt)) {
      previous_diff_id = *diff_id;
      auto was = store_.snapshot(*diff_id).value_or(std::nullopt);
      bool was_delta = was && !was->base.empty();
      auto whole = was_delta ? store_.snapshot(was->base).value_or(std::nullopt) : was;
      auto manifest =
          whole && whole->base.empty() ? store_.snapshot_manifest(*whole) : std::nullopt;
      if (manifest) {
        base = DeltaBase{whole->dir, std::move(*manifest),
                         was_delta ? store_.snapshot_manifest(*was).value_or("") : ""};
        snap.base_diff_id = was_delta ? was->base : *diff_id;
      }
    }
    std::string media_type = snapshot::layer_media_type(opts_.compression);
    std::string layer_options =
        fmt::format("{} {}", media_type,
                    opts_.source_date_epoch ? std::to_string(*opts_.source_date_epoch) : "-");
    std::unordered_map<std::string, snapshot::ObjectFile> objects;
    auto done = copy_direct(view, files, digests, store_.objects_dir(), dir->path(), objects,
                            layer_options, base ? &*base : nullptr);
    if (!done) return std::unexpected(done.error());
    if (done->same_as != DirectCopy::Same::no) {
      // The files of the base or of the last build (the step missed for its
      // parent, say): that layer, if the store still has it, else a whole copy.
      const std::string& same =
          done->same_as == DirectCopy::Same::base ? snap.base_diff_id : previous_diff_id;
      auto blob = store_.layer_blob(same, media_type);
      if (!blob) return std::unexpected(blob.error());
      if (*blob) {
        log("  the files are those of an earlier build of this step: its layer is reused");
        return std::optional<StepResult>{std::optional<oci::LayerRef>{oci::LayerRef{**blob, same}}};
      }
      objects.clear();
      done = copy_direct(view, files, digests, store_.objects_dir(), dir->path(), objects,
                         layer_options);
      if (!done) return std::unexpected(done.error());
    }
    if (!done->done) return std::optional<StepResult>{};
    snap.objects = &objects;
    if (done->delta) snap.base = &*base;
    snap.manifest = &done->manifest;
    bool kept = false;
    auto out = layer_of(dir->path(), Kind::Copy, false, kept, &snap);
    if (kept) dir->release();
    return std::optional<StepResult>{std::move(out)};
  }

  // The directories of a WORKDIR the root lacks, made 0755 and owned by
  // `user` (as BuildKit makes them; root's when empty).
  static Result<void> make_workdir(const fs::path& root, const std::string& dir,
                                   const std::string& user = "") {
    auto p = os::resolve_in_root(root, dir, true);
    if (!p) return std::unexpected(p.error());
    struct stat st {};
    if (::stat(p->c_str(), &st) == 0) return {};
    Identity id{};
    if (!user.empty()) {
      auto who = resolve_user(root, user);
      if (!who) return std::unexpected(who.error());
      id = *who;
    }
    std::string prefix;
    for (const auto& part : split(dockerfile::clean_path("/" + dir), '/')) {
      if (part.empty()) continue;
      prefix += "/" + part;
      auto at = os::resolve_in_root(root, prefix, true);
      if (!at) return std::unexpected(at.error());
      if (::lstat(at->c_str(), &st) == 0) continue;
      if (::mkdir(at->c_str(), 0755) != 0) return std::unexpected(os::errno_error("creating", *at));
      (void)::lchown(at->c_str(), id.uid, id.gid);
      ::chmod(at->c_str(), 0755);
    }
    return {};
  }

  // Records which of `paths` (and their parents) the root lacks.
  static void note_missing(const fs::path& root, const std::string& path,
                           std::vector<std::string>& out) {
    std::string prefix;
    for (const auto& part : split(path, '/')) {
      if (part.empty()) continue;
      prefix += "/" + part;
      struct stat st {};
      if (::lstat((root / prefix.substr(1)).c_str(), &st) != 0) out.push_back(prefix);
    }
  }

  Result<void> run_step(Rootfs& root, const frontend::RunStep& run,
                        std::vector<std::string>& created) {
    const fs::path& rootfs = root.path();
    if (auto r = make_workdir(rootfs, run.workdir); !r) return r;
    auto id = resolve_user(rootfs, run.user);
    if (!id) return std::unexpected(id.error());

    exec::ContainerSpec spec;
    spec.rootfs = rootfs;
    spec.args = run.argv;
    for (const auto& [k, v] : run.env) spec.env.push_back(k + "=" + v);
    for (const auto& [k, v] : run.proxy_env) spec.env.push_back(k + "=" + v);
    spec.cwd = run.workdir;
    spec.uid = id->uid;
    spec.gid = id->gid;
    spec.additional_gids = id->groups;
    if (!run.hostname.empty()) spec.hostname = run.hostname;
    spec.network_none =
        run.network == "none" || (run.network == "default" && opts_.network == "none");
    spec.insecure = run.security == "insecure";  // the plan refused it unless --allow granted it
    spec.shm_size = opts_.shm_size;
    spec.ulimits = opts_.ulimits;

    std::vector<Rootfs> sources;  // stage/image roots mounted for the step
    auto tmp_dir = os::TempDir::create(store_.tmp_dir(), "run-");
    if (!tmp_dir) return std::unexpected(tmp_dir.error());
    const fs::path* tmp = &tmp_dir->path();
    std::vector<mounts::AgentProxy> agents;  // SSH agents served to the step (sockets in tmp)
    struct Mounts {                          // rw bind mounts; gone before the directory is removed
      std::vector<fs::path> paths;
      ~Mounts() {
        for (const auto& p : paths) (void)os::unmount(p);
      }
    } mounts;

    std::vector<mounts::CacheMount> caches;  // held (locked) until the step ends
    std::optional<fs::path> secret_dir;      // a tmpfs: secrets never touch the disk
    for (size_t mi = 0; mi < run.mounts.size(); ++mi) {
      const auto& m = run.mounts[mi];
      switch (m.type) {
        case dockerfile::MountType::cache: {
          mounts::CacheMountOptions co;
          co.id = m.id;
          co.sharing = m.sharing == dockerfile::Sharing::locked     ? mounts::Sharing::locked
                       : m.sharing == dockerfile::Sharing::private_ ? mounts::Sharing::private_
                                                                    : mounts::Sharing::shared;
          co.mode = m.mode.value_or(0755);
          co.uid = m.uid.value_or(0);
          co.gid = m.gid.value_or(0);
          co.fresh = opts_.no_cache;
          co.on_wait = [this, &m] {
            log(fmt::format("  waiting for cache mount {}: a sharing=locked step holds it", m.id));
          };
          if (!m.from.empty()) {
            // from= (and source=): a new cache mount starts as a copy of that.
            co.seed = [&, mi](const fs::path& dir) -> Result<void> {
              auto src = mount_ref(run.mount_sources[mi]);
              if (!src) return std::unexpected(src.error());
              auto from = os::resolve_in_root(src->path(), m.source, true);
              if (!from) return std::unexpected(from.error());
              return copy_tree(*from, dir);
            };
          }
          auto cache = mounts::CacheMount::acquire(store_, co);
          if (!cache) return std::unexpected(cache.error());
          spec.binds.push_back({cache->path(), m.target, m.readonly});
          caches.push_back(std::move(*cache));
          break;
        }
        case dockerfile::MountType::tmpfs:
          spec.tmpfs.push_back({m.target, m.size.value_or(0)});
          break;
        case dockerfile::MountType::bind: {
          fs::path src_root;
          if (run.mount_sources[mi].kind == SourceRef::context) {
            auto dir = local_context(run.mount_sources[mi]);
            if (!dir) return std::unexpected(dir.error());
            src_root = dir->root;
          } else {
            auto src = mount_ref(run.mount_sources[mi]);
            if (!src) return std::unexpected(src.error());
            sources.push_back(std::move(*src));
            src_root = sources.back().path();
          }
          auto src = os::resolve_in_root(src_root, m.source, true);
          if (!src) return std::unexpected(src.error());
          struct stat src_st {};
          if (!m.readonly && ::stat(src->c_str(), &src_st) == 0 && !S_ISDIR(src_st.st_mode)) {
            // rw on a file: a throwaway copy.
            fs::path copy = *tmp / fmt::format("bind{}", spec.binds.size());
            auto content = os::read_file(*src);
            if (!content) return std::unexpected(content.error());
            if (auto r = os::write_file_atomic(copy, *content); !r) return r;
            ::chmod(copy.c_str(), src_st.st_mode & 07777);
            spec.binds.push_back({copy, m.target, false});
          } else if (!m.readonly) {
            // rw on a directory: writes go to a throwaway overlay upper.
            fs::path base = *tmp / fmt::format("bind{}", spec.binds.size());
            for (const auto& d : {base / "upper", base / "work", base / "merged"})
              if (auto r = os::make_dirs(d); !r) return r;
            if (auto r = os::mount_overlay({*src}, base / "upper", base / "work", base / "merged");
                !r)
              return r;
            mounts.paths.push_back(base / "merged");
            spec.binds.push_back({base / "merged", m.target, false});
          } else {
            spec.binds.push_back({*src, m.target, true});
          }
          break;
        }
        case dockerfile::MountType::secret: {
          auto it = opts_.secrets.find(m.id);
          if (it == opts_.secrets.end()) {
            if (!m.required) break;  // as in BuildKit: an optional secret is just absent
            return fail(Errc::invalid_argument,
                        fmt::format("secret {}: not found (it is required); pass --secret "
                                    "id={},src=FILE or --secret id={},env=VARIABLE",
                                    m.id, m.id, m.id));
          }
          if (m.env) spec.env.push_back(*m.env + "=" + it->second);
          if (m.target.empty()) break;
          if (!secret_dir) {
            secret_dir = *tmp / "secrets";
            if (auto r = os::make_dirs(*secret_dir); !r) return r;
            if (auto r = os::mount_tmpfs(*secret_dir, "mode=0700,size=16m"); !r) return r;
            mounts.paths.push_back(*secret_dir);
          }
          fs::path file = *secret_dir / fmt::format("{}", mi);
          if (auto r = os::write_file_atomic(file, it->second); !r) return r;
          ::chmod(file.c_str(), m.mode.value_or(0400));
          (void)::chown(file.c_str(), m.uid.value_or(0), m.gid.value_or(0));
          spec.binds.push_back({file, m.target, true});
          break;
        }
        case dockerfile::MountType::ssh: {
          std::string id = m.id.empty() ? "default" : m.id;
          auto it = opts_.ssh.find(id);
          if (it == opts_.ssh.end())
            return fail(Errc::invalid_argument,
                        fmt::format("RUN --mount=type=ssh needs an SSH agent: pass --ssh {} (the "
                                    "agent at $SSH_AUTH_SOCK) or --ssh {}=SOCKET",
                                    id, id));
          // The step's own socket, with the mount's mode and owner, relayed
          // to the agent (BuildKit's default mode is 0600, root's).
          fs::path sock = *tmp / fmt::format("ssh{}.sock", mi);
          auto proxy = mounts::AgentProxy::start(it->second, sock, m.mode.value_or(0600),
                                                 m.uid.value_or(0), m.gid.value_or(0));
          if (!proxy) return std::unexpected(proxy.error());
          agents.push_back(std::move(*proxy));
          spec.binds.push_back({sock, m.target, false});
          spec.env.push_back("SSH_AUTH_SOCK=" + m.target);
          break;
        }
      }
    }
    for (const auto& f : run.files) {
      fs::path file = *tmp / f.name;
      if (auto r = os::write_file_atomic(file, f.content); !r) return r;
      ::chmod(file.c_str(), 0755);
      spec.binds.push_back({file, "/dev/pipes/" + f.name, true});
    }
    for (const auto& p : runtime_mountpoints()) note_missing(rootfs, p, created);
    for (const auto& b : spec.binds) note_missing(rootfs, b.target, created);
    for (const auto& t : spec.tmpfs) note_missing(rootfs, t.target, created);

    auto bundle = os::make_temp_dir(*tmp, "bundle-");
    if (!bundle) return std::unexpected(bundle.error());
    auto started = std::chrono::steady_clock::now();
    auto result = exec::run_container(opts_.runtime, spec, *bundle, [&](const std::string& line) {
      log("  | " + mask_secrets(line));
    });
    container_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count();
    if (!result) return std::unexpected(result.error());
    if (int sig = os::interrupted())
      return fail(Errc::io, fmt::format("interrupted by signal {}", sig));
    if (result->exit_code != 0) {
      std::string tail;
      for (const auto& l : result->tail) tail += "\n  | " + mask_secrets(l);
      std::string cmd;
      for (const auto& a : run.argv) cmd += (cmd.empty() ? "" : " ") + a;
      return fail(Errc::invalid_argument,
                  fmt::format("process \"{}\" did not complete successfully: exit code: {}{}{}",
                              mask_secrets(cmd), result->exit_code,
                              tail.empty() ? "" : "\nlast output:", tail));
    }
    return {};
  }

  std::string mask_secrets(std::string line) const {
    return builder::mask_secrets(opts_.secrets, std::move(line));
  }

  // A read-only root of a stage or an image.
  Result<Rootfs> mount_ref(const SourceRef& ref) {
    if (ref.kind == SourceRef::stage) return Rootfs::mount(store_, built(ref.index).layers, false);
    if (ref.kind == SourceRef::scratch) return Rootfs::mount(store_, {}, false);
    auto img = image(ref.name);
    if (!img) return std::unexpected(img.error());
    return Rootfs::mount(store_, img->layers, false);
  }

  // A COPY's options but for --chown (a user name needs the image's files)
  // and the context's .dockerignore.
  Result<CopyOptions> copy_options(const frontend::CopyStep& c) const {
    CopyOptions co;
    co.parents = c.parents;
    co.normalize_permissions = opts_.normalize_permissions;
    co.unpack_archives = c.add && c.unpack.value_or(true);  // local archives by default
    co.excludes = c.excludes;
    if (!c.chmod.empty()) {
      if (std::all_of(c.chmod.begin(), c.chmod.end(),
                      [](char ch) { return ch >= '0' && ch <= '7'; })) {
        co.mode = static_cast<uint32_t>(std::stoul(c.chmod, nullptr, 8));
      } else if (apply_symbolic_mode(c.chmod, 0644, false)) {
        co.symbolic_mode = c.chmod;
      } else {
        return fail(Errc::invalid_argument,
                    fmt::format("--chmod={}: not an octal or symbolic mode", c.chmod));
      }
    }
    return co;
  }

  Result<void> copy_step(Rootfs& root, const frontend::CopyStep& c) {
    auto opts = copy_options(c);
    if (!opts) return std::unexpected(opts.error());
    CopyOptions& co = *opts;
    if (!c.chown.empty()) {
      auto id = resolve_user(root.path(), c.chown);
      if (!id) return std::unexpected(id.error());
      co.owner = *id;
    }
    for (const auto& f : c.inline_files)
      if (auto r = write_inline_file(root.path(), c.dest, f.name, f.content, co); !r) return r;
    std::vector<std::string> local;
    for (const auto& s : c.sources) {
      if (!dockerfile::is_remote_source(s)) {
        local.push_back(s);
        continue;
      }
      auto git_ref = dockerfile::parse_git_ref(s);
      if (!git_ref) return std::unexpected(git_ref.error());
      if (*git_ref) {
        if (auto r = add_git(root.path(), **git_ref, c, co); !r) return r;
        continue;
      }
      if (!s.starts_with("http://") && !s.starts_with("https://")) {
        return fail(
            Errc::invalid_argument,
            fmt::format("ADD {}: strata fetches http and https URLs and git repositories", s));
      }
      if (auto r = add_url(root.path(), s, c, co); !r) return r;
    }
    if (local.empty()) return {};
    if (c.from.kind == SourceRef::context) {
      auto dir = local_context(c.from);
      if (!dir) return std::unexpected(dir.error());
      co.ignore = dir->ignore;
      return copy_sources(dir->root, local, root.path(), c.dest, co);
    }
    auto src = mount_ref(c.from);
    if (!src) return std::unexpected(src.error());
    co.keep_owner = true;
    snapshot::LowerView layers(src->lowers());
    co.layers = &layers;
    return copy_sources(src->path(), local, root.path(), c.dest, co);
  }

  // The digest of what an ADD without --checksum gets from `url`, as
  // BuildKit keys it: the content last downloaded when the server says its
  // ETag still holds, else the content downloaded now (kept as a blob for
  // the step and the next build).
  Result<std::string> url_content(const std::string& url) {
    auto known = store_.url_record(url);
    if (!known) return std::unexpected(known.error());
    if (*known && !(*known)->etag.empty() && store_.has_blob((*known)->digest)) {
      auto same = still_current(url, (*known)->etag);
      if (!same) return std::unexpected(same.error());
      if (*same) return (*known)->digest;
    }
    auto tmp = os::TempDir::create(store_.tmp_dir(), "fetch-");
    if (!tmp) return std::unexpected(tmp.error());
    fs::path file = tmp->path() / "content";
    auto got = download(url, file, "");
    if (!got) return std::unexpected(got.error());
    if (auto r = store_.commit_blob(file, got->digest); !r) return std::unexpected(r.error());
    store::Store::UrlRecord rec{got->etag, got->last_modified.value_or(-1), got->digest};
    if (auto r = store_.put_url_record(url, rec); !r) return std::unexpected(r.error());
    return got->digest;
  }

  static bool keep_git_dir(const dockerfile::GitRef& g, const frontend::CopyStep& c) {
    return c.keep_git_dir || g.keep_git_dir.value_or(false);
  }

  // The commit a git source's ref names, resolved once per build (the key
  // and the checkout must agree).
  Result<std::string> git_commit(const dockerfile::GitRef& g, const std::string& flag_checksum) {
    std::string checksum = flag_checksum.empty() ? g.checksum : flag_checksum;
    std::string id = g.remote + "#" + g.ref + "@" + checksum;
    {
      std::lock_guard lock(git_mu_);
      if (auto it = git_commits_.find(id); it != git_commits_.end()) return it->second;
    }
    auto commit = resolve_git_commit(g, checksum);
    if (!commit) return std::unexpected(commit.error());
    std::lock_guard lock(git_mu_);
    return git_commits_.emplace(id, *commit).first->second;
  }

  // ADD <git repository>: its files (of its subdir) into the destination,
  // as a directory is copied from the context; archives in it stay packed.
  Result<void> add_git(const fs::path& rootfs, const dockerfile::GitRef& g,
                       const frontend::CopyStep& c, CopyOptions co) {
    auto commit = git_commit(g, c.checksum);
    if (!commit) return std::unexpected(commit.error());
    auto tmp = os::TempDir::create(store_.tmp_dir(), "git-");
    if (!tmp) return std::unexpected(tmp.error());
    fs::path checkout = tmp->path() / "repo";
    if (auto r = checkout_git(g, *commit, keep_git_dir(g, c), checkout); !r)
      return std::unexpected(r.error());
    co.unpack_archives = false;
    co.ignore = nullptr;
    co.excludes = c.excludes;
    return copy_sources(checkout, {g.subdir.empty() ? "." : g.subdir}, rootfs, c.dest, co);
  }

  // ADD <url>: the file keeps its server's name in a directory destination,
  // gets mode 0600 as in docker, and is unpacked only with --unpack.
  Result<void> add_url(const fs::path& rootfs, const std::string& url, const frontend::CopyStep& c,
                       const CopyOptions& co) {
    auto tmp_dir = os::TempDir::create(store_.tmp_dir(), "fetch-");
    if (!tmp_dir) return std::unexpected(tmp_dir.error());
    const fs::path* tmp = &tmp_dir->path();
    std::string name = url_file_name(url);
    // Without --checksum, the content url_content() keyed the step by.
    std::optional<Download> got;
    if (auto known = store_.url_record(url);
        c.checksum.empty() && known && *known && store_.has_blob((*known)->digest)) {
      if (auto r = os::copy_file_atomic(store_.blob_path((*known)->digest), *tmp / name); !r)
        return std::unexpected(r.error());
      got = Download{(*known)->digest, std::nullopt, (*known)->etag};
      if ((*known)->last_modified >= 0) got->last_modified = (*known)->last_modified;
    } else {
      auto fetched = download(url, *tmp / name, c.checksum);
      if (!fetched) return std::unexpected(fetched.error());
      got = std::move(*fetched);
    }
    CopyOptions file_opts = co;
    file_opts.unpack_archives = c.unpack.value_or(false);  // a URL's archive stays one
    if (!file_opts.mode) file_opts.mode = 0600;
    const std::string& dest = c.dest;
    if (auto r = copy_sources(*tmp, {name}, rootfs, dest, file_opts); !r) return r;
    if (got->last_modified) {
      auto placed = os::resolve_in_root(rootfs, dest.ends_with("/") ? dest + name : dest, false);
      if (placed) {
        struct timespec ts[2] = {{*got->last_modified, 0}, {*got->last_modified, 0}};
        ::utimensat(AT_FDCWD, placed->c_str(), ts, AT_SYMLINK_NOFOLLOW);
      }
    }
    return {};
  }

  Result<images::StoredImage> write_image(const StageImage& img) {
    auto cfg = store_.put_blob(oci::canonical(img.config), oci::kConfig);
    if (!cfg) return std::unexpected(cfg.error());
    images::StoredImage out;
    out.layers = img.layers;
    // The layers this build made had their file times clamped to
    // SOURCE_DATE_EPOCH: they say so as BuildKit's rewrite-timestamp marks
    // the layers it rewrote (those of the base image are left as they are).
    if (opts_.source_date_epoch)
      for (size_t i = img.base_layers; i < out.layers.size(); ++i)
        out.layers[i].blob.annotations[std::string(kRewrittenTimestamp)] =
            std::to_string(*opts_.source_date_epoch);
    oci::Manifest m;
    m.config = *cfg;
    for (const auto& l : out.layers) m.layers.push_back(l.blob);
    auto man = store_.put_blob(oci::to_json_text(m), oci::kManifest);
    if (!man) return std::unexpected(man.error());
    out.manifest_desc = *man;
    out.manifest = m;
    out.config = img.config;
    return out;
  }

  store::Store& store_;
  const BuildOptions& opts_;
  StageImage built(int index) {
    std::lock_guard g(mu_);
    return built_.at(index);
  }

  std::mutex mu_;  // guards built_
  std::map<int, StageImage> built_;
  std::string dockerfile_;                // its name, for error messages
  std::atomic<int64_t> container_ns_{0};  // in RUN containers, all stages
  std::atomic<bool> ran_steps_{false};    // a step missed and wrote to the store
  std::mutex log_mu_;
  std::mutex git_mu_;
  std::map<std::string, std::string> git_commits_;  // remote#ref@checksum -> commit
  // Last, so that the cache records it writes behind the build are written
  // before the members their steps used go.
  solver::StepCache cache_;
};

}  // namespace

Result<BuildResult> build(const frontend::Plan& plan, store::Store& store,
                          const BuildOptions& opts) {
  return Builder(store, opts).run(plan);
}

}  // namespace strata::builder

#include "builder/execute.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>

#include "builder/commit.hpp"
#include "builder/direct_copy.hpp"
#include "builder/file_steps.hpp"
#include "builder/incremental.hpp"
#include "builder/run_step.hpp"
#include "builder/users.hpp"
#include "os/fs.hpp"
#include "os/mount.hpp"
#include "snapshot/fuse_upper.hpp"
#include "snapshot/layer.hpp"
#include "snapshot/lower_view.hpp"

namespace fs = std::filesystem;

namespace strata::builder {

using dockerfile::Kind;
using frontend::Step;

namespace {

// COPY from the context into a new snapshot without an overlay: the step's
// layer, or nullopt when the copy needs the overlay after all.
Result<std::optional<solver::StepLayer>> direct_copy_step(BuildState& st, const StageImage& img,
                                                          const frontend::CopyStep& c,
                                                          const std::string& name,
                                                          const std::vector<SourceFile>& listing,
                                                          const graph::StepInputs& inputs,
                                                          const std::string& previous) {
  std::vector<fs::path> lowers;
  for (auto it = img.layers.rbegin(); it != img.layers.rend(); ++it) {
    auto snap = TRY_VALUE(snapshot::ensure_snapshot(st.store, it->blob, it->diff_id));
    lowers.insert(lowers.end(), snap.begin(), snap.end());
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
        return std::optional<solver::StepLayer>{};
      db[k] = e.state == snapshot::LowerView::Entry::present ? e.path : fs::path("/nonexistent");
    }
    auto id = TRY_VALUE(resolve_user(db[0], db[1], c.chown));
    for (auto& f : files) {
      f.uid = id.uid;
      f.gid = id.gid;
    }
  }
  std::vector<std::string> digests;
  digests.reserve(inputs.files.size());
  for (const auto& e : inputs.files) digests.push_back(e.content);
  auto dir = TRY_VALUE(os::TempDir::create(st.store.tmp_dir(), "copy-"));
  // The last build's snapshot of this step (or the whole one it is a
  // delta on) as the base of a delta. (A store error here only means
  // that the copy is made whole.)
  CopySnapshot snap;
  std::optional<DeltaBase> base;
  std::string previous_diff_id;
  if (auto diff_id = previous.empty() ? std::nullopt
                                      : st.store.cache_diff_id(previous).value_or(std::nullopt)) {
    previous_diff_id = *diff_id;
    auto was = st.store.snapshot(*diff_id).value_or(std::nullopt);
    bool was_delta = was && !was->base.empty();
    auto whole = was_delta ? st.store.snapshot(was->base).value_or(std::nullopt) : was;
    auto manifest =
        whole && whole->base.empty() ? st.store.snapshot_manifest(*whole) : std::nullopt;
    if (manifest) {
      base = DeltaBase{whole->dir, std::move(*manifest),
                       was_delta ? st.store.snapshot_manifest(*was).value_or("") : ""};
      snap.base_diff_id = was_delta ? was->base : *diff_id;
    }
  }
  std::string media_type = snapshot::layer_media_type(st.opts.compression);
  std::string layer_options =
      fmt::format("{} {}", media_type,
                  st.opts.source_date_epoch ? std::to_string(*st.opts.source_date_epoch) : "-");
  std::unordered_map<std::string, snapshot::ObjectFile> objects;
  auto done = TRY_VALUE(copy_direct(view, files, digests, st.store.objects_dir(), dir.path(),
                                    objects, layer_options, base ? &*base : nullptr));
  if (done.same_as != DirectCopy::Same::no) {
    // The files of the base or of the last build (the step missed for its
    // parent, say): that layer, if the store still has it, else a whole copy.
    const std::string& same =
        done.same_as == DirectCopy::Same::base ? snap.base_diff_id : previous_diff_id;
    auto blob = TRY_VALUE(st.store.layer_blob(same, media_type));
    if (blob) {
      st.note(name, "the files are those of an earlier build of this step: its layer is reused");
      return std::optional<solver::StepLayer>{oci::LayerRef{*blob, same}};
    }
    objects.clear();
    done = TRY_VALUE(copy_direct(view, files, digests, st.store.objects_dir(), dir.path(), objects,
                                 layer_options));
  }
  if (!done.done) return std::optional<solver::StepLayer>{};
  snap.objects = &objects;
  if (done.delta) snap.base = &*base;
  snap.manifest = &done.manifest;
  bool kept = false;
  auto out = TRY_VALUE(layer_of(st, dir.path(), Kind::Copy, false, kept, &snap));
  if (kept) dir.release();
  return std::optional<solver::StepLayer>{std::move(out)};
}

}  // namespace

Result<solver::StepRun> execute_step(BuildState& st, const StageImage& img, const Step& step,
                                     const std::string& name,
                                     const std::vector<SourceFile>& listing,
                                     const std::optional<graph::StepInputs>& inputs,
                                     const std::string& previous,
                                     const solver::IncrementalBase* base) {
  st.ran_steps = true;
  solver::StepRun out;
  if (st.opts.direct_copy && step.kind == Kind::Copy && !listing.empty() && inputs &&
      step.copy->inline_files.empty()) {
    if (auto direct =
            TRY_VALUE(direct_copy_step(st, img, *step.copy, name, listing, *inputs, previous))) {
      out.layer = std::move(*direct);
      return out;
    }
  }
  if (step.kind == Kind::Run) {
    out.root.emplace();
    for (const auto& l : img.layers) out.root->push_back(l.diff_id);
  }
  std::optional<IncrementalRoot> incremental;
  if (base && step.kind == Kind::Run) {
    if (auto prepared = IncrementalRoot::prepare(st, img.layers, *base))
      incremental.emplace(std::move(*prepared));
    else
      st.note(name,
              fmt::format("runs from scratch: its earlier result {} from {} cannot be used: {}",
                          base->key, base->from, prepared.error().message));
  }
  std::vector<std::filesystem::path> above;
  if (incremental) above.push_back(incremental->changes());
  auto root = TRY_VALUE(Rootfs::mount(st.store, img.layers, true, above));
  std::vector<std::string> created_mountpoints;
  Result<void> r;
  if (step.kind == Kind::Run) {
    auto in_container = run_step(st, root, *step.run, name, created_mountpoints);
    if (in_container)
      out.container_seconds = *in_container;
    else
      r = std::unexpected(in_container.error());
  } else if (step.kind == Kind::Workdir)
    r = make_workdir(root.path(), step.args.at(0), step.args.size() > 1 ? step.args[1] : "");
  else
    r = copy_step(st, root, *step.copy);
  TRY(root.unmount());
  if (!r) return std::unexpected(r.error());
  // Mount points the runtime made (and nothing else put files in) go.
  std::sort(created_mountpoints.rbegin(), created_mountpoints.rend());
  if (os::fuse_overlays_in_use())
    TRY(snapshot::normalize_fuse_upper(root.upper(), snapshot::LowerView(root.lowers())));
  for (const auto& p : created_mountpoints) {
    fs::path in_upper = root.upper() / p.substr(1);
    struct stat st {};
    if (::lstat(in_upper.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode))
      ::rmdir(in_upper.c_str());  // only when empty
    else if (S_ISREG(st.st_mode) && st.st_size == 0)
      ::unlink(in_upper.c_str());
  }
  bool kept = false;
  if (incremental) {
    // The earlier changes and the step's, as one layer.
    TRY(incremental->merge(root.upper()));
    out.layer = TRY_VALUE(layer_of(st, incremental->changes(), step.kind, true, kept));
    if (kept) incremental->release();
    out.incremental = true;
    return out;
  }
  out.layer = TRY_VALUE(layer_of(st, root.upper(), step.kind, true, kept));
  if (kept) root.release_upper();
  return out;
}

}  // namespace strata::builder

#include "builder/incremental.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include "snapshot/layer.hpp"
#include "snapshot/rebase.hpp"

namespace fs = std::filesystem;

namespace strata::builder {

namespace {

// The snapshot directories of a layer known by its diff id alone (a layer
// of the root an earlier result ran on), top first.
Result<std::vector<fs::path>> snapshot_of(store::Store& store, const std::string& diff_id) {
  if (auto snap = TRY_VALUE(store.snapshot(diff_id)); snap && snap->base.empty())
    return std::vector<fs::path>{snap->dir};
  auto blob = TRY_VALUE(store.find_layer(diff_id));
  if (!blob)
    return fail(Errc::not_found,
                fmt::format("layer {} of the root it ran on is not in the store", diff_id));
  return snapshot::ensure_snapshot(store, *blob, diff_id);
}

}  // namespace

Result<IncrementalRoot> IncrementalRoot::prepare(BuildState& st,
                                                 const std::vector<oci::LayerRef>& layers,
                                                 const solver::IncrementalBase& base) {
  auto earlier =
      TRY_VALUE(snapshot::ensure_snapshot(st.store, base.layer.blob, base.layer.diff_id));
  if (earlier.size() != 1)
    return fail(Errc::invalid_argument, "its layer is kept as a delta on another");
  // The roots then and now share their bottom layers; the rest differ.
  size_t shared = 0;
  while (shared < layers.size() && shared < base.parent.size() &&
         layers[shared].diff_id == base.parent[shared])
    ++shared;
  std::vector<fs::path> now, then, differing;
  std::vector<std::vector<fs::path>> of_layer(layers.size());  // each layer's, for both roots
  for (size_t i = layers.size(); i-- > 0;) {
    of_layer[i] = TRY_VALUE(snapshot::ensure_snapshot(st.store, layers[i].blob, layers[i].diff_id));
    now.insert(now.end(), of_layer[i].begin(), of_layer[i].end());
    if (i >= shared) differing.insert(differing.end(), of_layer[i].begin(), of_layer[i].end());
  }
  for (size_t i = base.parent.size(); i-- > 0;) {
    auto dirs = i < shared ? of_layer[i] : TRY_VALUE(snapshot_of(st.store, base.parent[i]));
    then.insert(then.end(), dirs.begin(), dirs.end());
    if (i >= shared) differing.insert(differing.end(), dirs.begin(), dirs.end());
  }
  snapshot::LowerView now_view(now), then_view(then);
  auto changed = TRY_VALUE(snapshot::changed_paths(then_view, now_view, differing));
  auto dir = TRY_VALUE(os::TempDir::create(st.store.tmp_dir(), "incremental-"));
  if (::chmod(dir.path().c_str(), 0755) != 0)  // as an upper dir's: the root's own
    return std::unexpected(os::errno_error("setting the mode of", dir.path()));
  TRY(snapshot::rebase_changes(earlier[0], changed, now_view, dir.path()));
  return IncrementalRoot(std::move(dir), std::move(now));
}

Result<void> IncrementalRoot::merge(const fs::path& upper) {
  return snapshot::merge_upper(upper, dir_.path(), root_);
}

}  // namespace strata::builder

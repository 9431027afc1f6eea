#include "builder/commit.hpp"

#include "snapshot/layer.hpp"

namespace fs = std::filesystem;

namespace strata::builder {

using dockerfile::Kind;

Result<solver::StepLayer> layer_of(BuildState& st, const fs::path& dir, Kind kind, bool hardlinks,
                                   bool& kept, const CopySnapshot* copy) {
  std::error_code ec;
  if (fs::is_empty(dir, ec)) return std::optional<oci::LayerRef>{};
  snapshot::DiffOptions d;
  d.compression = st.opts.compression;
  d.clamp_mtime = st.opts.source_date_epoch;
  d.hardlinks = hardlinks;
  if (copy) {
    d.objects = copy->objects;
    d.segments_dir = st.store.segments_dir();
    if (copy->base) d.stacked_on = {copy->base->dir};
  }
  // A COPY, ADD or WORKDIR layer is a function of its inputs only: the
  // directories it creates or touches get a fixed time.
  if (kind != Kind::Run) d.dir_mtime = st.opts.source_date_epoch.value_or(0);
  auto layer = TRY_VALUE(snapshot::write_layer(dir, st.store, d));
  if (layer.empty) return std::optional<oci::LayerRef>{};
  // The directory is already in the form a lower dir needs: keep it as the
  // layer's snapshot instead of unpacking the blob again.
  // (add_snapshot keeps an existing snapshot of the same layer and drops ours.)
  kept = static_cast<bool>(copy ? st.store.add_snapshot(layer.diff_id, dir,
                                                        copy->base ? copy->base_diff_id : "",
                                                        copy->manifest)
                                : st.store.add_snapshot(layer.diff_id, dir));
  return std::optional<oci::LayerRef>{oci::LayerRef{layer.blob, layer.diff_id}};
}

}  // namespace strata::builder
